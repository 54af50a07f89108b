// `npm run bench -- --growth`: the growth curve. At each meter count (one year each), the floor and
// the whole pipeline side by side, the pipeline's writer, one build worker and one analytics worker
// each a process of its own (the writer builds no month: --build-concurrency 0), so that each one's
// peak RSS is its own. Writes the table (bench-results/growth.md and .json) and the chart (docs/growth.svg).
import { Client, Connection } from '@temporalio/client';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startPipeline, waitForPipeline } from '../client';
import { PACKAGE_ROOT, defaultProjectDir } from '../config';
import { quotedString } from '../duckdb/sql';
import { LAKE_ALIAS, openLake } from '../lake/lake';
import { loadProject, type LoadedProject } from '../project/load';
import { renderChart } from '../report/charts';
import { startDevServer } from '../temporal/dev-server';
import { lakeOptionsFor } from '../warehouse/warehouse';
import { CATALOG_FILE } from '../warehouse/names';
import { benchData, type BenchData } from './data';
import { rawDuckdb } from './floor';
import {
  GROWTH_WORKERS,
  growthChartSpec,
  growthChecks,
  growthMarkdown,
  growthRow,
  monthBuilds,
  writerSeconds,
  type GrowthMeasurement,
  type GrowthRow,
  type GrowthWorker,
  type WriterSeconds,
} from './growth-results';
import { log, machine, median, peakRssMb, seconds } from './measure';
import { spawnWorker, stop, workersReady } from './workers';

/** The curve's default meter counts. */
export const GROWTH_SIZES: readonly number[] = [250, 500, 1000, 2000, 4000];

export interface GrowthOptions {
  readonly sizes: readonly number[];
  /** Runs per size (the floor's too): medians of the seconds, the highest peak RSS. */
  readonly repeat: number;
}

/** One pipeline run of a growth size: its seconds, its workers' peaks, and where its months were built. */
interface GrowthRun {
  readonly elapsed: number;
  readonly peaks: Record<GrowthWorker, number | null>;
  readonly monthBuilds: { total: number; elsewhere: number };
  readonly writer: WriterSeconds;
}

export async function runGrowth(options: GrowthOptions): Promise<void> {
  const project = await loadProject(defaultProjectDir());
  const server = await startDevServer();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const rows: GrowthRow[] = [];
  try {
    for (const meters of options.sizes) {
      rows.push(growthRow(await measureSize(meters, options.repeat, project, client, server.address)));
      log(`growth ${meters} meters: ${JSON.stringify(rows[rows.length - 1])}`);
    }
  } finally {
    await connection.close();
    await server.stop();
  }
  await writeGrowth(rows, options);
}

/** One size: the floor, then the pipeline, repeat times each, side by side; the lake of the last run. */
async function measureSize(
  meters: number,
  repeat: number,
  project: LoadedProject,
  client: Client,
  address: string,
): Promise<GrowthMeasurement> {
  const data = await benchData(meters);
  const floor: number[] = [];
  const runs: GrowthRun[] = [];
  const warehouse = path.join(data.work, 'growth');
  for (let i = 0; i < repeat; i++) {
    floor.push(await seconds(() => rawDuckdb(project, data.sources, path.join(data.work, 'floor.duckdb'))));
    log(`growth ${meters} meters, floor ${i + 1}: ${floor[floor.length - 1]?.toFixed(2)}s`);
    runs.push(await pipelineRun(client, address, data, warehouse));
    log(`growth ${meters} meters, pipeline ${i + 1}: ${runs[runs.length - 1]?.elapsed.toFixed(2)}s`);
  }
  // the floor's file is not needed again, and at 4,000 meters it is large
  await rm(path.join(data.work, 'floor.duckdb'), { force: true });
  const highest = (worker: GrowthWorker) => {
    const peaks = runs.map((run) => run.peaks[worker]).filter((peak): peak is number => peak !== null);
    return peaks.length === runs.length ? Math.max(...peaks) : null;
  };
  return {
    meters,
    readings: data.readings,
    runs: repeat,
    pipelineSeconds: median(runs.map((run) => run.elapsed)),
    floorSeconds: median(floor),
    peakRssMb: { writer: highest('writer'), build: highest('build'), analytics: highest('analytics') },
    monthBuilds: (runs[runs.length - 1] as GrowthRun).monthBuilds,
    writer: (runs[runs.length - 1] as GrowthRun).writer,
    lake: await lakeSize(warehouse),
  };
}

/**
 * A full run on a new warehouse with its three workers as processes of their own, on queues of its
 * own; the workers' peak RSS read before they stop. Refused when a month was built anywhere but on
 * the build worker, or none was: the curve measures the deployment with build workers.
 */
async function pipelineRun(client: Client, address: string, data: BenchData, warehouse: string): Promise<GrowthRun> {
  await rm(warehouse, { recursive: true, force: true });
  const label = `growth-${Date.now()}`;
  const queues = { writer: `w-${label}`, analytics: `a-${label}`, workflows: `f-${label}` };
  const workers: Record<GrowthWorker, ReturnType<typeof spawnWorker>> = {
    writer: spawnWorker('writer', address, queues, {}, warehouse, ['--build-concurrency', '0']),
    build: spawnWorker('build', address, queues, {}),
    analytics: spawnWorker('analytics', address, queues, {}),
  };
  try {
    await workersReady(Object.values(workers));
    let events: Parameters<typeof monthBuilds>[0] = [];
    const elapsed = await seconds(async () => {
      const handle = await startPipeline(
        client,
        {
          sourcesUri: data.sources,
          outUri: path.join(data.work, 'growth-out'),
          writerQueue: queues.writer,
          analyticsQueue: queues.analytics,
          fullRefresh: true,
        },
        { taskQueue: queues.workflows },
      );
      await waitForPipeline(handle);
      events = (await handle.fetchHistory()).events ?? [];
    });
    const builds = monthBuilds(events, workers.build.pid as number);
    if (builds.total === 0) throw new Error('growth run: no month was built per month (no buildMonth activity in its history)');
    if (builds.elsewhere > 0)
      throw new Error(`growth run: ${builds.elsewhere} of ${builds.total} months were not built by the build worker`);
    const peaks = Object.fromEntries(
      await Promise.all(GROWTH_WORKERS.map(async (worker) => [worker, await peakRssMb(workers[worker].pid as number)] as const)),
    ) as Record<GrowthWorker, number | null>;
    return { elapsed, peaks, monthBuilds: builds, writer: writerSeconds(events, queues.writer) };
  } finally {
    await Promise.all(Object.values(workers).map(stop));
  }
}

/** Bytes of every file under a folder (0 if there is none). */
async function folderBytes(folder: string): Promise<number> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true }).catch(() => []);
  const sizes = await Promise.all(entries.filter((e) => e.isFile()).map(async (e) => (await stat(path.join(e.parentPath, e.name))).size));
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** The lake a run left: its tables' live data files (from the catalog), its data folder on disk, its catalog's file. */
async function lakeSize(warehouse: string): Promise<GrowthMeasurement['lake']> {
  const lake = await openLake({ ...lakeOptionsFor(warehouse, process.env, 'reader'), readOnly: true });
  let dataFiles = 0;
  let dataBytes = 0;
  try {
    await lake.withConnection(async (connection) => {
      const reader = await connection.runAndReadAll(
        `select coalesce(sum(file_count), 0)::bigint, coalesce(sum(file_size_bytes), 0)::bigint from ducklake_table_info(${quotedString(LAKE_ALIAS)})`,
      );
      const [files, bytes] = reader.getRows()[0] ?? [0, 0];
      dataFiles = Number(files);
      dataBytes = Number(bytes);
    });
  } finally {
    lake.close();
  }
  const catalog = path.join(warehouse, CATALOG_FILE);
  const catalogBytes = (
    await Promise.all(
      [catalog, `${catalog}-wal`].map((file) =>
        stat(file).then(
          (s) => s.size,
          () => 0,
        ),
      ),
    )
  ).reduce((a, b) => a + b, 0);
  return { dataFiles, dataBytes, diskBytes: await folderBytes(path.join(warehouse, 'data')), catalogBytes };
}

/**
 * The table and chart: bench-results/growth.md and .json and docs/growth.svg for the default sizes;
 * bench-results/growth-<sizes>.md, .json and .svg for others, leaving the whole curve's where they are.
 */
async function writeGrowth(rows: GrowthRow[], options: GrowthOptions): Promise<void> {
  const whole = options.sizes.join(',') === GROWTH_SIZES.join(',');
  const results = path.join(PACKAGE_ROOT, 'bench-results');
  const name = whole ? 'growth' : `growth-${options.sizes.join('-')}`;
  const chart = whole ? path.join(PACKAGE_ROOT, 'docs', 'growth.svg') : path.join(results, `${name}.svg`);
  const checks = growthChecks(rows);
  const ran = machine();
  const markdown = growthMarkdown(rows, checks, { repeat: options.repeat, chart: path.relative(results, chart), machine: ran });
  await mkdir(results, { recursive: true });
  await writeFile(path.join(results, `${name}.md`), markdown);
  await writeFile(
    path.join(results, `${name}.json`),
    `${JSON.stringify({ sizes: rows, checks, repeat: options.repeat, machine: ran }, null, 2)}\n`,
  );
  await writeFile(chart, await renderChart(growthChartSpec(rows)));
  process.stdout.write(markdown);
  log(`wrote ${path.join(results, `${name}.md`)}, ${name}.json and ${chart}`);
}

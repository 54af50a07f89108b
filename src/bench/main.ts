// `npm run bench`: meterflow against the floor (the same SQL in one DuckDB process) and the peer
// (dbt-duckdb on the same project), each measured several times in one run, medians reported as
// ratios. A benchmark, not a test: it prints a table and writes JSON and markdown; it asserts nothing.
// `--growth` (src/bench/growth.ts), `--commit-files` (src/bench/commit-files.ts) and `--catalog-reads`
// (src/bench/catalog-reads.ts) are benches of their own: main dispatches.
import { DuckDBInstance } from '@duckdb/node-api';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Command } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startPipeline, waitForPipeline } from '../client';
import { PACKAGE_ROOT, defaultProjectDir } from '../config';
import { loadProject, type LoadedProject } from '../project/load';
import { relationKind, type ModelNode } from '../project/types';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { relation } from '../duckdb/sql';
import { ensureLakeExtensions } from '../duckdb/extensions';
import { openLake } from '../lake/lake';
import { lakeOptionsFor } from '../warehouse/warehouse';
import type { PipelineResult } from '../contract/run';
import { runCatalogReads } from './catalog-reads';
import { runCommitFiles } from './commit-files';
import { benchData } from './data';
import { floorSql, rawDuckdb, seedOnly, seedTables } from './floor';
import { GROWTH_SIZES, runGrowth } from './growth';
import { sizeList } from './growth-results';
import { log, machine, median, peakRssMb, percentile, roundTo, seconds } from './measure';
import { NAIVE_MASTER_SQL } from './naive-master';
import { meterflowRun, spawnWorker, stop, withBenchWorkers, workersReady } from './workers';
import { holdBackLastDays } from './late-day';
import { measureStartup } from './startup';

// NOTE: duckdb pinned to the DuckDB of @duckdb/node-api and of the extension wheels (PyPI's latest cannot
// load them); dbt-duckdb 1.9.6 asks only duckdb>=1.0.0, and attaches the lake from models/profiles.yml.
const DBT_REQUIREMENTS = ['dbt-core==1.10.15', 'dbt-duckdb==1.9.6', 'duckdb==1.5.5'];

interface Options {
  meters: number;
  repeat: number;
  json?: string;
  skipDbt?: boolean;
  memoryLimit: string;
  scaleoutOnly?: boolean;
  only?: Part[];
  /** The growth curve instead of the parts (src/bench/growth.ts): these meter counts. */
  growth?: boolean;
  growthSizes?: number[];
  /** The writer's commit of this many files, on a PostgreSQL catalog, instead of the parts (src/bench/commit-files.ts). */
  commitFiles?: number[];
  /** A reader's waits beside a committing writer, this many seconds per catalog, instead of the parts (src/bench/catalog-reads.ts). */
  catalogReads?: number;
}

/** The parts of the bench, for `--only`: each measures its own keys. */
const PARTS = ['floor', 'pipeline', 'scaleout', 'incremental', 'memory', 'master', 'dbt-run', 'dbt-build', 'startup'] as const;
type Part = (typeof PARTS)[number];

function partList(value: string): Part[] {
  const parts = value.split(',').map((part) => part.trim());
  const unknown = parts.filter((part) => !(PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) throw new Error(`--only: unknown part ${unknown.join(', ')} (parts: ${PARTS.join(', ')})`);
  return parts as Part[];
}

/** A new lake in a warehouse folder with raw.<source> seeded as lake tables, the way the floor seeds its file. */
async function seedLake(project: LoadedProject, sources: string, warehouse: string): Promise<void> {
  await rm(warehouse, { recursive: true, force: true });
  const lake = await openLake(lakeOptionsFor(warehouse));
  try {
    await lake.withConnection(async (connection) => {
      await connection.run('use lake');
      await seedTables(connection, project, sources);
    });
  } finally {
    lake.close();
  }
}

/** Rows of a table in a lake, read in a process of its own (as any reader of a warehouse would). */
async function lakeRows(warehouse: string, table: string): Promise<number> {
  const lake = await openLake({ ...lakeOptionsFor(warehouse, process.env, 'reader'), readOnly: true });
  try {
    return await lake.withConnection(async (connection) => {
      await connection.run('use lake');
      const reader = await connection.runAndReadAll(`select count(*)::bigint from ${relation('main', table)}`);
      return Number(reader.getRows()[0]?.[0]);
    });
  } finally {
    lake.close();
  }
}

/** dbt in a virtualenv of its own holding DBT_REQUIREMENTS: installed, or brought to them when the pins changed. */
async function dbtExecutable(benchDir: string): Promise<string | undefined> {
  const venv = path.join(benchDir, 'dbt-venv');
  const dbt = path.join(venv, 'bin', 'dbt');
  const installed = path.join(venv, 'meterflow-requirements.txt');
  const wanted = `${DBT_REQUIREMENTS.join('\n')}\n`;
  if (existsSync(dbt) && (await readFile(installed, 'utf8').catch(() => '')) === wanted) return dbt;
  try {
    log(`installing ${DBT_REQUIREMENTS.join(' ')} into ${venv}`);
    if (!existsSync(path.join(venv, 'bin', 'pip'))) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'ignore' });
    execFileSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...DBT_REQUIREMENTS], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await writeFile(installed, wanted);
    return dbt;
  } catch (err) {
    log(`dbt-duckdb could not be installed: ${(err as Error).message}`);
    return undefined;
  }
}

/** What the parts of one bench run share: its options, the data and project, and the results so far. */
interface Bench {
  readonly options: Options;
  readonly only: ReadonlySet<Part>;
  /** Some parts only (`--only`, `--scaleout-only`): the results are written beside the last whole run's. */
  readonly partial: boolean;
  readonly benchDir: string;
  readonly work: string;
  readonly sources: string;
  readonly readings: number;
  readonly project: LoadedProject;
  /** Keys in the order they are measured, which is the order of the table and the files. */
  readonly results: Record<string, unknown>;
  /** Each measure taken in turns, its seconds round by round (`measureInTurns`). */
  readonly runs: Record<string, number[]>;
}

function parseOptions(argv: string[]): Options {
  const program = new Command('bench')
    .option('--meters <n>', 'meters in the generated data (one year)', (v) => Number(v), 2000)
    .option('--repeat <n>', 'measurements of each, median reported (default 3; 1 with --growth)', (v) => Number(v))
    .option('--json <file>', 'write the results as JSON')
    .option('--skip-dbt', 'leave out the dbt-duckdb peer')
    .option('--memory-limit <size>', 'DuckDB memory_limit for the bounded-memory run', '1GB')
    .option('--scaleout-only', 'measure only the scale-out keys (a full run first, then the master built by 1 and 2 build workers)')
    .option('--only <parts>', `measure only these parts, side by side (comma-separated: ${PARTS.join(', ')})`, partList)
    .option('--growth', `the growth curve: the pipeline and the floor at each size (default ${GROWTH_SIZES.join(',')} meters)`)
    .option('--growth-sizes <meters>', 'the growth curve at these meter counts (comma-separated; implies --growth)', (v) =>
      sizeList(v, '--growth-sizes'),
    )
    .option(
      '--commit-files <counts>',
      "the writer's commit of this many files in one transaction, on a PostgreSQL catalog (comma-separated)",
      (v) => sizeList(v, '--commit-files'),
    )
    .option(
      '--catalog-reads <seconds>',
      'a reader beside a committing writer, on a SQLite and a PostgreSQL catalog, for this many seconds each',
      (v) => oneSize(v, '--catalog-reads'),
    )
    .parse(argv);
  const options = program.opts<Omit<Options, 'repeat'> & { repeat?: number }>();
  const growth = options.growth === true || options.growthSizes !== undefined;
  return { ...options, growth, repeat: options.repeat ?? (growth ? 1 : 3) };
}

/** One positive whole number (`--catalog-reads 20`). */
function oneSize(value: string, flag: string): number {
  const sizes = sizeList(value, flag);
  if (sizes.length !== 1) throw new Error(`${flag}: one positive whole number (not ${value})`);
  return sizes[0] as number;
}

/** The bench's data (generated once per meter count, kept under .meterflow/bench) and the project. */
async function prepare(options: Options, only: ReadonlySet<Part>): Promise<Bench> {
  const { benchDir, work, sources, readings } = await benchData(options.meters);
  const project = await loadProject(defaultProjectDir());
  const results: Record<string, unknown> = { meters: options.meters, readings, repeat: options.repeat };
  const partial = only.size < PARTS.length;
  return { options, only, partial, benchDir, work, sources, readings, project, results, runs: {} };
}

/** A measure's seconds in one more round. */
function record({ runs }: Bench, key: string, value: number): void {
  (runs[key] ??= []).push(value);
}

/** The floor, once: the same SQL in one DuckDB process. */
async function floorOnce(bench: Bench, round: number): Promise<void> {
  const { project, sources, work } = bench;
  const elapsed = await seconds(() => rawDuckdb(project, sources, path.join(work, 'floor.duckdb')));
  record(bench, 'raw_duckdb_s', elapsed);
  log(`raw_duckdb ${round + 1}: ${elapsed.toFixed(2)}s`);
}

/** Whole pipeline runs, each with a writer and an analytics worker of its own as processes. */
interface PipelineRunner {
  run(
    label: string,
    warehouse: string,
    env: NodeJS.ProcessEnv,
    input?: { fullRefresh?: boolean; sourcesUri?: string },
  ): Promise<{ elapsed: number; result: PipelineResult | undefined }>;
  /** Every activity's orchestration overhead (ms) in every run so far. */
  readonly overheads: number[];
  /** The highest peak resident memory (MB) of the workers of any run so far; null before the first. */
  readonly peaks: { writer: number | null; analytics: number | null };
}

function pipelineRunner({ sources, work }: Bench, client: Client, address: string): PipelineRunner {
  const overheads: number[] = [];
  const peaks: PipelineRunner['peaks'] = { writer: null, analytics: null };
  const run: PipelineRunner['run'] = (label, warehouse, env, input = {}) =>
    withBenchWorkers(
      address,
      label,
      warehouse,
      async ({ queues, writer, analytics }) => {
        let result: PipelineResult | undefined;
        const elapsed = await seconds(async () => {
          const handle = await startPipeline(
            client,
            {
              sourcesUri: input.sourcesUri ?? sources,
              outUri: path.join(work, 'out'),
              writerQueue: queues.writer,
              analyticsQueue: queues.analytics,
              fullRefresh: input.fullRefresh ?? true,
            },
            { taskQueue: queues.workflows },
          );
          result = await waitForPipeline(handle);
          const history = await handle.fetchHistory();
          overheads.push(...activityOverheads(history.events ?? []));
        });
        peaks.writer = Math.max(peaks.writer ?? 0, (await peakRssMb(writer.pid as number)) ?? 0);
        peaks.analytics = Math.max(peaks.analytics ?? 0, (await peakRssMb(analytics.pid as number)) ?? 0);
        return { elapsed, result };
      },
      env,
    );
  return { run, overheads, peaks };
}

/** The dev server, a client of it and the runner of whole pipeline runs, for the parts that need them. */
interface Temporal {
  readonly server: DevServer;
  readonly address: string;
  readonly client: Client;
  readonly runner: PipelineRunner;
  stop(): Promise<void>;
}

async function startTemporal(bench: Bench): Promise<Temporal> {
  const server = await startDevServer();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  return {
    server,
    address: server.address,
    client,
    runner: pipelineRunner(bench, client, server.address),
    stop: async () => {
      await connection.close();
      await server.stop();
    },
  };
}

/**
 * The measures compared with one another, in turns: each round runs the floor, a full pipeline run, a
 * new day and the peers once each, so that a machine that slows down or speeds up during the bench
 * (these machines do, by two times and more) weighs on all of them alike. Their medians, and each
 * ratio within a round (`summarise`), come from these runs. The dev server stays up through a round.
 */
async function measureInTurns(bench: Bench, temporal: Temporal, peers: PreparedPeers | undefined): Promise<number | null> {
  const { options, only } = bench;
  let pipelineMasterRows: number | null = null;
  const failedPeers = new Set<Peer['key']>();
  for (let round = 0; round < options.repeat; round++) {
    if (only.has('floor')) await floorOnce(bench, round);
    // the scale-out and the master pair need one full run's warehouse (the first round's)
    if (only.has('pipeline') || (only.has('scaleout') && round === 0))
      pipelineMasterRows = (await pipelineOnce(bench, temporal.runner, round)) ?? pipelineMasterRows;
    if (only.has('incremental')) await incrementalOnce(bench, temporal, round);
    for (const peer of peers?.peers ?? []) {
      if (failedPeers.has(peer.key) || !peers) continue;
      if (!(await peerOnce(bench, peer, peers, round, pipelineMasterRows))) failedPeers.add(peer.key);
    }
  }
  const { results, runs } = bench;
  const { runner } = temporal;
  if (runs.raw_duckdb_s) results.raw_duckdb_s = median(runs.raw_duckdb_s);
  if (only.has('pipeline') && runs.pipeline_s) {
    results.pipeline_s = median(runs.pipeline_s);
    results.activity_overhead_ms_p50 = Math.round(percentile(runner.overheads, 50));
    results.activity_overhead_ms_p95 = Math.round(percentile(runner.overheads, 95));
  }
  for (const key of ['incremental_s', 'incremental_command_s'] as const) if (runs[key]) results[key] = median(runs[key]);
  for (const peer of peers?.peers ?? [])
    results[peer.key] = failedPeers.has(peer.key) || !runs[peer.key] ? null : median(runs[peer.key] as number[]);
  return pipelineMasterRows;
}

/** A full pipeline run, once (each in a new warehouse); the master's rows it built. */
async function pipelineOnce(bench: Bench, runner: PipelineRunner, round: number): Promise<number | null> {
  const warehouse = path.join(bench.work, `pipeline-${round}`);
  await rm(warehouse, { recursive: true, force: true });
  const { elapsed, result } = await runner.run(`full-${round}-${Date.now()}`, warehouse, {});
  record(bench, 'pipeline_s', elapsed);
  log(`pipeline ${round + 1}: ${elapsed.toFixed(2)}s`);
  return result?.tables.find((t) => t.table === 'main.demand_price_elasticity')?.rows ?? null;
}

/**
 * Scale-out: the master rebuilt on the warehouse of the first run by 1, then 2 build workers in
 * processes of their own, DuckDB at one thread each (one core per machine, simulated).
 */
async function measureScaleout({ options, only, work, results }: Bench, client: Client, address: string): Promise<void> {
  for (const builders of only.has('scaleout') ? [1, 2] : []) {
    const times: number[] = [];
    for (let i = 0; i < options.repeat; i++) {
      times.push(await scaleout(client, address, path.join(work, 'pipeline-0'), path.join(work, 'out'), builders));
      log(`scaleout ${builders} build worker(s) ${i + 1}: ${times[times.length - 1]?.toFixed(2)}s`);
    }
    results[`scaleout_workers_${builders}_s`] = median(times);
  }
}

/**
 * A new day, once: after a full run (not timed), one new day of readings lands and a run takes it, as
 * the workflow (incremental_s, from its start to its result), then the next day lands and a whole
 * `meterflow run` command takes it against the running server and workers (incremental_command_s).
 */
async function incrementalOnce(bench: Bench, { runner, address }: Temporal, round: number): Promise<void> {
  const { sources, work } = bench;
  const { incrementalSources, dayFiles } = await holdBackLastDays(sources, work, 2);
  const [firstDay, secondDay] = dayFiles as [string, string];
  const incrementalWarehouse = path.join(work, 'incremental');
  await rm(incrementalWarehouse, { recursive: true, force: true });
  await runner.run(`incr-base-${Date.now()}`, incrementalWarehouse, {}, { sourcesUri: incrementalSources });
  await copyFile(`${firstDay}.held`, firstDay);
  const incremental = await runner.run(
    `incr-${Date.now()}`,
    incrementalWarehouse,
    {},
    { sourcesUri: incrementalSources, fullRefresh: false },
  );
  record(bench, 'incremental_s', incremental.elapsed);
  await copyFile(`${secondDay}.held`, secondDay);
  const args = ['--sources', incrementalSources, '--db', incrementalWarehouse, '--out', path.join(work, 'out')];
  const command = await withBenchWorkers(address, `incr-cmd-${Date.now()}`, incrementalWarehouse, ({ commandEnv }) =>
    meterflowRun(args, commandEnv),
  );
  record(bench, 'incremental_command_s', command);
  log(`incremental ${round + 1}: ${incremental.elapsed.toFixed(2)}s in the workflow, ${command.toFixed(2)}s as a whole command`);
}

/** Bounded memory: a run with a memory limit well below the data size must succeed (spilling). */
async function measureBoundedMemory({ options, only, work, results }: Bench, runner: PipelineRunner): Promise<void> {
  const limited = path.join(work, 'limited');
  await rm(limited, { recursive: true, force: true });
  if (!only.has('memory')) return;
  try {
    const bounded = await runner.run(`limited-${Date.now()}`, limited, {
      METERFLOW_DUCKDB_MEMORY_LIMIT: options.memoryLimit,
      METERFLOW_DUCKDB_THREADS: '2',
    });
    results.memory_limited_run = { memory_limit: options.memoryLimit, ok: true, seconds: bounded.elapsed };
  } catch (err) {
    results.memory_limited_run = { memory_limit: options.memoryLimit, ok: false, error: (err as Error).message };
  }
}

/** The master model against the naive translation of the original one, on one seeded warehouse. */
async function measureMaster({ options, project, sources, work, results }: Bench): Promise<void> {
  const masterDb = path.join(work, 'master.duckdb');
  await rm(masterDb, { force: true });
  await seedOnly(project, sources, masterDb);
  const master = project.plan.models.find((m) => m.name === 'demand_price_elasticity')!;
  const instance = await DuckDBInstance.create(masterDb);
  const c = await instance.connect();
  const build = (model: ModelNode, name = model.name) =>
    c.run(`create or replace ${relationKind(model.materialized)} ${relation('main', name)} as ${floorSql(project, model)}`);
  for (const model of project.plan.models.filter((m) => m.file.startsWith('staging/'))) await build(model);
  // the master's own tables (its meters' segments and layouts, built once a run) count in its time
  const upstream = upstreamOf(project, master).filter((m) => !m.file.startsWith('staging/'));
  const naive: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < options.repeat; i++) {
    naive.push(await seconds(() => c.run(`create or replace table naive_master as ${NAIVE_MASTER_SQL}`)));
    ours.push(
      await seconds(async () => {
        for (const model of upstream) await build(model);
        await build(master, 'meterflow_master');
      }),
    );
    log(`master ${i + 1}: naive ${naive[naive.length - 1]?.toFixed(2)}s, meterflow ${ours[ours.length - 1]?.toFixed(2)}s`);
  }
  const round = (t: string) =>
    `select meter_point_id, settlement_timestamp_utc, gsp_group_id, profile_class_id, standard_settlement_configuration_id, product_category, is_variable, round(smart_meter_consumption, 9), round(estimated_half_hour_consumption, 9), round(demand_price_elasticity, 6), round(unit_rate_pence_per_kwh, 9) from ${t}`;
  const diff = await c.runAndReadAll(
    `select (select count(*) from (${round('naive_master')} except ${round('meterflow_master')})) + (select count(*) from (${round('meterflow_master')} except ${round('naive_master')})) as n, (select count(*) from meterflow_master) as rows`,
  );
  const [different, rows] = diff.getRows()[0] as [bigint, bigint];
  c.closeSync();
  instance.closeSync();
  results.naive_master_s = median(naive);
  results.master_s = median(ours);
  results.master_rows = Number(rows);
  results.master_rows_identical = Number(different) === 0;
}

/** The models a model reads, directly or through others, in the project's (DAG) order. */
function upstreamOf(project: LoadedProject, model: ModelNode): ModelNode[] {
  const wanted = new Set<string>();
  const visit = (name: string) => {
    for (const ref of project.plan.models.find((m) => m.name === name)?.refs ?? []) {
      if (wanted.has(ref)) continue;
      wanted.add(ref);
      visit(ref);
    }
  };
  visit(model.name);
  return project.plan.models.filter((m) => wanted.has(m.name));
}

/** A dbt command at a thread count, and the key its median is reported under. */
interface Peer {
  readonly key: 'dbt_duckdb_threads1_s' | 'dbt_duckdb_threads2_s' | 'dbt_build_threads1_s';
  readonly command: 'run' | 'build';
  readonly threads: number;
}

/** The dbt commands the bench runs, with dbt and DuckDB's extensions ready for them. */
interface PreparedPeers {
  readonly peers: readonly Peer[];
  readonly dbt: string;
  readonly extensionDirectory: string;
}

/**
 * The peer: dbt-duckdb on the same project, on a lake seeded the way the floor seeds its file
 * (models/profiles.yml attaches it as the target database), seeding included in each time. Undefined
 * when none is asked for; with none, and each reported null, when dbt cannot be installed.
 */
async function preparePeers(bench: Bench): Promise<PreparedPeers | undefined> {
  const { options, only, benchDir, results } = bench;
  const peers = (
    [
      { key: 'dbt_duckdb_threads1_s', command: 'run', threads: 1 },
      { key: 'dbt_duckdb_threads2_s', command: 'run', threads: 2 },
      { key: 'dbt_build_threads1_s', command: 'build', threads: 1 },
    ] as const
  ).filter((peer) => only.has(`dbt-${peer.command}`));
  if (options.skipDbt || peers.length === 0) return undefined;
  const dbt = await dbtExecutable(benchDir);
  if (!dbt) {
    for (const peer of peers) results[peer.key] = null;
    return undefined;
  }
  return { peers, dbt, extensionDirectory: await ensureLakeExtensions() };
}

/** One peer, once: seed and dbt together; false when it failed (its error reported). */
async function peerOnce(
  bench: Bench,
  peer: Peer,
  { dbt, extensionDirectory }: PreparedPeers,
  round: number,
  pipelineMasterRows: number | null,
): Promise<boolean> {
  const { project, sources, work, results } = bench;
  const warehouse = path.join(work, `dbt-${peer.command}-${peer.threads}`);
  const logFile = path.join(work, `dbt-${peer.command}-${peer.threads}.log`);
  const seed = await seconds(() => seedLake(project, sources, warehouse));
  let failed: string | undefined;
  const run = await seconds(async () => {
    failed = await runDbt(dbt, peer.command, peer.threads, logFile, {
      ...process.env,
      METERFLOW_WAREHOUSE: warehouse,
      METERFLOW_DUCKDB_EXTENSIONS: extensionDirectory,
      METERFLOW_DBT_TARGET: 'lake',
      DBT_SEND_ANONYMOUS_USAGE_STATS: 'false',
    });
  });
  if (failed) {
    log(`dbt ${peer.command} threads=${peer.threads} ${round + 1} failed: ${failed} (see ${logFile})`);
    results[`${peer.key.replace(/_s$/, '')}_error`] = failed;
    return false;
  }
  record(bench, peer.key, seed + run);
  log(`dbt ${peer.command} threads=${peer.threads} ${round + 1}: seed ${seed.toFixed(2)}s + ${peer.command} ${run.toFixed(2)}s`);
  if (peer.command === 'run' && results.dbt_master_rows === undefined) {
    results.dbt_master_rows = await lakeRows(warehouse, 'demand_price_elasticity');
    results.dbt_master_rows_equal_pipeline = results.dbt_master_rows === pipelineMasterRows;
  }
  return true;
}

/**
 * The ratios the bench is for, of the medians and (`paired`) the median of each round's own ratio;
 * each measure's runs in the order taken; and the machine it ran on. Added to the results.
 */
function summarise({ results, runs }: Bench): void {
  const ratio = ratioOf;
  results.ratios = {
    scaleout_2_over_1: ratio(results.scaleout_workers_2_s, results.scaleout_workers_1_s),
    pipeline_over_raw_duckdb: ratio(results.pipeline_s, results.raw_duckdb_s),
    dbt_threads1_over_pipeline: ratio(results.dbt_duckdb_threads1_s, results.pipeline_s),
    dbt_threads2_over_pipeline: ratio(results.dbt_duckdb_threads2_s, results.pipeline_s),
    dbt_build_threads1_over_pipeline: ratio(results.dbt_build_threads1_s, results.pipeline_s),
    naive_master_over_master: ratio(results.naive_master_s, results.master_s),
    incremental_over_pipeline: ratio(results.incremental_s, results.pipeline_s),
    incremental_command_over_pipeline: ratio(results.incremental_command_s, results.pipeline_s),
    startup_embedded_noop_over_server_floor: ratio(results.startup_embedded_noop_s, results.startup_server_floor_s),
    startup_remote_noop_over_server_floor: ratio(results.startup_remote_noop_s, results.startup_server_floor_s),
  };
  const paired = (a: string, b: string) => {
    const [as, bs] = [runs[a] ?? [], runs[b] ?? []];
    const within = as.flatMap((value, round) => ratioOf(value, bs[round]) ?? []);
    return within.length > 0 && within.length === as.length ? roundTo(median(within), 2) : null;
  };
  results.paired_ratios = {
    pipeline_over_raw_duckdb: paired('pipeline_s', 'raw_duckdb_s'),
    dbt_build_threads1_over_pipeline: paired('dbt_build_threads1_s', 'pipeline_s'),
    incremental_over_pipeline: paired('incremental_s', 'pipeline_s'),
    incremental_command_over_pipeline: paired('incremental_command_s', 'pipeline_s'),
  };
  if (Object.keys(runs).length > 0)
    results.runs = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((x) => roundTo(x, 2))]));
  results.machine = machine();
}

/** The results as a table on stdout, and as markdown and JSON in bench-results/ (and --json). */
async function report({ options, only, partial, readings, results }: Bench): Promise<void> {
  const lines = Object.entries(results)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .map(([k, v]) => `${k.padEnd(30)} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(3)) : String(v)}`);
  const table = (entries: Record<string, number | null>) => Object.entries(entries).map(([k, v]) => `${k.padEnd(30)} ${v ?? 'n/a'}`);
  const ratios = table(results.ratios as Record<string, number | null>);
  const paired = table(results.paired_ratios as Record<string, number | null>);
  process.stdout.write(
    `${lines.join('\n')}\n\nratios of the medians\n${ratios.join('\n')}\n\nratios within a round, their median\n${paired.join('\n')}\n`,
  );
  const markdown = [
    `# Benchmark${partial ? ` of ${[...only].join(', ')}` : ''} (${options.meters} meters, ${readings.toLocaleString('en-GB')} readings, median of ${options.repeat})`,
    '',
    `Machine: ${(results.machine as { cpus: number }).cpus} cores, ${(results.machine as { cpu?: string }).cpu}, ${(results.machine as { memory_gb: number }).memory_gb} GiB, Node ${process.version}.`,
    '',
    '| measure | value |',
    '|---|---|',
    ...Object.entries(results)
      .filter(([k]) => k !== 'machine')
      .map(([k, v]) => `| ${k} | ${typeof v === 'object' ? JSON.stringify(v) : String(v)} |`),
    '',
  ].join('\n');
  await mkdir(path.join(PACKAGE_ROOT, 'bench-results'), { recursive: true });
  // a run of some parts (--only) leaves the last whole run's figures where they are
  const name = partial ? `only-${[...only].join('-')}` : 'latest';
  await writeFile(path.join(PACKAGE_ROOT, 'bench-results', `${name}.md`), markdown);
  await writeFile(path.join(PACKAGE_ROOT, 'bench-results', `${name}.json`), JSON.stringify(results, null, 2));
  if (options.json) await writeFile(options.json, JSON.stringify(results, null, 2));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  if (options.commitFiles) return runCommitFiles({ files: options.commitFiles });
  if (options.catalogReads !== undefined) return runCatalogReads({ seconds: options.catalogReads });
  if (options.growth) return runGrowth({ sizes: options.growthSizes ?? GROWTH_SIZES, repeat: options.repeat });
  const only = new Set<Part>(options.scaleoutOnly ? ['scaleout'] : (options.only ?? PARTS));
  const bench = await prepare(options, only);
  const peers = await preparePeers(bench);
  const temporal = await startTemporal(bench);
  try {
    // start-up: no-op runs as whole commands, on small data of their own, against the server's own start
    if (only.has('startup')) Object.assign(bench.results, await measureStartup(temporal.server, bench.work, options.repeat, log));
    await measureInTurns(bench, temporal, peers);
    await measureScaleout(bench, temporal.client, temporal.address);
    await measureBoundedMemory(bench, temporal.runner);
    const { peaks } = temporal.runner;
    if (peaks.writer !== null) bench.results.writer_peak_rss_mb = peaks.writer;
    if (peaks.analytics !== null) bench.results.analytics_peak_rss_mb = peaks.analytics;
  } finally {
    await temporal.stop();
  }
  if (only.has('master')) await measureMaster(bench);
  summarise(bench);
  await report(bench);
}

const ratioOf = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? roundTo(a / b, 2) : null);

/**
 * The master built per month by `builders` build workers (separate processes, DuckDB at one thread
 * each), on a warehouse a full run built: a run that selects the master alone, with a full refresh (so
 * it seeds nothing and rebuilds the master whole). Seconds from its months' plan to the writer's
 * commit of their files, from the run's history.
 */
async function scaleout(client: Client, address: string, warehouse: string, out: string, builders: number): Promise<number> {
  const label = `scaleout-${builders}-${Date.now()}`;
  const queues = { writer: `w-${label}`, analytics: `a-${label}`, workflows: `f-${label}` };
  const env = { METERFLOW_DUCKDB_THREADS: '1' };
  const children = [
    spawnWorker('writer', address, queues, env, warehouse, ['--build-concurrency', '0']),
    spawnWorker('analytics', address, queues, {}),
    ...Array.from({ length: builders }, () => spawnWorker('build', address, queues, env)),
  ];
  try {
    await workersReady(children);
    const handle = await startPipeline(
      client,
      {
        sourcesUri: path.join(out, '..', 'sources'),
        outUri: out,
        writerQueue: queues.writer,
        analyticsQueue: queues.analytics,
        select: ['demand_price_elasticity'],
        fullRefresh: true,
      },
      { taskQueue: queues.workflows },
    );
    await waitForPipeline(handle);
    const events = (await handle.fetchHistory()).events ?? [];
    const time = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) + (e.eventTime?.nanos ?? 0) / 1e9;
    const typeOf = new Map(events.map((e) => [String(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name]));
    const planned = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'planBuildMonths');
    const committed = events.find(
      (e) => typeOf.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)) === 'commitBuiltMonths',
    );
    if (!planned || !committed) throw new Error('scale-out run: the master was not built per month');
    return time(committed) - time(planned);
  } finally {
    await Promise.all(children.map(stop));
  }
}

/** One dbt command on the project, its output in logFile: undefined when it succeeded, else why not. */
async function runDbt(
  dbt: string,
  command: 'run' | 'build',
  threads: number,
  logFile: string,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const output = await open(logFile, 'w');
  try {
    const args = [
      command,
      '--project-dir',
      defaultProjectDir(),
      '--profiles-dir',
      defaultProjectDir(),
      '--threads',
      String(threads),
      '--target-path',
      path.join(path.dirname(logFile), 'dbt-target'),
      '--log-path',
      path.join(path.dirname(logFile), 'dbt-logs'),
    ];
    execFileSync(dbt, args, { env, stdio: ['ignore', output.fd, output.fd] });
    return undefined;
  } catch (err) {
    return (await dbtFailure(logFile)) ?? (err as Error).message.split('\n')[0];
  } finally {
    await output.close();
  }
}

/** The first error dbt printed with the line after it, e.g. `TransactionContext Error: … database is locked`. */
async function dbtFailure(logFile: string): Promise<string | undefined> {
  const lines = (await readFile(logFile, 'utf8').catch(() => '')).replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const at = lines.findIndex((line) => /^\s*[A-Za-z]+( [A-Za-z]+)? Error: /.test(line) || /^\s*Runtime Error$/.test(line));
  if (at < 0) return undefined;
  return lines
    .slice(at, at + 2)
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * Time each activity spent in orchestration rather than in its own work: from when it could start
 * (scheduled, or its writer's previous activity finished) to its completion, less the work it reports.
 */
function activityOverheads(
  events: {
    eventTime?: { seconds?: unknown; nanos?: number | null } | null;
    eventId?: unknown;
    activityTaskScheduledEventAttributes?: { taskQueue?: { name?: string | null } | null } | null;
    activityTaskStartedEventAttributes?: { scheduledEventId?: unknown } | null;
    activityTaskCompletedEventAttributes?: {
      scheduledEventId?: unknown;
      result?: { payloads?: { data?: Uint8Array | null }[] | null } | null;
    } | null;
  }[],
): number[] {
  const time = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const scheduled = new Map(events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => [String(e.eventId), e]));
  const completions = events.filter((e) => e.activityTaskCompletedEventAttributes);
  const byQueue = new Map<string, number>();
  const overheads: number[] = [];
  for (const done of completions.sort((a, b) => time(a) - time(b))) {
    const id = String(done.activityTaskCompletedEventAttributes?.scheduledEventId);
    const schedule = scheduled.get(id);
    if (!schedule) continue;
    const queue = schedule.activityTaskScheduledEventAttributes?.taskQueue?.name ?? '';
    const payload = done.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
    let durationMs: number | undefined;
    try {
      durationMs = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { durationMs?: number }).durationMs : undefined;
    } catch {
      durationMs = undefined;
    }
    const couldStart = Math.max(time(schedule), queue.startsWith('w-') ? (byQueue.get(queue) ?? 0) : 0);
    if (queue.startsWith('w-')) byQueue.set(queue, time(done));
    if (durationMs !== undefined) overheads.push(Math.max(0, time(done) - couldStart - durationMs));
  }
  return overheads;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

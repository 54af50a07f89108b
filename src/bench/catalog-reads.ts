// `npm run bench -- --catalog-reads 20`: how long a reader waits on the lake's catalog while the writer
// commits, on each kind of catalog. For a SQLite catalog (a warehouse folder) and a PostgreSQL one (on
// a server the bench starts, as the tests do): a writer commits a small insert every 50 ms, and for
// the given seconds a reader opens the lake as a build worker does (withWarehouseReader: attach, one
// query, detach), again and again. Each read is timed; the reads that waited a second or more are
// counted. SQLite twice: as a command reads (the catalog's file opened and closed with each query), and
// as a worker does (the file kept open between reads: src/duckdb/catalog-keeper.ts). Writes
// bench-results/catalog-reads.md and .json.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PACKAGE_ROOT } from '../config';
import { keepCatalogsOpen, releaseKeptCatalogs } from '../duckdb/catalog-keeper';
import { openLake } from '../lake/lake';
import { lakeOptionsFor, withWarehouseReader } from '../warehouse/warehouse';
import { log, machine } from './measure';
import { createDatabase, startPostgresServer } from './postgres-server';

export interface CatalogReadsOptions {
  /** How long the reader reads on each catalog. */
  readonly seconds: number;
}

/** The writer's pause between commits: far more often than a run commits, to see a wait that a run meets now and then. */
const COMMIT_EVERY_MS = 50;

/** A read this long waited on the catalog: SQLite's sleep while a lock is held is a whole second here. */
const STALL_MS = 900;

export interface CatalogReadsRow {
  /** sqlite-kept: the catalog's file kept open between reads, as a worker keeps it. */
  readonly catalog: 'sqlite' | 'sqlite-kept' | 'postgres';
  readonly reads: number;
  readonly commits: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly maxMs: number;
  /** Reads of STALL_MS or more. */
  readonly stalled: number;
}

export async function runCatalogReads(options: CatalogReadsOptions): Promise<void> {
  const folder = path.resolve('.meterflow', 'bench', 'catalog-reads');
  await rm(folder, { recursive: true, force: true });
  const rows: CatalogReadsRow[] = [];
  rows.push(await measureReads('sqlite', path.join(folder, 'sqlite'), {}, options.seconds));
  keepCatalogsOpen();
  try {
    rows.push(await measureReads('sqlite-kept', path.join(folder, 'sqlite-kept'), {}, options.seconds));
  } finally {
    keepCatalogsOpen(false);
    await releaseKeptCatalogs();
  }
  const server = await startPostgresServer();
  try {
    const conninfo = await createDatabase(server, `catalog_reads_${Date.now()}`);
    const env = { METERFLOW_LAKE_DATA: path.join(folder, 'postgres-data') };
    rows.push(await measureReads('postgres', `postgres:${conninfo}`, env, options.seconds));
  } finally {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  }
  const markdown = catalogReadsMarkdown(rows);
  const results = path.join(PACKAGE_ROOT, 'bench-results');
  await mkdir(results, { recursive: true });
  await writeFile(path.join(results, 'catalog-reads.md'), markdown);
  await writeFile(path.join(results, 'catalog-reads.json'), `${JSON.stringify({ catalogs: rows, machine: machine() }, null, 2)}\n`);
  process.stdout.write(markdown);
}

/** One catalog: a table, the writer committing in a loop, and the reader's timed reads until the time is up. */
async function measureReads(
  catalog: CatalogReadsRow['catalog'],
  location: string,
  env: NodeJS.ProcessEnv,
  seconds: number,
): Promise<CatalogReadsRow> {
  const lake = await openLake(lakeOptionsFor(location, { ...process.env, ...env }, 'writer'));
  let writing = true;
  try {
    await lake.withConnection((connection) =>
      connection.run('create table lake.main.readings as select range as meter_id, range % 100 as k from range(100000)'),
    );
    const writer = lake.withConnection(async (connection) => {
      let commits = 0;
      while (writing) {
        await connection.run('begin transaction');
        await connection.run(`insert into lake.main.readings select range, ${commits % 100} from range(1000)`);
        await connection.run('commit');
        commits += 1;
        await sleep(COMMIT_EVERY_MS);
      }
      return commits;
    });
    const reads = timedReads(location, seconds).finally(() => {
      writing = false;
    });
    // both ended before the lake closes: a failed read stops the writer, whose last commit is awaited
    const [read, wrote] = await Promise.allSettled([reads, writer]);
    if (read.status === 'rejected') throw read.reason;
    if (wrote.status === 'rejected') throw wrote.reason;
    const row = readsRow(catalog, read.value, wrote.value);
    log(`catalog reads, ${catalog}: ${JSON.stringify(row)}`);
    return row;
  } finally {
    lake.close();
  }
}

/** Reads as a build worker's (attach, one query, detach), one after another for the given seconds: each one's milliseconds. */
async function timedReads(location: string, seconds: number): Promise<number[]> {
  const times: number[] = [];
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const started = performance.now();
    await withWarehouseReader(location, {}, (reader) =>
      reader.withConnection((connection) => connection.runAndReadAll('select min(meter_id), max(meter_id) from main.readings where k < 5')),
    );
    times.push(performance.now() - started);
  }
  return times;
}

export function readsRow(catalog: CatalogReadsRow['catalog'], times: readonly number[], commits: number): CatalogReadsRow {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.floor(q * (sorted.length - 1))] ?? 0);
  return {
    catalog,
    reads: times.length,
    commits,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    maxMs: at(1),
    stalled: times.filter((t) => t >= STALL_MS).length,
  };
}

export function catalogReadsMarkdown(rows: readonly CatalogReadsRow[]): string {
  const m = machine();
  return [
    `# A reader beside a committing writer, per kind of catalog`,
    '',
    `Machine: ${m.cpus} cores, ${m.cpu ?? 'unknown CPU'}, ${m.memory_gb} GiB, Node ${m.node}; ${m.date}.`,
    `The writer commits a 1,000-row insert every ${COMMIT_EVERY_MS} ms; each read attaches the lake, runs one query and detaches.`,
    '',
    `| catalog | reads | commits | p50 ms | p90 ms | max ms | reads of ${STALL_MS} ms or more |`,
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.catalog} | ${r.reads} | ${r.commits} | ${r.p50Ms} | ${r.p90Ms} | ${r.maxMs} | ${r.stalled} |`),
    '',
  ].join('\n');
}

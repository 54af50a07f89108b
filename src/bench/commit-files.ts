// `npm run bench -- --commit-files 1000,10000`: the writer's commit of many files, as a per-month build
// commits its months (src/build/commit-months.ts), on a PostgreSQL catalog. For each count N: a new
// lake in a database of its own on a PostgreSQL server the bench starts (as the tests do), one table,
// one small Parquet file copied N times into the table's folder, and the N copies added with one
// `ducklake_add_data_files` in ONE transaction; the call and the commit timed, the catalog's rows
// counted before and after. Writes bench-results/commit-files.md and .json.
import type { DuckDBConnection } from '@duckdb/node-api';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { PACKAGE_ROOT } from '../config';
import { quotedString } from '../duckdb/sql';
import { LAKE_ALIAS, openLake, type Lake } from '../lake/lake';
import { commitFilesMarkdown, commitFilesRow, type CommitFilesRow } from './commit-files-results';
import { log, machine, seconds } from './measure';
import { createDatabase, startPostgresServer, type PostgresServer } from './postgres-server';

export interface CommitFilesOptions {
  /** The file counts, each committed in one transaction on a new lake. */
  readonly files: readonly number[];
}

/** Rows of each file: small, as the point is the catalog, not the data. */
const ROWS_PER_FILE = 10;

export async function runCommitFiles(options: CommitFilesOptions): Promise<void> {
  const server = await startPostgresServer();
  const rows: CommitFilesRow[] = [];
  try {
    for (const files of options.files) {
      rows.push(await measureCommit(server, files));
      log(`commit of ${files} files: ${JSON.stringify(rows[rows.length - 1])}`);
    }
  } finally {
    await server.stop();
  }
  const markdown = commitFilesMarkdown(rows, machine());
  const results = path.join(PACKAGE_ROOT, 'bench-results');
  await mkdir(results, { recursive: true });
  await writeFile(path.join(results, 'commit-files.md'), markdown);
  await writeFile(path.join(results, 'commit-files.json'), `${JSON.stringify({ sizes: rows, machine: machine() }, null, 2)}\n`);
  process.stdout.write(markdown);
}

/** One count: a new database and lake, the files, the timed commit, and the catalog before and after. */
async function measureCommit(server: PostgresServer, files: number): Promise<CommitFilesRow> {
  const database = `commit_files_${files}_${Date.now()}`;
  const conninfo = await createDatabase(server, database);
  const folder = path.resolve('.meterflow', 'bench', 'commit-files', `files-${files}`);
  await rm(folder, { recursive: true, force: true });
  const lake = await openLake({ catalog: `postgres:${conninfo}`, dataPath: path.join(folder, 'data') });
  try {
    const paths = await filesToAdd(lake, folder, files);
    const before = await catalogState(server, database);
    const timing = await lake.withConnection((connection) => addInOneTransaction(connection, paths));
    const after = await catalogState(server, database);
    await checkCommitted(lake, files);
    return commitFilesRow(files, timing, {
      rowsBefore: before.rows,
      rowsAfter: after.rows,
      bytesBefore: before.bytes,
      bytesAfter: after.bytes,
    });
  } finally {
    lake.close();
    await rm(folder, { recursive: true, force: true });
  }
}

/** The table, and `files` copies of one small Parquet file in its folder (where DuckLake records them relative to it). */
async function filesToAdd(lake: Lake, folder: string, files: number): Promise<string[]> {
  const template = path.join(folder, 'template.parquet');
  await lake.withConnection(async (connection) => {
    await connection.run(`create table ${LAKE_ALIAS}.main.readings (meter_id bigint, reading double)`);
    await connection.run(
      `copy (select range::bigint as meter_id, range / 10.0 as reading from range(${ROWS_PER_FILE})) to ${quotedString(template)} (format parquet)`,
    );
  });
  const tableFolder = path.join(lake.dataPath, 'main', 'readings');
  await mkdir(tableFolder, { recursive: true });
  const paths = Array.from({ length: files }, (_, i) => path.join(tableFolder, `file-${String(i).padStart(7, '0')}.parquet`));
  for (const file of paths) await copyFile(template, file);
  return paths;
}

/** The files added with one `ducklake_add_data_files` and committed, as commit-months.ts does: each half timed. */
async function addInOneTransaction(
  connection: DuckDBConnection,
  paths: readonly string[],
): Promise<{ addSeconds: number; commitSeconds: number }> {
  await connection.run('begin transaction');
  try {
    const addSeconds = await seconds(() =>
      connection.run(
        `call ducklake_add_data_files(${quotedString(LAKE_ALIAS)}, 'readings', [${paths.map(quotedString).join(', ')}], schema => 'main', hive_partitioning => false)`,
      ),
    );
    const commitSeconds = await seconds(() => connection.run('commit'));
    return { addSeconds, commitSeconds };
  } catch (err) {
    await connection.run('rollback').catch(() => undefined);
    throw err;
  }
}

/** Every table of the catalog (schema public) with its exact row count, and their bytes on disk. */
async function catalogState(server: PostgresServer, database: string): Promise<{ rows: Record<string, number>; bytes: number }> {
  const client = new Client({ host: server.host, port: server.port, user: server.user, database });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(
      "select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1",
    );
    const rows: Record<string, number> = {};
    for (const { name } of tables.rows) {
      const counted = await client.query<{ n: string }>(`select count(*) as n from public.${JSON.stringify(name)}`);
      rows[name] = Number(counted.rows[0]?.n);
    }
    const size = await client.query<{ bytes: string | null }>(
      "select sum(pg_total_relation_size(c.oid)) as bytes from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r'",
    );
    return { rows, bytes: Number(size.rows[0]?.bytes ?? 0) };
  } finally {
    await client.end();
  }
}

/** The table holds every file and every row after the commit: a commit that lost files is no measurement. */
async function checkCommitted(lake: Lake, files: number): Promise<void> {
  await lake.withConnection(async (connection) => {
    const reader = await connection.runAndReadAll(
      `select (select count(*) from ducklake_list_files(${quotedString(LAKE_ALIAS)}, 'readings')), (select count(*) from ${LAKE_ALIAS}.main.readings)`,
    );
    const [listed, rows] = (reader.getRows()[0] ?? []).map(Number);
    if (listed !== files || rows !== files * ROWS_PER_FILE) {
      throw new Error(
        `commit of ${files} files: the table lists ${listed} files and ${rows} rows, not ${files} and ${files * ROWS_PER_FILE}`,
      );
    }
  });
}

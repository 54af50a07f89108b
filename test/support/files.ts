// Temporary folders, model projects and Parquet files for tests.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, statSync } from 'node:fs';
import { cp, mkdtemp, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/config';
import { tablesOf } from '../../src/duckdb/lake-tables';
import { withWarehouseReader } from '../../src/warehouse/warehouse';

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `meterflow-test-${label}-`));
}

/** A copy of the shipped models project that a test may change. */
export async function copyOfModels(label: string): Promise<string> {
  const dir = path.join(await tempDir(label), 'models');
  await cp(path.join(PACKAGE_ROOT, 'models'), dir, { recursive: true });
  return dir;
}

/** The shipped project moved as the energy team keeps theirs: one models/ folder, their folder names. */
export async function energyTeamLayout(label: string): Promise<string> {
  const dir = await copyOfModels(label);
  await mkdir(path.join(dir, 'models'));
  await rename(path.join(dir, 'staging'), path.join(dir, 'models', 'staging'));
  await rename(path.join(dir, 'master'), path.join(dir, 'models', 'master_table'));
  await rename(path.join(dir, 'analytics'), path.join(dir, 'models', 'analytics_tables'));
  await editFile(path.join(dir, 'dbt_project.yml'), (yaml) =>
    yaml.replace("model-paths: ['staging', 'master', 'analytics']", "model-paths: ['models']"),
  );
  return dir;
}

export async function editFile(file: string, edit: (text: string) => string): Promise<void> {
  await writeFile(file, edit(await readFile(file, 'utf8')));
}

/** Write a Parquet file from a SQL query (e.g. a VALUES list with casts), so tests state exact types. */
export async function writeParquet(file: string, query: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`copy (${query}) to '${file.replace(/'/g, "''")}' (format parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Rows of a query against a warehouse (a lake folder or a `postgres:` catalog, read at its latest
 * version, as `meterflow query` does), a DuckDB file opened read-only, or `:memory:` (over Parquet files, say).
 */
export async function queryFile(databaseFile: string, query: string): Promise<Record<string, unknown>[]> {
  const isWarehouse =
    databaseFile.startsWith('postgres:') ||
    (databaseFile !== ':memory:' && existsSync(databaseFile) && statSync(databaseFile).isDirectory());
  if (isWarehouse) {
    return withWarehouseReader(databaseFile, {}, (reader) =>
      reader.withConnection(async (connection) => (await connection.runAndReadAll(query)).getRowObjectsJS() as Record<string, unknown>[]),
    );
  }
  const instance = await DuckDBInstance.create(databaseFile, databaseFile === ':memory:' ? {} : { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(query)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** A checksum of a table's contents (row count and an order-independent sum of row hashes). */
export function tableChecksumSql(table: string): string {
  return `select count(*)::integer as n, sum(hash(t)::hugeint)::varchar as checksum from ${table} t`;
}

/** Every Parquet file under a folder, by path, sorted. */
export async function parquetFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.parquet'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** The data and delete files a lake references now, over every table. */
export async function referencedFiles(warehouse: string): Promise<string[]> {
  return withWarehouseReader(warehouse, {}, async (reader) => {
    const files: string[] = [];
    for (const { schema, table } of await reader.withConnection((connection) => tablesOf(connection, reader.alias))) {
      for (const file of await reader.listFiles(table, schema)) files.push(file.dataFile, ...(file.deleteFile ? [file.deleteFile] : []));
    }
    return files.sort();
  });
}

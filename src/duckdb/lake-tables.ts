// What a lake attached under an alias holds (its current snapshot, its tables, their files), and a handle on one.
import type { DuckDBConnection } from '@duckdb/node-api';
import { quotedString } from './sql';

/** One data file of a lake table, with its delete file when rows of it were deleted since. */
export interface LakeFile {
  readonly dataFile: string;
  readonly sizeBytes: number;
  readonly deleteFile?: string;
}

/** The snapshot a lake attached under an alias reads: the latest committed one, or the one it was attached at. */
export async function currentSnapshotOf(connection: DuckDBConnection, alias: string): Promise<number> {
  const reader = await connection.runAndReadAll(`select id from ducklake_current_snapshot(${quotedString(alias)})`);
  return Number(reader.getRows()[0]?.[0]);
}

/** Every table of a lake attached under an alias, by schema and name. */
export async function tablesOf(connection: DuckDBConnection, alias: string): Promise<{ schema: string; table: string }[]> {
  const reader = await connection.runAndReadAll(
    `select schema_name, table_name from duckdb_tables() where database_name = $alias order by all`,
    { alias },
  );
  return reader.getRows().map(([schema, table]) => ({ schema: String(schema), table: String(table) }));
}

/** The data files that make up a table of a lake attached under an alias (and their delete files), by path. */
export async function filesOf(connection: DuckDBConnection, alias: string, table: string, schema = 'main'): Promise<LakeFile[]> {
  const reader = await connection.runAndReadAll(
    `select data_file, data_file_size_bytes, delete_file
     from ducklake_list_files(${quotedString(alias)}, ${quotedString(table)}, schema => ${quotedString(schema)})
     order by data_file`,
  );
  return reader.getRows().map(([dataFile, sizeBytes, deleteFile]) => ({
    dataFile: String(dataFile),
    sizeBytes: Number(sizeBytes),
    ...(deleteFile === null || deleteFile === undefined ? {} : { deleteFile: String(deleteFile) }),
  }));
}

/** A lake attached in this process under an alias, every connection reading (and writing) it by default. */
export abstract class LakeHandle {
  /** The name the lake is attached under: table functions take it (`ducklake_snapshots(<alias>)`). */
  abstract readonly alias: string;

  /** A connection per unit of work, always closed; unqualified names (`main.x`, `raw.x`) are the lake's. */
  abstract withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;

  /** The lake's snapshot this handle reads: the latest committed one, or the one it was opened at. */
  currentSnapshot(): Promise<number> {
    return this.withConnection((connection) => currentSnapshotOf(connection, this.alias));
  }

  /** The data files that make up a table now (and their delete files), by path. */
  listFiles(table: string, schema = 'main'): Promise<LakeFile[]> {
    return this.withConnection((connection) => filesOf(connection, this.alias, table, schema));
  }
}

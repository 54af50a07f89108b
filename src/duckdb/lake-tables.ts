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

/** A table or view of an attached database. */
export interface Relation {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'view';
}

/**
 * The tables and views of an attached database (the connection's current one when none is named), of
 * one schema or of all, as the connection's transaction sees them.
 *
 * NOTE: from duckdb_columns() and duckdb_views(), not duckdb_tables() or information_schema.tables:
 * on a DuckLake catalog those cost 3 to 10 ms more per table, which made them about a third of the
 * writer's time on small runs. A table has at least one column, so every table is listed; a view is
 * listed from duckdb_views(), since one whose tables are gone has no columns.
 */
export async function relationsOf(
  connection: DuckDBConnection,
  where: { readonly database?: string; readonly schema?: string } = {},
): Promise<Relation[]> {
  const database = where.database === undefined ? 'current_database()' : quotedString(where.database);
  const schema = where.schema === undefined ? '' : ` and schema_name = ${quotedString(where.schema)}`;
  const reader = await connection.runAndReadAll(
    `with views as (
       select schema_name, view_name from duckdb_views() where database_name = ${database}${schema} and not internal
     ),
     tables as (
       select distinct schema_name, table_name from duckdb_columns() where database_name = ${database}${schema}
     )
     select schema_name, view_name as name, 'view' as kind from views
     union all
     select t.schema_name, t.table_name, 'table' from tables t
       anti join views v on v.schema_name = t.schema_name and v.view_name = t.table_name
     order by all`,
  );
  return reader.getRows().map(([schemaName, name, kind]) => ({
    schema: String(schemaName),
    name: String(name),
    kind: kind === 'view' ? 'view' : 'table',
  }));
}

/** Every table of a lake attached under an alias, by schema and name. */
export async function tablesOf(connection: DuckDBConnection, alias: string): Promise<{ schema: string; table: string }[]> {
  return (await relationsOf(connection, { database: alias }))
    .filter((relation) => relation.kind === 'table')
    .map((relation) => ({ schema: relation.schema, table: relation.name }));
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

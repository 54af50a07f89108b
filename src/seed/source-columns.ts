// Which columns a seed loads. A sources YAML that gives every column it lists a data_type is a
// contract: exactly those columns are loaded, of exactly those types. One that lists none, or lists
// some without a type (to describe or test them, as dbt projects do), is read as dbt reads the
// table: every column of its files, which must be the same in each (a file with a column more or less
// is refused, naming it); the columns it lists must be among them.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnDoc, SourceTable } from '../project/types';
import { SourceDataError } from '../errors';
import { quotedIdentifier } from '../duckdb/sql';
import { describeFile } from './source-files';

/** Whether the source's YAML is a contract of its columns: it lists some, each with a data_type. */
export function isColumnContract(source: SourceTable): boolean {
  return source.columns.length > 0 && source.columns.every((column) => column.dataType !== undefined);
}

/** The columns of the raw table, as loaded (without the column of each row's file). */
async function tableColumns(connection: DuckDBConnection, table: string): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(`describe ${table}`);
  return new Map(
    reader
      .getRowObjectsJS()
      .filter((row) => row.column_name !== '_source_file')
      .map((row) => [String(row.column_name), String(row.column_type)]),
  );
}

/** What a seed reads of a source's files: the source with the columns it loads, and their list as SQL. */
export interface LoadedColumns {
  readonly source: SourceTable;
  /** The columns selected from each file, quoted; `*` for a dbt seed. */
  readonly columns: string;
  /** Every column of the files is loaded: a file with one that the others lack is refused. */
  readonly everyColumn: boolean;
}

/**
 * The columns a seed loads. For a source read whole: those of its table (when rows are added to it),
 * else of its first file, typed as found, the YAML's descriptions and types laid over them.
 */
export async function loadedColumns(
  connection: DuckDBConnection,
  source: SourceTable,
  { table, appending, firstFile }: { table: string; appending: boolean; firstFile: () => Promise<{ uri: string; localPath: string }> },
): Promise<LoadedColumns> {
  if (source.seed) return { source, columns: '*', everyColumn: false };
  if (isColumnContract(source)) {
    return { source, columns: source.columns.map((column) => quotedIdentifier(column.name)).join(', '), everyColumn: false };
  }
  const found = appending ? await tableColumns(connection, table) : await describeFile(connection, source, await firstFile());
  const listed = new Map(source.columns.map((column) => [column.name, column]));
  const columns: ColumnDoc[] = [...found].map(([name, type]) => ({
    ...listed.get(name),
    name,
    dataType: listed.get(name)?.dataType ?? type,
  }));
  // a listed column no file has: left in, so that checking the files names it
  columns.push(...source.columns.filter((column) => !found.has(column.name)));
  if (columns.length === 0) throw new SourceDataError(`source ${source.name}: its files have no columns`, source.name);
  return {
    source: { ...source, columns },
    columns: columns.map((column) => quotedIdentifier(column.name)).join(', '),
    everyColumn: true,
  };
}

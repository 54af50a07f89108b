// A lake table's column as its files' footers give it: per row group, its rows, its NULLs and its least
// and greatest value. A footer is read from each file's end, however many rows the file holds: the plan
// reads these instead of the rows where they tell it what it needs (month-rows.ts, key-statistics.ts).
import type { DuckDBConnection } from '@duckdb/node-api';
import { pathList, quotedString } from '../duckdb/sql';
import { filesOf } from '../duckdb/lake-tables';

/** One row group of a column: rows, NULLs (null when the footer has no statistics), least and greatest value as text. */
export interface ColumnRowGroup {
  readonly rows: number;
  readonly nulls: number | null;
  readonly min: string | null;
  readonly max: string | null;
}

export type LakeTable = { readonly schema: string; readonly name: string };

/**
 * The data files of a lake table whose footers can stand for it: undefined where it has no file (a
 * view, rows inlined in the catalog, an empty table) or a delete file (rows the footers still count).
 * A footer that cannot be read, or lacks the column, is the reader's to find.
 */
export async function footerFiles(connection: DuckDBConnection, alias: string, table: LakeTable): Promise<string[] | undefined> {
  const files = await filesOf(connection, alias, table.name, table.schema).catch(() => undefined);
  if (!files || files.length === 0 || files.some((file) => file.deleteFile !== undefined)) return undefined;
  return files.map((file) => file.dataFile);
}

/**
 * The column's row groups in every data file of a lake table, and their data files. Undefined where the
 * footers cannot stand for the table: no file (a view, rows inlined in the catalog, an empty table), a
 * delete file (rows the footers still count), or a file whose footer cannot be read or lacks the column.
 */
export async function columnRowGroups(
  connection: DuckDBConnection,
  alias: string,
  table: LakeTable,
  column: string,
): Promise<{ files: string[]; groups: ColumnRowGroup[] } | undefined> {
  const dataFiles = await footerFiles(connection, alias, table);
  if (!dataFiles) return undefined;
  // footers that cannot be read (a file gone, say): the caller reads the rows, and fails as a scan would
  const rows = await connection
    .runAndReadAll(
      `select file_name, row_group_num_rows, stats_null_count, stats_min_value, stats_max_value
       from parquet_metadata(${pathList(dataFiles)}) where path_in_schema = ${quotedString(column)}`,
    )
    .then((reader) => reader.getRows())
    .catch(() => undefined);
  if (!rows || new Set(rows.map(([file]) => String(file))).size !== dataFiles.length) return undefined;
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    files: dataFiles,
    groups: rows.map(([, groupRows, nulls, min, max]) => ({
      rows: Number(groupRows),
      nulls: nulls === null || nulls === undefined ? null : Number(nulls),
      min: text(min),
      max: text(max),
    })),
  };
}

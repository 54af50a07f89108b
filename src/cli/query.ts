// `meterflow query`: SQL on the warehouse's latest published version (or an earlier run's), from any
// process at any time: beside a writer worker, while a run writes.
import { queryWarehouse, versionAt } from '../warehouse/warehouse';
import { registerWarehouse } from '../warehouse/names';
import { alignedTable } from './text-table';

export interface QueryOptions {
  readonly warehouse: string;
  /** A run (workflow id) or a lake version number. */
  readonly at?: string;
  readonly json?: boolean;
}

/** Rows as an aligned text table, one header line, NULL for nulls. */
export function textTable(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const cell = (value: unknown) =>
    value === null || value === undefined ? 'NULL' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  return [...alignedTable(columns, cells, { rule: true }), `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`].join('\n');
}

export async function queryCommand(sql: string, options: QueryOptions): Promise<string> {
  const location = registerWarehouse(options.warehouse);
  const snapshotVersion = options.at === undefined ? undefined : await versionAt(location, options.at);
  const { columns, rows } = await queryWarehouse(location, sql, snapshotVersion === undefined ? {} : { snapshotVersion });
  return options.json ? JSON.stringify(rows) : textTable(columns, rows);
}

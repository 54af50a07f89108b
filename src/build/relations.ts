// What the warehouse holds: its tables and views, and their rows.
import type { DuckDBConnection } from '@duckdb/node-api';
import { quotedIdentifier, quotedString, relation } from '../duckdb/sql';
import { keyedTable, tableKey, type TableName } from '../project/types';
import { relationsOf } from '../duckdb/lake-tables';

export { keyedTable, tableKey };
import { MODEL_SCHEMA } from './model-sql';

/** A key's table as SQL. */
export const keyedRelation = (key: string): string => {
  const table = keyedTable(key);
  return relation(table.schema, table.name);
};

/** The rows of each of these tables, by key (a model's name, say), in one query. */
export async function countRowsOf(connection: DuckDBConnection, tables: ReadonlyMap<string, TableName>): Promise<Map<string, number>> {
  if (tables.size === 0) return new Map();
  const reader = await connection.runAndReadAll(
    [...tables]
      .map(([key, table]) => `select ${quotedString(key)} as name, count(*)::bigint as n from ${relation(table.schema, table.name)}`)
      .join('\nunion all\n'),
  );
  return new Map(reader.getRows().map(([name, n]) => [String(name), Number(n)]));
}

/** A relation's row count. */
export async function countRows(connection: DuckDBConnection, target: string): Promise<number> {
  return Number((await connection.runAndReadAll(`select count(*)::bigint as n from ${target}`)).getRows()[0]?.[0] ?? 0);
}

/** How a plan counts a relation's rows: countRows, or once per relation for the whole plan (rowCounter). */
export type CountRows = (target: string) => Promise<number>;

/** countRows on one connection, each relation counted once however often it is asked for (within one plan). */
export function rowCounter(connection: DuckDBConnection): CountRows {
  const counted = new Map<string, Promise<number>>();
  return (target) => {
    let rows = counted.get(target);
    if (!rows) {
      rows = countRows(connection, target);
      counted.set(target, rows);
    }
    return rows;
  };
}

/** Every table and view of the connection's current database, by key (tableKey), with its kind. */
export async function existingKinds(connection: DuckDBConnection): Promise<Map<string, 'table' | 'view'>> {
  return new Map((await relationsOf(connection)).map((relation) => [tableKey(relation), relation.kind]));
}

/** Whether a relation is a table, a view, or absent. */
export async function existingKind(connection: DuckDBConnection, table: TableName): Promise<'table' | 'view' | undefined> {
  return (await relationsOf(connection, { schema: table.schema })).find((relation) => relation.name === table.name)?.kind;
}

/** The schema of a model's table, made when it is not there yet (a schema config's `main_<schema>`). */
export async function ensureSchema(connection: DuckDBConnection, table: TableName): Promise<void> {
  if (table.schema !== MODEL_SCHEMA) await connection.run(`create schema if not exists ${quotedIdentifier(table.schema)}`);
}

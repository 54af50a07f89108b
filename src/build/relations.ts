// What the models' schema holds: its tables and views, and their rows.
import type { DuckDBConnection } from '@duckdb/node-api';
import { quotedString, relation } from '../duckdb/sql';
import { relationsOf } from '../duckdb/lake-tables';
import { MODEL_SCHEMA } from './model-sql';

/** The rows of each of these tables of the models' schema, in one query. */
export async function countRowsOf(connection: DuckDBConnection, names: readonly string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const reader = await connection.runAndReadAll(
    names
      .map((name) => `select ${quotedString(name)} as name, count(*)::bigint as n from ${relation(MODEL_SCHEMA, name)}`)
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

/** Every table and view of the models' schema in the connection's current database, with its kind. */
export async function existingKinds(connection: DuckDBConnection): Promise<Map<string, 'table' | 'view'>> {
  return new Map((await relationsOf(connection, { schema: MODEL_SCHEMA })).map((relation) => [relation.name, relation.kind]));
}

/** Whether a relation in the model schema is a table, a view, or absent. */
export async function existingKind(connection: DuckDBConnection, name: string): Promise<'table' | 'view' | undefined> {
  return (await existingKinds(connection)).get(name);
}

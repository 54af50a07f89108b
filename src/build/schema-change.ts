// dbt's on_schema_change for an incremental model without an event_time, when its new rows' columns
// are not its table's: what the table becomes, the new and kept rows as that table holds them, and the
// ALTERs that make it so at publish. Mirrors dbt-core's process_schema_changes with dbt-duckdb's
// column macros: `ignore` keeps the table's columns (a column the new rows lack fails, as dbt's insert
// does), `fail` refuses, `append_new_columns` adds the new ones (rows without a column get NULL there),
// `sync_all_columns` adds, drops and retypes (a retyped column moves to the end, as dbt's add-copy-
// drop-rename moves it). Names are matched as DuckDB matches them, case aside (`ID` is `id`, which dbt
// compares exactly). Pure: the caller reads the columns and runs the SQL.
import { quotedIdentifier } from '../duckdb/sql';
import { ModelBuildError } from '../errors';
import type { ModelNode, OnSchemaChange } from '../project/types';

/** A relation's columns, name to DuckDB type, in order. */
export type Columns = ReadonlyMap<string, string>;

export interface SchemaChange {
  /** The table's columns after the change, in order. */
  readonly columns: Columns;
  /** Select list of the new rows (over the model's SQL) as that table holds them. */
  readonly newRows: string;
  /** Select list of the table's kept rows as that table holds them. */
  readonly keptRows: string;
}

/** Columns as messages name them: `name TYPE, …`, in order. */
const described = (columns: Columns) => [...columns].map(([name, type]) => `${name} ${type}`).join(', ');

/** A column's type in `columns`, its name matched as DuckDB matches names: case aside. */
function typeOf(columns: Columns, name: string): string | undefined {
  const exact = columns.get(name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  return [...columns].find(([other]) => other.toLowerCase() === lower)?.[1];
}

const holds = (columns: Columns, name: string) => typeOf(columns, name) !== undefined;

/** Each column of `to`, read from a relation with `from`'s columns: cast where its type differs, NULL where it has none. */
function selectList(to: Columns, from: Columns): string {
  return [...to]
    .map(([name, type]) => {
      const column = quotedIdentifier(name);
      const had = typeOf(from, name);
      if (had === undefined) return `cast(null as ${type}) as ${column}`;
      return had === type ? column : `cast(${column} as ${type}) as ${column}`;
    })
    .join(', ');
}

/** What the table's columns become under the model's on_schema_change; throws where dbt fails. */
function changedColumns(model: ModelNode, mode: OnSchemaChange, table: Columns, rows: Columns): Columns {
  const added = [...rows].filter(([name]) => !holds(table, name));
  const removed = [...table.keys()].filter((name) => !holds(rows, name));
  const retyped = [...rows].filter(([name, type]) => holds(table, name) && typeOf(table, name) !== type);
  const where = `model ${model.name} (${model.file}): its new rows have the columns (${described(rows)}) where its table has (${described(table)})`;
  if (added.length + removed.length + retyped.length === 0) return table;
  if (mode === 'fail') {
    throw new ModelBuildError(
      `${where}, and its on_schema_change is fail; set append_new_columns or sync_all_columns, or run with --full-refresh`,
      model.name,
      model.file,
    );
  }
  if (mode === 'ignore' && removed.length > 0) {
    throw new ModelBuildError(
      `${where}: they lack ${removed.join(', ')}, which on_schema_change ignore (dbt's default) keeps, as dbt's insert fails; ` +
        'set append_new_columns or sync_all_columns, or run with --full-refresh',
      model.name,
      model.file,
    );
  }
  if (mode === 'ignore') return table;
  if (mode === 'append_new_columns') return new Map([...table, ...added]);
  const kept = [...table].filter(([name]) => holds(rows, name) && !holds(new Map(retyped), name));
  return new Map([...kept, ...added, ...retyped]);
}

/**
 * The change new rows with columns `rows` make to a table with columns `table`; undefined when they
 * are the same columns in the same order (nothing to change, nothing to project).
 */
export function schemaChange(model: ModelNode, mode: OnSchemaChange, table: Columns, rows: Columns): SchemaChange | undefined {
  if (JSON.stringify([...table]) === JSON.stringify([...rows])) return undefined;
  const columns = changedColumns(model, mode, table, rows);
  return { columns, newRows: selectList(columns, rows), keptRows: selectList(columns, table) };
}

/**
 * The ALTERs that turn a table with columns `table` into one with `target` (a SchemaChange's columns,
 * which the new rows have at publish), in dbt's order: new columns added, missing ones dropped, then
 * each retyped one copied into a new column of its type that takes its name (moving it to the end).
 */
export function alterStatements(relation: string, table: Columns, target: Columns): string[] {
  const statements: string[] = [];
  for (const [name, type] of target)
    if (!holds(table, name)) statements.push(`alter table ${relation} add column ${quotedIdentifier(name)} ${type}`);
  for (const name of table.keys())
    if (!holds(target, name)) statements.push(`alter table ${relation} drop column ${quotedIdentifier(name)}`);
  for (const [name, type] of target) {
    const had = typeOf(table, name);
    if (had === undefined || had === type) continue;
    const column = quotedIdentifier(name);
    const copy = quotedIdentifier(`${name}__dbt_alter`);
    statements.push(
      `alter table ${relation} add column ${copy} ${type}`,
      `update ${relation} set ${copy} = cast(${column} as ${type})`,
      `alter table ${relation} drop column ${column}`,
      `alter table ${relation} rename column ${copy} to ${column}`,
    );
  }
  return statements;
}

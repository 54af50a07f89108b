// An incremental model without an event_time, built as dbt builds one once its table exists: its SQL,
// rendered with is_incremental() true, gives the new rows, which are added to the table (append) or
// replace the table's rows with the same unique_key (delete+insert). The new version is a view of the
// rows kept and the new ones, tested as any new version is, until publishing changes the table in place.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BuildModelInput } from '../contract/activities';
import { quotedIdentifier } from '../duckdb/sql';
import { ModelBuildError } from '../errors';
import type { LoadedProject } from '../project/load';
import type { IncrementalConfig, ModelNode } from '../project/types';
import { columnTypesOf } from '../warehouse/data-tests';
import { besideModel, deltaName, modelRelation, pendingRelationOf, warehouseResolver } from './model-sql';
import { modelSqlToRun } from './render-answered';
import { countRows } from './relations';
import { alterStatements, schemaChange, type Columns } from './schema-change';

type KeyConfig = Pick<IncrementalConfig, 'uniqueKey' | 'uniqueKeyIsExpression'>;

/**
 * Whether a row of the table (`kept`) has the key of a new row: `kept.k = added.k and …` over the key's
 * columns, or for a key that is an expression dbt's `(key) in (select (key) from added)`. A NULL key
 * matches none, as in dbt's delete.
 */
function sameKey({ uniqueKey, uniqueKeyIsExpression }: KeyConfig, added: string): string {
  if (uniqueKeyIsExpression) return `((${uniqueKey[0]}) in (select (${uniqueKey[0]}) from ${added}))`;
  const equal = uniqueKey.map((column) => `added.${quotedIdentifier(column)} = kept.${quotedIdentifier(column)}`).join(' and ');
  return `exists (select 1 from ${added} as added where ${equal})`;
}

/**
 * The table's rows the new ones leave: all of them (append), or those no new row has the key of;
 * `columns`, a select list over the table (a SchemaChange's).
 */
export function keptRowsSql(config: KeyConfig, table: string, added: string, columns = '*'): string {
  if (config.uniqueKey.length === 0) return `select ${columns} from ${table}`;
  const left = config.uniqueKeyIsExpression ? `${sameKey(config, added)} is not true` : `not ${sameKey(config, added)}`;
  return `select ${columns} from ${table} as kept where ${left}`;
}

/** A unique_key column that its new rows or its table (as on_schema_change leaves it) lack is refused, naming it (dbt fails on it in SQL). */
export function refuseMissingKey(model: ModelNode, config: IncrementalConfig, table: Columns, rows: Columns): void {
  const lacks = (columns: Columns, key: string) => ![...columns.keys()].some((name) => name.toLowerCase() === key.toLowerCase());
  // an expression's columns are DuckDB's to name
  for (const key of config.uniqueKeyIsExpression ? [] : config.uniqueKey) {
    const where = lacks(rows, key) ? 'its new rows' : lacks(table, key) ? 'its table' : undefined;
    if (!where) continue;
    const columns = [...(where === 'its table' ? table : rows).keys()].join(', ');
    throw new ModelBuildError(
      `model ${model.name} (${model.file}): its unique_key '${key}' is not a column of ${where} (${columns})`,
      model.name,
      model.file,
    );
  }
}

/**
 * The new version of an incremental model whose table exists: its new rows (the delta table) and a
 * view of the table's rows they leave and them (the pending version). Returns its rows.
 */
export async function buildIncrementalRows(
  connection: DuckDBConnection,
  project: LoadedProject,
  model: ModelNode,
  { vars, buildId, pendingRefs = [] }: BuildModelInput,
  create: (target: string, sql: string) => Promise<void>,
): Promise<number> {
  const config = model.incremental as IncrementalConfig;
  const table = modelRelation(model);
  const added = besideModel(model, deltaName(model.name, buildId));
  const resolver = warehouseResolver(project, { buildId, models: pendingRefs });
  const sql = await modelSqlToRun(connection, project, model, resolver, vars, { incremental: true });
  // (new rows whose columns are not the table's: as on_schema_change says, or refused)
  const [had, has] = [await columnTypesOf(connection, table), await columnTypesOf(connection, `(\n${sql}\n)`)];
  const change = schemaChange(model, config.onSchemaChange, had, has);
  // the table as on_schema_change leaves it: a new key column appended is the table's then
  refuseMissingKey(model, config, change?.columns ?? had, has);
  await create(added, change ? `select ${change.newRows} from (\n${sql}\n)` : sql);
  const pending = pendingRelationOf(model, buildId);
  const kept = keptRowsSql(config, table, added, change?.keptRows);
  await connection.run(`create view ${pending} as\n${kept}\nunion all\nselect * from ${added}`);
  return countRows(connection, pending);
}

/**
 * Publish the new rows: the table's columns changed to theirs (on_schema_change: their columns are the
 * changed table's), the table's rows with their keys deleted (delete+insert), then the new rows inserted.
 */
export async function publishIncrementalRows(connection: DuckDBConnection, model: ModelNode, table: string, added: string): Promise<void> {
  const config = model.incremental as IncrementalConfig;
  const columns = await columnTypesOf(connection, added);
  for (const statement of alterStatements(table, await columnTypesOf(connection, table), columns)) await connection.run(statement);
  if (config.uniqueKey.length > 0) {
    await connection.run(`delete from ${table} as kept where ${sameKey(config, added)}`);
  }
  const names = [...columns.keys()].map(quotedIdentifier).join(', ');
  await connection.run(`insert into ${table} (${names}) select ${names} from ${added}`);
}

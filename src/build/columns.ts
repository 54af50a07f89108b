// The columns of a model's inputs, looked up before it is rendered, for a model that asks for them
// while rendering (`adapter.get_columns_in_relation`, as dbt_utils' star does): rendering is
// synchronous, the warehouse is not, so they are read first, each input as the model will read it.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnInfo, RelationColumns } from '../project/dbt-adapter';
import type { LoadedProject } from '../project/load';
import type { RelationResolver } from '../project/render';
import { tableOf, type ModelNode } from '../project/types';
import { modelRelation } from './model-sql';
import { existingKind } from './relations';

/**
 * What reads the columns: a model, or a singular test (its name its template's key, `test:<name>`).
 */
type Reader = Pick<ModelNode, 'name' | 'refs' | 'sources' | 'inlines'>;

/** Whether the model, or an ephemeral model it inlines, or a macro either uses, asks for a relation's columns. */
export function asksForColumns(project: LoadedProject, model: Reader): boolean {
  return [model.name, ...(model.inlines ?? [])].some((name) => (project.templates.get(name) ?? '').includes('get_columns_in_relation'));
}

export async function columnsOfSql(connection: DuckDBConnection, sql: string): Promise<ColumnInfo[]> {
  const reader = await connection.runAndReadAll(`describe select * from ${sql}`);
  return reader.getRowObjectsJS().map((row) => ({ name: String(row.column_name), dataType: String(row.column_type) }));
}

/**
 * The columns of every ref and source of the model, as `resolver` reads them, and of its own
 * published table (`this`), by relation key; or undefined for a model that does not ask (nothing is
 * read then).
 */
export async function inputColumns(
  connection: DuckDBConnection,
  project: LoadedProject,
  model: Reader,
  resolver: RelationResolver,
): Promise<RelationColumns | undefined> {
  if (!asksForColumns(project, model)) return undefined;
  const known = new Map<string, ColumnInfo[]>();
  const whole = resolver.whole ?? resolver;
  for (const ref of model.refs) known.set(`ref:${ref}`, await columnsOfSql(connection, whole.ref(ref)));
  // `this`: the model's published table as it stands, or no columns before it exists (as dbt answers)
  const built = project.plan.models.find((candidate) => candidate.name === model.name);
  if (built)
    known.set('this', (await existingKind(connection, tableOf(built))) ? await columnsOfSql(connection, modelRelation(built)) : []);
  for (const source of project.plan.sources.filter((s) => model.sources.includes(s.name))) {
    // a dbt seed is read with ref(), a source with source()
    const key = source.seed ? `ref:${source.name}` : `source:${source.sourceName}.${source.name}`;
    if (known.has(key)) continue;
    known.set(key, await columnsOfSql(connection, source.seed ? whole.ref(source.name) : whole.source(source.sourceName, source.name)));
  }
  return (key) => known.get(key);
}

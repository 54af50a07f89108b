// What ref(), source() and this give a template: the relation's SQL, as before, that also answers
// dbt's Relation attributes (`this.identifier`, `ref('x').schema`, `.name`, `.table`). A
// template printing `{{ this.identifier }}` would otherwise print nothing (an undefined attribute).
import nunjucks from 'nunjucks';
import { ProjectError } from '../errors';

const SafeString = (nunjucks.runtime as unknown as { SafeString: new (value: string) => object }).SafeString;

/** The last `"schema"."name"` in a relation's SQL (a subquery reads one), unquoted. */
function lastQuotedName(sql: string): { schema: string; name: string } | undefined {
  const quoted = [...sql.matchAll(/"((?:[^"]|"")+)"\."((?:[^"]|"")+)"/g)].pop();
  const unquote = (part: string | undefined) => (part ?? '').replace(/""/g, '"');
  return quoted ? { schema: unquote(quoted[1]), name: unquote(quoted[2]) } : undefined;
}

/** What a relation was made by: `ref:<model>`, `source:<source>.<table>`, or `this`; keys the columns a render knows. */
export const RELATION_KEY = Symbol('meterflow relation');

/** The key of a relation value (relationValue), or undefined for anything else. */
export const relationKeyOf = (value: unknown): string | undefined =>
  typeof value === 'object' && value !== null ? (value as { [RELATION_KEY]?: string })[RELATION_KEY] : undefined;

/**
 * The relation `sql` reads (`"main"."orders"`, or a subquery over one), named `identifier`. It answers
 * as dbt's Relation does where dbt_utils checks one: a mapping whose `metadata.type` ends in
 * `Relation`, not a CTE.
 */
export function relationValue(sql: string, identifier: string, file: string, key?: string): object {
  const schema = lastQuotedName(sql)?.schema ?? 'main';
  const relation = new SafeString(sql);
  const metadata = { type: 'DuckDBRelation' };
  const get = (name: unknown, fallback: unknown = null) => (name === 'metadata' ? metadata : fallback);
  Object.assign(relation, {
    schema,
    identifier,
    name: identifier,
    table: identifier,
    is_table: true,
    is_view: false,
    is_cte: false,
    metadata,
    get,
    // dbt's rendered name (without a database: there is one warehouse), where it is published: a run's
    // unpublished version prints as the table people read (dbt_utils' union_relations labels rows so)
    render: () => `"${schema.replace(/"/g, '""')}"."${identifier.replace(/"/g, '""')}"`,
  });
  if (key !== undefined) Object.defineProperty(relation, RELATION_KEY, { value: key });
  Object.defineProperty(relation, 'database', {
    get: () => {
      throw new ProjectError(`${file}: a relation's database has no value in meterflow: every model is in the one warehouse`, file);
    },
  });
  return relation;
}

/** The identifier of a relation's SQL: the last quoted name in it, else the SQL itself. */
export function identifierOf(sql: string): string {
  return lastQuotedName(sql)?.name ?? sql;
}

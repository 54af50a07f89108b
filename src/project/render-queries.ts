// dbt's queries while a template renders: `run_query(sql)`, `{% call statement(name, fetch_result=True) %}`
// with `load_result(name)`, and `load_relation(relation)` (dbt_utils' get_column_values, date_spine,
// get_single_value and get_query_results_as_dict make them). Rendering is synchronous and the
// warehouse is not, so a render that runs SQL is done in passes (build/render-answered.ts): each pass
// records the questions it could not answer, they are asked of the warehouse, and the template is
// rendered again with the answers, until a pass asks nothing new. Only queries that read are asked:
// each runs as a subquery, so a statement that would write is refused by DuckDB's parser.
import { ProjectError } from '../errors';
import { pyStr, splitCall } from './jinja-python';

/** A query's rows, as a render reads them. */
export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly unknown[])[];
}

/** What a render may ask of the warehouse: a query's rows, or whether a relation exists. */
export type Question = { readonly kind: 'query'; readonly sql: string } | { readonly kind: 'exists'; readonly relation: string };

/** A question's key among the answers. */
export const questionKey = (question: Question): string =>
  question.kind === 'query' ? `query:${question.sql}` : `exists:${question.relation}`;

/**
 * How a render treats queries: `refuse` (a render whose SQL is kept for later, a generic test's, say:
 * no answer it gave could be trusted later), `discover` (a render for a model's refs, config and vars
 * only, whose SQL is never run: an unanswered query gives no rows and a relation exists, as at dbt's
 * parse), or answers from the warehouse (a render whose SQL runs now).
 */
export type RenderQueries = 'refuse' | 'discover' | QueryAnswers;

/** The answers a render pass has, and the questions it asked that they lacked. */
export class QueryAnswers {
  readonly unanswered: Question[] = [];

  constructor(readonly answers: ReadonlyMap<string, QueryResult | boolean> = new Map()) {}

  ask(question: Question): QueryResult | boolean | undefined {
    const key = questionKey(question);
    const known = this.answers.get(key);
    if (known === undefined && !this.unanswered.some((q) => questionKey(q) === key)) this.unanswered.push(question);
    return known;
  }
}

/** A list (what `.values()` and `.keys()` give) typed as JavaScript's iterator, which those replace here. */
const asIterator = <T>(list: T[]) => list as unknown as ReturnType<T[]['values']>;

/**
 * A column of an agate table: `.name`, `.values()`. A list underneath: nunjucks' Jinja compatibility
 * answers `.values()` of any other object with its attributes, as a dict's.
 */
class AgateColumn extends Array<unknown> {
  name = '';

  static named(name: string, cells: readonly unknown[]): AgateColumn {
    const column = new AgateColumn();
    column.push(...cells);
    column.name = name;
    return column;
  }

  /** Its values as a list (agate's), not JavaScript's iterator. */
  override values(): ReturnType<unknown[]['values']> {
    return asIterator([...this]);
  }
}

/** A row of an agate table: by position and by column name, with `.keys()`, `.values()`, `.items()`, `.get()`. */
class AgateRow extends Array<unknown> {
  names: readonly string[] = [];

  static named(names: readonly string[], cells: readonly unknown[]): AgateRow {
    const row = new AgateRow();
    row.push(...cells);
    row.names = names;
    const named = row as unknown as Record<string, unknown>;
    names.forEach((name, i) => {
      if (!/^\d+$/.test(name) && !(name in row)) named[name] = cells[i];
    });
    return row;
  }

  override keys(): ReturnType<unknown[]['keys']> {
    return [...this.names] as unknown as ReturnType<unknown[]['keys']>;
  }

  override values(): ReturnType<unknown[]['values']> {
    return asIterator([...this]);
  }

  items(): [string, unknown][] {
    return this.names.map((name, i) => [name, this[i]]);
  }

  get(name: unknown, fallback: unknown = null): unknown {
    const i = this.names.indexOf(String(name));
    return i < 0 ? fallback : this[i];
  }
}

/** An agate table's columns: by position and by name, with `.keys()`, `.values()` and `.items()`. */
class AgateColumns extends Array<AgateColumn> {
  items(): [string, AgateColumn][] {
    return this.map((column) => [column.name, column]);
  }

  override keys(): ReturnType<unknown[]['keys']> {
    return this.map((column) => column.name) as unknown as ReturnType<unknown[]['keys']>;
  }

  override values(): ReturnType<AgateColumn[]['values']> {
    return asIterator([...this]);
  }
}

/** dbt's result table (agate): `.columns`, `.rows`, `.column_names` (a class, so that a template sees no dict). */
class AgateTable {
  readonly columns: AgateColumns;
  readonly rows: AgateRow[];
  readonly column_names: string[];

  constructor({ columns, rows }: QueryResult) {
    this.columns = new AgateColumns();
    columns.forEach((name, i) =>
      this.columns.push(
        AgateColumn.named(
          name,
          rows.map((row) => row[i]),
        ),
      ),
    );
    const byName = this.columns as unknown as Record<string, unknown>;
    columns.forEach((name, i) => {
      if (!/^\d+$/.test(name) && !(name in byName)) byName[name] = this.columns[i];
    });
    this.rows = rows.map((row) => AgateRow.named(columns, row));
    this.column_names = [...columns];
  }

  print_table(): string {
    return '';
  }
}

/** An unanswered query's table: no rows, and a first column with no values (so `.columns[0].values()` holds). */
const PENDING: QueryResult = { columns: [''], rows: [] };

/** load_result's answer: `data` (the rows as lists), `table`, `response`. */
const loaded = (result: QueryResult): Record<string, unknown> => ({
  data: result.rows.map((row) => [...row]),
  table: new AgateTable(result),
  response: { _message: 'OK', code: 'SELECT', rows_affected: result.rows.length },
});

/**
 * The template functions of a render's queries: run_query, statement, load_result, load_relation.
 * `fail` raises the render's ProjectError.
 */
export function queryFunctions(
  file: string,
  queries: RenderQueries,
  fail: (message: string) => never,
  queried: () => void = () => undefined,
): Record<string, unknown> {
  if (queries === 'refuse') {
    const refuse = (name: string) => () =>
      fail(
        `${file}: ${name}() would query the warehouse while this template renders, and its SQL is kept to run later (a generic test's or a naming macro's): ` +
          'compute it in the SQL instead (a join, a subquery)',
      );
    return Object.fromEntries(['run_query', 'statement', 'load_result', 'load_relation'].map((name) => [name, refuse(name)]));
  }
  const answer = (sql: string): QueryResult => {
    queried();
    if (queries === 'discover') return PENDING;
    return (queries.ask({ kind: 'query', sql }) as QueryResult | undefined) ?? PENDING;
  };
  const results = new Map<string, QueryResult>();
  return {
    run_query: (sql: unknown) => new AgateTable(answer(pyStr(sql).trim())),
    statement: (...args: unknown[]) => {
      const { positional, keywords } = splitCall(args);
      const name = pyStr(positional[0] ?? keywords.name ?? 'statement');
      const caller = keywords.caller;
      const sql = typeof caller === 'function' ? pyStr((caller as () => unknown)()).trim() : '';
      const fetch = keywords.fetch_result ?? positional[1];
      if (fetch !== true) {
        fail(
          `${file}: statement('${name}') without fetch_result=True would run SQL for its effect while the template renders, which meterflow does not do: only queries that read are run`,
        );
      }
      results.set(name, answer(sql));
      return '';
    },
    load_result: (name: unknown) => {
      const result = results.get(pyStr(name));
      return result === undefined ? null : loaded(result);
    },
    load_relation: (relation: unknown) => {
      queried();
      if (queries === 'discover') return relation;
      const exists = queries.ask({ kind: 'exists', relation: pyStr(relation) });
      // unanswered yet: as if it exists, for this pass only
      return exists === false ? null : relation;
    },
  };
}

/** The error of a render whose queries keep asking new questions. */
export function unsettledQueries(file: string, passes: number): ProjectError {
  return new ProjectError(`${file}: its queries while rendering still asked new questions after ${passes} passes`, file);
}

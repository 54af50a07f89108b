// A render whose SQL runs now, in passes: each pass's questions that the answers so far lack (its
// queries' rows, whether a relation exists: project/render-queries.ts) are asked of the warehouse on
// the render's own connection, reading what its refs read, and the template is rendered again, until
// a pass asks nothing new. A template that queries nothing renders once.
import type { DuckDBConnection } from '@duckdb/node-api';
import { duckdbMessage, isPermanentDuckdbError } from '../duckdb/sql';
import { ProjectError } from '../errors';
import { decimalText, PyDecimal } from '../project/jinja-python';
import { floatRepr } from '../project/jinja-format';
import type { RelationColumns } from '../project/dbt-adapter';
import type { LoadedProject } from '../project/load';
import type { RelationResolver } from '../project/render';
import { QueryAnswers, questionKey, unsettledQueries, type Question, type QueryResult } from '../project/render-queries';
import type { ModelNode } from '../project/types';
import { inputColumns } from './columns';
import { renderModelSql } from './model-sql';

/** Passes before a render whose questions keep changing is refused. */
const MAX_PASSES = 8;

/** A time's fraction of a second as Python prints one: none, or six digits (`12.5` is `12.500000`). */
const sixDigitFraction = (text: string) =>
  text.replace(/(\d\d:\d\d:\d\d)\.(\d+)/, (_all, time: string, f: string) => `${time}.${f.slice(0, 6).padEnd(6, '0')}`);

/**
 * A value of a query's row as a template uses it, as dbt's agate table gives it: an integer a number
 * (text beyond 2^53); a DOUBLE or DECIMAL a Decimal (20.0 prints as 20.0, 1.50 as 1.50, 1e20 as
 * 1E+20); a date, time or timestamp the text Python prints (microseconds in six digits, an offset as
 * +00:00). (A differential probe found times as microseconds and decimals without their scale.)
 */
function templateValue(value: unknown, json: unknown, type: string): unknown {
  // (NULL is None, whatever the type: `{% if r[0][0] is none %}` on an empty table)
  if (json === null || json === undefined) return null;
  if (type === 'TIME' || type.startsWith('TIMESTAMP')) {
    const text = sixDigitFraction(String(json));
    return type === 'TIMESTAMP WITH TIME ZONE' ? text.replace(/([+-]\d\d)$/, '$1:00') : text;
  }
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : json;
  if (value instanceof Date) return json;
  if (typeof value === 'number' && type.startsWith('DECIMAL')) return new PyDecimal(value, decimalText(String(json)));
  if (typeof value === 'number' && /^(DOUBLE|FLOAT)/.test(type)) return new PyDecimal(value, decimalText(floatRepr(value)));
  return value;
}

async function answer(connection: DuckDBConnection, file: string, question: Question): Promise<QueryResult | boolean> {
  if (question.kind === 'exists') {
    try {
      await connection.run(`select * from ${question.relation} limit 0`);
      return true;
    } catch (err) {
      if (!isPermanentDuckdbError(err)) throw err;
      return false;
    }
  }
  try {
    // as a subquery: only a query that reads parses
    const sql = question.sql.replace(/[\s;]+$/, '');
    const reader = await connection.runAndReadAll(`select * from (\n${sql}\n) as meterflow_render_query`);
    const json = reader.getRowsJson();
    const types = reader.columnTypes().map((type) => type.toString());
    const rows = reader.getRowsJS().map((row, r) => row.map((value, c) => templateValue(value, json[r]?.[c], types[c] ?? '')));
    return { columns: reader.columnNames(), rows };
  } catch (err) {
    if (!isPermanentDuckdbError(err)) throw err;
    throw new ProjectError(
      `${file}: a query it runs while rendering failed (only a query that reads may run): ${duckdbMessage(err)}\n${question.sql}`,
      file,
    );
  }
}

/** `render` run until its queries are answered: its output from the pass that asked nothing new. */
export async function renderAnswered<T>(connection: DuckDBConnection, file: string, render: (queries: QueryAnswers) => T): Promise<T> {
  let queries = new QueryAnswers();
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    let output: { value: T } | undefined;
    try {
      output = { value: render(queries) };
    } catch (err) {
      // a pass that failed on rows it did not have yet (`rows[0]['b']` of no rows): asked, then again;
      // one that asked nothing new failed on what it had
      if (queries.unanswered.length === 0) throw err;
    }
    if (output && queries.unanswered.length === 0) return output.value;
    const answers = new Map(queries.answers);
    for (const question of queries.unanswered) answers.set(questionKey(question), await answer(connection, file, question));
    queries = new QueryAnswers(answers);
  }
  throw unsettledQueries(file, MAX_PASSES);
}

/**
 * A model's SQL to run now, read through `resolver`: its inputs' columns looked up for a model that
 * asks for them (unless given: a month's, for each of its parts), its queries answered on `connection`.
 */
export async function modelSqlToRun(
  connection: DuckDBConnection,
  project: LoadedProject,
  model: ModelNode,
  resolver: RelationResolver,
  vars: Readonly<Record<string, unknown>> | undefined,
  options: { readonly incremental?: boolean; readonly columns?: RelationColumns } = {},
): Promise<string> {
  const columns = options.columns ?? (await inputColumns(connection, project, model, resolver));
  const incremental = options.incremental ?? false;
  return renderAnswered(connection, model.file, (queries) =>
    renderModelSql(project, model, resolver, vars, { incremental, columns, queries }),
  );
}

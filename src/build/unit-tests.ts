// Running a dbt unit test (project/unit-tests.ts): each given input becomes a fixture typed as the
// relation it stands for (this run's version of a model, a source, a seed), the model's SQL is rendered
// on the fixtures, and its rows on the expected columns are compared with the expected rows, as a
// multiset (dbt compares them unordered). The rows that differ are the test's failures.
import type { DuckDBConnection } from '@duckdb/node-api';
import { SAMPLE_ROWS, type DataTestResult } from '../contract/activities';
import { duckdbMessage, isPermanentDuckdbError, quotedIdentifier, quotedString } from '../duckdb/sql';
import { ModelBuildError } from '../errors';
import type { ColumnInfo } from '../project/dbt-adapter';
import type { LoadedProject } from '../project/load';
import { renderModel, type RelationResolver } from '../project/render';
import type { ModelNode, SingularTest, UnitTestRows, UnitTestSpec } from '../project/types';
import { columnsOfSql } from './columns';
import { findModel, modelRelation, nodeConfigOf } from './model-sql';
import { renderAnswered } from './render-answered';
import { countRows } from './relations';

/** A YAML or CSV value as an SQL literal (then cast to its column's type). */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return quotedString(value.toISOString());
  return quotedString(typeof value === 'object' ? JSON.stringify(value) : String(value));
}

/**
 * A fixture's SQL: its rows, each value cast to its column's type (a column a row leaves out is NULL,
 * as dbt fills it), or its own query. `columns`: the relation's it stands for, in their order.
 */
export function fixtureSql(fixture: UnitTestRows, columns: readonly ColumnInfo[], fail: (what: string) => never): string {
  if ('sql' in fixture) return fixture.sql;
  const types = new Map(columns.map((column) => [column.name.toLowerCase(), column]));
  for (const row of fixture.rows) {
    const unknown = Object.keys(row).find((key) => !types.has(key.toLowerCase()));
    if (unknown !== undefined) fail(`has the column '${unknown}', which the relation does not (${columns.map((c) => c.name).join(', ')})`);
  }
  const value = (row: Readonly<Record<string, unknown>>, column: ColumnInfo) => {
    const key = Object.keys(row).find((k) => k.toLowerCase() === column.name.toLowerCase());
    return `cast(${literal(key === undefined ? null : row[key])} as ${column.dataType}) as ${quotedIdentifier(column.name)}`;
  };
  if (fixture.rows.length === 0) return `select ${columns.map((c) => value({}, c)).join(', ')} where false`;
  return fixture.rows.map((row) => `select ${columns.map((c) => value(row, c)).join(', ')}`).join('\nunion all\n');
}

/** The columns an expect names, in order of first mention (all of a query's). */
async function expectedColumns(connection: DuckDBConnection, expect: UnitTestRows): Promise<string[]> {
  if ('sql' in expect) return (await columnsOfSql(connection, `(${expect.sql}\n)`)).map((c) => c.name);
  return [...new Set(expect.rows.flatMap((row) => Object.keys(row)))];
}

type Fixtures = Map<string, { sql: string; columns: ColumnInfo[] }>;

/** Each given input's fixture, typed by `typeOf` (the columns of the relation it stands for), by relation key. */
async function fixturesOf(
  connection: DuckDBConnection,
  given: UnitTestSpec['given'],
  typeOf: (key: string) => Promise<ColumnInfo[]>,
  fail: (what: string) => never,
): Promise<Fixtures> {
  const fixtures: Fixtures = new Map();
  for (const input of given) {
    const columns = 'sql' in input ? await columnsOfSql(connection, `(${input.sql}\n)`) : await typeOf(input.input);
    const sql = fixtureSql(input, columns, (what) => fail(`gives ${input.input} a row that ${what}`));
    fixtures.set(input.input, { sql, columns });
  }
  return fixtures;
}

/** The model's SQL rendered on the fixtures (relations not given read as they are: seeds). */
async function renderedOn(
  connection: DuckDBConnection,
  project: LoadedProject,
  c: {
    test: SingularTest;
    model: ModelNode;
    fixtures: Fixtures;
    whole: RelationResolver;
    vars: Record<string, unknown>;
    incremental: boolean;
  },
): Promise<string> {
  const { fixtures, whole, model } = c;
  const fixture = (key: string, real: () => string) => {
    const found = fixtures.get(key);
    return found ? `(${found.sql}\n)` : real();
  };
  const resolver: RelationResolver = {
    ref: (ref) => fixture(`ref:${ref}`, () => whole.ref(ref)),
    source: (source, table) => fixture(`source:${source}.${table}`, () => whole.source(source, table)),
  };
  return renderAnswered(
    connection,
    c.test.file,
    (queries) =>
      renderModel({
        file: model.file,
        template: project.templates.get(model.name) ?? '',
        resolver,
        vars: c.vars,
        self: fixture('this', () => modelRelation(model)),
        incremental: c.incremental,
        columns: (key) => fixtures.get(key)?.columns,
        queries,
        projectName: project.plan.projectName,
        ...nodeConfigOf(project, model.name),
      }).sql,
  );
}

/**
 * A unit test's result: its model's rows on the fixtures against the expected ones, its failures the
 * rows that differ (`dbt_unit_diff` `+` for a row the model gave and the expect did not, `-` the other way).
 */
export async function unitTestResult(
  connection: DuckDBConnection,
  project: LoadedProject,
  test: SingularTest & { unit: UnitTestSpec },
  resolver: RelationResolver,
  runVars: Readonly<Record<string, unknown>>,
): Promise<DataTestResult> {
  const { unit, name } = test;
  const model = findModel(project, unit.model);
  const fail = (what: string): never => {
    throw new ModelBuildError(`unit test ${name} of ${model.name} (${test.file}) ${what}`, name, test.file);
  };
  const whole = resolver.whole ?? resolver;
  const vars = { ...project.plan.vars, ...runVars, ...unit.vars };
  const typed = async (relation: string) => columnsOfSql(connection, relation).catch(() => undefined);
  const inputs = await fixturesOf(
    connection,
    unit.given.filter((g) => g.input !== 'this'),
    async (key) => {
      const real = key.startsWith('ref:') ? whole.ref(key.slice(4)) : whole.source(...sourceNames(key));
      return (
        (await typed(real)) ?? fail(`cannot type its fixture of ${key} from ${real}, which does not exist yet: give it as format: sql`)
      );
    },
    fail,
  );
  const on = (fixtures: Fixtures, incremental: boolean) =>
    renderedOn(connection, project, { test, model, fixtures, whole, vars, incremental });
  // `this`: typed as the model's table, or (before it has one) as the model's rows on the other fixtures
  const self = await fixturesOf(
    connection,
    unit.given.filter((g) => g.input === 'this'),
    async () => (await typed(modelRelation(model))) ?? columnsOfSql(connection, `(${await on(inputs, false)}\n)`),
    fail,
  );
  const actual = await on(new Map([...inputs, ...self]), unit.incremental ?? false);
  return compareRows(connection, { name, test, model: model.name, actual, expect: unit.expect, fail });
}

const sourceNames = (key: string): [string, string] => {
  const [source, table] = key.slice('source:'.length).split('.');
  return [source as string, table as string];
};

/** The model's rows on the expected columns against the expected rows: the rows that differ, both ways. */
async function compareRows(
  connection: DuckDBConnection,
  c: { name: string; test: SingularTest; model: string; actual: string; expect: UnitTestRows; fail: (what: string) => never },
): Promise<DataTestResult> {
  const { name, test, fail } = c;
  const given = await columnsOfSql(connection, `(${c.actual}\n)`).catch((err: unknown) => {
    if (!isPermanentDuckdbError(err)) throw err;
    return fail(`: its model's SQL fails on the fixtures: ${duckdbMessage(err)}`);
  });
  // (an expect of no rows names no column: every column the model gives, as dbt compares them)
  const named = await expectedColumns(connection, c.expect);
  const wanted = named.length > 0 ? named : given.map((column) => column.name);
  const byName = new Map(given.map((column) => [column.name.toLowerCase(), column]));
  const missing = wanted.find((column) => !byName.has(column.toLowerCase()));
  if (missing) fail(`expects the column '${missing}', which the model does not give (${given.map((g) => g.name).join(', ')})`);
  const columns = wanted.map((column) => byName.get(column.toLowerCase()) as ColumnInfo);
  const list = columns.map((column) => quotedIdentifier(column.name)).join(', ');
  const expected =
    'sql' in c.expect
      ? `select ${list} from (${c.expect.sql}\n)`
      : fixtureSql(c.expect, columns, (what) => fail(`expects a row that ${what}`));
  const sql =
    `with actual as (select ${list} from (${c.actual}\n)), expected as (${expected}\n)\n` +
    `select '+' as dbt_unit_diff, * from (select * from actual except all select * from expected)\n` +
    `union all\nselect '-' as dbt_unit_diff, * from (select * from expected except all select * from actual)`;
  const failures = await countRows(connection, `(${sql})`);
  if (failures === 0) return { id: name, severity: test.severity, failures, status: 'pass' };
  const samples = (await connection.runAndReadAll(`select * from (${sql}) limit ${SAMPLE_ROWS}`)).getRowObjectsJson();
  return { id: name, severity: test.severity, failures, status: test.severity === 'warn' ? 'warn' : 'fail', sql, samples };
}

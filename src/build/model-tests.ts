// A model's YAML tests and singular tests, run on the writer against this run's new versions. What
// they return is every result; failing the activity on failed error-severity tests is the activity's.
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  SAMPLE_ROWS,
  type DataTestResult,
  type DataTestResults,
  type RunSingularTestInput,
  type TestModelInput,
} from '../contract/activities';
import { duckdbMessage, isPermanentDuckdbError } from '../duckdb/sql';
import { ModelBuildError, ProjectError } from '../errors';
import type { LoadedProject } from '../project/load';
import { testStatus } from '../project/data-tests';
import { renderModel, type RelationResolver } from '../project/render';
import { sourceTestOf, tableOf, type SingularTest } from '../project/types';
import { runDataTests } from '../warehouse/data-tests';
import { withMonthTests } from './built-model-tests';
import { inputColumns } from './columns';
import { uninterruptible, type ModelContext } from './context';
import {
  besideModel,
  deltaName,
  findModel,
  holdsWithinWindow,
  inliningEphemerals,
  pendingRelationOf,
  warehouseResolver,
} from './model-sql';
import { renderAnswered } from './render-answered';
import { unitTestResult } from './unit-tests';
import { existingKind } from './relations';

/**
 * A singular test's result on a connection: its failing rows counted (a sample of them, and its SQL,
 * when there are any), its refs and sources read through `resolver`. An error in its SQL names the test.
 */
export async function singularTestResult(
  connection: DuckDBConnection,
  project: LoadedProject,
  { test: name, vars = {} }: Pick<RunSingularTestInput, 'test' | 'vars'>,
  resolver: RelationResolver,
): Promise<DataTestResult> {
  const test = project.plan.singularTests.find((t) => t.name === name);
  if (!test) throw new ProjectError(`no singular test named '${name}' in ${project.dir}`);
  if (test.of) return testAfterModels(connection, project, test.of, resolver);
  if (test.unit) return unitTestResult(connection, project, { ...test, unit: test.unit }, resolver, vars);
  const allVars = { ...project.plan.vars, ...vars };
  const columns = await inputColumns(connection, project, { ...test, name: `test:${name}` }, resolver);
  const sql = await renderAnswered(
    connection,
    test.file,
    (queries) =>
      renderModel({
        projectName: project.plan.projectName,
        file: test.file,
        template: project.templates.get(`test:${name}`) ?? '',
        resolver: inliningEphemerals(project, resolver, allVars, { columns, queries }),
        vars: allVars,
        self: name,
        columns,
        queries,
      }).sql,
  );
  let failures: number;
  try {
    // (dbt's get_test_sql: its fail_calc over its rows, at most its limit of them)
    const rows = `(${sql}${test.limit !== undefined ? `\nlimit ${test.limit}` : ''})`;
    const counted = await connection.runAndReadAll(
      `select ${test.failCalc === undefined ? 'count(*)' : `coalesce((${test.failCalc}), 0)`} from ${rows}`,
    );
    failures = Number(counted.getRows()[0]?.[0] ?? 0);
  } catch (err) {
    if (!isPermanentDuckdbError(err)) throw err;
    throw new ModelBuildError(`singular test ${name} (${test.file}): ${duckdbMessage(err)}`, name, test.file);
  }
  const status = testStatus(test, failures);
  if (status === 'pass') return { id: name, severity: test.severity, failures, status };
  const samples = (await connection.runAndReadAll(`select * from (${sql}) limit ${SAMPLE_ROWS}`)).getRowObjectsJson();
  return { id: name, severity: test.severity, failures, status, sql, samples };
}

/**
 * A source's or seed's relationships test whose `to` is a model (SingularTest.of): on the source's
 * rows as `resolver` reads them (its window's alone when the run gave one: the model was left as it
 * was), against the whole model (this run's new version where it has one).
 */
async function testAfterModels(
  connection: DuckDBConnection,
  project: LoadedProject,
  of: NonNullable<SingularTest['of']>,
  resolver: RelationResolver,
): Promise<DataTestResult> {
  const found = sourceTestOf(project.plan, of);
  if (!found) throw new ProjectError(`no test ${of.test} of source '${of.source}' in ${project.dir}`);
  const { source, test } = found;
  const rows = source.seed ? resolver.ref(source.name) : resolver.source(source.sourceName, source.name);
  const whole = resolver.whole ?? resolver;
  const { results } = await runDataTests(connection, [test], rows, (ref) => whole.ref(ref));
  return results[0] as DataTestResult;
}

/** A model's YAML tests on its new, not yet published version: every result, failed ones included. */
export async function testModel(
  { warehouse, project, interruptible = uninterruptible }: ModelContext,
  { model: name, buildId, pendingRefs = [], monthTests }: TestModelInput,
): Promise<DataTestResults> {
  const model = findModel(project, name);
  const resolver = warehouseResolver(project, { buildId, models: pendingRefs });
  const resolveRef = (ref: string) => resolver.ref(ref);
  const pending = pendingRelationOf(model, buildId);
  return warehouse.withConnection((connection) =>
    interruptible(connection, async () => {
      if (monthTests?.length === model.tests.length) {
        // tested month by month where they built it: only what needs the whole table is left
        const rest = await runDataTests(
          connection,
          model.tests.filter((_test, i) => !monthTests[i]),
          pending,
          resolveRef,
        );
        return withMonthTests(model.tests, monthTests, rest.results);
      }
      const eventTime = model.eventTime;
      if (!eventTime || !(await existingKind(connection, { schema: tableOf(model).schema, name: deltaName(model.name, buildId) }))) {
        return runDataTests(connection, model.tests, pending, resolveRef);
      }
      // rebuilt over a window: what can only fail on the rebuilt rows is tested on them alone
      const local = model.tests.filter((test) => holdsWithinWindow(test, eventTime));
      const whole = model.tests.filter((test) => !holdsWithinWindow(test, eventTime));
      const onDelta = await runDataTests(connection, local, besideModel(model, deltaName(model.name, buildId)), resolveRef);
      const onWhole = await runDataTests(connection, whole, pending, resolveRef);
      const results = model.tests.map(
        (test) => (onDelta.results.find((r) => r.id === test.id) ?? onWhole.results.find((r) => r.id === test.id)) as DataTestResult,
      );
      return { results, rows: onDelta.rows + onWhole.rows };
    }),
  );
}

/**
 * A singular test (a SQL file under tests/ whose rows are failures) against the warehouse, on this
 * run's new versions of the models it refs: its result, a failing one included.
 */
export async function singularTest(
  { warehouse, project, interruptible = uninterruptible }: ModelContext,
  input: RunSingularTestInput,
): Promise<DataTestResult> {
  const { buildId, pendingRefs = [], window, windowRefs = [] } = input;
  // with a window, only the rows of the event times that changed are checked again
  const resolver = warehouseResolver(project, { buildId, models: pendingRefs }, window ? { window, windowRefs } : undefined);
  return warehouse.withConnection(async (connection) =>
    interruptible(connection, () => singularTestResult(connection, project, input, resolver)),
  );
}

// The tests of a model built in parts that no part decides alone, on a build worker once the writer has
// committed the parts: the writer only commits. A row count is decided from the rows the run counted
// (a whole build's parts' rows added up, or the writer's count of a windowed version: no scan); the
// others (uniqueness on keys without the split column, relationships, thresholds over the whole
// table, custom tests) read the new version, which is the parts' files, as a reader.
import type { DataTestResult, DataTestResults, TestBuiltModelInput } from '../contract/activities';
import { testStatus } from '../project/data-tests';
import type { DataTest } from '../project/types';
import { runDataTests } from '../warehouse/data-tests';
import { withWarehouseReader } from '../warehouse/warehouse';
import { uninterruptible } from './context';
import { findModel, pendingRelationOf, warehouseResolver } from './model-sql';
import type { MonthContext } from './months';

/** A row count that the parts' own counts decide: every row counted, no `where`. */
const countedByParts = (test: DataTest): boolean => test.kind === 'row_count_between' && test.where === undefined;

/** `row_count_between` from the rows the parts wrote: one failing row (the count) when outside. */
function rowCountResult(test: DataTest, rows: number, tested: string): DataTestResult {
  const min = Number(test.args.min_value ?? 0);
  const max = test.args.max_value === undefined ? Number.MAX_SAFE_INTEGER : Number(test.args.max_value);
  const failures = rows >= min && rows <= max ? 0 : 1;
  const status = testStatus(test, failures);
  if (status === 'pass') return { id: test.id, severity: test.severity, failures, status };
  const sql = `select count(*) as row_count from ${tested} having not (count(*) between ${min} and ${max})`;
  return { id: test.id, severity: test.severity, failures, status, sql, samples: [{ row_count: rows }] };
}

/** Every test's result in the YAML's order: the parts' where they have one, `rest` (in order) for the others. */
export function withMonthTests(
  tests: readonly DataTest[],
  monthTests: readonly (DataTestResult | null)[],
  rest: readonly DataTestResult[],
): DataTestResults {
  let next = 0;
  const results = tests.map((_test, i) => monthTests[i] ?? (rest[next++] as DataTestResult));
  return { results, rows: results.filter((r) => r.status !== 'pass').length };
}

/**
 * The tests of a model built in parts that its parts left undecided (null in `monthTests`), on a build
 * worker, after the writer's commit: what the whole table needs, from the parts' results.
 */
export async function testBuiltModel(
  { project, duckdb, interruptible = uninterruptible }: MonthContext,
  input: TestBuiltModelInput,
): Promise<DataTestResults> {
  const { buildId, pendingRefs = [], monthTests, rows, whole } = input;
  const model = findModel(project, input.model);
  // the project's tests no longer match the parts' (it changed under the run): test everything
  const partTests = monthTests.length === model.tests.length ? monthTests : model.tests.map(() => null);
  const left = model.tests.filter((_test, i) => !partTests[i]);
  const pending = pendingRelationOf(model, buildId);
  const counted = new Map(left.filter((test) => whole && countedByParts(test)).map((test) => [test, rowCountResult(test, rows, pending)]));
  const scanned = left.filter((test) => !counted.has(test));
  const resolver = warehouseResolver(project, { buildId, models: pendingRefs });
  const onTable =
    scanned.length === 0
      ? []
      : await withWarehouseReader(input.warehouse as string, { settings: duckdb }, (reader) =>
          reader.withConnection((connection) =>
            interruptible(connection, async () => (await runDataTests(connection, scanned, pending, (ref) => resolver.ref(ref))).results),
          ),
        );
  let next = 0;
  const rest = left.map((test) => counted.get(test) ?? (onTable[next++] as DataTestResult));
  return withMonthTests(model.tests, partTests, rest);
}

// Building a model and testing it: up to date, or rebuilt (whole or over the window that changed) on
// the writer, or a month at a time on the build queue for the big tables; then its tests, once the
// models they read are built too. The new version is unpublished until the publish phase.
import type { BuildMonthsPlan, DataTestResult, EventWindow, MonthPart, WriterActivities } from './activity-types';
import { allOrCancel } from './all-or-cancel';
import { partLabel } from '../contract/activities';
import { buildsPerMonth, countsDistinctValues, passesVersionRows, testsBuiltModelOnBuildQueue } from './compat';
import { mergeMonthResults } from './month-tests';
import { runsOnOf, type ModelNode } from '../project/types';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';
import { inputVersions, judge } from './up-to-date';

/**
 * The build activities of a per-month plan: each month whole, or each of its parts for a model split
 * by a key, each part the key's range between two of the plan's bounds (plans recorded before parts
 * have none: a month each, as then; plans recorded before ranges no bounds: parts by hash).
 */
export function monthParts({ months, parts = 1, bounds, nullKeys }: BuildMonthsPlan): { month: string; part?: MonthPart }[] {
  if (parts <= 1) return months.map((month) => ({ month }));
  const partOf = (index: number): MonthPart => {
    if (!bounds) return { index, of: parts };
    const [from, to] = [bounds[index - 1], bounds[index]];
    // the first part holds the NULL keys, unless the plan found none
    const withoutNulls = index === 0 && nullKeys === false ? { nullKeys: false as const } : {};
    return { index, of: parts, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...withoutNulls };
  };
  return months.flatMap((month) => Array.from({ length: parts }, (_, index) => ({ month, part: partOf(index) })));
}

/** A model built a month at a time on the build queue, its files made the new version by the writer. */
async function buildPerMonth(run: RunContext, buildInput: Parameters<WriterActivities['buildModel']>[0], summary: string) {
  const { writer, builders } = run.activities;
  const plan = await builders.planBuildMonths.executeWithOptions(run.on('buildPlan', `months of ${buildInput.model}`), [buildInput]);
  const { months } = plan;
  const built = await allOrCancel(() =>
    monthParts(plan).map(({ month, part }) =>
      run.monthSlots.run(() =>
        builders.buildMonth.executeWithOptions(
          run.on('buildMonth', `build ${buildInput.model} for ${month}${part ? ` ${partLabel(part)}` : ''}`),
          [{ ...buildInput, month, fileKey: run.version, ...(part ? { part } : {}) }],
        ),
      ),
    ),
  );
  const committed = await writer.commitBuiltMonths.executeWithOptions(run.on('build', `${summary}: commit ${months.length} months`), [
    { ...buildInput, files: built.flatMap((month) => month.files) },
  ]);
  // the tests each month ran on its own rows, added up (absent from months recorded before they did)
  const testCount = built.find((month) => month.tests)?.tests?.length;
  const tests = run.planned.plan.models.find((model) => model.name === buildInput.model)?.tests ?? [];
  const testOf = (i: number) => (tests.length === testCount && countsDistinctValues() ? tests[i] : undefined);
  const monthTests =
    testCount !== undefined && built.every((month) => month.tests?.length === testCount)
      ? Array.from({ length: testCount }, (_, i) =>
          mergeMonthResults(
            built.map((month) => month.tests?.[i] ?? null),
            testOf(i),
          ),
        )
      : undefined;
  return { ...committed, ...(monthTests ? { monthTests } : {}), partRows: built.reduce((sum, month) => sum + month.rows, 0) };
}

/** A model's test results when its parts decided every test. */
const decidedByParts = (results: DataTestResult[]) => ({ results, rows: results.filter((r) => r.status !== 'pass').length });

/**
 * How a model just built runs its tests, given the models they read at their new versions: the writer
 * tests the new version; for a model built in parts, what they left undecided is tested by a build
 * worker (the writer only commits), and nothing runs when they decided every test.
 */
function modelTests(run: RunContext, model: string, result: object, rebuiltWindow: EventWindow | undefined) {
  const { buildId, warehouse } = run;
  const monthTests = 'monthTests' in result ? (result.monthTests as (DataTestResult | null)[]) : undefined;
  const partRows = 'partRows' in result ? (result.partRows as number) : undefined;
  const onBuildQueue = monthTests && partRows !== undefined && testsBuiltModelOnBuildQueue() ? { monthTests, rows: partRows } : undefined;
  // the new version's rows: the parts' for a build of the whole table, the writer's count of a windowed one
  const windowedRows = 'rows' in result && typeof result.rows === 'number' ? result.rows : undefined;
  const counted =
    rebuiltWindow === undefined
      ? { whole: true }
      : onBuildQueue && windowedRows !== undefined && passesVersionRows()
        ? { rows: windowedRows, whole: true }
        : { whole: false };
  return (refs: string[]) => {
    const testInput = { model, buildId, pendingRefs: refs, warehouse };
    if (onBuildQueue && onBuildQueue.monthTests.every((test) => test !== null))
      return Promise.resolve(decidedByParts(onBuildQueue.monthTests as DataTestResult[]));
    return onBuildQueue
      ? run.activities.builders.testBuiltModel.executeWithOptions(run.on('testBuilt', `test ${model}`), [
          { ...testInput, ...onBuildQueue, ...counted },
        ])
      : run.activities.writer.testModel.executeWithOptions(run.on('test', `test ${model}`), [
          { ...testInput, ...(monthTests ? { monthTests } : {}) },
        ]);
  };
}

/** Build one model (or find it up to date) and run its tests, recording its new version in the ledger. */
export async function buildModel(run: RunContext, ledger: RunLedger, model: ModelNode): Promise<void> {
  const { state, built, fullRefresh, buildId, warehouse, version } = run;
  const id = `model:${model.name}`;
  const inputs = ledger.inputsOf(model.sources, model.refs);
  let verdict = judge({
    built: built[model.name],
    stateHash: run.planned.stateHashes[model.name],
    inputs,
    fullRefresh,
    windowed: model.materialized === 'incremental' && model.eventTime !== undefined,
  });
  if (verdict.upToDate) {
    ledger.modelBuilt(model.name, false);
    // a test that reads another model (a relationships test's `to`) must see that model's new version
    const testReadsRebuilt = model.testRefs?.length ? await ledger.pendingTestRefs(model) : [];
    if (testReadsRebuilt.length > 0) {
      verdict = { upToDate: false, reason: `its tests read ${testReadsRebuilt.join(', ')}, rebuilt by this run` };
    } else {
      state.markUnchanged(id, 'up to date: its inputs and SQL are unchanged since it was built');
      if (state.has(`test:${model.name}`)) state.markUnchanged(`test:${model.name}`, 'model unchanged');
      return state.publish();
    }
  }
  const pendingRefs = model.refs.filter((ref) => ledger.rebuilt.has(ref));
  const { window } = verdict;
  await state.run(id, async () => {
    const buildInput = {
      model: model.name,
      vars: run.vars,
      buildId,
      pendingRefs,
      warehouse,
      ...(window ? { window, windowRefs: ledger.refsRebuiltOver(model.refs, window) } : {}),
      // (absent unless asked, so that the inputs of recorded histories stay as they were)
      // (a model configured full_refresh: false keeps its table through a full refresh, as in dbt)
      ...(fullRefresh && model.incremental && model.incremental.fullRefresh !== false ? { fullRefresh: true as const } : {}),
    };
    // (the layer: plans recorded before runs_on named the model's folder here, see compat.ts)
    const summary = `build ${model.layer ? `${model.layer} ` : ''}model ${model.name}${window ? ' (incremental)' : ''}`;
    // the big tables (one row per meter and half hour) are built a month at a time on the build
    // queue, by any number of build workers; the writer commits their files in one go
    const perMonth = runsOnOf(model) === 'build' && buildsPerMonth();
    const result = perMonth
      ? await buildPerMonth(run, buildInput, summary)
      : await run.activities.writer.buildModel.executeWithOptions(run.on('build', summary), [buildInput]);
    // what the build did decides, not what was asked: a model with no published table is built whole
    const rebuiltWindow: EventWindow | undefined = result.windowRows !== undefined && window ? window : undefined;
    // why it was rebuilt, where that is news: not on a model's first build or a full refresh
    if (rebuiltWindow)
      state.node(id).note = `incremental: ${result.windowRows} rows rebuilt from ${rebuiltWindow.from} to ${rebuiltWindow.to}`;
    else if (built[model.name] && !fullRefresh) state.node(id).note = `rebuilt: ${verdict.reason}`;
    // its new version, for its readers: those that start before its tests end read it too (run-nodes.ts)
    ledger.rebuilt.set(model.name, {
      inputs: inputVersions(inputs),
      ...(rebuiltWindow ? { window: rebuiltWindow } : {}),
      ...(typeof result.rows === 'number' ? { rows: result.rows } : {}),
    });
    ledger.versions.set(id, { current: version, before: built[model.name]?.version, changedOver: rebuiltWindow ?? 'all' });
    ledger.modelBuilt(model.name, true);
    const testModel = modelTests(run, model.name, result, rebuiltWindow);
    // NOTE: scheduled in the same turn when no test reads another model, as in recorded histories
    await state.test(model.name, () =>
      model.testRefs?.length
        ? ledger.pendingTestRefs(model).then((extra) => testModel([...pendingRefs, ...extra]))
        : testModel(pendingRefs),
    );
    return result;
  });
}

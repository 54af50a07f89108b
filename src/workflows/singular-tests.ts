// A singular test (a SQL file under tests/): up to date, or run once its inputs are built, on the
// writer, or a month at a time by build workers when every input has an event time.
import { allOrCancel } from './all-or-cancel';
import { passesTestVars, runsInputlessTestsWhole, testsPerMonth } from './compat';
import { mergeMonthResults } from './month-tests';
import type { SingularTest } from '../project/types';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';
import { inputVersions, judge } from './up-to-date';

/** Run one singular test (or find it up to date), recording in the ledger that it ran and over what. */
export async function runSingularTest(run: RunContext, ledger: RunLedger, test: SingularTest): Promise<void> {
  const { state, buildId, warehouse } = run;
  const { plan } = run.planned;
  const { writer, builders } = run.activities;
  const id = `test:${test.name}`;
  const inputs = ledger.inputsOf(test.sources, test.refs);
  const stateHash = run.planned.stateHashes[id] as string;
  const pendingRefs = test.refs.filter((ref) => ledger.rebuilt.has(ref));
  // a source's relationships test checks the new rows of its source alone (a window) only where this
  // run left its model as it was: rows of a rebuilt model may have left any row of the source orphaned
  // (a unit test reads its inputs' columns, not their rows: never a window of them)
  const windowed = !test.unit && (!test.of || pendingRefs.length === 0);
  const verdict = judge({ built: run.built[id], stateHash, inputs, fullRefresh: run.fullRefresh, windowed });
  if (verdict.upToDate) return state.markUnchanged(id, 'its inputs are unchanged since it last ran');
  const { window } = verdict;
  const testInput = {
    test: test.name,
    buildId,
    pendingRefs,
    warehouse,
    ...(passesTestVars() ? { vars: run.vars } : {}),
    ...(window ? { window, windowRefs: ledger.refsRebuiltOver(test.refs, window) } : {}),
  };
  // a test over inputs that all have an event time is run a month at a time by build workers,
  // readers all: the writer goes on seeding and building meanwhile
  // (a test that reads nothing has no months: run whole, asked only of such tests, see compat.ts)
  const readsNothing = test.sources.length + test.refs.length === 0;
  const timed =
    !test.of &&
    !test.unit &&
    !(readsNothing && runsInputlessTestsWhole()) &&
    test.sources.every((s) => plan.sources.find((source) => source.name === s)?.eventTime) &&
    test.refs.every((ref) => plan.models.find((model) => model.name === ref)?.eventTime);
  await state.test(test.name, async () => {
    if (!timed || !testsPerMonth()) return writer.runSingularTest.executeWithOptions(run.on('test', `test ${test.name}`), [testInput]);
    const { months } = await builders.planTestMonths.executeWithOptions(run.on('buildPlan', `months of test ${test.name}`), [testInput]);
    const results = await allOrCancel(() =>
      months.map((month) =>
        run.monthSlots.run(() =>
          builders.testMonth.executeWithOptions(run.on('testMonth', `test ${test.name} for ${month}`), [{ ...testInput, month }]),
        ),
      ),
    );
    const merged = mergeMonthResults(results) ?? { id: test.name, severity: test.severity, failures: 0, status: 'pass' as const };
    return { results: [merged], rows: merged.status === 'pass' ? 0 : 1 };
  });
  ledger.testsRun.push({ test: test.name, state: { stateHash, version: run.version, inputs: inputVersions(inputs) } });
}

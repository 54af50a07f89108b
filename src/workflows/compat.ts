// What the pipeline workflow keeps doing for histories recorded by earlier builds of it, in one place:
// each patch id, and each field an older activity result may lack, with the runs that need it. The
// phases ask here rather than calling patched() or defaulting a field themselves. A patch can be
// deprecated (deprecatePatch) once no run recorded before it can still be replayed or reset.
import { patched } from '@temporalio/workflow';
import type { AnalyticsModelResult, DataTestResults, PlannedRun, SeedSourceResult } from './activity-types';
import type { BuiltState } from './up-to-date';

/**
 * The patch ids, each marking where a run's history changed shape. A run recorded before the patch
 * replays the old shape; a new run records the marker and takes the new one.
 */
export const PATCH = {
  /**
   * Models that run on the build queue (runs_on: build) are built a month at a time by build workers
   * and committed by the writer. Runs recorded before built every model whole on the writer.
   */
  perMonthBuilds: 'per-month-builds',
  /**
   * Singular tests over inputs that all have an event time run a month at a time on the build queue.
   * Runs recorded before ran each as one writer activity (runSingularTest).
   */
  monthTests: 'month-tests',
  /**
   * Every source is looked at in one writer activity (checkSources) before any is seeded, and sources
   * with nothing new are not seeded. Runs recorded before seeded each source in its own activity.
   */
  checkSources: 'check-sources',
  /**
   * Every activity's input names the run's logs folder (RunScope.logs), where the worker keeps each
   * attempt's log lines. Runs recorded before stamped no logs folder, and their inputs stay as recorded.
   */
  runLogs: 'run-logs',
  /**
   * A model built in parts has the tests its parts left undecided run on the build queue
   * (testBuiltModel), its row count taken from the parts' rows. Runs recorded before ran them on the
   * writer (testModel), over the committed table.
   */
  builtModelTests: 'built-model-tests',
  /**
   * The rows a build counted go with the new version: the tests on the build queue of a model rebuilt
   * over a window get the writer's count of it (so a row count test scans nothing), and the pin gets
   * the rebuilt tables' rows (it counted them, reading every event time of a windowed version). Runs
   * recorded before passed the parts' rows alone, and the pin counted.
   */
  versionRows: 'version-rows',
  /**
   * The run's vars carry dbt's run_started_at and invocation_id (RUN_STARTED_AT_VAR,
   * INVOCATION_ID_VAR). Runs recorded before passed logical_date and the user's vars alone.
   */
  runValues: 'run-values',
  /**
   * An accepted_values test run a month at a time counts a value failing in several months once, as
   * dbt counts it. Runs recorded before added up the months' counts.
   */
  distinctValues: 'distinct-values',
  /**
   * A singular test is rendered with the run's vars (and run_started_at), as models are. Runs recorded
   * before rendered it with dbt_project.yml's vars alone.
   */
  singularTestVars: 'singular-test-vars',
  /**
   * A seed whose relationships test reads another seed is seeded after it. Runs recorded before seeded
   * them in any order.
   */
  seedTestOrder: 'seed-test-order',
  /**
   * A model whose tests read a model that reads it (a relationships test's `to` downstream) lets its
   * readers start once it is built, not once it is tested. Runs recorded before waited for its tests,
   * which waited for its readers: such a run never ended.
   */
  readersAfterBuild: 'readers-after-build',
  /**
   * A singular test that reads no model and no source runs whole on the writer. Runs recorded before
   * ran it a month at a time, found no month, and passed it without running it.
   */
  inputlessTestsWhole: 'inputless-tests-whole',
  /**
   * Once the publish starts, it and the report after it are not cancelled: the publish is the run's
   * commit point, and a cancel that arrives meanwhile finds the run ended. Runs recorded before
   * cancelled the publish activity, which could commit all the same, the run then saying it was cancelled.
   */
  publishCommitPoint: 'publish-commit-point',
  /**
   * A run whose plan fails tells its webhooks. Runs recorded before ended with the plan's failure and
   * told nobody.
   */
  planFailureNotified: 'plan-failure-notified',
  /**
   * A model whose tests failed (not its build) ends succeeded, noting that they failed; the test node
   * is the failed one. Runs recorded before showed the model failed too (and their failed run's report
   * was rendered with those states).
   */
  builtBeforeFailedTests: 'built-before-failed-tests',
} as const;

/** Whether this model is built a month at a time (asked only of models that run on the build queue). */
export const buildsPerMonth = (): boolean => patched(PATCH.perMonthBuilds);

/** Whether this singular test runs a month at a time (asked only of tests over timed inputs). */
export const testsPerMonth = (): boolean => patched(PATCH.monthTests);

/** Whether a model built in parts is tested on the build queue (asked only of models whose parts ran their tests). */
export const testsBuiltModelOnBuildQueue = (): boolean => patched(PATCH.builtModelTests);

/** Whether the rows a build counted go with its new version (asked only where an input would carry them). */
export const passesVersionRows = (): boolean => patched(PATCH.versionRows);

/** Whether the sources are checked in one activity first (asked only of incremental runs with sources). */
export const checksSourcesFirst = (): boolean => patched(PATCH.checkSources);

/** Whether the run's activities keep their logs in its folder (asked once, as the run opens). */
export const keepsRunLogs = (): boolean => patched(PATCH.runLogs);

/** Whether the run's vars carry run_started_at and invocation_id (PATCH.runValues). */
export const passesRunValues = (): boolean => patched(PATCH.runValues);

/** Whether month results of accepted_values count distinct values (PATCH.distinctValues). */
export const countsDistinctValues = (): boolean => patched(PATCH.distinctValues);

/** Whether a singular test is given the run's vars (PATCH.singularTestVars). */
export const passesTestVars = (): boolean => patched(PATCH.singularTestVars);

/** Whether a seed waits for the seeds its relationships tests read (PATCH.seedTestOrder). */
export const ordersSeedTests = (): boolean => patched(PATCH.seedTestOrder);

/** What each published node was built from: absent in plans recorded before input versions (all rebuilt). */
export const builtBefore = (planned: PlannedRun): Readonly<Record<string, BuiltState>> => planned.built ?? {};

/**
 * The warehouse every writer activity names: the run's, or, in runs recorded before runs named their
 * warehouse, the plan's. (Such runs also use the default writer queue and stamp no scope: run-scope.ts.)
 */
export const runWarehouse = (input: { readonly warehouse?: string }, planned: PlannedRun): string =>
  input.warehouse ?? planned.warehousePath;

/** The files a seed ignored: absent from seed results recorded before ignoredFiles existed. */
export const ignoredFilesOf = (seeded: SeedSourceResult): readonly string[] => seeded.ignoredFiles ?? [];

/** An analytics model's tests: absent from results recorded before analytics models ran their tests. */
export const analyticsTestsOf = (result: AnalyticsModelResult): DataTestResults => result.tests ?? { results: [], rows: 0 };

// Shapes kept without a helper, noted where they are kept:
// - build-models.ts: a month's build result without tests (recorded before months ran the model's
//   tests) leaves the model's tests to testModel alone; a model's tests are scheduled in the same turn
//   as its build ends when none of them reads another model, as every recorded history has them.
// - build-models.ts: a model's build summary names its `layer`, which only plans recorded before
//   runs_on have (there the folder said where a model runs: runsOnOf in project/types.ts reads both).
// - run-state.ts: a test activity's result with a failing test fails the node, as test activities
//   recorded before they failed themselves returned one.
// - slots.ts: a month activity with a slot free starts in the same turn, as before slots existed.

/** Whether the readers of a model tested against them start once it is built (PATCH.readersAfterBuild). */
export const startsReadersAfterBuild = (): boolean => patched(PATCH.readersAfterBuild);

/** Whether a singular test reading nothing runs whole (PATCH.inputlessTestsWhole). */
export const runsInputlessTestsWhole = (): boolean => patched(PATCH.inputlessTestsWhole);

/** Whether the publish and the report after it run to their end once started (PATCH.publishCommitPoint). */
export const publishIsCommitPoint = (): boolean => patched(PATCH.publishCommitPoint);

/** Whether a run whose plan failed tells its webhooks (PATCH.planFailureNotified; asked of such runs only). */
export const notifiesPlanFailure = (): boolean => patched(PATCH.planFailureNotified);

/** Whether a model whose tests failed is shown built (PATCH.builtBeforeFailedTests; asked when they fail). */
export const showsBuiltBeforeFailedTests = (): boolean => patched(PATCH.builtBeforeFailedTests);

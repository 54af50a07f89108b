// The pipeline workflow, in phases: plan, seed every source, build and test the models in DAG order
// (the big ones a month at a time on the build queue), pin the lake version the analytics read, run
// them in parallel on the analytics queue, publish everything in one lake commit, render the report.
// Orchestration only: the graph is run-graph.ts, what is up to date up-to-date.ts, the options per
// kind of work activity-options.ts, the nodes' states run-state.ts. No I/O here: every piece of work
// is an activity.
import {
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ANALYTICS_QUEUE, optionsFor, PROXY_DEFAULTS, WRITER_QUEUE, type WorkKind } from './activity-options';
import { runQueues, runScope, stamped } from './run-scope';
import type {
  AnalyticsActivities,
  AnalyticsModelResult,
  BuildActivities,
  DataTestResult,
  EventWindow,
  PinnedSnapshot,
  RenderReportInput,
  SeedSourceResult,
  SourceFileRecord,
  WriterActivities,
} from './activity-types';
import {
  LOGICAL_DATE,
  MODELS_SELECTED,
  progressQuery,
  RUN_KIND,
  SCHEDULED_START_TIME,
  sourcesLandedSignal,
  type PipelineInput,
  type PipelineResult,
} from '../contract/run';
import { sqlTimestamp } from '../contract/time';
import { describeInputProblems, pipelineInputProblems, webhookLabel } from '../contract/validate';
import { childUri, runFolderName } from '../contract/uri';
import { planGraph } from './run-graph';
import { runsOnOf } from '../project/types';
import { RunState, type NodeFailureDetails } from './run-state';
import { inputVersions, judge, type BuiltState, type InputVersion } from './up-to-date';
import { mergeMonthResults } from './month-tests';
import { MONTH_ACTIVITY_SLOTS, Slots } from './slots';

export { ANALYTICS_QUEUE, WRITER_QUEUE };

const writerStubs = proxyActivities<WriterActivities>(PROXY_DEFAULTS);
const analyticsStubs = proxyActivities<AnalyticsActivities>(PROXY_DEFAULTS);
const builderStubs = proxyActivities<BuildActivities>(PROXY_DEFAULTS);

/** Runs recorded before per-month builds built every model whole on the writer: their replays still do. */
const PER_MONTH_BUILDS = 'per-month-builds';
/** Runs recorded before singular tests over timed inputs ran a month at a time on the build queue. */
const MONTH_TESTS = 'month-tests';
/** Runs recorded before every source was checked in one activity seeded each source in its own. */
const CHECK_SOURCES = 'check-sources';

/**
 * Run work side by side; at the first failure, cancel the rest and wait until their workers have
 * stopped them (so a failed run leaves nothing running and no node `running`), then throw it.
 */
async function allOrCancel<T>(start: () => Promise<T>[]): Promise<T[]> {
  const scope = new CancellationScope();
  let started: Promise<T>[] = [];
  try {
    return await scope.run(() => {
      started = start();
      return Promise.all(started);
    });
  } catch (err) {
    scope.cancel();
    await Promise.allSettled(started);
    throw err;
  }
}

/** What a failure says of itself: the failing node and why, with a failed test's samples. */
function failureDetails(err: unknown): NodeFailureDetails {
  if (err instanceof ApplicationFailure && err.type === 'PipelineNodeFailed') return err.details?.[0] as NodeFailureDetails;
  return { node: 'run', reason: err instanceof Error ? err.message : String(err) };
}

/** Two windows of event times that are the same. */
const sameWindow = (a: EventWindow | undefined, b: EventWindow | undefined) =>
  a !== undefined && b !== undefined && a.from === b.from && a.to === b.to;

export async function pipeline(input: PipelineInput): Promise<PipelineResult> {
  // a bad input (a caller of `temporal workflow start`) fails the run at once, naming each field,
  // rather than failing its workflow task for ever
  const problems = pipelineInputProblems(input);
  if (problems.length > 0) throw ApplicationFailure.nonRetryable(describeInputProblems(problems), 'InvalidPipelineInput');
  const info = workflowInfo();
  const { workflowId, runId } = info;
  const queues = runQueues(input);
  // every activity carries the warehouse and project the run names: a worker serving others refuses it
  const scope = runScope(input, childUri(input.outUri, 'runs', runFolderName(workflowId), 'logs'));
  const writer = stamped(writerStubs, scope);
  const analytics = stamped(analyticsStubs, scope);
  const builders = stamped(builderStubs, scope);
  const on = (kind: WorkKind, summary: string) => optionsFor(kind, queues, summary);
  // per-month builds and tests of every model share one bound, far under Temporal's pending-activity limit
  const monthSlots = new Slots(MONTH_ACTIVITY_SLOTS);
  const startedAt = Date.now();
  // a scheduled run's logical date is its scheduled time, so a backfill reproduces the slots it covers
  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  const logicalDate = input.logicalDate ?? (scheduledAt ?? new Date(startedAt)).toISOString();
  const kind = input.kind ?? (scheduledAt ? 'scheduled' : 'manual');
  const vars = { logical_date: sqlTimestamp(logicalDate), ...input.vars };
  const fullRefresh = input.fullRefresh === true;
  /** Names this run's unpublished versions (stable across continue-as-new, so a retry finds them). */
  const buildId = info.firstExecutionRunId;
  /** The version this run gives every model it publishes: unique to this execution. */
  const version = runId;

  let state = new RunState([], { kind, logicalDate });
  let done = false;
  let seedingStarted = false;
  let landedDuringRun: string | undefined;
  setHandler(progressQuery, () => ({ workflowId, startedAt, logicalDate, nodes: state.nodes, done, dataTests: state.dataTests }));
  setHandler(sourcesLandedSignal, (landed) => {
    // files that land before seeding are seen by this run; later ones need another
    if (seedingStarted) landedDuringRun = landed?.note ?? 'new source files';
  });
  upsertSearchAttributes([
    { key: RUN_KIND, value: kind },
    { key: LOGICAL_DATE, value: new Date(logicalDate) },
  ]);

  const planned = await writer.planRun.executeWithOptions(on('plan', 'plan: load the models project'), [
    {
      vars,
      buildId,
      ...(input.force ? { force: true } : {}),
      ...(input.select ? { select: input.select } : {}),
      ...(input.exclude ? { exclude: input.exclude } : {}),
    },
  ]);
  const { plan } = planned;
  const built = planned.built ?? {}; // absent in histories from before input versions
  /** Every writer activity names the run's warehouse (or, in runs that named none, the plan's): another warehouse's writer refuses it. */
  const warehouse = input.warehouse ?? planned.warehousePath;
  const selected = new Set(planned.selected);
  upsertSearchAttributes([{ key: MODELS_SELECTED, value: selected.size === plan.models.length ? ['all'] : [...selected] }]);
  const graph = planGraph(plan, selected);
  const { sources, buildable, analyticsModels, masterTables, singularTests, snapshotId, publishId, reportId } = graph;
  state = new RunState(graph.nodes, { kind, logicalDate });
  state.publish();

  /** Seeds and models as this run sees them: versions before and now, and how this run changed them. */
  const versions = new Map<string, InputVersion>();
  const versionOf = (id: string): InputVersion => {
    const published = id.startsWith('model:') ? built[id.slice('model:'.length)]?.version : undefined;
    return versions.get(id) ?? { current: published, before: published };
  };
  const inputsOf = (sourceNames: readonly string[], refs: readonly string[]): Record<string, InputVersion> =>
    Object.fromEntries([...sourceNames.map((s) => `seed:${s}`), ...refs.map((r) => `model:${r}`)].map((id) => [id, versionOf(id)]));
  /** Models this run rebuilt: what they were built from, and the window when rebuilt over one only. */
  const rebuilt = new Map<string, { inputs: Record<string, string>; window?: EventWindow }>();
  // each model of the run, once its new version exists (true) or it is up to date (false), before its
  // tests: what a test that reads another model (a relationships test's `to`) waits for
  const builtSignals = new Map<string, (rebuiltNow: boolean) => void>();
  const builtNow = new Map(
    buildable.map((model) => [model.name, new Promise<boolean>((resolve) => builtSignals.set(model.name, resolve))] as const),
  );
  /** The models a model's tests read besides it, rebuilt by this run: waited for, then read as new. */
  const pendingTestRefs = async (model: (typeof buildable)[number]): Promise<string[]> => {
    const testRefs = model.testRefs ?? [];
    const waited = Promise.all(testRefs.map(async (ref) => ((await builtNow.get(ref)) === true ? [ref] : [])));
    return (await Promise.race([waited, CancellationScope.current().cancelRequested])).flat();
  };
  /** Upstream models rebuilt over exactly this window: read as their rebuilt rows alone. */
  const refsRebuiltOver = (refs: readonly string[], window: EventWindow) =>
    refs.filter((ref) => sameWindow(rebuilt.get(ref)?.window, window));
  /** Singular tests this run ran: recorded at publish, so an unchanged test is not run again. */
  const testsRun: { test: string; state: BuiltState }[] = [];
  const sourceFiles: SourceFileRecord[] = [];
  let succeeded = false;
  /** Why the run failed (not set when it was cancelled): its report opens on it. */
  let failure: NodeFailureDetails | undefined;

  const reportUri = childUri(input.outUri, 'runs', runFolderName(workflowId), 'report.html');
  /** The run's report: its analytics, or (for a failed run) the failure first. */
  const renderReport = (extra: Partial<Pick<RenderReportInput, 'master' | 'analyticsOutputs' | 'analyticsTables' | 'failure'>>) =>
    analytics.renderReport.executeWithOptions(on('report', extra.failure ? "render the failed run's report" : 'render the run report'), [
      {
        workflowId,
        startedAt: info.runStartTime.toISOString(),
        logicalDate,
        reportUri,
        analyticsOutputs: [],
        ...extra,
        sqlHashes: planned.stateHashes,
        nodes: state.nodes.filter((n) => n.id !== reportId),
        dataTests: state.dataTests,
        sourceFiles,
      },
    ]);

  /** A source's seed input, as this run seeds it. */
  const seedInput = (source: (typeof sources)[number]) => ({
    source,
    uri: source.location ?? childUri(input.sourcesUri, source.name),
    fullRefresh,
    logicalDate,
    warehouse,
    ...(input.verify ? { verify: true } : {}),
  });
  /** Sources with nothing to load, as one activity found them before any was seeded: not seeded again. */
  const unchangedSources = new Map<string, SeedSourceResult>();

  /** Every source looked at in one writer activity: a run with no new files seeds nothing. */
  async function checkSources(): Promise<void> {
    // a first run (nothing built yet) loads every source: nothing to check
    const firstRun = Object.keys(built).length === 0;
    if (fullRefresh || input.verify || firstRun || sources.length === 0 || !patched(CHECK_SOURCES)) return;
    const { results } = await writer.checkSources.executeWithOptions(on('seed', 'check every source for new files'), [
      { sources: sources.map(seedInput), warehouse },
    ]);
    results.forEach((result, index) => {
      const source = sources[index];
      if (result && source) unchangedSources.set(source.name, result);
    });
  }

  async function seed(source: (typeof sources)[number]): Promise<void> {
    const id = `seed:${source.name}`;
    const result = await state.run(id, async () => {
      const seeded =
        unchangedSources.get(source.name) ??
        (await writer.seedSource.executeWithOptions(on('seed', `seed ${source.name}`), [seedInput(source)]));
      sourceFiles.push(...seeded.files.map((file) => ({ source: source.name, ...file })));
      // results recorded before ignoredFiles existed lack it (replays of older runs)
      const ignored = seeded.ignoredFiles ?? [];
      state.node(id).note = [
        seeded.changed ? `${seeded.loadedFiles.length} file(s) loaded, ${seeded.removedFiles.length} removed` : 'no new or changed files',
        ...(seeded.verifiedFiles !== undefined
          ? [`${seeded.verifiedFiles} verified by checksum, ${seeded.differedFiles?.length ?? 0} differed`]
          : []),
        ...(ignored.length > 0
          ? [`${ignored.length} ignored (not .parquet): ${ignored.slice(0, 5).join(', ')}${ignored.length > 5 ? ', …' : ''}`]
          : []),
        ...(seeded.setAside ?? []).map((entry) => `${entry.rows} ${entry.rows === 1 ? 'row' : 'rows'} set aside by ${entry.test}`),
      ].join(', ');
      return seeded;
    });
    versions.set(id, {
      current: result.version,
      before: result.previousVersion,
      ...(result.changed ? { changedOver: result.window ?? 'all' } : {}),
    });
    if (!result.changed) state.markUnchanged(id, state.node(id).note ?? 'no new or changed files');
  }

  async function singularTest(test: (typeof singularTests)[number]): Promise<void> {
    const id = `test:${test.name}`;
    const inputs = inputsOf(test.sources, test.refs);
    const stateHash = planned.stateHashes[id] as string;
    const verdict = judge({ built: built[id], stateHash, inputs, fullRefresh, windowed: true });
    if (verdict.upToDate) return state.markUnchanged(id, 'its inputs are unchanged since it last ran');
    const pendingRefs = test.refs.filter((ref) => rebuilt.has(ref));
    const { window } = verdict;
    const testInput = {
      test: test.name,
      buildId,
      pendingRefs,
      warehouse,
      ...(window ? { window, windowRefs: refsRebuiltOver(test.refs, window) } : {}),
    };
    // a test over inputs that all have an event time is run a month at a time by build workers,
    // readers all: the writer goes on seeding and building meanwhile
    const timed =
      test.sources.every((s) => plan.sources.find((source) => source.name === s)?.eventTime) &&
      test.refs.every((ref) => plan.models.find((model) => model.name === ref)?.eventTime);
    await state.test(test.name, async () => {
      if (!timed || !patched(MONTH_TESTS)) return writer.runSingularTest.executeWithOptions(on('test', `test ${test.name}`), [testInput]);
      const { months } = await builders.planTestMonths.executeWithOptions(on('buildPlan', `months of test ${test.name}`), [testInput]);
      const results = await allOrCancel(() =>
        months.map((month) =>
          monthSlots.run(() =>
            builders.testMonth.executeWithOptions(on('testMonth', `test ${test.name} for ${month}`), [{ ...testInput, month }]),
          ),
        ),
      );
      const merged = mergeMonthResults(results) ?? { id: test.name, severity: test.severity, failures: 0, status: 'pass' as const };
      return { results: [merged], rows: merged.status === 'pass' ? 0 : 1 };
    });
    testsRun.push({ test: test.name, state: { stateHash, version, inputs: inputVersions(inputs) } });
  }

  /** A model built a month at a time on the build queue, its files made the new version by the writer. */
  async function buildPerMonth(buildInput: Parameters<WriterActivities['buildModel']>[0], summary: string) {
    const { months } = await builders.planBuildMonths.executeWithOptions(on('buildPlan', `months of ${buildInput.model}`), [buildInput]);
    const built = await allOrCancel(() =>
      months.map((month) =>
        monthSlots.run(() =>
          builders.buildMonth.executeWithOptions(on('buildMonth', `build ${buildInput.model} for ${month}`), [
            { ...buildInput, month, fileKey: version },
          ]),
        ),
      ),
    );
    const committed = await writer.commitBuiltMonths.executeWithOptions(on('build', `${summary}: commit ${months.length} months`), [
      { ...buildInput, files: built.flatMap((month) => month.files) },
    ]);
    // the tests each month ran on its own rows, added up (absent from months recorded before they did)
    const testCount = built.find((month) => month.tests)?.tests?.length;
    const monthTests =
      testCount !== undefined && built.every((month) => month.tests?.length === testCount)
        ? Array.from({ length: testCount }, (_, i) => mergeMonthResults(built.map((month) => month.tests?.[i] ?? null)))
        : undefined;
    return { ...committed, ...(monthTests ? { monthTests } : {}) };
  }

  async function buildModel(model: (typeof buildable)[number]): Promise<void> {
    const id = `model:${model.name}`;
    const inputs = inputsOf(model.sources, model.refs);
    let verdict = judge({
      built: built[model.name],
      stateHash: planned.stateHashes[model.name],
      inputs,
      fullRefresh,
      windowed: model.materialized === 'incremental' && model.eventTime !== undefined,
    });
    if (verdict.upToDate) {
      builtSignals.get(model.name)?.(false);
      // a test that reads another model (a relationships test's `to`) must see that model's new version
      const testReadsRebuilt = model.testRefs?.length ? await pendingTestRefs(model) : [];
      if (testReadsRebuilt.length > 0) {
        verdict = { upToDate: false, reason: `its tests read ${testReadsRebuilt.join(', ')}, rebuilt by this run` };
      } else {
        state.markUnchanged(id, 'up to date: its inputs and SQL are unchanged since it was built');
        if (state.has(`test:${model.name}`)) state.markUnchanged(`test:${model.name}`, 'model unchanged');
        return state.publish();
      }
    }
    const pendingRefs = model.refs.filter((ref) => rebuilt.has(ref));
    const { window } = verdict;
    await state.run(id, async () => {
      const buildInput = {
        model: model.name,
        vars,
        buildId,
        pendingRefs,
        warehouse,
        ...(window ? { window, windowRefs: refsRebuiltOver(model.refs, window) } : {}),
      };
      // (plans recorded before runs_on named the model's folder here)
      const summary = `build ${model.layer ? `${model.layer} ` : ''}model ${model.name}${window ? ' (incremental)' : ''}`;
      // the big tables (one row per meter and half hour) are built a month at a time on the build
      // queue, by any number of build workers; the writer commits their files in one go
      const perMonth = runsOnOf(model) === 'build' && patched(PER_MONTH_BUILDS);
      const result = perMonth
        ? await buildPerMonth(buildInput, summary)
        : await writer.buildModel.executeWithOptions(on('build', summary), [buildInput]);
      // what the build did decides, not what was asked: a model with no published table is built whole
      const rebuiltWindow = result.windowRows !== undefined && window ? window : undefined;
      // why it was rebuilt, where that is news: not on a model's first build or a full refresh
      if (rebuiltWindow)
        state.node(id).note = `incremental: ${result.windowRows} rows rebuilt from ${rebuiltWindow.from} to ${rebuiltWindow.to}`;
      else if (built[model.name] && !fullRefresh) state.node(id).note = `rebuilt: ${verdict.reason}`;
      const monthTests = 'monthTests' in result ? (result.monthTests as (DataTestResult | null)[]) : undefined;
      builtSignals.get(model.name)?.(true);
      const testModel = (refs: string[]) =>
        writer.testModel.executeWithOptions(on('test', `test ${model.name}`), [
          { model: model.name, buildId, pendingRefs: refs, warehouse, ...(monthTests ? { monthTests } : {}) },
        ]);
      // NOTE: scheduled in the same turn when no test reads another model, as in recorded histories
      await state.test(model.name, () =>
        model.testRefs?.length ? pendingTestRefs(model).then((extra) => testModel([...pendingRefs, ...extra])) : testModel(pendingRefs),
      );
      rebuilt.set(model.name, { inputs: inputVersions(inputs), ...(rebuiltWindow ? { window: rebuiltWindow } : {}) });
      versions.set(id, { current: version, before: built[model.name]?.version, changedOver: rebuiltWindow ?? 'all' });
      return result;
    });
  }

  /**
   * Tell the run's webhooks that it failed (or succeeded, when asked), one activity each, waiting at
   * most notifyWaitSeconds: a webhook that never answers delays the run's end by that, and fails nothing.
   */
  async function notifyEnd(failed: NodeFailureDetails | undefined): Promise<void> {
    const targets = input.notify ?? [];
    if (targets.length === 0 || (!failed && !(succeeded && input.notifyOnSuccess))) return;
    const notification = {
      run: workflowId,
      state: failed ? ('failed' as const) : ('succeeded' as const),
      logicalDate,
      warehouse,
      report: reportUri,
      ...(failed ? { failedNode: failed.node, error: failed.reason } : {}),
    };
    await CancellationScope.nonCancellable(async () => {
      const sends = targets.map((target) =>
        analytics.notifyRun
          .executeWithOptions(on('notify', `notify ${webhookLabel(target)} that the run ${notification.state}`), [{ target, notification }])
          .catch(() => undefined),
      );
      await Promise.race([Promise.all(sends), sleep((input.notifyWaitSeconds ?? 60) * 1000)]);
    });
  }

  try {
    // every node starts once the nodes it waits for are done, whatever order they were declared in;
    // the writer still runs one activity at a time
    seedingStarted = true;
    await checkSources();
    const work = new Map<string, () => Promise<void>>([
      ...sources.map((source) => [`seed:${source.name}`, () => seed(source)] as const),
      ...singularTests.map((test) => [`test:${test.name}`, () => singularTest(test)] as const),
      ...buildable.map((model) => [`model:${model.name}`, () => buildModel(model)] as const),
    ]);
    const started = new Map<string, Promise<void>>();
    const task = (id: string): Promise<void> => {
      let promise = started.get(id);
      if (!promise) {
        promise = Promise.all((state.has(id) ? state.node(id).dependsOn : []).map(task)).then(() => work.get(id)?.());
        started.set(id, promise);
      }
      return promise;
    };
    // NOTE: models wait for every seed, not only their own: a run that refuses a file builds nothing,
    // and "after the seed step" is a point in the history that a reset can return to.
    const seedsDone = Promise.all(sources.map((source) => task(`seed:${source.name}`)));
    seedsDone.catch(() => undefined); // a failed seed surfaces through its own node
    for (const model of buildable) {
      const build = work.get(`model:${model.name}`) as () => Promise<void>;
      work.set(`model:${model.name}`, () => seedsDone.then(build));
    }
    // NOTE: awaiting every node (not only the master's inputs) surfaces any failure, and handles
    // every promise so that a failure leaves no unhandled rejection behind.
    await allOrCancel(() => [...work.keys()].map(task));

    // which analytics to run, decided in DAG order before any runs: a model that refs another analytics
    // model (per-month partial aggregates it merges) sees the version this run will give that one
    const analyticsInputs = new Map<string, Record<string, InputVersion>>();
    const analyticsWindows = new Map<string, EventWindow>();
    const toRun = analyticsModels.filter((model) => {
      const inputs = inputsOf(model.sources, model.refs);
      analyticsInputs.set(model.name, inputs);
      const verdict = judge({
        built: built[model.name],
        stateHash: planned.stateHashes[model.name],
        inputs,
        fullRefresh,
        // a model with a row per period, over the master alone: the periods holding a changed window are enough
        windowed: model.period !== undefined && model.refs.every((ref) => masterTables.includes(ref)),
      });
      if (verdict.upToDate) {
        state.markUnchanged(`analytics:${model.name}`, 'up to date: the master and its SQL are unchanged since it ran');
        if (state.has(`test:${model.name}`)) state.markUnchanged(`test:${model.name}`, 'model unchanged');
        return false;
      }
      if (verdict.window) analyticsWindows.set(model.name, verdict.window);
      versions.set(`model:${model.name}`, {
        current: version,
        before: built[model.name]?.version,
        changedOver: verdict.window ?? 'all',
      });
      return true;
    });
    // analytics read the lake at the version committed by the last build, in their own processes,
    // the master as this run rebuilt it (unpublished still) or as it was published before
    let snapshot: PinnedSnapshot | undefined;
    if (snapshotId && toRun.length === 0) state.markUnchanged(snapshotId, 'no analytics to run');
    else if (snapshotId) {
      snapshot = await state.run(snapshotId, async () => {
        const pinned = await writer.pinSnapshot.executeWithOptions(on('snapshot', `pin the lake version of ${masterTables.join(', ')}`), [
          { tables: masterTables, pending: { buildId, tables: masterTables.filter((t) => rebuilt.has(t)) }, warehouse },
        ]);
        return { ...pinned, rows: pinned.tables.reduce((sum, table) => sum + table.rows, 0) };
      });
      state.node(snapshotId).note = `lake version ${snapshot.version}`;
    }
    state.publish();

    // each model runs once the analytics models it refs have, and tests its result before it is
    // uploaded. Scheduled longest first, so that the few workers are never left with a long model at
    // the end: models over the whole master, then those over a window, then those merging partials
    // (which come after the models they ref, as the DAG orders them)
    const expectedWork = (model: (typeof toRun)[number]) =>
      model.refs.some((ref) => !masterTables.includes(ref)) ? 2 : analyticsWindows.has(model.name) ? 1 : 0;
    const scheduled = toRun.map((model, index) => ({ model, index }));
    scheduled.sort((a, b) => expectedWork(a.model) - expectedWork(b.model) || a.index - b.index);
    const analyticsStarted = new Map<string, Promise<AnalyticsModelResult>>();
    const analyticsResults = await allOrCancel(() =>
      scheduled.map(({ model }) => {
        const upstream = model.refs.flatMap((ref) => analyticsStarted.get(ref) ?? []);
        const started = Promise.all(upstream).then((inputs) =>
          state.run(`analytics:${model.name}`, async () => {
            const window = analyticsWindows.get(model.name);
            const result = await analytics.runAnalyticsModel.executeWithOptions(
              on('analytics', `analytics model ${model.name}${window ? ' (incremental)' : ''}`),
              [
                {
                  model: model.name,
                  snapshot: snapshot as PinnedSnapshot,
                  outputUri: childUri(input.outUri, 'runs', runFolderName(workflowId), 'analytics', `${model.name}.parquet`),
                  vars,
                  test: true,
                  ...(window ? { window } : {}),
                  ...(inputs.length > 0
                    ? {
                        upstream: inputs.map(({ model: m, outputUri, window: w }) => ({
                          model: m,
                          outputUri,
                          ...(w ? { window: w } : {}),
                        })),
                      }
                    : {}),
                },
              ],
            );
            if (window)
              state.node(`analytics:${model.name}`).note =
                `incremental: ${result.rows} rows of the periods from ${window.from} to ${window.to}`;
            await state.test(model.name, async () => result.tests ?? { results: [], rows: 0 });
            return result;
          }),
        );
        analyticsStarted.set(model.name, started);
        return started;
      }),
    );

    // the run's whole output becomes visible at once: rebuilt models, analytics, and what each was
    // built from, in one transaction
    const publishedTables: { model: string; rows: number | null }[] = [];
    const rebuiltModels = buildable.filter((model) => rebuilt.has(model.name));
    let snapshotVersion = snapshot?.version;
    if (rebuiltModels.length > 0 || analyticsResults.length > 0 || testsRun.length > 0) {
      const published = await state.run(publishId, () =>
        writer.publishRun.executeWithOptions(
          on('publish', `publish ${rebuiltModels.length} models and ${analyticsResults.length} analytics results`),
          [
            {
              buildId,
              vars,
              warehouse,
              models: rebuiltModels.map((model) => {
                const { inputs, window } = rebuilt.get(model.name) as { inputs: Record<string, string>; window?: EventWindow };
                const modelState = { stateHash: planned.stateHashes[model.name] as string, version, inputs };
                return { model: model.name, state: modelState, ...(window ? { window } : {}) };
              }),
              analytics: analyticsResults.map(({ model, outputUri, window }) => ({
                model,
                outputUri,
                ...(window ? { window } : {}),
                state: {
                  stateHash: planned.stateHashes[model] as string,
                  version,
                  inputs: inputVersions(analyticsInputs.get(model) ?? {}),
                },
              })),
              tests: testsRun,
              run: workflowId,
            },
          ],
        ),
      );
      publishedTables.push(...published.tables);
      snapshotVersion = published.snapshotVersion;
    } else {
      state.markUnchanged(publishId, 'nothing new to publish');
    }

    // the report reads the published master and analytics tables (an incremental model's result file
    // holds its changed periods only) at the version this run left current: an analytics worker renders it
    await state.run(reportId, async () => {
      const master = snapshotId
        ? {
            warehouse,
            ...(snapshotVersion !== undefined ? { version: snapshotVersion } : {}),
            relations: Object.fromEntries(masterTables.map((t) => [t, t])),
          }
        : undefined;
      const report = await renderReport({
        ...(master ? { master } : {}),
        analyticsOutputs: [],
        analyticsTables: analyticsModels.map((model) => model.name),
      });
      return { ...report, rows: null };
    });
    succeeded = true;

    const rowsOf = (id: string) => (state.has(id) ? (state.node(id).rows ?? null) : null);
    const result: PipelineResult = {
      workflowId,
      logicalDate,
      warehousePath: warehouse,
      ...(input.project?.hash ? { projectHash: input.project.hash } : {}),
      ...(snapshotVersion !== undefined ? { snapshotVersion } : {}),
      nodes: state.nodes,
      tables: [
        ...sources.map((s) => ({ table: `raw.${s.name}`, rows: rowsOf(`seed:${s.name}`) })),
        ...buildable.map((m) => ({ table: `main.${m.name}`, rows: rowsOf(`model:${m.name}`) })),
        ...publishedTables
          .filter((t) => analyticsModels.some((m) => m.name === t.model))
          .map((t) => ({ table: `main.${t.model}`, rows: t.rows })),
      ],
      dataTests: state.dataTests,
      reportUri,
    };
    if (landedDuringRun !== undefined) {
      // more files landed while this run seeded: run again, incrementally, as the same workflow
      return await continueAsNew<typeof pipeline>({ ...input, kind: 'sources-landed', logicalDate: undefined, fullRefresh: false });
    }
    return result;
  } catch (err) {
    failure = isCancellation(err) ? undefined : failureDetails(err);
    throw err;
  } finally {
    state.skipPending();
    done = true;
    state.publish();
    if (!succeeded) {
      // a failed or cancelled run leaves no unpublished versions behind (best effort: the run has
      // failed already; what a killed run leaves, the next run's plan drops)
      await CancellationScope.nonCancellable(() =>
        writer.discardPending
          .executeWithOptions(on('discard', 'discard unpublished versions'), [{ buildId, warehouse }])
          .catch(() => undefined),
      );
    }
    if (failure) {
      // a failed run has a report too, opening on its failure (best effort: the run has failed already)
      const reported = failure;
      await renderReport({ failure: reported }).catch(() => undefined);
    }
    await notifyEnd(failure);
  }
}

// The pipeline workflow: seed every source, build the models in DAG order on the writer, publish a
// snapshot of the master tables, run the analytics in parallel on the analytics queue, load them.
// Deterministic code only: no I/O here, every piece of work is an activity.
import {
  ActivityFailure,
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import type {
  AnalyticsActivities,
  DataTestResults,
  EventWindow,
  ModelNodeLike,
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
  type NodeKind,
  type NodeProgress,
  type PipelineInput,
  type PipelineResult,
  type DataTestOutcome,
} from './definitions';
import { spanningWindow } from './event-window';
import { describeProgress } from './progress-markdown';

/** Failed tests as one line (kept here: workflow code may not import activity modules). */
function describeFailedTests(results: DataTestResults['results']): string {
  return results
    .filter((r) => r.status !== 'pass')
    .map((r) => `${r.id} (${r.failures} failing ${r.failures === 1 ? 'row' : 'rows'}${r.status === 'warn' ? ', warn' : ''})`)
    .join('; ');
}

export const WRITER_QUEUE = 'meterflow-writer';
export const ANALYTICS_QUEUE = 'meterflow-analytics';

/** Errors that retrying cannot fix: bad SQL, a file or project that breaks the contract. */
const NON_RETRYABLE = ['ProjectError', 'SourceDataError', 'ModelBuildError', 'StorageError', 'WarehouseLockedError', 'DataTestFailed'];

/** Transient faults (a worker restart, S3 throttling, a locked temp file) clear within seconds to a minute. */
const RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 6,
  nonRetryableErrorTypes: NON_RETRYABLE,
};

/** Activities heartbeat every 2 s; missing 10 s of them means the worker is gone, so retry elsewhere. */
const HEARTBEAT_TIMEOUT = '10s';

/** Planning reads a few YAML files. */
const PLAN: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '1m', retry: RETRY };
/** Seeding reads every file of a source; a year of readings for 100k meters is minutes, not hours. */
const SEED: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '2h', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };
/** The master model is the heaviest build. */
const BUILD: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '4h', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };
/** Publishing writes the master tables once more, as Parquet. */
const SNAPSHOT: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '2h', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };
/** An analytics model is an aggregation over the snapshot: any analytics worker, on any machine. */
const ANALYTICS: ActivityOptions = {
  taskQueue: ANALYTICS_QUEUE,
  startToCloseTimeout: '2h',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: RETRY,
};
/** Data tests are aggregations over one table. */
const TEST: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '1h', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };
/** Publishing a run renames its new models and copies its analytics results in one transaction. */
const PUBLISH: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '30m', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };
/** The report renders a few charts from small tables. */
const REPORT: ActivityOptions = {
  taskQueue: ANALYTICS_QUEUE,
  startToCloseTimeout: '10m',
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: RETRY,
};
/** Clean-up after a failed run drops a few relations. */
const PROMOTE: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '10m', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };

const writer = proxyActivities<WriterActivities>(PLAN);
const analytics = proxyActivities<AnalyticsActivities>(ANALYTICS);

/** Append a path segment to a local path or an s3:// URI (workflow code cannot use node:path). */
function childUri(base: string, ...segments: string[]): string {
  return [base.replace(/\/+$/, ''), ...segments].join('/');
}

/** `YYYY-MM-DD HH:MM:SS`, the form SQL models get the logical date in (var `logical_date`). */
function sqlTimestamp(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

export async function pipeline(input: PipelineInput): Promise<PipelineResult> {
  const info = workflowInfo();
  const { workflowId, runId } = info;
  const onWriter = { taskQueue: input.writerQueue ?? WRITER_QUEUE };
  const onAnalytics = { taskQueue: input.analyticsQueue ?? ANALYTICS_QUEUE };
  const startedAt = Date.now();
  // a scheduled run's logical date is its scheduled time, so a backfill reproduces the slots it covers
  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  const logicalDate = input.logicalDate ?? (scheduledAt ?? new Date(startedAt)).toISOString();
  const kind = input.kind ?? (scheduledAt ? 'scheduled' : 'manual');
  const vars = { logical_date: sqlTimestamp(logicalDate), ...input.vars };
  const nodes = new Map<string, NodeProgress>();
  let done = false;
  let seedingStarted = false;
  let landedDuringRun: string | undefined;
  setHandler(progressQuery, () => ({ workflowId, startedAt, logicalDate, nodes: [...nodes.values()], done }));
  setHandler(sourcesLandedSignal, (landed) => {
    // files that land before seeding are seen by this run; later ones need another
    if (seedingStarted) landedDuringRun = landed?.note ?? 'new source files';
  });
  upsertSearchAttributes([
    { key: RUN_KIND, value: kind },
    { key: LOGICAL_DATE, value: new Date(logicalDate) },
  ]);

  const publish = () => setCurrentDetails(describeProgress([...nodes.values()], { kind, logicalDate }));
  const addNode = (nodeKind: NodeKind, name: string, dependsOn: string[] = []): string => {
    const id = `${nodeKind}:${name}`;
    nodes.set(id, { id, kind: nodeKind, name, dependsOn, state: 'pending' });
    return id;
  };
  const markUnchanged = (id: string, note: string) => {
    const node = nodes.get(id) as NodeProgress;
    node.state = 'unchanged';
    node.note = note;
  };

  /** Run one node's activity, keeping its progress entry and naming it in any failure. */
  async function runNode<T extends { rows?: number | null }>(id: string, work: () => Promise<T>): Promise<T> {
    const node = nodes.get(id) as NodeProgress;
    node.state = 'running';
    node.startedAt = Date.now();
    publish();
    try {
      const result = await work();
      node.state = 'succeeded';
      node.rows = result.rows ?? null;
      return result;
    } catch (err) {
      node.state = 'failed';
      if (err instanceof ApplicationFailure && err.type === 'PipelineNodeFailed') {
        // a node inside this one (a model's tests) failed: that node is the one to name
        node.error = (err.details?.[0] as { reason?: string } | undefined)?.reason ?? err.message;
        throw err;
      }
      const cause = err instanceof ActivityFailure && err.cause ? err.cause : (err as Error);
      node.error = cause.message;
      throw ApplicationFailure.create({
        type: 'PipelineNodeFailed',
        message: `${id} failed: ${cause.message}`,
        nonRetryable: true,
        details: [{ node: id, reason: cause.message }],
        cause: err as Error,
      });
    } finally {
      node.finishedAt = Date.now();
      publish();
    }
  }

  const planned = await writer.planRun.executeWithOptions({ ...PLAN, ...onWriter, summary: 'plan: load the models project' }, [
    { vars, ...(input.select ? { select: input.select } : {}), ...(input.exclude ? { exclude: input.exclude } : {}) },
  ]);
  const { plan } = planned;
  const selected = new Set(planned.selected);
  const stale = new Set(planned.stale);
  const fullRefresh = input.fullRefresh === true;
  upsertSearchAttributes([{ key: MODELS_SELECTED, value: selected.size === plan.models.length ? ['all'] : [...selected] }]);

  const buildable: ModelNodeLike[] = plan.models.filter((model) => model.layer !== 'analytics' && selected.has(model.name));
  const analyticsModels = plan.models.filter((model) => model.layer === 'analytics' && selected.has(model.name));
  const masterTables = plan.models.filter((model) => model.layer === 'master').map((model) => model.name);
  const seeded = new Set(buildable.flatMap((model) => model.sources));
  const sources = plan.sources.filter((source) => seeded.has(source.name));

  for (const source of sources) addNode('seed', source.name);
  for (const model of buildable) {
    addNode('model', model.name, [
      ...model.sources.map((s) => `seed:${s}`),
      ...model.refs.filter((r) => selected.has(r)).map((r) => `model:${r}`),
    ]);
    if (model.tests.length > 0) addNode('test', model.name, [`model:${model.name}`]);
  }
  // singular tests over sources gate the models that read those sources
  const singularTests = plan.singularTests.filter((t) => t.sources.every((s) => seeded.has(s)) && t.refs.every((r) => selected.has(r)));
  for (const test of singularTests) {
    const id = addNode('test', test.name, [...test.sources.map((s) => `seed:${s}`), ...test.refs.map((r) => `model:${r}`)]);
    for (const model of buildable) {
      const node = nodes.get(`model:${model.name}`) as NodeProgress;
      if (test.refs.length === 0 && model.sources.some((s) => test.sources.includes(s))) (node.dependsOn as string[]).push(id);
    }
  }
  const snapshotId =
    analyticsModels.length > 0
      ? addNode(
          'snapshot',
          'master',
          masterTables.filter((t) => selected.has(t)).map((t) => `model:${t}`),
        )
      : undefined;
  for (const model of analyticsModels) {
    addNode('analytics', model.name, snapshotId ? [snapshotId] : []);
    if (model.tests.length > 0) addNode('test', model.name, [`analytics:${model.name}`]);
  }
  const sourceFiles: SourceFileRecord[] = [];
  const publishId = addNode('publish', 'run', [
    ...buildable.map((m) => `model:${m.name}`),
    ...analyticsModels.map((m) => `analytics:${m.name}`),
  ]);
  const reportId = addNode('report', 'run', [publishId]);
  publish();

  /** Whether a node's run changed what is downstream of it. */
  const changed = new Map<string, boolean>();
  /** For a changed node: the event times it changed, or 'all' when it may have changed any row. */
  const changedWindows = new Map<string, EventWindow | 'all'>();
  /** The window a node's changed inputs span, or undefined when any of them changed everything. */
  const windowOfInputs = (dependsOn: readonly string[]): EventWindow | undefined => {
    if (fullRefresh) return undefined;
    const windows = dependsOn.filter((dep) => changed.get(dep) === true).map((dep) => changedWindows.get(dep) ?? 'all');
    if (windows.some((w) => w === 'all')) return undefined;
    return spanningWindow(windows as EventWindow[]);
  };
  /** The window a model was rebuilt over, when this run rebuilt it over a window only. */
  const rebuiltWindow = (model: string): EventWindow | undefined => {
    const window = changedWindows.get(`model:${model}`);
    return window === 'all' ? undefined : window;
  };
  const dataTests: DataTestOutcome[] = [];
  let succeeded = false;

  /** A model's tests as a node of their own: warnings noted, failures stop the run before publishing. */
  async function testNode(target: string, work: () => Promise<DataTestResults>): Promise<void> {
    const id = `test:${target}`;
    if (!nodes.has(id)) return;
    await runNode(id, async () => {
      const outcome = await work();
      for (const result of outcome.results) dataTests.push({ target, test: result.id, status: result.status, failures: result.failures });
      const node = nodes.get(id) as NodeProgress;
      node.note = outcome.rows === 0 ? `${outcome.results.length} passed` : describeFailedTests(outcome.results);
      if (outcome.results.some((r) => r.status === 'fail')) {
        throw ApplicationFailure.nonRetryable(
          `data tests of ${target} failed: ${describeFailedTests(outcome.results.filter((r) => r.status === 'fail'))}`,
          'DataTestFailed',
        );
      }
      return outcome;
    });
  }
  const warehousePath = planned.warehousePath;
  try {
    // every node is started once its inputs are done; the writer still runs one activity at a time
    const finished = new Map<string, Promise<unknown>>();
    const after = (ids: readonly string[]) => Promise.all(ids.map((id) => finished.get(id)));

    seedingStarted = true;
    for (const source of sources) {
      const uri = source.location ?? childUri(input.sourcesUri, source.name);
      const id = `seed:${source.name}`;
      finished.set(
        id,
        runNode(id, async () => {
          const result = await writer.seedSource.executeWithOptions({ ...SEED, ...onWriter, summary: `seed ${source.name}` }, [
            { source, uri, fullRefresh, logicalDate, ...(input.verify ? { verify: true } : {}) },
          ]);
          changed.set(id, result.changed);
          changedWindows.set(id, result.window ?? 'all');
          sourceFiles.push(...result.files.map((file) => ({ source: source.name, ...file })));
          const node = nodes.get(id) as NodeProgress;
          // results recorded before ignoredFiles existed lack it (replays of older runs)
          const ignored = result.ignoredFiles ?? [];
          node.note = [
            result.changed
              ? `${result.loadedFiles.length} file(s) loaded, ${result.removedFiles.length} removed`
              : 'no new or changed files',
            ...(result.verifiedFiles !== undefined
              ? [`${result.verifiedFiles} verified by checksum, ${result.differedFiles?.length ?? 0} differed`]
              : []),
            ...(ignored.length > 0
              ? [`${ignored.length} ignored (not .parquet): ${ignored.slice(0, 5).join(', ')}${ignored.length > 5 ? ', …' : ''}`]
              : []),
          ].join(', ');
          return result;
        }).then((result) => {
          if (!result.changed) markUnchanged(id, (nodes.get(id) as NodeProgress).note ?? 'no new or changed files');
        }),
      );
    }
    for (const test of singularTests) {
      const id = `test:${test.name}`;
      finished.set(
        id,
        after((nodes.get(id) as NodeProgress).dependsOn).then(async () => {
          if (!fullRefresh && !(nodes.get(id) as NodeProgress).dependsOn.some((dep) => changed.get(dep) === true)) {
            markUnchanged(id, 'its inputs are unchanged');
            return;
          }
          const window = windowOfInputs((nodes.get(id) as NodeProgress).dependsOn);
          await testNode(test.name, () =>
            writer.runSingularTest.executeWithOptions({ ...TEST, ...onWriter, summary: `test ${test.name}` }, [
              { test: test.name, ...(window ? { window } : {}) },
            ]),
          );
        }),
      );
    }
    const buildId = info.firstExecutionRunId;
    // NOTE: models wait for every seed, not only their own: a run that refuses a file builds nothing,
    // and "after the seed step" is a point in the history that a reset can return to.
    const seedsDone = Promise.all(sources.map((source) => finished.get(`seed:${source.name}`)));
    /** Upstream models this run rebuilt: read at their new, still unpublished versions. */
    const pendingRefsOf = (refs: readonly string[]) => refs.filter((ref) => changed.get(`model:${ref}`) === true);
    for (const model of buildable) {
      const id = `model:${model.name}`;
      const node = nodes.get(id) as NodeProgress;
      finished.set(
        id,
        Promise.all([seedsDone, after(node.dependsOn)]).then(async () => {
          const inputsChanged = node.dependsOn.some((dep) => changed.get(dep) === true);
          if (!fullRefresh && !stale.has(model.name) && !inputsChanged) {
            changed.set(id, false);
            markUnchanged(id, 'up to date: its inputs and SQL are unchanged');
            if (nodes.has(`test:${model.name}`)) markUnchanged(`test:${model.name}`, 'model unchanged');
            publish();
            return;
          }
          const pendingRefs = pendingRefsOf(model.refs);
          // an incremental model whose changed inputs all changed within a window is rebuilt there only
          const window =
            model.materialized === 'incremental' && model.eventTime && !stale.has(model.name) ? windowOfInputs(node.dependsOn) : undefined;
          const sameWindow = (ref: string) => {
            const refWindow = rebuiltWindow(ref);
            return window !== undefined && refWindow !== undefined && refWindow.from === window.from && refWindow.to === window.to;
          };
          const windowRefs = pendingRefs.filter(sameWindow);
          await runNode(id, async () => {
            const built = await writer.buildModel.executeWithOptions(
              { ...BUILD, ...onWriter, summary: `build ${model.layer} model ${model.name}${window ? ' (incremental)' : ''}` },
              [{ model: model.name, vars, buildId, pendingRefs, ...(window ? { window, windowRefs } : {}) }],
            );
            // what the build did decides, not what was asked: a model with no published table is built whole
            changedWindows.set(id, built.windowRows !== undefined && window ? window : 'all');
            if (built.windowRows !== undefined && window) {
              (nodes.get(id) as NodeProgress).note = `incremental: ${built.windowRows} rows rebuilt from ${window.from} to ${window.to}`;
            }
            await testNode(model.name, () =>
              writer.testModel.executeWithOptions({ ...TEST, ...onWriter, summary: `test ${model.name}` }, [
                { model: model.name, buildId, pendingRefs },
              ]),
            );
            return built;
          });
          changed.set(id, true);
        }),
      );
    }
    // NOTE: awaiting every node (not only the master's inputs) surfaces any failure, and handles
    // every promise so that a failure leaves no unhandled rejection behind.
    await Promise.all([...finished.values()]);

    const rebuilt = buildable.filter((model) => changed.get(`model:${model.name}`) === true);
    const masterChanged = masterTables.some((table) => changed.get(`model:${table}`) === true);
    const toRun = analyticsModels.filter((model) => fullRefresh || masterChanged || stale.has(model.name));
    let snapshotUri = planned.latestSnapshotUri;
    if (snapshotId) {
      if (toRun.length > 0 && (masterChanged || fullRefresh || !snapshotUri)) {
        const manifest = await runNode(snapshotId, async () => {
          const published = await writer.publishSnapshot.executeWithOptions(
            { ...SNAPSHOT, ...onWriter, summary: `publish snapshot of ${masterTables.join(', ')}` },
            [
              {
                tables: masterTables,
                snapshotUri: childUri(input.outUri, 'snapshots', `${workflowId}-${runId}`),
                pending: { buildId, tables: masterTables.filter((t) => changed.get(`model:${t}`) === true) },
              },
            ],
          );
          return { ...published, rows: published.tables.reduce((sum, table) => sum + table.rows, 0) };
        });
        snapshotUri = manifest.snapshotUri;
      } else {
        markUnchanged(snapshotId, toRun.length > 0 ? `reusing ${snapshotUri}` : 'no analytics to run');
      }
    }
    for (const model of analyticsModels.filter((m) => !toRun.includes(m))) {
      markUnchanged(`analytics:${model.name}`, 'up to date');
      if (nodes.has(`test:${model.name}`)) markUnchanged(`test:${model.name}`, 'model unchanged');
    }
    publish();

    const analyticsResults = await Promise.all(
      toRun.map((model) =>
        runNode(`analytics:${model.name}`, async () => {
          const result = await analytics.runAnalyticsModel.executeWithOptions(
            { ...ANALYTICS, ...onAnalytics, summary: `analytics model ${model.name}` },
            [
              {
                model: model.name,
                snapshotUri: snapshotUri as string,
                outputUri: childUri(input.outUri, 'runs', workflowId, 'analytics', `${model.name}.parquet`),
                vars,
              },
            ],
          );
          await testNode(model.name, () =>
            analytics.testAnalyticsResult.executeWithOptions({ ...TEST, ...onAnalytics, summary: `test ${model.name}` }, [
              { model: model.name, outputUri: result.outputUri },
            ]),
          );
          return result;
        }),
      ),
    );

    // the run's whole output becomes visible at once: rebuilt models and analytics in one transaction
    const publishedTables: { model: string; rows: number | null }[] = [];
    if (rebuilt.length > 0 || analyticsResults.length > 0) {
      const published = await runNode(publishId, () =>
        writer.publishRun.executeWithOptions(
          { ...PUBLISH, ...onWriter, summary: `publish ${rebuilt.length} models and ${analyticsResults.length} analytics results` },
          [
            {
              buildId,
              vars,
              models: rebuilt.map((model) => ({
                model: model.name,
                stateHash: planned.stateHashes[model.name] as string,
                ...(rebuiltWindow(model.name) ? { window: rebuiltWindow(model.name) } : {}),
              })),
              analytics: analyticsResults.map(({ model, outputUri }) => ({
                model,
                outputUri,
                stateHash: planned.stateHashes[model] as string,
              })),
            },
          ],
        ),
      );
      publishedTables.push(...published.tables);
    } else {
      markUnchanged(publishId, 'nothing new to publish');
    }
    // the report reads the analytics outputs and the snapshot: an analytics worker renders it
    const reportUri = childUri(input.outUri, 'runs', workflowId, 'report.html');
    await runNode(reportId, async () => {
      const report = await analytics.renderReport.executeWithOptions({ ...REPORT, ...onAnalytics, summary: 'render the run report' }, [
        {
          workflowId,
          logicalDate,
          reportUri,
          ...(snapshotUri ? { snapshotUri } : {}),
          analyticsOutputs: analyticsResults.map(({ model, outputUri }) => ({ model, outputUri })),
          nodes: [...nodes.values()].filter((n) => n.id !== reportId),
          dataTests,
          sourceFiles,
        },
      ]);
      return { ...report, rows: null };
    });
    succeeded = true;

    const tables = [
      ...sources.map((s) => ({ table: `raw.${s.name}`, rows: nodes.get(`seed:${s.name}`)?.rows ?? null })),
      ...buildable.map((m) => ({ table: `main.${m.name}`, rows: nodes.get(`model:${m.name}`)?.rows ?? null })),
      ...publishedTables
        .filter((t) => analyticsModels.some((m) => m.name === t.model))
        .map((t) => ({ table: `main.${t.model}`, rows: t.rows })),
    ];
    const result: PipelineResult = {
      workflowId,
      logicalDate,
      warehousePath,
      ...(snapshotUri ? { snapshotUri } : {}),
      nodes: [...nodes.values()],
      tables,
      dataTests,
      reportUri,
    };
    if (landedDuringRun !== undefined) {
      // more files landed while this run seeded: run again, incrementally, as the same workflow
      return await continueAsNew<typeof pipeline>({ ...input, kind: 'sources-landed', logicalDate: undefined, fullRefresh: false });
    }
    return result;
  } finally {
    for (const node of nodes.values()) if (node.state === 'pending') node.state = 'skipped';
    done = true;
    publish();
    if (!succeeded) {
      // a failed run leaves no unpublished versions behind (best effort: the run has failed already)
      await writer.discardPending
        .executeWithOptions({ ...PROMOTE, ...onWriter, summary: 'discard unpublished versions', retry: { maximumAttempts: 3 } }, [
          { buildId: info.firstExecutionRunId },
        ])
        .catch(() => undefined);
    }
  }
}

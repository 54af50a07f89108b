// The pipeline workflow: seed every source, build the models in DAG order on the writer, publish a
// snapshot of the master tables, run the analytics in parallel on the analytics queue, load them.
// Deterministic code only: no I/O here, every piece of work is an activity.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
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
import { inputVersions, judge, type BuiltState, type InputVersion } from './up-to-date';
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
const DISCARD: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '10m', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };

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
  /** A node of this run's graph (every id used is one addNode made). */
  const node = (id: string): NodeProgress => nodes.get(id) as NodeProgress;
  const markUnchanged = (id: string, note: string) => {
    node(id).state = 'unchanged';
    node(id).note = note;
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

  /** Names this run's unpublished versions (stable across continue-as-new, so a retry finds them). */
  const buildId = info.firstExecutionRunId;
  /** The version this run gives every model it publishes: unique to this execution. */
  const version = runId;

  const planned = await writer.planRun.executeWithOptions({ ...PLAN, ...onWriter, summary: 'plan: load the models project' }, [
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
  /** Every writer activity names the warehouse the plan came from: another writer's refuses it. */
  const warehouse = planned.warehousePath;
  const selected = new Set(planned.selected);
  const fullRefresh = input.fullRefresh === true;
  upsertSearchAttributes([{ key: MODELS_SELECTED, value: selected.size === plan.models.length ? ['all'] : [...selected] }]);

  const buildable: ModelNodeLike[] = plan.models.filter((model) => model.layer !== 'analytics' && selected.has(model.name));
  const analyticsModels = plan.models.filter((model) => model.layer === 'analytics' && selected.has(model.name));
  const masterTables = plan.models.filter((model) => model.layer === 'master').map((model) => model.name);
  const seeded = new Set(buildable.flatMap((model) => model.sources));
  const sources = plan.sources.filter((source) => seeded.has(source.name));
  const isBuildable = (name: string) => buildable.some((model) => model.name === name);
  for (const test of plan.singularTests) {
    const analyticsRef = test.refs.find((ref) => analyticsModels.some((model) => model.name === ref));
    if (analyticsRef) {
      throw ApplicationFailure.nonRetryable(
        `singular test ${test.name} (${test.file}) refs analytics model ${analyticsRef}: singular tests check the warehouse's models before a run publishes; test analytics results with YAML tests`,
        'ProjectError',
      );
    }
  }
  // a singular test runs when the sources it reads are seeded and the models it refs are built by this run
  const singularTests = plan.singularTests.filter((t) => t.sources.every((s) => seeded.has(s)) && t.refs.every(isBuildable));

  for (const source of sources) addNode('seed', source.name);
  for (const model of buildable) {
    addNode('model', model.name, [
      ...model.sources.map((s) => `seed:${s}`),
      ...model.refs.filter((r) => selected.has(r)).map((r) => `model:${r}`),
      // singular tests over sources alone gate the models that read those sources
      ...singularTests.filter((t) => t.refs.length === 0 && model.sources.some((s) => t.sources.includes(s))).map((t) => `test:${t.name}`),
    ]);
    if (model.tests.length > 0) addNode('test', model.name, [`model:${model.name}`]);
  }
  for (const test of singularTests) {
    addNode('test', test.name, [...test.sources.map((s) => `seed:${s}`), ...test.refs.map((r) => `model:${r}`)]);
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
    ...singularTests.map((t) => `test:${t.name}`),
    ...analyticsModels.map((m) => `analytics:${m.name}`),
  ]);
  const reportId = addNode('report', 'run', [publishId]);
  publish();

  /** Seeds and models as this run sees them: versions before and now, and how this run changed them. */
  const versions = new Map<string, InputVersion>();
  const versionOf = (id: string): InputVersion => {
    const seen = versions.get(id);
    if (seen) return seen;
    const published = id.startsWith('model:') ? built[id.slice('model:'.length)]?.version : undefined;
    return { current: published, before: published };
  };
  const inputsOf = (sourceNames: readonly string[], refs: readonly string[]): Record<string, InputVersion> =>
    Object.fromEntries([...sourceNames.map((s) => `seed:${s}`), ...refs.map((r) => `model:${r}`)].map((id) => [id, versionOf(id)]));
  /** Models this run rebuilt: what they were built from, and the window when rebuilt over one only. */
  const rebuilt = new Map<string, { inputs: Record<string, string>; window?: EventWindow }>();
  /** Upstream models rebuilt over exactly this window: read as their rebuilt rows alone. */
  const refsRebuiltOver = (refs: readonly string[], window: EventWindow | undefined) =>
    window === undefined
      ? []
      : refs.filter((ref) => {
          const refWindow = rebuilt.get(ref)?.window;
          return refWindow !== undefined && refWindow.from === window.from && refWindow.to === window.to;
        });
  /** Singular tests this run ran: recorded at publish, so an unchanged test is not run again. */
  const testsRun: { test: string; state: BuiltState }[] = [];
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
  try {
    // every node starts once its inputs are done, whatever order they were declared in; the writer
    // still runs one activity at a time
    const work = new Map<string, () => Promise<void>>();
    const started = new Map<string, Promise<void>>();
    const task = (id: string): Promise<void> => {
      let promise = started.get(id);
      if (!promise) {
        const node = nodes.get(id);
        promise = Promise.all((node?.dependsOn ?? []).map(task)).then(() => work.get(id)?.());
        started.set(id, promise);
      }
      return promise;
    };

    seedingStarted = true;
    for (const source of sources) {
      const uri = source.location ?? childUri(input.sourcesUri, source.name);
      const id = `seed:${source.name}`;
      work.set(id, async () => {
        const result = await runNode(id, async () => {
          const seededSource = await writer.seedSource.executeWithOptions({ ...SEED, ...onWriter, summary: `seed ${source.name}` }, [
            { source, uri, fullRefresh, logicalDate, warehouse, ...(input.verify ? { verify: true } : {}) },
          ]);
          sourceFiles.push(...seededSource.files.map((file) => ({ source: source.name, ...file })));
          // results recorded before ignoredFiles existed lack it (replays of older runs)
          const ignored = seededSource.ignoredFiles ?? [];
          node(id).note = [
            seededSource.changed
              ? `${seededSource.loadedFiles.length} file(s) loaded, ${seededSource.removedFiles.length} removed`
              : 'no new or changed files',
            ...(seededSource.verifiedFiles !== undefined
              ? [`${seededSource.verifiedFiles} verified by checksum, ${seededSource.differedFiles?.length ?? 0} differed`]
              : []),
            ...(ignored.length > 0
              ? [`${ignored.length} ignored (not .parquet): ${ignored.slice(0, 5).join(', ')}${ignored.length > 5 ? ', …' : ''}`]
              : []),
            ...(seededSource.setAside ?? []).map(
              (entry) => `${entry.rows} ${entry.rows === 1 ? 'row' : 'rows'} set aside by ${entry.test}`,
            ),
          ].join(', ');
          return seededSource;
        });
        versions.set(id, {
          current: result.version,
          before: result.previousVersion,
          ...(result.changed ? { changedOver: result.window ?? 'all' } : {}),
        });
        if (!result.changed) markUnchanged(id, node(id).note ?? 'no new or changed files');
      });
    }
    // NOTE: models wait for every seed, not only their own: a run that refuses a file builds nothing,
    // and "after the seed step" is a point in the history that a reset can return to.
    const seedsDone = Promise.all(sources.map((source) => task(`seed:${source.name}`)));
    seedsDone.catch(() => undefined); // a failed seed surfaces through its own node
    for (const test of singularTests) {
      const id = `test:${test.name}`;
      work.set(id, async () => {
        const inputs = inputsOf(test.sources, test.refs);
        const stateHash = planned.stateHashes[id] as string;
        const verdict = judge({ built: built[id], stateHash, inputs, fullRefresh, windowed: true });
        if (verdict.upToDate) {
          markUnchanged(id, 'its inputs are unchanged since it last ran');
          return;
        }
        const pendingRefs = test.refs.filter((ref) => rebuilt.has(ref));
        const window = verdict.window;
        await testNode(test.name, () =>
          writer.runSingularTest.executeWithOptions({ ...TEST, ...onWriter, summary: `test ${test.name}` }, [
            {
              test: test.name,
              buildId,
              pendingRefs,
              warehouse,
              ...(window ? { window, windowRefs: refsRebuiltOver(test.refs, window) } : {}),
            },
          ]),
        );
        testsRun.push({ test: test.name, state: { stateHash, version, inputs: inputVersions(inputs) } });
      });
    }
    for (const model of buildable) {
      const id = `model:${model.name}`;
      work.set(id, async () => {
        await seedsDone;
        const inputs = inputsOf(model.sources, model.refs);
        const verdict = judge({
          built: built[model.name],
          stateHash: planned.stateHashes[model.name],
          inputs,
          fullRefresh,
          windowed: model.materialized === 'incremental' && model.eventTime !== undefined,
        });
        if (verdict.upToDate) {
          markUnchanged(id, 'up to date: its inputs and SQL are unchanged since it was built');
          if (nodes.has(`test:${model.name}`)) markUnchanged(`test:${model.name}`, 'model unchanged');
          publish();
          return;
        }
        const pendingRefs = model.refs.filter((ref) => rebuilt.has(ref));
        const window = verdict.window;
        await runNode(id, async () => {
          const result = await writer.buildModel.executeWithOptions(
            { ...BUILD, ...onWriter, summary: `build ${model.layer} model ${model.name}${window ? ' (incremental)' : ''}` },
            [
              {
                model: model.name,
                vars,
                buildId,
                pendingRefs,
                warehouse,
                ...(window ? { window, windowRefs: refsRebuiltOver(model.refs, window) } : {}),
              },
            ],
          );
          // what the build did decides, not what was asked: a model with no published table is built whole
          const rebuiltWindow = result.windowRows !== undefined && window ? window : undefined;
          node(id).note = rebuiltWindow
            ? `incremental: ${result.windowRows} rows rebuilt from ${rebuiltWindow.from} to ${rebuiltWindow.to}`
            : `rebuilt: ${verdict.reason}`;
          await testNode(model.name, () =>
            writer.testModel.executeWithOptions({ ...TEST, ...onWriter, summary: `test ${model.name}` }, [
              { model: model.name, buildId, pendingRefs, warehouse },
            ]),
          );
          rebuilt.set(model.name, { inputs: inputVersions(inputs), ...(rebuiltWindow ? { window: rebuiltWindow } : {}) });
          versions.set(id, { current: version, before: built[model.name]?.version, changedOver: rebuiltWindow ?? 'all' });
          return result;
        });
      });
    }
    // NOTE: awaiting every node (not only the master's inputs) surfaces any failure, and handles
    // every promise so that a failure leaves no unhandled rejection behind.
    await Promise.all([...work.keys()].map(task));

    // analytics read the master through a snapshot: what they were computed from is its tables' versions
    const snapshotVersions = inputVersions(inputsOf([], masterTables));
    const analyticsInputs = new Map(analyticsModels.map((model) => [model.name, inputsOf([], model.refs)]));
    const toRun = analyticsModels.filter((model) => {
      const verdict = judge({
        built: built[model.name],
        stateHash: planned.stateHashes[model.name],
        inputs: analyticsInputs.get(model.name) ?? {},
        fullRefresh,
      });
      if (verdict.upToDate) {
        markUnchanged(`analytics:${model.name}`, 'up to date: the master and its SQL are unchanged since it ran');
        if (nodes.has(`test:${model.name}`)) markUnchanged(`test:${model.name}`, 'model unchanged');
      }
      return !verdict.upToDate;
    });
    const latest = planned.latestSnapshot;
    const reusable =
      latest !== undefined && masterTables.every((t) => snapshotVersions[t] !== undefined && latest.versions[t] === snapshotVersions[t]);
    let snapshotUri = latest?.uri;
    let newSnapshot: { uri: string; versions: Record<string, string> } | undefined;
    if (snapshotId) {
      if (toRun.length > 0 && (fullRefresh || !reusable)) {
        const manifest = await runNode(snapshotId, async () => {
          const published = await writer.publishSnapshot.executeWithOptions(
            { ...SNAPSHOT, ...onWriter, summary: `publish snapshot of ${masterTables.join(', ')}` },
            [
              {
                tables: masterTables,
                snapshotUri: childUri(input.outUri, 'snapshots', `${workflowId}-${runId}`),
                pending: { buildId, tables: masterTables.filter((t) => rebuilt.has(t)) },
                warehouse,
              },
            ],
          );
          return { ...published, rows: published.tables.reduce((sum, table) => sum + table.rows, 0) };
        });
        snapshotUri = manifest.snapshotUri;
        newSnapshot = { uri: manifest.snapshotUri, versions: snapshotVersions };
      } else {
        markUnchanged(snapshotId, toRun.length > 0 ? `reusing ${snapshotUri}` : 'no analytics to run');
      }
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

    // the run's whole output becomes visible at once: rebuilt models, analytics, and what each was
    // built from, in one transaction
    const publishedTables: { model: string; rows: number | null }[] = [];
    const rebuiltModels = buildable.filter((model) => rebuilt.has(model.name));
    if (rebuiltModels.length > 0 || analyticsResults.length > 0 || testsRun.length > 0 || newSnapshot) {
      const published = await runNode(publishId, () =>
        writer.publishRun.executeWithOptions(
          {
            ...PUBLISH,
            ...onWriter,
            summary: `publish ${rebuiltModels.length} models and ${analyticsResults.length} analytics results`,
          },
          [
            {
              buildId,
              vars,
              warehouse,
              models: rebuiltModels.map((model) => {
                const { inputs, window } = rebuilt.get(model.name) as { inputs: Record<string, string>; window?: EventWindow };
                return {
                  model: model.name,
                  state: { stateHash: planned.stateHashes[model.name] as string, version, inputs },
                  ...(window ? { window } : {}),
                };
              }),
              analytics: analyticsResults.map(({ model, outputUri }) => ({
                model,
                outputUri,
                state: {
                  stateHash: planned.stateHashes[model] as string,
                  version,
                  inputs: inputVersions(analyticsInputs.get(model) ?? {}),
                },
              })),
              tests: testsRun,
              ...(newSnapshot ? { snapshot: newSnapshot } : {}),
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
      warehousePath: warehouse,
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
      // a failed or cancelled run leaves no unpublished versions behind (best effort: the run has
      // failed already; what a killed run leaves, the next run's plan drops)
      await CancellationScope.nonCancellable(() =>
        writer.discardPending
          .executeWithOptions({ ...DISCARD, ...onWriter, summary: 'discard unpublished versions', retry: { maximumAttempts: 3 } }, [
            { buildId, warehouse },
          ])
          .catch(() => undefined),
      );
    }
  }
}

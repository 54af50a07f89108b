// The pipeline workflow: seed every source, build the models in DAG order on the writer, publish a
// snapshot of the master tables, run the analytics in parallel on the analytics queue, load them.
// Deterministic code only: no I/O here, every piece of work is an activity.
import { ActivityFailure, ApplicationFailure, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import type { AnalyticsActivities, ModelNodeLike, WriterActivities } from './activity-types';
import { progressQuery, type NodeKind, type NodeProgress, type PipelineInput, type PipelineResult } from './definitions';
import { describeProgress } from './progress-markdown';

export const WRITER_QUEUE = 'meterflow-writer';
export const ANALYTICS_QUEUE = 'meterflow-analytics';

/** Errors that retrying cannot fix: bad SQL, a file or project that breaks the contract. */
const NON_RETRYABLE = ['ProjectError', 'SourceDataError', 'ModelBuildError', 'StorageError', 'WarehouseLockedError'];

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
/** Loading the analytics results copies small tables. */
const LOAD: ActivityOptions = { taskQueue: WRITER_QUEUE, startToCloseTimeout: '30m', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: RETRY };

const writer = proxyActivities<WriterActivities>(PLAN);
const analytics = proxyActivities<AnalyticsActivities>(ANALYTICS);

/** Append a path segment to a local path or an s3:// URI (workflow code cannot use node:path). */
function childUri(base: string, ...segments: string[]): string {
  return [base.replace(/\/+$/, ''), ...segments].join('/');
}

export async function pipeline(input: PipelineInput): Promise<PipelineResult> {
  const { workflowId, runId } = workflowInfo();
  const onWriter = { taskQueue: input.writerQueue ?? WRITER_QUEUE };
  const onAnalytics = { taskQueue: input.analyticsQueue ?? ANALYTICS_QUEUE };
  const startedAt = Date.now();
  const nodes = new Map<string, NodeProgress>();
  let done = false;
  setHandler(progressQuery, () => ({ workflowId, startedAt, nodes: [...nodes.values()], done }));

  const publish = () => setCurrentDetails(describeProgress([...nodes.values()]));
  const addNode = (kind: NodeKind, name: string, dependsOn: string[] = []): string => {
    const id = `${kind}:${name}`;
    nodes.set(id, { id, kind, name, dependsOn, state: 'pending' });
    return id;
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

  const plan = await writer.planRun.executeWithOptions({ ...PLAN, ...onWriter, summary: 'plan: load the models project' }, [
    { ...(input.vars ? { vars: input.vars } : {}) },
  ]);
  const buildable: ModelNodeLike[] = plan.models.filter((model) => model.layer !== 'analytics');
  const analyticsModels = plan.models.filter((model) => model.layer === 'analytics');
  const masterTables = plan.models.filter((model) => model.layer === 'master').map((model) => model.name);

  for (const source of plan.sources) addNode('seed', source.name);
  for (const model of buildable) {
    addNode('model', model.name, [...model.sources.map((s) => `seed:${s}`), ...model.refs.map((r) => `model:${r}`)]);
  }
  const snapshotId = addNode(
    'snapshot',
    'master',
    masterTables.map((t) => `model:${t}`),
  );
  for (const model of analyticsModels) addNode('analytics', model.name, [snapshotId]);
  const loadId = addNode(
    'load',
    'analytics',
    analyticsModels.map((m) => `analytics:${m.name}`),
  );
  publish();

  try {
    // every node is started once its inputs are done; the writer still runs one activity at a time
    const finished = new Map<string, Promise<unknown>>();
    const after = (ids: readonly string[]) => Promise.all(ids.map((id) => finished.get(id)));

    for (const source of plan.sources) {
      const uri = source.location ?? childUri(input.sourcesUri, source.name);
      const id = `seed:${source.name}`;
      finished.set(
        id,
        runNode(id, () =>
          writer.seedSource.executeWithOptions({ ...SEED, ...onWriter, summary: `seed ${source.name}` }, [{ source, uri }]),
        ),
      );
    }
    for (const model of buildable) {
      const id = `model:${model.name}`;
      const node = nodes.get(id) as NodeProgress;
      finished.set(
        id,
        after(node.dependsOn).then(() =>
          runNode(id, () =>
            writer.buildModel.executeWithOptions({ ...BUILD, ...onWriter, summary: `build ${model.layer} model ${model.name}` }, [
              { model: model.name, ...(input.vars ? { vars: input.vars } : {}) },
            ]),
          ),
        ),
      );
    }
    const snapshotUri = childUri(input.outUri, 'snapshots', `${workflowId}-${runId}`);
    // NOTE: awaiting every node (not only the master's inputs) surfaces any failure, and handles
    // every promise so that a failure leaves no unhandled rejection behind.
    await Promise.all([...finished.values()]);
    const manifest = await runNode(snapshotId, async () => {
      const published = await writer.publishSnapshot.executeWithOptions(
        { ...SNAPSHOT, ...onWriter, summary: `publish snapshot of ${masterTables.join(', ')}` },
        [{ tables: masterTables, snapshotUri }],
      );
      return { ...published, rows: published.tables.reduce((sum, table) => sum + table.rows, 0) };
    });

    const analyticsResults = await Promise.all(
      analyticsModels.map((model) =>
        runNode(`analytics:${model.name}`, () =>
          analytics.runAnalyticsModel.executeWithOptions({ ...ANALYTICS, ...onAnalytics, summary: `analytics model ${model.name}` }, [
            {
              model: model.name,
              snapshotUri,
              outputUri: childUri(input.outUri, 'runs', workflowId, 'analytics', `${model.name}.parquet`),
              ...(input.vars ? { vars: input.vars } : {}),
            },
          ]),
        ),
      ),
    );
    const loaded = await runNode(loadId, async () => {
      const result = await writer.loadAnalyticsResults.executeWithOptions(
        { ...LOAD, ...onWriter, summary: 'load analytics results into the warehouse' },
        [{ results: analyticsResults.map(({ model, outputUri }) => ({ model, outputUri })) }],
      );
      return { ...result, rows: result.tables.reduce((sum, table) => sum + table.rows, 0) };
    });

    const tables = [
      ...[...nodes.values()].filter((n) => n.kind === 'seed').map((n) => ({ table: `raw.${n.name}`, rows: n.rows ?? null })),
      ...buildable.map((m) => ({ table: `main.${m.name}`, rows: nodes.get(`model:${m.name}`)?.rows ?? null })),
      ...loaded.tables.map((t) => ({ table: `main.${t.model}`, rows: t.rows })),
    ];
    return { workflowId, warehousePath: loaded.warehousePath, snapshotUri: manifest.snapshotUri, nodes: [...nodes.values()], tables };
  } finally {
    for (const node of nodes.values()) if (node.state === 'pending') node.state = 'skipped';
    done = true;
    publish();
  }
}

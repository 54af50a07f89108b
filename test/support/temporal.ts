// Test helpers for anything that crosses a process: the shared dev server, workers on fresh queues.
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { startPipeline } from '../../src/client';
import type { PipelineInput } from '../../src/contract/run';
import { fingerprintProject } from '../../src/project/fingerprint';

let runtimeInstalled = false;

/** Keep the SDK's logs to errors so test output stays readable. */
export function quietTemporalLogs(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by an earlier file in this process
  }
}

export function testServerAddress(): string {
  const address = process.env.METERFLOW_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('the Temporal test server is not running (jest globalSetup)');
  return address;
}

export interface TemporalTestContext {
  readonly client: Client;
  readonly workerConnection: NativeConnection;
  close(): Promise<void>;
}

export async function connectToTestServer(): Promise<TemporalTestContext> {
  quietTemporalLogs();
  const address = testServerAddress();
  const connection = await Connection.connect({ address });
  const workerConnection = await NativeConnection.connect({ address });
  return {
    client: new Client({ connection, namespace: 'default' }),
    workerConnection,
    async close() {
      await workerConnection.close();
      await connection.close();
    },
  };
}

/** Fresh queue names, so that no test's workers take another test's tasks. */
export function freshQueues(label: string): { writer: string; analytics: string; workflows: string } {
  const suffix = `${label}-${randomUUID().slice(0, 8)}`;
  return { writer: `writer-${suffix}`, analytics: `analytics-${suffix}`, workflows: `workflows-${suffix}` };
}

export interface RunningWorkers {
  readonly queues: { writer: string; analytics: string; workflows: string };
  /** The warehouse the writer serves, by name, and the project the workers were started with. */
  readonly warehouse?: string;
  readonly projectDir?: string;
  stop(): Promise<void>;
}

/** Writer, analytics and workflow workers on fresh queues (or the given ones) over a warehouse file. */
export async function startWorkers(
  context: TemporalTestContext,
  options: { label: string; warehousePath: string; projectDir?: string; queues?: { writer: string; analytics: string; workflows: string } },
): Promise<RunningWorkers> {
  // imported here so that files needing only a client do not load the worker's dependencies
  const { createWorkers } = await import('../../src/worker');
  const { createLogger } = await import('../../src/logger');
  const { PACKAGE_ROOT } = await import('../../src/config');
  const queues = options.queues ?? freshQueues(options.label);
  const workers = await createWorkers({
    connection: context.workerConnection,
    namespace: 'default',
    role: 'all',
    warehousePath: options.warehousePath,
    projectDir: options.projectDir ?? `${PACKAGE_ROOT}/models`,
    queues,
    logger: createLogger('test', 'silent'),
  });
  const running = workers.run();
  return {
    queues,
    ...(workers.warehouse ? { warehouse: workers.warehouse.path } : {}),
    projectDir: options.projectDir ?? `${PACKAGE_ROOT}/models`,
    async stop() {
      workers.shutdown();
      await running;
    },
  };
}

/**
 * Poll until a condition holds (for things that happen on their own, like scheduled runs). A check
 * that throws (a query before the run's first task, say) counts as not yet.
 */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Start a run on the given workers' queues (its input's queues filled in, and the warehouse and project
 * they serve when known): in-process workers, or worker processes on those queues.
 */
export async function startRun(
  context: TemporalTestContext,
  workers: Pick<RunningWorkers, 'queues'> & Partial<Pick<RunningWorkers, 'warehouse' | 'projectDir'>>,
  input: Pick<PipelineInput, 'sourcesUri' | 'outUri'> & Partial<PipelineInput>,
): ReturnType<typeof startPipeline> {
  const project = workers.projectDir ? await fingerprintProject(workers.projectDir) : undefined;
  return startPipeline(
    context.client,
    {
      ...(workers.warehouse ? { warehouse: workers.warehouse } : {}),
      ...(project ? { project } : {}),
      writerQueue: workers.queues.writer,
      analyticsQueue: workers.queues.analytics,
      ...input,
    },
    { taskQueue: workers.queues.workflows },
  );
}

/** In-process workers for the work (a run, say), stopped after it whatever it did; the work's result. */
export async function withWorkers<T>(
  context: TemporalTestContext,
  options: Parameters<typeof startWorkers>[1],
  work: (workers: RunningWorkers) => Promise<T>,
): Promise<T> {
  const workers = await startWorkers(context, options);
  try {
    return await work(workers);
  } finally {
    await workers.stop();
  }
}

/** Start workers, run `work` with them, stop them, and return what `work` threw (undefined when it did not). */
export async function errorWithWorkers(
  context: TemporalTestContext,
  options: Parameters<typeof startWorkers>[1],
  work: (workers: RunningWorkers) => Promise<unknown>,
): Promise<unknown> {
  return withWorkers(context, options, work).then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED */
const PENDING_ACTIVITY_STARTED = 2;

/** A pending activity of a run, of one of these types, that a worker has started (undefined if none). */
export async function startedActivity(handle: WorkflowHandle, types: readonly string[]) {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  return pending.find((a) => types.includes(a.activityType?.name ?? '') && Number(a.state) === PENDING_ACTIVITY_STARTED);
}

/** Every string a history holds: its JSON, and each payload's data decoded (payloads are base64 in it). */
export function historyText(history: Parameters<typeof historyToJSON>[0]): string {
  const json = historyToJSON(history);
  const decoded = [...json.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1] as string, 'base64').toString('utf8'));
  return [json, ...decoded].join('\n');
}

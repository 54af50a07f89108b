// Timeouts and retries per kind of work, in one place, each number with its reason.
import type { Duration } from '@temporalio/common';
import { ActivityCancellationType, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERRORS } from '../errors';

export {
  ANALYTICS_QUEUE_NAME as ANALYTICS_QUEUE,
  BUILD_QUEUE_NAME as BUILD_QUEUE,
  WRITER_QUEUE_NAME as WRITER_QUEUE,
  buildQueueFor,
} from '../contract/queues';

/** Errors that retrying cannot fix (bad SQL, a file or project that breaks the contract), and failed tests. */
export const NON_RETRYABLE: readonly string[] = [...NON_RETRYABLE_ERRORS, 'DataTestFailed'];

/** Transient faults (a worker restart, S3 throttling, a locked temp file) clear within seconds to a minute. */
const RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 6,
  nonRetryableErrorTypes: [...NON_RETRYABLE],
};

/** Activities heartbeat every 2 s; missing 10 s of them means the worker is gone, so retry elsewhere. */
const HEARTBEAT_TIMEOUT = '10s';

/**
 * Long work heartbeats, and a cancelled activity is awaited until its worker has stopped it (DuckDB
 * interrupted), so a failed or cancelled run closes with nothing still running for it.
 */
const withHeartbeat = (startToCloseTimeout: Duration): ActivityOptions => ({
  startToCloseTimeout,
  heartbeatTimeout: HEARTBEAT_TIMEOUT,
  retry: RETRY,
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** The kinds of work a run does, and on which queue each runs. */
const KINDS = {
  /** Planning reads a few YAML files and the warehouse's state tables. */
  plan: { queue: 'writer', options: { startToCloseTimeout: '1m', retry: RETRY } },
  /** Seeding reads every file of a source; a year of readings for 100k meters is minutes, not hours. */
  seed: { queue: 'writer', options: withHeartbeat('2h') },
  /** The master model is the heaviest build (built whole on the writer, or committed there from its months). */
  build: { queue: 'writer', options: withHeartbeat('4h') },
  /** Which months a per-month build covers: the min and max event time of its inputs. */
  buildPlan: { queue: 'build', options: withHeartbeat('10m') },
  /**
   * One month of a per-month build, on any build worker: a twelfth of the heaviest build. A killed
   * worker's month is retried elsewhere once its heartbeats stop (10 s).
   */
  buildMonth: { queue: 'build', options: withHeartbeat('2h') },
  /** One month of a singular test over inputs that all have an event time: a reader, on any build worker. */
  testMonth: { queue: 'build', options: withHeartbeat('1h') },
  /**
   * The tests of a model built in parts that no part decides alone: a reader of the parts' new
   * version, on any build worker, after the writer's commit.
   */
  testBuilt: { queue: 'build', options: withHeartbeat('1h') },
  /** Data tests are aggregations over one table. */
  test: { queue: 'writer', options: withHeartbeat('1h') },
  /** The snapshot names the lake version analytics read and counts the master's rows: seconds. */
  snapshot: { queue: 'writer', options: withHeartbeat('10m') },
  /**
   * An analytics model is an aggregation over the snapshot, then its tests over its small result:
   * any analytics worker, on any machine.
   */
  analytics: { queue: 'analytics', options: withHeartbeat('2h') },
  /** Publishing a run renames its new models and copies its analytics results in one transaction. */
  publish: { queue: 'writer', options: withHeartbeat('30m') },
  /** The report renders a few charts from small tables. */
  report: { queue: 'analytics', options: withHeartbeat('10m') },
  /**
   * Telling a webhook the run ended: retried for two minutes (a webhook down for a minute still gets
   * it once), each attempt bounded by the activity itself (METERFLOW_NOTIFY_TIMEOUT_MS).
   */
  notify: {
    queue: 'analytics',
    options: {
      startToCloseTimeout: '1m',
      scheduleToCloseTimeout: '2m',
      retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '20s' },
    },
  },
  /** Clean-up after a failed run drops a few relations; best effort, so a few attempts only. */
  discard: { queue: 'writer', options: { ...withHeartbeat('10m'), retry: { ...RETRY, maximumAttempts: 3 } } },
  /** Lake maintenance merges small files and deletes expired ones: minutes, on the writer (it commits). */
  maintenance: { queue: 'writer', options: withHeartbeat('2h') },
} as const satisfies Record<string, { queue: 'writer' | 'analytics' | 'build'; options: ActivityOptions }>;

export type WorkKind = keyof typeof KINDS;

/** A run's options for one kind of work: its queue (the run's writer, analytics or build queue), timeouts, retries and a summary for the Web UI. */
export function optionsFor(
  kind: WorkKind,
  queues: { readonly writer: string; readonly analytics: string; readonly build: string },
  summary: string,
): ActivityOptions {
  const { queue, options } = KINDS[kind];
  return { ...options, taskQueue: queues[queue], summary };
}

/** Defaults for the activity proxies; every call passes its own options. */
export const PROXY_DEFAULTS: ActivityOptions = { startToCloseTimeout: '1m', retry: RETRY };

// Helpers every activity uses: heartbeats while DuckDB works, cancellation, and failure classification.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DuckDBConnection } from '@duckdb/node-api';
import { ModelBuildError, ProjectError, SourceDataError, StorageError, WarehouseLockedError } from '../errors';
import { duckdbMessage, isPermanentDuckdbError } from '../warehouse/sql';

/** How often a long activity tells the server it is alive; the heartbeat timeout is a few times this. */
export const HEARTBEAT_INTERVAL_MS = 2_000;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (unit tests, the bench)
  }
}

/**
 * Run DuckDB work while heartbeating, and interrupt the query if the activity is cancelled, so a
 * dead worker is noticed within the heartbeat timeout and a cancelled run stops using the CPU.
 */
export async function whileHeartbeating<T>(connection: DuckDBConnection | undefined, work: () => Promise<T>): Promise<T> {
  const context = activityContext();
  if (!context) return work();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_INTERVAL_MS);
  const onCancel = context.cancelled.catch(() => connection?.interrupt());
  try {
    return await work();
  } finally {
    clearInterval(timer);
    void onCancel;
  }
}

/** Turn errors that will recur on retry into non-retryable failures whose message names the culprit. */
export function classifyFailure(err: unknown, what: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ProjectError || err instanceof SourceDataError || err instanceof ModelBuildError || err instanceof StorageError) {
    return ApplicationFailure.nonRetryable(err.message, err.name);
  }
  if (err instanceof WarehouseLockedError) return ApplicationFailure.nonRetryable(err.message, err.name);
  if (isPermanentDuckdbError(err)) {
    return ApplicationFailure.nonRetryable(`${what}: ${duckdbMessage(err)}`, 'ModelBuildError');
  }
  return err;
}

export async function classified<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw classifyFailure(err, what);
  }
}

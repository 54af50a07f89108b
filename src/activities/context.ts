// Helpers every activity uses: heartbeats while DuckDB works, cancellation, and failure classification.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DuckDBConnection } from '@duckdb/node-api';
import { masked } from '../secrets';
import { NON_RETRYABLE_ERRORS } from '../errors';
import { permanentFileSystemError } from '../storage/fs-errors';
import { duckdbMessage, isPermanentDuckdbError, isPermanentDuckdbIoError } from '../duckdb/sql';

/** How often a long activity tells the server it is alive; the heartbeat timeout is a few times this. */
export const HEARTBEAT_INTERVAL_MS = 2_000;

export function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (unit tests, the bench)
  }
}

/** Interrupt a running DuckDB query when the activity is cancelled, so a cancelled run stops using the CPU. */
export async function interruptOnCancel<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  const context = activityContext();
  if (context) void context.cancelled.catch(() => connection.interrupt());
  return work();
}

/**
 * Turn errors that will recur on retry into non-retryable failures whose message names the culprit,
 * every password in it masked: what an activity throws is kept in the run's history.
 */
export function classifyFailure(err: unknown, what: string): unknown {
  const failure = classified(err, what);
  if (failure instanceof Error) failure.message = masked(failure.message);
  return failure;
}

function classified(err: unknown, what: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof Error && NON_RETRYABLE_ERRORS.includes(err.name)) return ApplicationFailure.nonRetryable(err.message, err.name);
  // a read-only, forbidden or misplaced location fails the same way on every attempt
  const fileSystem = permanentFileSystemError(err);
  if (fileSystem) return ApplicationFailure.nonRetryable(fileSystem.message, fileSystem.name);
  if (isPermanentDuckdbIoError(err)) return ApplicationFailure.nonRetryable(`${what}: ${duckdbMessage(err)}`, 'StorageError');
  if (isPermanentDuckdbError(err)) {
    return ApplicationFailure.nonRetryable(`${what}: ${duckdbMessage(err)}`, 'ModelBuildError');
  }
  return err;
}

/**
 * The frame of every activity: heartbeat for its whole life, so a dead worker is noticed within the
 * heartbeat timeout rather than the start-to-close one, and classify what it throws.
 */
export async function activityFrame<T>(what: string, work: () => Promise<T>): Promise<T> {
  const context = activityContext();
  const timer = context ? setInterval(() => context.heartbeat(what), HEARTBEAT_INTERVAL_MS) : undefined;
  try {
    return await work();
  } catch (err) {
    throw classifyFailure(err, what);
  } finally {
    clearInterval(timer);
  }
}

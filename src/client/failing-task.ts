// Noticing a run whose workflow task keeps failing (a namespace without meterflow's search attributes,
// a worker with broken workflow code): Temporal retries such a task for ever and the run says nothing.
import type { WorkflowHandle } from '@temporalio/client';
import { sleep } from './sleep';

/** A workflow task on this attempt has failed this many times in a row, minus one. */
const FAILING_ATTEMPT = 3;
/** How often the run is described while waiting. */
const CHECK_INTERVAL_MS = 2_000;

export interface FailingWorkflowTask {
  /** The attempt the pending workflow task is on (failures so far: attempt - 1). */
  readonly attempt: number;
  /** The last WorkflowTaskFailed event's failure, first line. */
  readonly reason: string;
}

/**
 * Until the signal aborts, describe the run every few seconds; resolve when its pending workflow task
 * is on attempt FAILING_ATTEMPT or later and the history's last workflow task event is a failure.
 */
export async function watchForFailingWorkflowTask(
  handle: WorkflowHandle,
  signal: AbortSignal,
  intervalMs = CHECK_INTERVAL_MS,
): Promise<FailingWorkflowTask | undefined> {
  // NOTE: one failure followed by a success is ordinary (a worker restarting, an unhandled command);
  // two in a row of the same task is not, and Temporal's retries of it come within seconds.
  while (await sleep(intervalMs, signal)) {
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return undefined;
      const attempt = description.raw.pendingWorkflowTask?.attempt ?? 0;
      if (attempt < FAILING_ATTEMPT) continue;
      const events = (await handle.fetchHistory()).events ?? [];
      const last = [...events]
        .reverse()
        .find(
          (event) =>
            event.workflowTaskFailedEventAttributes ||
            event.workflowTaskCompletedEventAttributes ||
            event.workflowTaskTimedOutEventAttributes,
        );
      const failure = last?.workflowTaskFailedEventAttributes?.failure;
      if (!failure) continue;
      const reason = (failure.message ?? 'no message').split('\n')[0] ?? '';
      return { attempt, reason };
    } catch {
      // the server is busy or the run just ended: the next round tells
    }
  }
  return undefined;
}

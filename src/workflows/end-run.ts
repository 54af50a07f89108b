// The end of every run, whatever its outcome: a failed or cancelled run discards its unpublished
// versions, a failed one renders its report opening on the failure, and the webhooks are told.
import { ActivityFailure, ApplicationFailure, CancellationScope, sleep } from '@temporalio/workflow';
import { webhookLabel } from '../contract/validate';
import type { RunContext, RunStart } from './run-context';
import type { RunLedger } from './run-ledger';
import type { NodeFailureDetails, RunState } from './run-state';
import type { WebhookOutcome } from '../contract/run';
import { renderReport } from './report-run';

/** How a run ended: succeeded, or why it failed (neither when it was cancelled). */
export interface RunOutcome {
  readonly succeeded: boolean;
  readonly failure: NodeFailureDetails | undefined;
}

/** What a failure says of itself: the failing node and why, with a failed test's samples. */
export function failureDetails(err: unknown): NodeFailureDetails {
  if (err instanceof ApplicationFailure && err.type === 'PipelineNodeFailed') return err.details?.[0] as NodeFailureDetails;
  // an activity's failure outside a node (the plan's): its cause says why
  return { node: 'run', reason: causeMessage(err) };
}

/**
 * Tell the run's webhooks that it failed (or succeeded, when asked), one activity each, waiting at
 * most notifyWaitSeconds: a webhook that never answers delays the run's end by that, and fails nothing.
 */
async function notifyEnd(
  run: Omit<RunStart, 'reportUri'> & { readonly reportUri: string | undefined; readonly warehouse?: string; readonly state?: RunState },
  { succeeded, failure: failed }: RunOutcome,
): Promise<void> {
  const { input } = run;
  const targets = input.notify ?? [];
  if (targets.length === 0 || (!failed && !(succeeded && input.notifyOnSuccess))) return;
  const warehouse = run.warehouse ?? input.warehouse;
  const notification = {
    run: run.workflowId,
    state: failed ? ('failed' as const) : ('succeeded' as const),
    logicalDate: run.logicalDate,
    ...(warehouse !== undefined ? { warehouse } : {}),
    ...(run.reportUri !== undefined ? { report: run.reportUri } : {}),
    ...(failed ? { failedNode: failed.node, error: failed.reason } : {}),
  };
  const waitSeconds = input.notifyWaitSeconds ?? 60;
  // each webhook's outcome, for the progress a person reads at the run's end (`run` prints those not told)
  const outcomes = targets.map((target): WebhookOutcome => ({
    webhook: webhookLabel(target),
    told: false,
    reason: `no answer within ${waitSeconds} s`,
  }));
  await CancellationScope.nonCancellable(async () => {
    const sends = targets.map((target, index) =>
      run.activities.analytics.notifyRun
        .executeWithOptions(run.on('notify', `notify ${webhookLabel(target)} that the run ${notification.state}`), [
          { target, notification },
        ])
        .then(
          () => (outcomes[index] = { webhook: webhookLabel(target), told: true }),
          (err: unknown) => (outcomes[index] = { webhook: webhookLabel(target), told: false, reason: causeMessage(err) }),
        ),
    );
    await Promise.race([Promise.all(sends), sleep(waitSeconds * 1000)]);
  });
  run.state?.notifications.push(...outcomes);
}

/** An error's message; an activity's failure's, its cause's (the activity's own error, which names no webhook URL). */
function causeMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Clean up after the run, report its failure and tell its webhooks (best effort all: the outcome stands). */
export async function endRun(run: RunContext, ledger: RunLedger, outcome: RunOutcome): Promise<void> {
  if (!outcome.succeeded) {
    // a failed or cancelled run leaves no unpublished versions behind (best effort: the run has
    // failed already; what a killed run leaves, the next run's plan drops)
    await CancellationScope.nonCancellable(() =>
      run.activities.writer.discardPending
        .executeWithOptions(run.on('discard', 'discard unpublished versions'), [{ buildId: run.buildId, warehouse: run.warehouse }])
        .catch(() => undefined),
    );
  }
  if (outcome.failure) {
    // a failed run has a report too, opening on its failure (best effort: the run has failed already)
    await renderReport(run, ledger, { failure: outcome.failure }).catch(() => undefined);
  }
  await notifyEnd(run, outcome);
}

/**
 * A run that failed at its plan (a project that cannot be read, a selector that matches nothing): its
 * webhooks are told, as for any failed run, their outcomes kept in `state`. It has no nodes, so no report.
 */
export async function endUnplannedRun(start: RunStart, state: RunState, failure: NodeFailureDetails): Promise<void> {
  await notifyEnd({ ...start, state, reportUri: undefined }, { succeeded: false, failure });
}

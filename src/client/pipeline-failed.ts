// The error a failed run rejects with: which node failed and why, as fields, not a message to parse.
import { WorkflowFailedError } from '@temporalio/client';
import type { RetryState } from '@temporalio/common';

/**
 * A pipeline run that failed, was cancelled or was terminated: the node that failed (when one did) and
 * the reason. A WorkflowFailedError still, with the same `cause` chain, for code that checks for one.
 */
export class PipelineFailedError extends WorkflowFailedError {
  public override readonly name = 'PipelineFailedError';
  constructor(
    public readonly workflowId: string,
    public readonly reason: string,
    public readonly node: string | undefined,
    cause: Error | undefined,
    retryState: RetryState,
  ) {
    super(`run ${workflowId} failed${node ? ` at ${node}` : ''}: ${reason}`, cause, retryState);
  }
}

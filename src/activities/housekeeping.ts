// Who owns a build's unpublished versions, as Temporal tells: the workflow an activity runs in, and
// whether another run's workflow still runs. Housekeeping (src/build/housekeeping.ts) asks these.
import { Context } from '@temporalio/activity';
import type { BuildOwners } from '../build/housekeeping';

/** The workflow the current activity runs in; undefined outside one. */
function currentWorkflowId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.workflowId;
  } catch {
    return undefined;
  }
}

/** Whether the workflow that owns a build is still running; undefined where no client can tell. */
async function stillRunning(workflowId: string | undefined): Promise<boolean | undefined> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined; // outside an activity: nothing can tell, so nothing is dropped
  }
  if (workflowId === undefined) return false; // no owner recorded: left by a build from before owners were kept
  try {
    const description = await context.client.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return false;
    throw err;
  }
}

/** Build owners as the current activity's Temporal client tells them. */
export const temporalOwners: BuildOwners = { current: currentWorkflowId, stillRunning };

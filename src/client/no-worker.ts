// Noticing a run that no worker will pick up: the task queues it needs have no pollers, so it waits
// in silence. The wait says so after a while (and keeps waiting: a worker may still come).
import type { Connection, WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { sleep } from './sleep';
import { ANALYTICS_QUEUE_NAME, BUILD_QUEUE_NAME, buildQueueFor, WORKFLOW_QUEUE_NAME, WRITER_QUEUE_NAME } from '../contract/queues';

/** How long a run may wait for a worker before the wait says none polls (METERFLOW_NO_WORKER_WARNING_SECONDS). */
export function noWorkerDelayMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.METERFLOW_NO_WORKER_WARNING_SECONDS ?? 30);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 30_000;
}

export interface NoWorkerNotice {
  readonly taskQueue: string;
  /** The `meterflow worker` role that polls the queue. */
  readonly role: 'any' | 'writer' | 'analytics' | 'build';
  readonly address: string;
  readonly namespace: string;
  /** One line saying what is missing and how to start it. */
  readonly message: string;
}

export interface NoWorkerWatch {
  /** Called when a queue the run needs has no pollers; again only after one has come and gone. */
  readonly onNoWorker: (notice: NoWorkerNotice) => void;
  /** First check after this long, then every this long; noWorkerDelayMs() by default. */
  readonly afterMs?: number;
  /** The writer and analytics queues of the run; by default the ones the run was started with. */
  readonly writerQueue?: string;
  readonly analyticsQueue?: string;
}

/** The queues a run was started with (its input), for the roles of the queues its activities wait on. */
interface RunQueues {
  readonly writerQueue?: string;
  readonly analyticsQueue?: string;
  readonly buildQueue?: string;
}

const { TaskQueueType } = temporal.api.enums.v1;
const { PendingActivityState } = temporal.api.enums.v1;

function noticeFor(taskQueue: string, role: NoWorkerNotice['role'], address: string, namespace: string): NoWorkerNotice {
  const flag = role === 'any' ? '--workflow-queue' : `--${role}-queue`;
  const isDefault = [WORKFLOW_QUEUE_NAME, WRITER_QUEUE_NAME, ANALYTICS_QUEUE_NAME, BUILD_QUEUE_NAME].includes(taskQueue);
  const command = `meterflow worker${role === 'any' ? '' : ` --role ${role}`}${isDefault ? '' : ` ${flag} ${taskQueue}`}`;
  return {
    taskQueue,
    role,
    address,
    namespace,
    message: `no worker is polling task queue ${taskQueue} at ${address} (namespace ${namespace}): start one with ${command}`,
  };
}

/**
 * The task queue of each activity the run scheduled (by activity id), and the queues its input named:
 * from its history, since a waiting activity's description does not say where it waits.
 */
async function scheduledQueues(handle: WorkflowHandle): Promise<{ queues: Map<string, string>; input: RunQueues }> {
  const events = (await handle.fetchHistory()).events ?? [];
  const queues = new Map<string, string>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityId && scheduled.taskQueue?.name) queues.set(scheduled.activityId, scheduled.taskQueue.name);
  }
  const payload = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  let input: RunQueues = {};
  try {
    input = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as RunQueues) : {};
  } catch {
    // not a run's JSON input: the default queues
  }
  return { queues, input };
}

/**
 * Until the signal aborts, check every `afterMs` that the run's queues have pollers: its workflow
 * queue always, and the queue an activity waits on (the writer's, the analytics workers' or the build
 * workers') while it waits to be picked up there.
 */
export async function watchForWorkers(handle: WorkflowHandle, watch: NoWorkerWatch, signal: AbortSignal): Promise<void> {
  const service = handle.client.workflowService;
  const namespace = handle.client.options.namespace;
  const address = (handle.client.connection as Partial<Connection>).options?.address ?? process.env.TEMPORAL_ADDRESS ?? 'the server';
  const afterMs = watch.afterMs ?? noWorkerDelayMs();
  const warned = new Set<string>();
  const hasPollers = async (name: string, taskQueueType: temporal.api.enums.v1.TaskQueueType): Promise<boolean> => {
    const described = await service.describeTaskQueue({ namespace, taskQueue: { name }, taskQueueType });
    return (described.pollers?.length ?? 0) > 0;
  };
  const check = (queue: string, role: NoWorkerNotice['role'], polled: boolean) => {
    if (polled) warned.delete(queue);
    else if (!warned.has(queue)) {
      warned.add(queue);
      watch.onNoWorker(noticeFor(queue, role, address, namespace));
    }
  };
  while (await sleep(afterMs, signal)) {
    try {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return;
      const workflowQueue = description.taskQueue;
      const workflowsPolled = await hasPollers(workflowQueue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW);
      check(workflowQueue, 'any', workflowsPolled);
      // once the run is going, the queue of an activity that waits to start must have a worker too
      const waiting = (description.raw.pendingActivities ?? []).filter(
        (activity) => activity.state === PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
      );
      if (!workflowsPolled || waiting.length === 0) continue;
      const { queues, input } = await scheduledQueues(handle);
      const writerQueue = watch.writerQueue ?? input.writerQueue ?? WRITER_QUEUE_NAME;
      const roles = new Map<string, NoWorkerNotice['role']>([
        [input.buildQueue ?? buildQueueFor(writerQueue), 'build'],
        [watch.analyticsQueue ?? input.analyticsQueue ?? ANALYTICS_QUEUE_NAME, 'analytics'],
        [writerQueue, 'writer'],
      ]);
      const waitedOn = new Set(waiting.flatMap((activity) => queues.get(activity.activityId ?? '') ?? []));
      for (const queue of waitedOn) {
        check(queue, roles.get(queue) ?? 'writer', await hasPollers(queue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY));
      }
    } catch {
      // the server is busy or the run just ended: the next round tells
    }
  }
}

// Which warehouse's writer polls a writer queue: writers name their warehouse in their Temporal
// identity, and both a starting writer and a starting run read the queue's live pollers by it.
import os from 'node:os';
import { temporal } from '@temporalio/proto';

/** Pollers seen this recently are alive: a long poll lasts a minute, and each one renews the time. */
const LIVE_POLLER_MS = 90_000;

const WRITER_OF = /meterflow writer of (.+)$/;

/** A writer's identity names its warehouse, so another writer, a run (and the Web UI's pollers list) can see it. */
export function writerIdentity(warehouse: string): string {
  return `${process.pid}@${os.hostname()} meterflow writer of ${warehouse}`;
}

/** `meterflow dev`'s writer, which opens whichever warehouse a run names. */
export function devWriterIdentity(): string {
  return `${process.pid}@${os.hostname()} meterflow dev writer of any warehouse`;
}

export interface LivePoller {
  readonly identity: string;
  /** The warehouse a meterflow writer serves; undefined for any other poller (dev's writer of any warehouse). */
  readonly warehouse?: string;
}

/** The live pollers of a writer queue's activity tasks, each with the warehouse its identity names. */
export async function liveWriterPollers(
  service: Pick<temporal.api.workflowservice.v1.WorkflowService, 'describeTaskQueue'>,
  namespace: string,
  taskQueue: string,
): Promise<LivePoller[]> {
  const described = await service.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  return (described.pollers ?? [])
    .filter((poller) => Date.now() - Number(poller.lastAccessTime?.seconds ?? 0) * 1000 <= LIVE_POLLER_MS)
    .map((poller) => {
      const identity = poller.identity ?? '';
      const warehouse = WRITER_OF.exec(identity)?.[1];
      return warehouse === undefined ? { identity } : { identity, warehouse };
    });
}

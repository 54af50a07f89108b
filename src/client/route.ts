// Before a run starts: the warehouse it names has a writer, or the run is refused at once, naming the
// warehouse and the command that starts its writer. The queue is the warehouse's own (writerQueueFor),
// or `meterflow dev`'s writer of any warehouse when only that one polls.
import type { Client, Connection } from '@temporalio/client';
import { NoWriterError } from '../errors';
import { buildQueueFor, DEV_WRITER_QUEUE_NAME, writerQueueFor } from '../contract/queues';
import type { PipelineInput } from '../contract/run';
import { liveWriterPollers } from '../temporal/writer-pollers';

/** How long a run waits for its writer to show before it is refused (a worker just started, say). */
export const WRITER_WAIT_MS = 3_000;

/** The warehouses whose writers poll a queue now (`*` for dev's writer of any warehouse). */
async function livePollers(client: Client, taskQueue: string): Promise<string[]> {
  const pollers = await liveWriterPollers(client.workflowService, client.options.namespace, taskQueue);
  return pollers.map((poller) => poller.warehouse ?? '*');
}

export interface RouteOptions {
  /** How long to wait for a writer before refusing the run; WRITER_WAIT_MS by default. */
  readonly waitMs?: number;
}

/**
 * The run's input with its queues filled in: its warehouse's writer queue (or dev's) and the build
 * queue that goes with it. A run that names no warehouse keeps the writer queue it names (the writer
 * there decides the warehouse, as before runs named theirs).
 */
export async function routeRun(client: Client, input: PipelineInput, options: RouteOptions = {}): Promise<PipelineInput> {
  const warehouse = input.warehouse;
  if (warehouse === undefined) return input;
  const address = (client.connection as Partial<Connection>).options?.address ?? 'the server';
  const namespace = client.options.namespace;
  const own = input.writerQueue ?? writerQueueFor(warehouse);
  const deadline = Date.now() + (options.waitMs ?? WRITER_WAIT_MS);
  for (;;) {
    const serving = await livePollers(client, own);
    const others = serving.filter((name) => name !== warehouse && name !== '*');
    if (others.length > 0 && !serving.includes(warehouse)) {
      throw new NoWriterError(
        `writer queue ${own} at ${address} (namespace ${namespace}) is served by the writer of ${others[0]}, not of ${warehouse}: ` +
          'the run was not started; give each warehouse its own writer queue',
        warehouse,
      );
    }
    if (serving.length > 0) return withQueues(input, own);
    // a dev server's writer opens whichever warehouse a run names
    if (input.writerQueue === undefined && (await livePollers(client, DEV_WRITER_QUEUE_NAME)).length > 0) {
      return withQueues(input, DEV_WRITER_QUEUE_NAME);
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new NoWriterError(
    `no worker serves the warehouse ${warehouse} at ${address} (namespace ${namespace}): its writer queue ${own} has no poller, ` +
      `so the run was not started; start its writer with: meterflow worker --role writer --db ${warehouse}` +
      `${input.writerQueue ? ` --writer-queue ${own}` : ''} (or run meterflow dev, which serves any warehouse)`,
    warehouse,
  );
}

function withQueues(input: PipelineInput, writerQueue: string): PipelineInput {
  return { ...input, writerQueue, buildQueue: input.buildQueue ?? buildQueueFor(writerQueue) };
}

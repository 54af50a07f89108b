// The queues and the scope (warehouse, project) a run's activities carry, from the run's input.
import type { RunScope } from './activity-types';
import type { PipelineInput } from '../contract/run';
import { ANALYTICS_QUEUE, buildQueueFor, WRITER_QUEUE } from './activity-options';
import { writerQueueFor } from '../contract/queues';

/**
 * The run's queues: as its input names them, else its warehouse's own writer queue (runs recorded
 * before runs named their warehouse: the default writer queue) and the build queue that goes with it.
 */
export function runQueues(input: Pick<PipelineInput, 'warehouse' | 'writerQueue' | 'analyticsQueue' | 'buildQueue'>) {
  const writer = input.writerQueue ?? (input.warehouse ? writerQueueFor(input.warehouse) : WRITER_QUEUE);
  return { writer, analytics: input.analyticsQueue ?? ANALYTICS_QUEUE, build: input.buildQueue ?? buildQueueFor(writer) };
}

/**
 * The scope every activity of the run is stamped with: its warehouse and project (none for runs that
 * named neither) and the folder its activities keep their logs in (`logs`: runs recorded before the
 * run-logs patch have none, and their activities' inputs replay as recorded).
 */
export function runScope(input: Pick<PipelineInput, 'warehouse' | 'project'>, logs?: string): RunScope {
  return {
    ...(input.warehouse ? { warehouse: input.warehouse } : {}),
    ...(input.project ? { project: input.project } : {}),
    ...(logs ? { logs } : {}),
  };
}

interface Executable {
  executeWithOptions(options: unknown, args: unknown[]): Promise<unknown>;
}

/** Activity stubs whose every call carries the run's scope in its input (the scope wins over the call's own). */
export function stamped<T extends object>(activities: T, scope: RunScope): T {
  if (Object.keys(scope).length === 0) return activities;
  return new Proxy(activities, {
    get(target, name) {
      const activity = (target as Record<string | symbol, Executable>)[name];
      if (activity === undefined) return activity;
      return {
        executeWithOptions: (options: unknown, [input, ...rest]: unknown[]) =>
          activity.executeWithOptions(options, [{ ...(input as object), ...scope }, ...rest]),
      };
    },
  }) as T;
}

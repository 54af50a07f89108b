// The lake's maintenance as a workflow, run by a Temporal schedule that `meterflow setup` creates:
// one activity on the warehouse's writer queue (maintenance commits to the catalog).
import { proxyActivities } from '@temporalio/workflow';
import type { WriterActivities } from './activity-types';
import { optionsFor, PROXY_DEFAULTS } from './activity-options';
import { runQueues } from './run-scope';
import type { MaintenanceInput, MaintenanceResult } from '../contract/run';

/** How long `meterflow query --at` can reach back by default: lake versions older than this are expired. */
const DEFAULT_RETENTION_DAYS = 30;

export async function maintenance(input: MaintenanceInput = {}): Promise<MaintenanceResult> {
  const writer = proxyActivities<WriterActivities>(PROXY_DEFAULTS);
  const queues = runQueues(input);
  return writer.maintainLake.executeWithOptions(
    optionsFor('maintenance', queues, 'merge small files, expire old snapshots, delete unreferenced files'),
    [
      {
        retentionDays: input.retentionDays ?? DEFAULT_RETENTION_DAYS,
        ...(input.orphanGraceMinutes !== undefined ? { orphanGraceMinutes: input.orphanGraceMinutes } : {}),
        ...(input.warehouse ? { warehouse: input.warehouse } : {}),
      },
    ],
  );
}

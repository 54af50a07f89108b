// `meterflow runs`: the recent runs, newest first (id, what started it, state, start, duration, the
// node a failed run failed at), filtered by state, schedule and start, as a table or JSON.
import type { Client } from '@temporalio/client';
import { describeFailure, listRecentRuns, type RecentRun, type RunFilter } from '../client';
import { alignedTable } from './text-table';

export interface RunsOptions extends RunFilter {
  readonly limit: number;
  readonly json?: boolean;
}

export interface ListedRun extends RecentRun {
  /** Seconds from start to close (to now for a running one). */
  readonly seconds: number;
  /** Where a failed run failed: its node id (`model:x`), or `run` for a failure outside any node. */
  readonly failedNode?: string;
  readonly reason?: string;
}

/** The recent runs, with each failed one's node and reason read from its history. */
export async function listedRuns(client: Client, options: RunsOptions, now = new Date()): Promise<ListedRun[]> {
  const runs = await listRecentRuns(client, options.limit, options);
  return Promise.all(
    runs.map(async (run) => {
      const seconds = ((run.closeTime ?? now).getTime() - run.startTime.getTime()) / 1000;
      if (run.status !== 'FAILED') return { ...run, seconds };
      const failure = await client.workflow
        .getHandle(run.workflowId, run.runId)
        .result()
        .then(
          () => undefined,
          (err: unknown) => describeFailure(err),
        );
      return { ...run, seconds, ...(failure ? { failedNode: failure.node ?? 'run', reason: failure.reason } : {}) };
    }),
  );
}

const localTime = (date: Date) =>
  `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')} ` +
  `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}:${String(date.getSeconds()).padStart(2, '0')}`;

const duration = (seconds: number) =>
  seconds < 60
    ? `${seconds.toFixed(1)}s`
    : seconds < 3600
      ? `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
      : `${(seconds / 3600).toFixed(1)}h`;

/** The runs as a table with a header: times in local time. */
export function runsTable(runs: readonly ListedRun[]): string {
  if (runs.length === 0) return 'no runs';
  const header = ['run', 'kind', 'state', 'started', 'duration', 'failed at'];
  const rows = runs.map((run) => [
    run.workflowId,
    run.scheduleId ? `${run.kind ?? 'scheduled'} (${run.scheduleId})` : (run.kind ?? ''),
    run.status,
    localTime(run.startTime),
    duration(run.seconds),
    run.failedNode ?? '',
  ]);
  return alignedTable(header, rows, { right: [4] }).join('\n');
}

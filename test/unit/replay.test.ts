// Replays pipeline histories recorded with an earlier build of the workflow: a change that would make
// running workflows nondeterministic fails here. Record a new fixture only for an intended, versioned
// change: copy test-artifacts/pipeline-history.json (written by pipeline.test.ts) to test/fixtures/.
// The histories in test/fixtures/pipeline-histories (one per run of pipeline-workflow.test.ts, every
// path it takes: failures, cancellation, continue-as-new, incremental runs) are also checked activity
// by activity: the same type, queue, summary and input as recorded, byte for byte.
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, Worker, type InjectedSinks, type WorkflowBundle } from '@temporalio/worker';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ScheduledActivity, ScheduledActivitySinks } from '../support/scheduled-activities-interceptor';
import { quietTemporalLogs } from '../support/temporal';

const FIXTURES = path.join(__dirname, '..', 'fixtures');
const HISTORIES = path.join(FIXTURES, 'pipeline-histories');
const workflowsPath = require.resolve('../../src/workflows');
const interceptorModule = require.resolve('../support/scheduled-activities-interceptor');

async function readHistory(file: string): Promise<temporal.api.history.v1.IHistory> {
  const bytes = await readFile(file);
  const json: unknown = JSON.parse((file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
  return historyFromJSON(json);
}

const decode = (data: Uint8Array | null | undefined) => (data ? Buffer.from(data).toString('utf8') : undefined);

/** The activities a history scheduled, in order, as the interceptor reports them. */
function recordedActivities(history: temporal.api.history.v1.IHistory): ScheduledActivity[] {
  return (history.events ?? []).flatMap((event) => {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (!scheduled) return [];
    const summary = decode(event.userMetadata?.summary?.data);
    return [
      {
        activityType: scheduled.activityType?.name ?? '',
        taskQueue: scheduled.taskQueue?.name ?? undefined,
        summary: summary === undefined ? undefined : (JSON.parse(summary) as string),
        input: (scheduled.input?.payloads ?? []).map((payload) => decode(payload.data) ?? ''),
      },
    ];
  });
}

/**
 * The workflow id the history's run had, as its activities' inputs name it (a report's, a webhook's):
 * a history does not hold it, and a replay not given it names the run "fake".
 */
function workflowIdOf(activities: readonly ScheduledActivity[]): string | undefined {
  for (const activity of activities) {
    const named = activity.input.join('\n').match(/"(?:workflowId|run)":"([^"]+)"/);
    if (named) return named[1];
  }
  return undefined;
}

/** The entries of `all` that match `some` in order (deep equality), greedily: `some` itself when it is a subsequence of `all`. */
function inOrderWithin<T>(some: readonly T[], all: readonly T[]): T[] {
  const matched: T[] = [];
  for (const entry of all) {
    const next = some[matched.length];
    if (next !== undefined && JSON.stringify(next) === JSON.stringify(entry)) matched.push(entry);
  }
  return matched;
}

describe('replaying recorded histories', () => {
  /** The workflow code with the interceptor that reports each scheduled activity, bundled once for every replay. */
  let workflowBundle: WorkflowBundle;

  beforeAll(async () => {
    quietTemporalLogs();
    workflowBundle = await bundleWorkflowCode({
      workflowsPath,
      workflowInterceptorModules: [interceptorModule],
      logger: new DefaultLogger('ERROR'),
    });
  });

  it('replays the recorded pipeline history from JSON without nondeterminism', async () => {
    const history = await readHistory(path.join(FIXTURES, 'pipeline-history.json'));
    expect(history.events?.length).toBeGreaterThan(50);
    const sinks: InjectedSinks<ScheduledActivitySinks> = { replayCheck: { scheduled: { fn: () => undefined, callDuringReplay: true } } };
    await expect(Worker.runReplayHistory({ workflowBundle, sinks }, history)).resolves.toBeUndefined();
  });

  const recorded = readdirSync(HISTORIES).filter((file) => file.endsWith('.json.gz'));

  it('has a recorded history for every path of the mocked workflow tests', () => {
    expect(recorded.length).toBeGreaterThanOrEqual(15);
  });

  it.each(recorded)('replays %s, scheduling every activity as recorded', async (file) => {
    const history = await readHistory(path.join(HISTORIES, file));
    const scheduled: ScheduledActivity[] = [];
    const sinks: InjectedSinks<ScheduledActivitySinks> = {
      replayCheck: { scheduled: { fn: (_info, activity) => void scheduled.push(activity), callDuringReplay: true } },
    };
    const recorded = recordedActivities(history);
    await Worker.runReplayHistory({ workflowBundle, sinks }, history, workflowIdOf(recorded));
    // NOTE: an activity scheduled and cancelled in the same workflow task never reaches the history:
    // in a cancelled run, what the history holds is what the workflow scheduled, in order, less those
    const cancelled = history.events?.some((event) => event.workflowExecutionCancelRequestedEventAttributes) === true;
    expect(cancelled ? inOrderWithin(recorded, scheduled) : scheduled).toEqual(recorded);
  });
});

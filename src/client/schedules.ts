// Temporal Schedules for the pipeline (not a home-made cron): create, list, describe, pause, unpause,
// trigger, backfill, update and delete. Each scheduled run gets its scheduled time as logical date.
import {
  DAYS_OF_WEEK,
  MONTHS,
  ScheduleOverlapPolicy,
  type Client,
  type Range,
  type ScheduleDescription,
  type ScheduleSpec,
  type ScheduleSpecDescription,
  type ScheduleSummary,
} from '@temporalio/client';

import { WORKFLOW_QUEUE_NAME } from '../contract/queues';
import { MAINTENANCE_WORKFLOW_TYPE, PIPELINE_WORKFLOW_TYPE, type MaintenanceInput, type PipelineInput } from '../contract/run';

export const OVERLAP_POLICIES = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;
export type OverlapPolicyName = keyof typeof OVERLAP_POLICIES;

export interface ScheduleTiming {
  /** A cron expression, e.g. "0 2 * * *". */
  readonly cron?: string;
  /** An interval, e.g. "1h" or "30s". */
  readonly every?: string;
  readonly timezone?: string;
}

export interface ScheduleOptions extends ScheduleTiming {
  readonly scheduleId: string;
  readonly input: PipelineInput;
  /**
   * What a run due while another runs does. Default `skip`: never two pipelines writing the same
   * warehouse at once (their activities would interleave on the single writer).
   */
  readonly overlap?: OverlapPolicyName;
  /** How far back missed runs (server down) are still started. */
  readonly catchupWindow?: string;
  readonly pauseOnFailure?: boolean;
  readonly note?: string;
  readonly taskQueue?: string;
}

function specOf(timing: ScheduleTiming): ScheduleSpec {
  if ((timing.cron === undefined) === (timing.every === undefined)) throw new Error('give exactly one of --cron or --every');
  return {
    ...(timing.cron ? { cronExpressions: [timing.cron] } : {}),
    ...(timing.every ? { intervals: [{ every: timing.every as `${number}s` }] } : {}),
    ...(timing.timezone ? { timezone: timing.timezone } : {}),
  };
}

function actionOf(options: ScheduleOptions) {
  return {
    type: 'startWorkflow' as const,
    workflowType: PIPELINE_WORKFLOW_TYPE,
    // Temporal appends the scheduled time: pipeline-<schedule>-2023-10-01T02:00:00Z
    workflowId: `pipeline-${options.scheduleId}`,
    taskQueue: options.taskQueue ?? WORKFLOW_QUEUE_NAME,
    args: [{ ...options.input, kind: 'scheduled' as const }],
    staticSummary: `scheduled run of ${options.scheduleId}`,
  };
}

export async function createSchedule(client: Client, options: ScheduleOptions): Promise<void> {
  await client.schedule.create({
    scheduleId: options.scheduleId,
    spec: specOf(options),
    action: actionOf(options),
    policies: {
      overlap: OVERLAP_POLICIES[options.overlap ?? 'skip'],
      ...(options.catchupWindow ? { catchupWindow: options.catchupWindow as `${number}s` } : {}),
      pauseOnFailure: options.pauseOnFailure ?? false,
    },
    ...(options.note ? { state: { note: options.note } } : {}),
  });
}

/** Change a schedule's timing, policies or input; what is not given stays as it was. */
export async function updateSchedule(
  client: Client,
  scheduleId: string,
  changes: Partial<Omit<ScheduleOptions, 'scheduleId'>>,
): Promise<void> {
  await client.schedule.getHandle(scheduleId).update((previous) => {
    const action = previous.action as { type: 'startWorkflow'; args?: unknown[]; taskQueue: string };
    const previousInput = (action.args?.[0] ?? {}) as PipelineInput;
    const input = { ...previousInput, ...changes.input };
    const timing = changes.cron !== undefined || changes.every !== undefined ? specOf(changes) : previous.spec;
    return {
      spec: timing,
      action: actionOf({ scheduleId, input, taskQueue: changes.taskQueue ?? action.taskQueue }),
      policies: {
        ...previous.policies,
        ...(changes.overlap ? { overlap: OVERLAP_POLICIES[changes.overlap] } : {}),
        ...(changes.catchupWindow ? { catchupWindow: changes.catchupWindow as `${number}s` } : {}),
        ...(changes.pauseOnFailure !== undefined ? { pauseOnFailure: changes.pauseOnFailure } : {}),
      },
      state: previous.state,
    };
  });
}

export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const schedules: ScheduleSummary[] = [];
  for await (const schedule of client.schedule.list()) schedules.push(schedule);
  return schedules;
}

export async function describeSchedule(client: Client, scheduleId: string): Promise<ScheduleDescription> {
  return client.schedule.getHandle(scheduleId).describe();
}

/** One cron field from the server's ranges: a star, `3`, `2-4`, a stepped star (every 15), `0,30`. */
function cronField<Unit>(ranges: readonly Range<Unit>[], min: number, max: number, toNumber: (value: Unit) => number): string {
  if (ranges.length === 0) return '*';
  return ranges
    .map((range) => {
      const start = toNumber(range.start);
      const end = range.end === undefined ? start : toNumber(range.end);
      const step = range.step && range.step > 1 ? range.step : 1;
      if (start === min && end === max) return step === 1 ? '*' : `*/${step}`;
      const span = start === end ? String(start) : `${start}-${end}`;
      return step === 1 || start === end ? span : `${span}/${step}`;
    })
    .join(',');
}

const DURATION_UNITS: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

/** Milliseconds as the largest unit that divides them: 600000 → 10m, 5400000 → 90m. */
function duration(ms: number): string {
  const [unit, size] = DURATION_UNITS.find(([, size]) => ms % size === 0) ?? ['ms', 1];
  return `${ms / size}${unit}`;
}

/** A schedule's timing as written at create: cron expressions and intervals (`90m`, `1h/5m` with an offset). */
export interface ScheduleTimingDescription {
  readonly cron: readonly string[];
  readonly every: readonly string[];
  readonly timezone?: string;
}

/**
 * The cron expressions and intervals of a schedule, rebuilt from the spec the server keeps (it turns
 * cron strings into calendar ranges): so a schedule created or updated anywhere reads as it was given.
 */
export function scheduleTiming(spec: ScheduleSpecDescription): ScheduleTimingDescription {
  const cron = (spec.calendars ?? []).map((calendar) => {
    const number = (value: number) => value;
    const fields = [
      cronField(calendar.minute, 0, 59, number),
      cronField(calendar.hour, 0, 23, number),
      cronField(calendar.dayOfMonth, 1, 31, number),
      cronField(calendar.month, 1, 12, (month) => MONTHS.indexOf(month) + 1),
      cronField(calendar.dayOfWeek, 0, 6, (day) => DAYS_OF_WEEK.indexOf(day)),
    ];
    const second = cronField(calendar.second, 0, 59, number);
    const year = calendar.year.length ? cronField(calendar.year, 0, 9999, number) : undefined;
    return [...(second === '0' ? [] : [second]), ...fields, ...(year ? [year] : [])].join(' ');
  });
  const every = (spec.intervals ?? []).map(
    (interval) => `${duration(interval.every)}${interval.offset ? `/${duration(interval.offset)}` : ''}`,
  );
  return { cron, every, ...(spec.timezone ? { timezone: spec.timezone } : {}) };
}

export async function pauseSchedule(client: Client, scheduleId: string, note?: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).pause(note);
}

export async function unpauseSchedule(client: Client, scheduleId: string, note?: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).unpause(note);
}

/** Start a run now; the run's workflow id once the schedule has started it (undefined if none within `waitMs`). */
export async function triggerSchedule(client: Client, scheduleId: string, waitMs = 10_000): Promise<string | undefined> {
  const handle = client.schedule.getHandle(scheduleId);
  const before = new Set((await handle.describe()).info.recentActions.map((action) => action.action.workflow.workflowId));
  await handle.trigger();
  for (const deadline = Date.now() + waitMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    const started = (await handle.describe()).info.recentActions.find((action) => !before.has(action.action.workflow.workflowId));
    if (started) return started.action.workflow.workflowId;
  }
  return undefined;
}

/** A schedule as `schedule list` shows it. */
export interface ScheduleRow {
  readonly id: string;
  /** Its cron expressions or intervals, as given. */
  readonly timing: string;
  readonly next?: Date;
  readonly paused: boolean;
  /** The state of the last run it started (`COMPLETED`, `FAILED`…), if it started any. */
  readonly lastRun?: string;
}

/** Every schedule, with its last run's state read from that run. */
export async function scheduleRows(client: Client): Promise<ScheduleRow[]> {
  return Promise.all(
    (await listSchedules(client)).map(async (summary) => {
      const timing = summary.spec ? scheduleTiming(summary.spec) : { cron: [], every: [] };
      const last = summary.info.recentActions.at(-1)?.action.workflow.workflowId;
      const lastRun = last
        ? await client.workflow
            .getHandle(last)
            .describe()
            .then(
              (run) => run.status.name,
              () => 'unknown',
            )
        : undefined;
      const next = summary.info.nextActionTimes[0];
      return {
        id: summary.scheduleId,
        timing: [...timing.cron, ...timing.every.map((every) => `every ${every}`)].join(', ') || '-',
        ...(next ? { next } : {}),
        paused: summary.state.paused,
        ...(lastRun ? { lastRun } : {}),
      };
    }),
  );
}

/** Start the runs the schedule would have started between two times (one per slot, one after another by default), e.g. last week's. */
export async function backfillSchedule(
  client: Client,
  scheduleId: string,
  from: Date,
  to: Date,
  overlap: OverlapPolicyName = 'buffer-all',
): Promise<void> {
  await client.schedule.getHandle(scheduleId).backfill({ start: from, end: to, overlap: OVERLAP_POLICIES[overlap] });
}

export async function deleteSchedule(client: Client, scheduleId: string): Promise<void> {
  await client.schedule.getHandle(scheduleId).delete();
}

/** The schedule `meterflow setup` creates for the lake's maintenance. */
export const MAINTENANCE_SCHEDULE_ID = 'meterflow-maintenance';

export interface MaintenanceScheduleOptions extends MaintenanceInput {
  /** Default "30 3 * * *": daily at 03:30, away from the usual 02:00 runs. */
  readonly cron?: string;
  readonly timezone?: string;
}

/**
 * Create the maintenance schedule, or bring an existing one to these settings (setup runs again
 * after an upgrade). Overlap `skip`: one maintenance at a time.
 */
export async function ensureMaintenanceSchedule(client: Client, options: MaintenanceScheduleOptions = {}): Promise<'created' | 'updated'> {
  const { cron = '30 3 * * *', timezone, ...input } = options;
  const spec: ScheduleSpec = { cronExpressions: [cron], ...(timezone ? { timezone } : {}) };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: MAINTENANCE_WORKFLOW_TYPE,
    workflowId: MAINTENANCE_SCHEDULE_ID,
    taskQueue: WORKFLOW_QUEUE_NAME,
    args: [input],
    staticSummary: 'lake maintenance: merge small files, expire old snapshots, delete unreferenced files',
  };
  const exists = await client.schedule
    .getHandle(MAINTENANCE_SCHEDULE_ID)
    .describe()
    .then(() => true)
    .catch((err: unknown) => {
      if ((err as Error).name === 'ScheduleNotFoundError') return false;
      throw err;
    });
  if (exists) {
    await client.schedule.getHandle(MAINTENANCE_SCHEDULE_ID).update((previous) => ({ ...previous, spec, action }));
    return 'updated';
  }
  await client.schedule.create({
    scheduleId: MAINTENANCE_SCHEDULE_ID,
    spec,
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP },
    state: { note: 'created by meterflow setup' },
  });
  return 'created';
}

// `meterflow schedule …`: Temporal Schedules for the pipeline, against TEMPORAL_ADDRESS.
import { Command, InvalidArgumentError } from 'commander';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import path from 'node:path';
import { addNotifyOptions, notifyInput } from './notify-options';
import { alignedTable } from './text-table';
import { TARGET_HELP, targetOption, VARS_HELP, varsOption, withTarget } from './vars-option';
import {
  backfillSchedule,
  connectClient,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  scheduleRows,
  type ScheduleRow,
  OVERLAP_POLICIES,
  pauseSchedule,
  scheduleTiming,
  triggerSchedule,
  unpauseSchedule,
  updateSchedule,
  type OverlapPolicyName,
} from '../client';
import { defaultOutUri, defaultProjectDir, defaultWarehousePath, temporalAddressOrDefault, temporalNamespace } from '../config';
import { registerWarehouse } from '../warehouse/names';
import { parseLocation } from '../storage/uri';
import type { PipelineInput } from '../contract/run';

function overlapPolicy(value: string): OverlapPolicyName {
  if (!(value in OVERLAP_POLICIES)) throw new InvalidArgumentError(`must be one of ${Object.keys(OVERLAP_POLICIES).join(', ')}`);
  return value as OverlapPolicyName;
}

/** A schedule id: it becomes part of run ids, and so of folder names and URLs. */
function scheduleId(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(value) || value.includes('..')) {
    throw new InvalidArgumentError(
      `schedule id ${JSON.stringify(value)}: use letters, digits, '.', '_' and '-' (at most 100, no '..'): it becomes part of run ids and folder names`,
    );
  }
  return value;
}

/**
 * The shortest interval a schedule takes: every run writes its report, record and logs under --out,
 * so a schedule firing every second would fill the disk with runs that found nothing new.
 */
const SHORTEST_INTERVAL_MS = 60_000;

const GO_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A duration as Temporal reads `@every`'s (Go's, and days): `90m`, `1h30m`, `1.5h`; undefined if it is none. */
function goDurationMs(value: string): number | undefined {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value) return undefined;
  return parts.reduce((sum, part) => sum + Number(part[1]) * (GO_UNITS_MS[part[2] as string] as number), 0);
}

/**
 * An interval's milliseconds (`parse`: how the option's value is read), refused when it is none or
 * shorter than a minute (`what` names the option).
 */
function intervalMs(value: string, what: string, parse: (value: string) => number | undefined = msOf): number {
  const ms = parse(value);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(value)} is not an interval: e.g. 15m, 6h or 1d`);
  }
  if (ms < SHORTEST_INTERVAL_MS) {
    throw new InvalidArgumentError(
      `${what} ${JSON.stringify(value)} is shorter than a minute: each run writes its report and logs under --out, ` +
        'so runs that often would fill it; schedule every minute or less often (e.g. 1m, 15m)',
    );
  }
  return ms;
}

/** A cron expression as Temporal takes it: five to seven fields, or a macro such as @daily (`@every` a minute or more). */
function cronExpression(value: string): string {
  const fields = value.trim().split(/\s+/);
  const every = /^@every\s+(\S+)$/i.exec(value.trim());
  // `@every <interval>[/<phase>]`
  if (every) intervalMs((every[1] as string).split('/')[0] as string, '--cron @every', goDurationMs);
  const macro = every !== null || /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/i.test(value.trim());
  if (!macro && (fields.length < 5 || fields.length > 7 || fields.some((field) => !/^[0-9A-Za-z*?/,#LW-]+$/.test(field)))) {
    throw new InvalidArgumentError(
      `--cron ${JSON.stringify(value)} is not a cron expression: five fields (minute hour day month weekday), e.g. "0 2 * * *"`,
    );
  }
  // seven fields begin with the seconds in Temporal's cron: one that fires more often than a minute is refused
  if (fields.length === 7 && !macro && !/^\d+$/.test(fields[0] as string)) {
    throw new InvalidArgumentError(
      `--cron ${JSON.stringify(value)} fires more often than once a minute (its seconds field is ${JSON.stringify(fields[0])}): ` +
        'each run writes its report and logs under --out, so runs that often would fill it; give a five-field expression',
    );
  }
  return value;
}

/** An interval as the SDK reads one (`30s`, `15m`, `6h`, `1d`), or undefined. */
function msOf(value: string): number | undefined {
  try {
    return msToNumber(value as Duration);
  } catch {
    return undefined;
  }
}

/** An interval such as 15m, 6h or 1d: a minute or more. */
function interval(value: string): string {
  intervalMs(value, '--every');
  return value;
}

/** A schedule that is not there: "no schedule X", not the server's name for its internal workflow. */
async function onSchedule<T>(id: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof ScheduleNotFoundError || /workflow not found for ID: temporal-sys-scheduler:/.test(String((err as Error).message))) {
      throw new Error(
        `no schedule ${id} at ${temporalAddressOrDefault()} (namespace ${temporalNamespace()}): meterflow schedule list shows them`,
      );
    }
    throw err;
  }
}

function date(value: string): Date {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) throw new InvalidArgumentError('must be a date or time, e.g. 2023-10-01 or 2023-10-01T02:00:00Z');
  return parsed;
}

async function client() {
  return connectClient({ address: temporalAddressOrDefault(), namespace: temporalNamespace() });
}

const absolute = (uri: string) => {
  const location = parseLocation(uri);
  return location.kind === 'local' ? path.resolve(location.path) : uri;
};

interface TimingOptions {
  cron?: string;
  every?: string;
  sources?: string;
  out?: string;
  overlap?: OverlapPolicyName;
  catchupWindow?: string;
  pauseOnFailure?: boolean;
  timezone?: string;
  select?: string[];
  exclude?: string[];
  selector?: string;
  db?: string;
  project?: string;
  notify?: string[];
  notifyOn?: 'failure' | 'always';
  vars?: Record<string, unknown>;
  target?: string;
}

function addTimingOptions(command: Command): Command {
  return addNotifyOptions(command)
    .option('--cron <expr>', 'cron expression, e.g. "0 2 * * *"', cronExpression)
    .option('--every <duration>', 'interval, a minute or more, e.g. 1h or 15m', interval)
    .option('--sources <dir>', 'folder or s3:// prefix with one sub-folder per source')
    .option('--out <dir>', 'where run reports and analytics results go')
    .option('--overlap <policy>', `a run due while one runs: ${Object.keys(OVERLAP_POLICIES).join('|')}`, overlapPolicy)
    .option('--catchup-window <duration>', 'how far back missed runs are still started')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--timezone <tz>', 'time zone of the cron expression')
    .option('--select <selector...>', 'models to run, dbt syntax')
    .option('--exclude <selector...>', 'models to leave out, dbt syntax')
    .option('--selector <name>', "a selector of the project's selectors.yml; on update, replaces --select and --exclude (and they it)")
    .option('--db <location>', "the warehouse its runs build (default: meterflow's default warehouse); its writer must run")
    .option('--project <dir>', "the dbt project its runs run, as the folder is when each run starts (default: meterflow's)")
    .option('--vars <yaml>', `${VARS_HELP}; on update, the vars replace the schedule's ('{}' for none)`, varsOption)
    .option('--target <name>', TARGET_HELP, targetOption);
}

/**
 * The project and selection a schedule's runs will run, checked now: a folder that is no dbt project,
 * or a selector that matches no model, is refused when the schedule is made, not at its first run.
 */
async function checkScheduledRuns(
  input: Pick<PipelineInput, 'project' | 'select' | 'exclude' | 'selector' | 'vars' | 'target'>,
): Promise<void> {
  const dir = input.project?.dir ?? path.resolve(defaultProjectDir());
  // loaded here only: the project's reader is not needed by the other schedule commands
  const [{ loadProject }, { selectModels }] = await Promise.all([import('../project/load'), import('../project/select')]);
  let graph: Awaited<ReturnType<typeof loadProject>>['selection'];
  try {
    // (with its vars: dbt_project.yml may enable models by them)
    graph = (await loadProject(dir, { vars: withTarget(input.vars, input.target) })).selection;
  } catch (err) {
    throw new InvalidArgumentError(`--project ${dir} cannot be run: ${(err as Error).message}`);
  }
  try {
    selectModels(graph, input);
  } catch (err) {
    throw new InvalidArgumentError(`in the project ${dir}, ${(err as Error).message}`);
  }
}

function inputChanges(options: TimingOptions): Partial<PipelineInput> {
  return {
    ...(options.sources ? { sourcesUri: absolute(options.sources) } : {}),
    ...(options.out ? { outUri: absolute(options.out) } : {}),
    ...(options.select ? { select: options.select } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.selector ? { selector: options.selector } : {}),
    // on update, a selection of one kind replaces the schedule's of the other
    ...((options.select || options.exclude) && !options.selector ? { selector: undefined } : {}),
    ...(options.selector && !options.select && !options.exclude ? { select: undefined, exclude: undefined } : {}),
    // a schedule's runs name the warehouse, without a password, and the project folder (no hash: as it is at each run)
    ...(options.db ? { warehouse: registerWarehouse(options.db) } : {}),
    ...(options.project ? { project: { dir: path.resolve(options.project) } } : {}),
    ...(options.notify || options.notifyOn ? notifyInput(options) : {}),
    ...(options.vars ? { vars: options.vars } : {}),
    ...(options.target ? { target: options.target } : {}),
  };
}

/** The schedules as a table with a header; empty when there are none. */
function schedulesTable(rows: readonly ScheduleRow[]): string {
  if (rows.length === 0) return '';
  const cells = rows.map((row) => [row.id, row.timing, row.next?.toISOString() ?? '-', row.paused ? 'yes' : 'no', row.lastRun ?? '-']);
  return alignedTable(['id', 'schedule', 'next run', 'paused', 'last run'], cells).join('\n');
}

export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description('Temporal Schedules of the pipeline, at TEMPORAL_ADDRESS (default 127.0.0.1:7233)');
  const print = (text: string) => process.stdout.write(`${text}\n`);

  addTimingOptions(
    schedule.command('create <id>').description('create a schedule; its project, selection and vars are checked now, not at its first run'),
  ).action(async (id: string, options: TimingOptions) => {
    scheduleId(id);
    if (!options.sources) throw new InvalidArgumentError('schedule create needs --sources');
    const input: PipelineInput = {
      sourcesUri: absolute(options.sources),
      outUri: absolute(options.out ?? defaultOutUri()),
      warehouse: registerWarehouse(defaultWarehousePath()),
      project: { dir: path.resolve(defaultProjectDir()) },
      ...inputChanges(options),
    };
    await checkScheduledRuns(input);
    await createSchedule(await client(), {
      scheduleId: id,
      ...(options.cron ? { cron: options.cron } : {}),
      ...(options.every ? { every: options.every } : {}),
      ...(options.timezone ? { timezone: options.timezone } : {}),
      input,
      ...(options.overlap ? { overlap: options.overlap } : {}),
      ...(options.catchupWindow ? { catchupWindow: options.catchupWindow } : {}),
      ...(options.pauseOnFailure ? { pauseOnFailure: true } : {}),
    });
    print(`schedule ${id} created`);
  });

  addTimingOptions(schedule.command('update <id>').description("change a schedule's timing, policies or input")).action(
    async (id: string, options: TimingOptions) => {
      const connected = await client();
      if (options.project || options.select || options.exclude || options.selector || options.vars || options.target) {
        // the project and selection the schedule's runs will have: the changed ones over its own
        const action = (await onSchedule(id, describeSchedule(connected, id))).action as { args?: unknown[] };
        await checkScheduledRuns({ ...((action.args?.[0] ?? {}) as PipelineInput), ...inputChanges(options) });
      }
      await onSchedule(
        id,
        updateSchedule(connected, id, {
          ...(options.cron ? { cron: options.cron } : {}),
          ...(options.every ? { every: options.every } : {}),
          ...(options.timezone ? { timezone: options.timezone } : {}),
          input: inputChanges(options) as PipelineInput,
          ...(options.overlap ? { overlap: options.overlap } : {}),
          ...(options.catchupWindow ? { catchupWindow: options.catchupWindow } : {}),
          ...(options.pauseOnFailure ? { pauseOnFailure: true } : {}),
        }),
      );
      print(`schedule ${id} updated`);
    },
  );

  schedule
    .command('list')
    .description("the schedules: id, cron or interval as given, next run, paused, the last run's state (nothing when there are none)")
    .action(async () => {
      const table = schedulesTable(await scheduleRows(await client()));
      if (table) print(table);
    });

  schedule
    .command('describe <id>')
    .description("a schedule's cron or interval (as given), state, policies, recent and next runs, as JSON")
    .action(async (id: string) => {
      const description = await onSchedule(id, describeSchedule(await client(), id));
      const timing = scheduleTiming(description.spec);
      print(
        JSON.stringify(
          {
            scheduleId: description.scheduleId,
            // what each run is started with: the pipeline's input
            ...(description.action.type === 'startWorkflow' ? { input: description.action.args?.[0] } : {}),
            ...(timing.cron.length ? { cron: timing.cron.join(', ') } : {}),
            ...(timing.every.length ? { every: timing.every.join(', ') } : {}),
            ...(timing.timezone ? { timezone: timing.timezone } : {}),
            paused: description.state.paused,
            note: description.state.note,
            overlap: description.policies.overlap,
            recentRuns: description.info.recentActions.map((a) => ({
              scheduledAt: a.scheduledAt,
              workflowId: a.action.workflow.workflowId,
            })),
            nextRuns: description.info.nextActionTimes,
            runningRuns: description.info.runningActions.map((a) => a.workflow.workflowId),
          },
          null,
          2,
        ),
      );
    });

  for (const [name, description, act] of [
    ['pause', 'pause a schedule', pauseSchedule],
    ['unpause', 'unpause a schedule', unpauseSchedule],
  ] as const) {
    schedule
      .command(`${name} <id>`)
      .description(description)
      .option('--note <text>', 'why')
      .action(async (id: string, options: { note?: string }) => {
        await onSchedule(id, act(await client(), id, options.note));
        print(`schedule ${id} ${name}d`);
      });
  }

  schedule
    .command('trigger <id>')
    .description('start a run now')
    .action(async (id: string) => {
      const runId = await onSchedule(id, triggerSchedule(await client(), id));
      print(
        runId
          ? `schedule ${id} triggered: run ${runId}`
          : `schedule ${id} triggered; no run started within 10 s (its overlap policy may have skipped it): see meterflow runs --schedule ${id}`,
      );
    });

  schedule
    .command('backfill <id>')
    .description('start the runs the schedule would have started in a past range, one per slot')
    .requiredOption('--from <time>', 'start of the range', date)
    .requiredOption('--to <time>', 'end of the range', date)
    .option('--overlap <policy>', 'how the backfilled runs overlap (default buffer-all: one after another)', overlapPolicy)
    .action(async (id: string, options: { from: Date; to: Date; overlap?: OverlapPolicyName }) => {
      if (options.from.getTime() > options.to.getTime()) {
        throw new InvalidArgumentError(
          `--from ${options.from.toISOString()} is after --to ${options.to.toISOString()}: nothing to backfill`,
        );
      }
      await onSchedule(id, backfillSchedule(await client(), id, options.from, options.to, options.overlap));
      print(`schedule ${id} backfilled from ${options.from.toISOString()} to ${options.to.toISOString()}`);
    });

  schedule
    .command('delete <id>')
    .description('delete a schedule (its runs stay)')
    .action(async (id: string) => {
      await onSchedule(id, deleteSchedule(await client(), id));
      print(`schedule ${id} deleted`);
    });

  return schedule;
}

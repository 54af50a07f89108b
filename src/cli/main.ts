// The meterflow command line: generate sample data, run the pipeline, run workers, run a dev server.
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StorageError } from '../errors';
import { parseLocation } from '../storage/uri';
import { checkWritableFolder } from '../storage/fs-errors';
import { registerWarehouse } from '../warehouse/names';
import {
  defaultOutUri,
  defaultProjectDir,
  defaultWarehousePath,
  PACKAGE_ROOT,
  stateDir,
  temporalAddress,
  temporalAddressOrDefault,
  temporalNamespace,
} from '../config';
import type { WorkerRole, WorkerSet } from '../worker';
import {
  connectClient,
  describeFailure,
  getProgress,
  getRunInput,
  listRecentRuns,
  registerSearchAttributes,
  runStateProblem,
} from '../client';
import { ANALYTICS_QUEUE_NAME, WORKFLOW_QUEUE_NAME } from '../contract/queues';
import { METERFLOW_SEARCH_ATTRIBUTES, type PipelineProgress, type PipelineResult } from '../contract/run';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { connectWorkerConnection } from '../temporal/connection';
import { reportCommand } from './report-command';
import { ensureMaintenanceSchedule, MAINTENANCE_SCHEDULE_ID } from '../client/schedules';
import { runCommand } from './run';
import { scheduleCommand } from './schedule';
import { TARGET_HELP, targetOption, VARS_HELP, varsOption, withTarget } from './vars-option';
import { failureText, summaryTable } from './summary';
import { EXIT_CODES_HELP, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE } from './exit-codes';
import { childUri, runFolderName } from '../contract/uri';
import { addNotifyOptions, notifyInput, type NotifyOptions } from './notify-options';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a positive whole number');
  return parsed;
}

function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('must be a whole number');
  return parsed;
}

function portNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65_535) throw new InvalidArgumentError('must be a port number, 1 to 65535');
  return parsed;
}

/** A day, YYYY-MM-DD, that exists in the calendar. */
function calendarDay(value: string): string {
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined;
  if (!day || Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== value) {
    throw new InvalidArgumentError('must be a day in the form YYYY-MM-DD, e.g. 2024-01-31');
  }
  return value;
}

/** An ISO 8601 day or time, as a full ISO timestamp (a day is its midnight UTC). */
function isoTime(value: string): string {
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value);
  const time = iso ? new Date(value.length === 10 ? `${value}T00:00:00Z` : value) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new InvalidArgumentError('must be an ISO 8601 date or time, e.g. 2024-01-31 or 2024-01-31T02:00:00Z');
  }
  return time.toISOString();
}

/** A local folder the command will write to, checked before anything starts (S3 prefixes are left to the run). */
async function checkOutFolder(flag: string, location: string): Promise<void> {
  const parsed = parseLocation(location);
  if (parsed.kind !== 'local') return;
  await checkWritableFolder(parsed.path).catch((err: unknown) => {
    throw err instanceof StorageError ? new StorageError(`${flag} ${location}: ${err.message}`, location) : err;
  });
}

/** Call `handle` on the first SIGINT or SIGTERM, and `again` on each later one. */
function onSignals(handle: (signal: NodeJS.Signals) => void, again: (signal: NodeJS.Signals) => void): () => void {
  let received = 0;
  const listener = (signal: NodeJS.Signals) => (++received === 1 ? handle(signal) : again(signal));
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return () => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
}

/**
 * Run workers until a signal, then shut them down gracefully (in-flight activities get the grace
 * time to finish), saying so once; a second signal stops at once.
 */
async function runWorkersUntilSignal(workers: WorkerSet, label: string): Promise<void> {
  const dispose = onSignals(
    (signal) => {
      process.stderr.write(`${label}: ${signal} received: finishing in-flight activities, then stopping (a second Ctrl-C stops at once)\n`);
      workers.shutdown();
    },
    (signal) => {
      process.stderr.write(`${label}: ${signal} received again: stopping now; activities in flight are retried on another worker\n`);
      process.exit(EXIT_INTERRUPTED);
    },
  );
  try {
    await workers.run();
  } finally {
    dispose();
  }
}

/** Exit code of a run: 0, 1 when it failed, 130 when SIGINT or SIGTERM interrupted it. */
function exitOnceFlushed(ok: boolean, signal: NodeJS.Signals | undefined): void {
  if (signal) process.exit(EXIT_INTERRUPTED);
  // NOTE: the run, its workers and its server have stopped; what is left (the Temporal SDK's native
  // runtime, idle sockets) would keep the process alive about 10 s more. Exit once the output is out.
  const code = ok ? 0 : 1;
  process.exitCode = code;
  let pending = 2;
  const flushed = () => (--pending === 0 ? process.exit(code) : undefined);
  process.stdout.write('', flushed);
  process.stderr.write('', flushed);
}

/** meterflow's version, from its package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

interface RunOptions extends NotifyOptions {
  db: string;
  out: string;
  project: string;
  analyticsConcurrency: number;
  select?: string[];
  exclude?: string[];
  selector?: string;
  fullRefresh?: boolean;
  verify?: boolean;
  sourcesMoved?: boolean;
  force?: boolean;
  logicalDate?: string;
  vars?: Record<string, unknown>;
  target?: string;
}

interface DocsOptions {
  out: string;
  project: string;
  select?: string[];
  exclude?: string[];
  vars?: Record<string, unknown>;
  target?: string;
}

function selection(options: RunOptions) {
  return {
    ...(options.select ? { select: options.select } : {}),
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.selector ? { selector: options.selector } : {}),
    ...(options.fullRefresh ? { fullRefresh: true } : {}),
    ...(options.verify ? { verify: true } : {}),
    ...(options.sourcesMoved ? { sourcesMoved: true } : {}),
    ...(options.force ? { force: true } : {}),
    ...(options.logicalDate ? { logicalDate: options.logicalDate } : {}),
    ...(options.vars ? { vars: options.vars } : {}),
    ...(options.target ? { target: options.target } : {}),
    ...notifyInput(options),
  };
}

/**
 * The meterflow command. `exitAfterRun`: how a run command ends the process once its run is over
 * (a test that parses options passes one that does not end its own process).
 */
export function buildProgram({ exitAfterRun = exitOnceFlushed }: { exitAfterRun?: typeof exitOnceFlushed } = {}): Command {
  const program = new Command('meterflow')
    .description("An energy supplier's analytics pipeline as durable Temporal workflows over DuckDB")
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('generate')
    .description('write sample data for the eight sources, one folder per source')
    .requiredOption('--out <dir>', 'folder to write the sources to')
    .option('--meters <n>', 'number of meters', positiveInteger, 200)
    .option('--from <date>', 'first day, YYYY-MM-DD', calendarDay, '2023-01-01')
    .option('--to <date>', 'day after the last, YYYY-MM-DD', calendarDay, '2024-01-01')
    .option('--seed <n>', 'seed: the same seed gives the same data', wholeNumber, 42)
    .action(async (options: { out: string; meters: number; from: string; to: string; seed: number }) => {
      if (options.from >= options.to) throw new InvalidArgumentError(`--from ${options.from} must be before --to ${options.to}`);
      await checkOutFolder('--out', options.out);
      // an s3:// target gets the files generated locally first, then uploaded
      const toS3 = parseLocation(options.out).kind === 's3';
      const outDir = toS3 ? await mkdtemp(path.join(os.tmpdir(), 'meterflow-generate-')) : options.out;
      const { generateSampleData } = await import('../generator/generate');
      const result = await generateSampleData({ outDir, meters: options.meters, from: options.from, to: options.to, seed: options.seed });
      if (toS3) {
        const { createStorageResolver, uploadDirectory } = await import('../storage');
        await uploadDirectory(createStorageResolver(), outDir, options.out);
        await rm(outDir, { recursive: true, force: true });
      }
      process.stdout.write(
        `wrote ${result.readings.toLocaleString('en-GB')} readings of ${result.meters} meters in ${result.files.length} files ` +
          `in ${result.seconds.toFixed(1)}s (${Math.round(result.readings / result.seconds).toLocaleString('en-GB')} readings/s) to ${toS3 ? options.out : result.outDir}\n`,
      );
    });

  const addRunFlags = (command: Command) =>
    command
      .option(
        '--db <location>',
        'warehouse: a lake folder (catalog.sqlite and data/) or postgres:<conninfo> [lake=<name>]',
        defaultWarehousePath(),
      )
      .option('--out <dir>', 'where run reports and analytics results go (folder or s3:// prefix)', defaultOutUri())
      .option('--project <dir>', 'the models project', defaultProjectDir())
      .option('--analytics-concurrency <n>', 'analytics activities at once in the embedded worker', positiveInteger, 2)
      .option('--select <selector...>', 'models to run, dbt syntax: name, +name, name+, @name, path:models/staging, tag:daily, source:raw+')
      .option('--exclude <selector...>', 'models to leave out, same syntax')
      .option('--selector <name>', "a selector of the project's selectors.yml (dbt's --selector); not with --select or --exclude")
      .option('--full-refresh', 'reload every source file and rebuild every selected model')
      .option('--verify', 'hash every source file that looks unchanged and reload those whose content changed')
      .option(
        '--sources-moved',
        "the sources' files moved to --sources: drop the rows loaded from their old place and load them here (refused otherwise)",
      )
      .option('--force', 'replace tables in the warehouse that meterflow did not create (otherwise the run refuses, naming them)')
      .option('--logical-date <time>', "the run's logical date, ISO 8601 (default: now)", isoTime)
      .option('--vars <yaml>', VARS_HELP, varsOption)
      .option('--target <name>', TARGET_HELP, targetOption)
      .addHelpText('after', EXIT_CODES_HELP);
  const addRunOptions = (command: Command) => addNotifyOptions(addRunFlags(command));

  addRunOptions(
    program
      .command('run')
      .description(
        'one full run: seed, build and test the models, publish, analytics, report (embedded Temporal unless TEMPORAL_ADDRESS is set)',
      )
      .requiredOption('--sources <dir>', 'folder or s3:// prefix with one sub-folder per source'),
  ).action(async (options: RunOptions & { sources: string }, command: Command) => {
    // a flag the run cannot honour is an error, not ignored: remote workers have their own concurrency
    if (process.env.TEMPORAL_ADDRESS && command.getOptionValueSource('analyticsConcurrency') === 'cli') {
      throw new InvalidArgumentError(
        '--analytics-concurrency sets the embedded workers; with TEMPORAL_ADDRESS the run goes to workers elsewhere: ' +
          'give it to their meterflow worker --analytics-concurrency',
      );
    }
    const { ok, signal } = await runCommand({
      ...selection(options),
      sources: options.sources,
      db: options.db,
      out: options.out,
      projectDir: options.project,
      analyticsConcurrency: options.analyticsConcurrency,
    });
    exitAfterRun(ok, signal);
  });

  addRunOptions(
    program
      .command('quickstart')
      .description('generate sample data (once) and run the pipeline on it with an embedded Temporal server')
      .option('--meters <n>', 'number of meters in the sample', positiveInteger, 200),
  ).action(async (options: RunOptions & { meters: number }) => {
    const sources = path.join(stateDir(), 'sample', `meters-${options.meters}`);
    await checkOutFolder('METERFLOW_HOME', stateDir());
    // the same sample is generated once; the run is a full refresh, so every step runs every time
    const marker = path.join(sources, '.complete');
    if (!existsSync(marker)) {
      const { generateSampleData } = await import('../generator/generate');
      const generated = await generateSampleData({ outDir: sources, meters: options.meters });
      await writeFile(marker, JSON.stringify({ meters: generated.meters, readings: generated.readings }));
    }
    const sample = JSON.parse(await readFile(marker, 'utf8')) as { meters: number; readings: number };
    process.stderr.write(`sample data: ${sample.readings.toLocaleString('en-GB')} readings of ${sample.meters} meters in ${sources}\n`);
    const { ok, signal } = await runCommand({
      ...selection(options),
      fullRefresh: true,
      // the run stays in the history `meterflow dev` opens, so the Web UI can show it after this command ends
      temporalHistory: path.join(stateDir(), 'temporal.sqlite'),
      sources,
      db: options.db,
      out: options.out,
      projectDir: options.project,
      analyticsConcurrency: options.analyticsConcurrency,
    });
    exitAfterRun(ok, signal);
  });

  program.addCommand(scheduleCommand());
  program.addCommand(reportCommand());

  program
    .command('docs')
    .description('write the lineage graph (sources, staging, master, analytics; each model with its tests) as HTML and SVG')
    .option('--out <dir>', 'folder to write lineage.html and lineage.svg to', path.join(stateDir(), 'docs'))
    .option('--project <dir>', 'the models project', defaultProjectDir())
    .option(
      '--select <selector...>',
      'draw only these models (and the sources they read), dbt syntax: name, +name, name+, path:models/staging, tag:daily',
    )
    .option('--exclude <selector...>', 'leave these models out, same syntax')
    .option('--vars <yaml>', "the run's dbt vars, where dbt_project.yml reads them (which models are enabled)", varsOption)
    .option('--target <name>', TARGET_HELP, targetOption)
    .action(async (options: DocsOptions) => {
      // loaded here only: every other command starts without the project loader and the lineage drawer
      const [{ loadProject }, { lineageHtml, lineageSvg, nodeAnchor, readNodeSql }] = await Promise.all([
        import('../project/load'),
        import('../report/lineage'),
      ]);
      const { plan, selection: graph } = await loadProject(options.project, { vars: withTarget(options.vars, options.target) });
      const selection = {
        graph,
        ...(options.select ? { select: options.select } : {}),
        ...(options.exclude ? { exclude: options.exclude } : {}),
      };
      await checkOutFolder('--out', options.out);
      const sql = await readNodeSql(options.project, plan);
      await writeFile(path.join(options.out, 'lineage.html'), lineageHtml(plan, { ...selection, sql }));
      // the SVG on its own links each box to its row in lineage.html beside it
      await writeFile(
        path.join(options.out, 'lineage.svg'),
        lineageSvg(plan, { ...selection, href: (node) => `lineage.html#${nodeAnchor(node)}` }),
      );
      process.stdout.write(`lineage: ${path.join(options.out, 'lineage.html')}\n`);
    });

  addInspectionCommands(program);
  addServiceCommands(program);
  return program;
}

/** The commands that look at runs and the warehouse: runs, logs, status, query. */
function addInspectionCommands(program: Command): void {
  program
    .command('runs')
    .description('the recent runs, newest first: id, what started it, state, start (local time), duration, the node a failed run failed at')
    .option('--state <state>', 'only runs in this state: running, completed, failed, cancelled, terminated, timed_out')
    .option('--schedule <id>', 'only runs the schedule started')
    .option('--since <time>', 'only runs started since then (ISO 8601 date or time)', isoTime)
    .option('--limit <n>', 'at most this many', positiveInteger, 20)
    .option('--json', 'a JSON array of runs on stdout')
    .action(async (options: { state?: string; schedule?: string; since?: string; limit: number; json?: boolean }) => {
      const stateProblem = options.state === undefined ? undefined : runStateProblem(options.state);
      if (stateProblem) throw new InvalidArgumentError(stateProblem);
      const { listedRuns, runsTable } = await import('./runs');
      const client = await connectClient({ address: temporalAddressOrDefault(), namespace: temporalNamespace() });
      const runs = await listedRuns(client, {
        limit: options.limit,
        ...(options.state !== undefined ? { state: options.state } : {}),
        ...(options.schedule !== undefined ? { schedule: options.schedule } : {}),
        ...(options.since !== undefined ? { since: new Date(options.since) } : {}),
      });
      process.stdout.write(`${options.json ? JSON.stringify(runs, null, 1) : runsTable(runs)}\n`);
    });

  program
    .command('logs <run> [node]')
    .description(
      "what a run's activities logged (every attempt, on any worker), or one node's (model:<name>, test:<name>, or a name): local time, level, where, message, fields",
    )
    .option(
      '--out <dir>',
      "the run's --out, when the Temporal server that ran it is gone (an embedded run); by default the run's own, from the server",
    )
    .option('--json', 'the raw JSON lines, as the workers wrote them')
    .action(async (run: string, node: string | undefined, options: { out?: string; json?: boolean }) => {
      const { logsCommand } = await import('./logs');
      await logsCommand(run, node, options, (line) => process.stdout.write(`${line}\n`));
    });

  program
    .command('status [run]')
    .description("a run's nodes with state, duration and rows (the latest run when none is named), at TEMPORAL_ADDRESS")
    .action(async (run: string | undefined) => {
      const address = temporalAddressOrDefault();
      const client = await connectClient({ address, namespace: temporalNamespace() });
      const workflowId = run ?? (await listRecentRuns(client, 1))[0]?.workflowId;
      if (!workflowId) throw new Error('no pipeline runs on this server yet');
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe().catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw new Error(`no run ${workflowId} at ${address} (meterflow runs lists them)`);
        throw err;
      });
      const [progress, input] = await Promise.all([runProgress(client, handle, description.status.name), getRunInput(handle)]);
      const scope = [
        ...(input?.warehouse ? [`warehouse ${input.warehouse}`] : []),
        ...(input?.project ? [`project ${input.project.dir}${input.project.hash ? ` at ${input.project.hash}` : ''}`] : []),
        // the vars it was given, as dbt prints --vars (what a rerun needs to give again)
        ...(input?.vars && Object.keys(input.vars).length > 0 ? [`vars ${JSON.stringify(input.vars)}`] : []),
        ...(input?.target ? [`target ${input.target}`] : []),
      ];
      process.stdout.write(
        `run ${workflowId}: ${description.status.name}, logical date ${(typeof progress === 'object' ? progress.logicalDate : undefined) ?? input?.logicalDate ?? 'not set'}\n` +
          `${scope.length ? `${scope.join(', ')}\n` : ''}` +
          (progress === 'no worker'
            ? `\nno worker answered for its nodes within ${STATUS_QUERY_MS / 1000} s: none of its queues' workers is running (meterflow worker, meterflow dev)\n`
            : progress
              ? `\n${summaryTable(progress.nodes)}\n`
              : ''),
      );
      if (description.status.name === 'FAILED') {
        // a failed run's failure: the node and why, with a failed test's sample rows and SQL
        const failure = await handle.result().then(
          () => undefined,
          (err: unknown) => describeFailure(err),
        );
        if (failure) process.stdout.write(`\n${failureText(failure)}\n`);
      }
      // the report (written for a failed run too): beside the run's record in its out location
      if (input?.outUri && description.status.name !== 'RUNNING') {
        process.stdout.write(`report: ${childUri(input.outUri, 'runs', runFolderName(workflowId), 'report.html')}\n`);
      }
      // as `run` exits: 0 for a run that completed, 1 for one that failed or was cancelled or ended otherwise
      if (!['COMPLETED', 'RUNNING'].includes(description.status.name)) process.exitCode = EXIT_FAILED;
    });

  program
    .command('query')
    .description(
      "run SQL on the warehouse's latest published version (or an earlier run's, --at), at any time: beside a writer, while a run writes",
    )
    .argument('<sql>', 'e.g. "select count(*) from demand_price_elasticity" (tables: main.<model>, raw.<source>, meterflow.<state>)')
    .option('--warehouse <location>', 'the warehouse: what `warehouse:` printed, or what --db named', defaultWarehousePath())
    .option('--db <location>', 'the same as --warehouse')
    .option('--at <run>', 'read the tables as a run published them: its workflow id, or a lake version number')
    .option('--json', 'a JSON array of row objects on stdout')
    .action(async (sql: string, options: { warehouse: string; db?: string; at?: string; json?: boolean }) => {
      const { queryCommand } = await import('./query');
      const output = await queryCommand(sql, {
        warehouse: options.db ?? options.warehouse,
        ...(options.at !== undefined ? { at: options.at } : {}),
        ...(options.json ? { json: true } : {}),
      });
      process.stdout.write(`${output}\n`);
    });
}

/** The long-running commands and their set-up: setup, worker, dev. */
function addServiceCommands(program: Command): void {
  program
    .command('setup')
    .description(
      "register meterflow's search attributes on the Temporal cluster at TEMPORAL_ADDRESS (once per namespace), and schedule the lake's maintenance",
    )
    .option('--db <location>', 'the warehouse the maintenance schedule keeps', defaultWarehousePath())
    .option('--maintenance-cron <cron>', 'when the lake maintenance runs', '30 3 * * *')
    .option('--retention-days <n>', 'lake versions older than this are expired (how far `query --at` reaches back)', positiveInteger, 30)
    .option('--writer-queue <name>', "the warehouse's writer queue (default: the warehouse's own)", process.env.METERFLOW_WRITER_QUEUE)
    .option('--no-maintenance', 'register the search attributes only')
    .action(async (options: { db: string; maintenanceCron: string; retentionDays: number; writerQueue?: string; maintenance: boolean }) => {
      const address = temporalAddressOrDefault();
      const client = await connectClient({ address, namespace: temporalNamespace() });
      await registerSearchAttributes(client);
      process.stdout.write(`registered ${METERFLOW_SEARCH_ATTRIBUTES.map((a) => a.name).join(', ')} in namespace ${temporalNamespace()}\n`);
      if (options.maintenance) {
        const warehouse = registerWarehouse(options.db);
        const done = await ensureMaintenanceSchedule(client, {
          cron: options.maintenanceCron,
          retentionDays: options.retentionDays,
          warehouse,
          ...(options.writerQueue ? { writerQueue: options.writerQueue } : {}),
        });
        process.stdout.write(
          `${done} schedule ${MAINTENANCE_SCHEDULE_ID}: lake maintenance of ${warehouse} at "${options.maintenanceCron}", ` +
            `lake versions kept ${options.retentionDays} days\n`,
        );
      }
    });

  program
    .command('worker')
    .description('run workers against TEMPORAL_ADDRESS until SIGINT/SIGTERM (graceful: in-flight activities finish)')
    .option('--role <role>', 'writer (one per warehouse), analytics or build (any number of each) or all', 'all')
    .option(
      '--db <location>',
      'warehouse: a lake folder (catalog.sqlite and data/) or postgres:<conninfo> [lake=<name>] (writer only)',
      defaultWarehousePath(),
    )
    .option('--project <dir>', 'the models project', defaultProjectDir())
    .option('--analytics-concurrency <n>', 'analytics activities at once', positiveInteger, 2)
    .option(
      '--build-concurrency <n>',
      "months (or parts) built at once, sharing the machine's cores (0: a writer builds none, leaving them to build workers)",
      wholeNumber,
      2,
    )
    .option(
      '--writer-queue <name>',
      "writer task queue (default: the warehouse's own, derived from its name, which runs naming it find)",
      process.env.METERFLOW_WRITER_QUEUE,
    )
    .option('--build-queue <name>', "per-month build queue (default: the writer queue's)", process.env.METERFLOW_BUILD_QUEUE)
    .option('--analytics-queue <name>', 'analytics task queue', process.env.METERFLOW_ANALYTICS_QUEUE ?? ANALYTICS_QUEUE_NAME)
    .option('--workflow-queue <name>', 'workflow task queue', process.env.METERFLOW_WORKFLOW_QUEUE ?? WORKFLOW_QUEUE_NAME)
    .action(
      async (options: {
        role: string;
        db: string;
        project: string;
        analyticsConcurrency: number;
        buildConcurrency: number;
        writerQueue?: string;
        analyticsQueue: string;
        workflowQueue: string;
        buildQueue?: string;
      }) => {
        if (!['writer', 'analytics', 'build', 'all'].includes(options.role))
          throw new InvalidArgumentError(`--role must be writer, analytics, build or all, not ${options.role}`);
        const address = temporalAddressOrDefault();
        const { createWorkers } = await import('../worker');
        const connection = await connectWorkerConnection(address, temporalNamespace());
        try {
          const workers = await createWorkers({
            connection,
            namespace: temporalNamespace(),
            address,
            role: options.role as WorkerRole,
            warehousePath: options.db,
            projectDir: options.project,
            analyticsConcurrency: options.analyticsConcurrency,
            buildConcurrency: options.role === 'build' ? Math.max(1, options.buildConcurrency) : options.buildConcurrency,
            queues: {
              ...(options.writerQueue ? { writer: options.writerQueue } : {}),
              analytics: options.analyticsQueue,
              workflows: options.workflowQueue,
              ...(options.buildQueue ? { build: options.buildQueue } : {}),
            },
          });
          process.stderr.write(
            `meterflow worker (${options.role}) polling ${address}${['analytics', 'build'].includes(options.role) ? '' : `, warehouse ${workers.warehouse?.path} on writer queue ${workers.writerQueue}`}\n`,
          );
          await runWorkersUntilSignal(workers, 'meterflow worker');
        } finally {
          await connection.close();
        }
      },
    );

  program
    .command('dev')
    .description('a long-running embedded Temporal dev server (Web UI on :8233, SQLite in the state folder) plus workers')
    .option('--port <n>', 'gRPC port', portNumber, 7233)
    .option('--ui-port <n>', 'Web UI port', portNumber, 8233)
    .option(
      '--db <location>',
      'warehouse: a lake folder (catalog.sqlite and data/) or postgres:<conninfo> [lake=<name>]',
      defaultWarehousePath(),
    )
    .option('--project <dir>', 'the models project', defaultProjectDir())
    .action(async (options: { port: number; uiPort: number; db: string; project: string }) => {
      // the state folder is made, as every other command makes it (the server does not)
      await mkdir(stateDir(), { recursive: true });
      const dbFilename = path.join(stateDir(), 'temporal.sqlite');
      const [{ startDevServer }, { createWorkers }, { NativeConnection }] = await Promise.all([
        import('../temporal/dev-server'),
        import('../worker'),
        import('@temporalio/worker'),
      ]);
      const server = await startDevServer({ port: options.port, uiPort: options.uiPort, dbFilename });
      try {
        const connection = await NativeConnection.connect({ address: server.address });
        const workers = await createWorkers({
          connection,
          namespace: server.namespace,
          role: 'all',
          // dev runs whatever warehouse and project a run names, its own when the run names its default
          serveAnyWarehouse: true,
          warehousePath: options.db,
          projectDir: options.project,
        });
        process.stdout.write(
          `Temporal dev server at ${server.address} (history in ${dbFilename})\nWeb UI: ${server.uiUrl}\n` +
            `workers running for any warehouse and project a run names (${workers.warehouse?.path} open); ` +
            `start a run with: TEMPORAL_ADDRESS=${server.address} npx meterflow run --sources <dir> [--db <warehouse>] [--project <dir>]\nCtrl-C stops\n`,
        );
        await runWorkersUntilSignal(workers, 'meterflow dev');
        await connection.close();
      } finally {
        await server.stop();
      }
    });
}

/** The Temporal SDK's native runtime, as meterflow's workers want it: its logs on stderr, signals left to meterflow. */
async function installWorkerRuntime(level: string): Promise<void> {
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  Runtime.install({
    // NOTE: meterflow handles SIGINT and SIGTERM itself: `run` cancels its run first, workers say so once
    shutdownSignals: [],
    // the native core's own logs (gRPC retries while a server stops) at the same level; not forwarded
    // to the logger below, since forwarding keeps the process alive after its work is done
    telemetryOptions: { logging: { filter: { core: level as 'WARN', other: 'ERROR' } } },
    logger: new DefaultLogger(level as 'WARN', (entry) => {
      // a worker polls either workflows or activities by design; these notices are not problems
      if (/^No (workflows|activities) registered/.test(entry.message)) return;
      process.stderr.write(
        `${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${entry.meta ? ` ${JSON.stringify(entry.meta, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))}` : ''}\n`,
      );
    }),
  });
}

/** How long `status` waits for a worker to answer a run's progress query. */
const STATUS_QUERY_MS = 5_000;

/**
 * A run's nodes for `status`: a completed run's from its result (no worker needed), another's from its
 * progress query, answered by a worker of its queues; 'no worker' when none answers in time, undefined
 * for a run that failed before it could answer (a bad input).
 */
async function runProgress(
  client: Client,
  handle: WorkflowHandle,
  status: string,
): Promise<Pick<PipelineProgress, 'nodes' | 'logicalDate'> | 'no worker' | undefined> {
  if (status === 'COMPLETED') {
    const result = await handle.result().catch(() => undefined);
    if (result) return result as PipelineResult;
  }
  try {
    return await client.connection.withDeadline(Date.now() + STATUS_QUERY_MS, () => getProgress(handle));
  } catch (err) {
    // (gRPC's DEADLINE_EXCEEDED, 4: no worker took the query in time; a running run's query that
    // fails otherwise has no worker to answer it either: the server may end the wait itself)
    const code = (err as { cause?: { code?: unknown }; code?: unknown }).cause?.code ?? (err as { code?: unknown }).code;
    return code === 4 || status === 'RUNNING' ? 'no worker' : undefined;
  }
}

/**
 * A reader that stops reading (`meterflow status | head -1`): the command ends quietly, as `cat` does,
 * not with an unhandled EPIPE's stack.
 */
function endQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? 0);
    });
  }
}

export async function main(argv: string[] = process.argv): Promise<void> {
  endQuietlyWhenOutputCloses();
  // the SDK's own logs: errors only for one-shot runs, so progress lines stay readable; warnings too
  // for long-running workers (METERFLOW_TEMPORAL_LOG_LEVEL overrides)
  const command = argv[2];
  const level = process.env.METERFLOW_TEMPORAL_LOG_LEVEL ?? (command === 'worker' || command === 'dev' ? 'WARN' : 'ERROR');
  // NOTE: only commands that run workers load the worker SDK (about 0.25 s of every other command's start)
  const runsWorkers = ['worker', 'dev', 'quickstart'].includes(command ?? '') || (command === 'run' && !temporalAddress());
  if (runsWorkers) await installWorkerRuntime(level);
  const program = buildProgram();
  // commander's usage errors exit 2, its --help and --version 0; they throw here instead of exiting
  let reported = false;
  const exitOnUsage = (command: Command): void => {
    command.exitOverride().configureOutput({
      outputError: (message, write) => {
        reported = true;
        write(message);
      },
    });
    command.commands.forEach(exitOnUsage);
  };
  exitOnUsage(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    // an InvalidArgumentError thrown by an action (a check of two flags together) was not printed yet
    if (!reported && err.exitCode !== 0 && err.code !== 'commander.help') process.stderr.write(`meterflow: ${err.message}\n`);
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? `meterflow: ${err.message}` : err);
    process.exit(1);
  });
}

// `meterflow run`: one full pipeline run, on an embedded Temporal server with in-process workers,
// or submitted to TEMPORAL_ADDRESS where workers run elsewhere.
import { InvalidArgumentError } from 'commander';
import { CancelledFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { describeFailure, getProgress, startPipeline, waitForPipeline } from '../client';
import { StorageError, WorkflowTaskFailingError } from '../errors';
import { defaultProjectDir, temporalAddress } from '../config';
import { parseLocation } from '../storage/uri';
import { checkWritableFolder } from '../storage/fs-errors';
import { registerWarehouse, warehouseName } from '../warehouse/names';
import { fingerprintProject } from '../project/fingerprint';
import { openRunTarget, type RunTarget } from './run-target';
import { EXIT_INTERRUPTED } from './exit-codes';
import type { NodeProgress, PipelineInput, PipelineProgress, PipelineResult } from '../contract/run';
import { liveProgressPrinter, plainProgressPrinter } from './progress';
import { colourWanted, doneLine, errorSummary } from './run-lines';
import { withTarget } from './vars-option';
import { childUri, runFolderName } from '../contract/uri';
import { runsOnOf } from '../project/types';

export interface RunCommandOptions {
  readonly sources: string;
  readonly db: string;
  readonly out: string;
  readonly projectDir?: string;
  readonly analyticsConcurrency?: number;
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  readonly selector?: string;
  readonly fullRefresh?: boolean;
  readonly verify?: boolean;
  readonly sourcesMoved?: boolean;
  readonly force?: boolean;
  readonly logicalDate?: string;
  /** dbt vars for the run (`--vars`), over dbt_project.yml's. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** dbt's target.name for the project's templates (`--target`). */
  readonly target?: string;
  /** Webhooks told when the run fails (or ends, with notifyOnSuccess): see PipelineInput.notify. */
  readonly notify?: readonly string[];
  readonly notifyOnSuccess?: boolean;
  /** A SQLite file for the embedded server's history, so that the run is still there in `meterflow dev` (quickstart). */
  readonly temporalHistory?: string;
  /** Where results go (the summary, warehouse, report): stdout by default. */
  readonly write?: (line: string) => void;
  /** Where progress, warnings and errors go: stderr by default. */
  readonly warn?: (line: string) => void;
}

export interface RunCommandOutcome {
  readonly ok: boolean;
  readonly result?: PipelineResult;
  /** The signal that stopped the command, if one did. */
  readonly signal?: NodeJS.Signals;
}

/** Raised inside runCommand when SIGINT or SIGTERM arrives, to unwind through its clean-up. */
class Interrupted extends Error {
  public override readonly name = 'Interrupted';
  constructor(public readonly signal: NodeJS.Signals) {
    super(`${signal} received`);
  }
}

/**
 * SIGINT and SIGTERM: the first rejects `interrupted` (raced against each step of a run), any later
 * one calls `again`. dispose removes the handlers.
 */
function interruption(again: (signal: NodeJS.Signals) => void): { readonly interrupted: Promise<never>; dispose(): void } {
  let reject: (err: Interrupted) => void = () => undefined;
  const interrupted = new Promise<never>((_resolve, rejectWith) => (reject = rejectWith));
  interrupted.catch(() => undefined); // raced below; never unhandled
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => (++received === 1 ? reject(new Interrupted(signal)) : again(signal));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    interrupted,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** How long a cancelled run may take to end (its activities stop, it discards what it did not publish) before the command exits anyway. */
const CANCEL_WAIT_MS = 8_000;

/** A run's progress, or undefined when no worker answers within `ms` (or the query fails). */
function progressWithin(handle: WorkflowHandle, ms: number): Promise<PipelineProgress | undefined> {
  const late = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref());
  return Promise.race([getProgress(handle), late]).catch(() => undefined);
}

/** Cancel a run and wait, at most CANCEL_WAIT_MS, for it to end: whether it ended, and how. */
async function cancelAndWait(handle: WorkflowHandle): Promise<'cancelled' | 'completed' | 'failed' | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), CANCEL_WAIT_MS)));
  const ending = (async () => {
    try {
      await handle.cancel();
    } catch {
      // it ended meanwhile: its result says how
    }
    return handle.result().then(
      () => 'completed' as const,
      (err: unknown) => (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure ? 'cancelled' : 'failed'),
    );
  })();
  try {
    // NOTE: a result still awaited after the deadline is a long poll; the command exits without it
    return await Promise.race([ending, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** With an embedded server the run's output folder and warehouse are on this machine: check them before anything starts. */
async function checkLocalTargets(options: RunCommandOptions): Promise<void> {
  const checks: [string, string, () => Promise<void>][] = [];
  const out = parseLocation(options.out);
  if (out.kind === 'local') checks.push(['--out', options.out, () => checkWritableFolder(out.path)]);
  if (!options.db.startsWith('postgres:')) checks.push(['--db', options.db, () => checkWritableFolder(warehouseName(options.db))]);
  for (const [flag, value, check] of checks) {
    await check().catch((err: unknown) => {
      throw err instanceof StorageError ? new StorageError(`${flag} ${value}: ${err.message}`, value) : err;
    });
  }
  // the embedded workers read env: webhooks from this process's environment: one not set would tell nobody
  const unset = (options.notify ?? []).filter((target) => target.startsWith('env:') && !process.env[target.slice(4)]);
  if (unset.length > 0) {
    throw new InvalidArgumentError(
      `--notify ${unset.join(', ')}: not set in this environment, where the run's embedded workers read it; set it, or give the URL`,
    );
  }
}

/** Absolute local paths, so that workers with another working directory read the same files. */
function normaliseUri(uri: string): string {
  const location = parseLocation(uri);
  return location.kind === 'local' ? location.path : uri;
}

/** Where a run on the SQLite-persisted embedded server can be seen once this command has ended. */
function historyLine(workflowId: string, historyFile: string): string {
  return `history: kept in ${historyFile}; run npx meterflow dev and open http://127.0.0.1:8233/namespaces/default/workflows/${workflowId}`;
}

interface FollowContext {
  readonly step: <T>(work: Promise<T>) => Promise<T>;
  readonly write: (line: string) => void;
  readonly warn: (line: string) => void;
  /** stderr is a terminal: the nodes in flight are redrawn in place below the run's lines. */
  readonly live: boolean;
  readonly projectDir: string;
  /** The run's vars, which dbt_project.yml may read. */
  readonly vars?: Readonly<Record<string, unknown>>;
  readonly outUri: string;
  readonly signal: AbortSignal;
  readonly queues: { readonly writer?: string; readonly analytics?: string };
  /** Where the run can be seen: the Web UI's page, or the history file's. */
  readonly where?: string;
}

/**
 * Follow a started run to its end as dbt shows one: a line per node (on stderr, with the nodes in flight
 * below them on a terminal), then `Done. …`; on success the results on stdout (warehouse last), on
 * failure each error's summary on stderr; always where its report and the runs grid are.
 */
async function followRun(handle: WorkflowHandle, context: FollowContext): Promise<RunCommandOutcome> {
  const { step, write, warn } = context;
  const colour = colourWanted(process.stderr);
  const printer = context.live ? liveProgressPrinter(process.stderr, colour) : plainProgressPrinter(warn, { colour });
  const waitStarted = Date.now();
  let lastProgress: PipelineProgress | undefined;
  const runsLine = `runs: ${childUri(context.outUri, 'index.html')}`;
  try {
    const result = await step(
      waitForPipeline(handle, {
        onProgress: (progress) => printer.update((lastProgress = progress)),
        onNoWorker: (notice) => warn(`meterflow: ${notice.message}`),
        stopOnFailingWorkflowTask: true,
        signal: context.signal,
        ...(context.queues.writer ? { writerQueue: context.queues.writer } : {}),
        ...(context.queues.analytics ? { analyticsQueue: context.queues.analytics } : {}),
      }),
    );
    printer.finish({ ...(lastProgress ?? { startedAt: 0 }), ...result, done: true });
    write(doneLine(result.nodes, result.dataTests, Date.now() - waitStarted));
    write('');
    if (context.where) write(context.where);
    if (result.snapshotVersion !== undefined) write(`lake version: ${result.snapshotVersion}`);
    write(runsLine);
    write(`report: ${result.reportUri}`);
    // last: what `meterflow query --warehouse` takes
    write(`warehouse: ${result.warehousePath}`);
    return { ok: true, result };
  } catch (err) {
    if (err instanceof Interrupted) {
      printer.finish();
      throw err;
    }
    // the run's final states (its pending nodes skipped); the last ones polled if no worker answers soon
    const final = (await progressWithin(handle, 3_000)) ?? lastProgress;
    printer.finish(final);
    const nodes = final?.nodes ?? [];
    const dataTests = final?.dataTests ?? [];
    warn(doneLine(nodes, dataTests, Date.now() - waitStarted));
    if (err instanceof WorkflowTaskFailingError) {
      warn(`error: ${err.message}`);
      return { ok: false };
    }
    const failure = describeFailure(err);
    const fileOf = await projectFiles(context.projectDir, context.vars);
    warn('');
    for (const line of errorSummary(nodes, dataTests, failure, fileOf, { colour })) warn(line);
    warn('');
    // an alert that did not go out is said here: nobody else was told
    for (const missed of (final?.notifications ?? []).filter((outcome) => !outcome.told)) {
      warn(`webhook ${missed.webhook}: not told that the run failed: ${missed.reason ?? 'no reason given'}`);
    }
    warn(`error: run ${handle.workflowId} failed${failure.node ? ` at ${failure.node}` : ''}: ${failure.reason}`);
    if (context.where) warn(context.where);
    // the report (written for a failed run too): beside the run's record
    warn(runsLine);
    warn(`report: ${childUri(context.outUri, 'runs', runFolderName(handle.workflowId), 'report.html')}`);
    return { ok: false };
  }
}

/** Each node's file in the project, for the error summary (nothing when the project cannot be read here). */
async function projectFiles(
  projectDir: string,
  vars: Readonly<Record<string, unknown>> = {},
): Promise<(node: NodeProgress) => string | undefined> {
  try {
    // loaded here: the project's reader (nunjucks, YAML) is not needed to start a run
    const { loadProject } = await import('../project/load');
    const { plan } = await loadProject(projectDir, { vars });
    const files = new Map<string, string>();
    for (const model of plan.models) {
      files.set(`${runsOnOf(model) === 'analytics' ? 'analytics' : 'model'}:${model.name}`, model.file);
      files.set(`test:${model.name}`, model.file);
    }
    for (const test of plan.singularTests) files.set(`test:${test.name}`, test.file);
    for (const source of plan.sources) if (source.seed) files.set(`seed:${source.name}`, source.seed.file);
    return (node) => files.get(node.id);
  } catch {
    return () => undefined;
  }
}

/** The run's input from the command's options: its warehouse and project named, its queues if set. */
async function runInput(
  options: RunCommandOptions,
  queues: { readonly writer?: string; readonly analytics?: string },
): Promise<PipelineInput> {
  const logicalDate = options.logicalDate === undefined ? undefined : new Date(options.logicalDate);
  if (logicalDate && Number.isNaN(logicalDate.getTime())) {
    throw new Error(`logical date ${options.logicalDate} is not an ISO 8601 date or time (e.g. 2024-01-31T02:00:00Z)`);
  }
  // the run names its warehouse (without a password) and its project (with its content's hash): every
  // worker checks both, and a run whose warehouse no writer serves is refused before it starts
  const warehouse = registerWarehouse(options.db);
  const project = await fingerprintProject(options.projectDir ?? defaultProjectDir());
  return {
    warehouse,
    project,
    sourcesUri: normaliseUri(options.sources),
    outUri: normaliseUri(options.out),
    ...(options.select?.length ? { select: options.select } : {}),
    ...(options.exclude?.length ? { exclude: options.exclude } : {}),
    ...(options.selector ? { selector: options.selector } : {}),
    ...(options.fullRefresh ? { fullRefresh: true } : {}),
    ...(options.verify ? { verify: true } : {}),
    ...(options.sourcesMoved ? { sourcesMoved: true } : {}),
    ...(options.force ? { force: true } : {}),
    ...(logicalDate ? { logicalDate: logicalDate.toISOString() } : {}),
    ...(options.vars ? { vars: options.vars } : {}),
    ...(options.target ? { target: options.target } : {}),
    ...(options.notify?.length ? { notify: options.notify } : {}),
    ...(options.notifyOnSuccess ? { notifyOnSuccess: true } : {}),
    ...(queues.writer ? { writerQueue: queues.writer } : {}),
    ...(queues.analytics ? { analyticsQueue: queues.analytics } : {}),
  };
}

/** After SIGINT or SIGTERM: cancel the run, if one started, and say how it ended. */
async function cancelOnSignal(
  handle: WorkflowHandle | undefined,
  signal: NodeJS.Signals,
  address: string | undefined,
  warn: (line: string) => void,
): Promise<void> {
  if (!handle) {
    warn(`meterflow: ${signal} received: ${address ? 'no run was started' : 'stopping the workers and the embedded Temporal server'}`);
    return;
  }
  warn(`meterflow: ${signal} received: cancelling run ${handle.workflowId} (Ctrl-C again exits at once)`);
  const ended = await cancelAndWait(handle);
  if (ended === 'still running') {
    // a run that failed already is telling its webhooks, which it waits for (notifyWaitSeconds)
    // (3 s at most: no worker may answer)
    const failed = (await progressWithin(handle, 3_000))?.nodes.find((node) => node.state === 'failed');
    warn(
      `meterflow: run ${handle.workflowId} ` +
        (failed
          ? `failed at ${failed.id}${failed.error ? `: ${failed.error}` : ''}; it did not end within ${CANCEL_WAIT_MS / 1000} s, telling its webhooks`
          : `did not end within ${CANCEL_WAIT_MS / 1000} s of its cancel`) +
        (address ? `; it may go on at ${address} (meterflow status ${handle.workflowId})` : ''),
    );
    return;
  }
  // how it ended, as the server has it
  const how = {
    cancelled: 'cancelled',
    // (the publish is the run's commit point: once started, it and the report run to their end)
    completed: 'completed before its cancel took effect: its publish had started, so its tables are published',
    failed: `failed before its cancel took effect (meterflow status ${handle.workflowId})`,
  };
  warn(`meterflow: run ${handle.workflowId} ${how[ended]}`);
}

export async function runCommand(options: RunCommandOptions): Promise<RunCommandOutcome> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  // the queue names `meterflow worker` takes from the same variables, so that a run reaches its workers
  const queues = {
    workflows: process.env.METERFLOW_WORKFLOW_QUEUE,
    writer: process.env.METERFLOW_WRITER_QUEUE,
    analytics: process.env.METERFLOW_ANALYTICS_QUEUE,
  };
  const input = await runInput(options, queues);
  const address = temporalAddress();
  if (!address) await checkLocalTargets(options);
  let workflowId: string | undefined;
  const { interrupted, dispose } = interruption((signal) => {
    // a second Ctrl-C: leave now, without waiting for the cancel
    const left = address
      ? workflowId
        ? `; run ${workflowId} may go on at ${address} (meterflow status ${workflowId})`
        : ''
      : ' with the embedded server';
    warn(`meterflow: ${signal} received again: exiting now${left}`);
    process.exit(EXIT_INTERRUPTED);
  });
  const step = <T>(work: Promise<T>): Promise<T> => Promise.race([work, interrupted]);
  let target: RunTarget | undefined;
  let starting: ReturnType<typeof startPipeline> | undefined;
  let handle: Awaited<ReturnType<typeof startPipeline>> | undefined;
  const waiting = new AbortController();
  let signal: NodeJS.Signals | undefined;
  try {
    target = await openRunTarget(address, { ...options, queues, step, interrupted, warn });
    const { client, uiBase } = target;
    starting = startPipeline(client, input, queues.workflows ? { taskQueue: queues.workflows } : {});
    handle = await step(starting);
    workflowId = handle.workflowId;
    const page = uiBase ? `${uiBase}/namespaces/${client.options.namespace}/workflows/${handle.workflowId}` : undefined;
    warn(`run ${handle.workflowId} started${page ? `: ${page}` : ''}`);
    return await followRun(handle, {
      step,
      write,
      warn,
      live: options.warn === undefined && process.stderr.isTTY === true,
      projectDir: options.projectDir ?? defaultProjectDir(),
      vars: withTarget(options.vars, options.target),
      outUri: input.outUri,
      signal: waiting.signal,
      queues,
      where: options.temporalHistory ? historyLine(handle.workflowId, options.temporalHistory) : page ? `web ui: ${page}` : undefined,
    });
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    signal = err.signal;
    waiting.abort();
    // a signal while the run was being started: it may have started all the same
    handle ??= await starting?.catch(() => undefined);
    await cancelOnSignal(handle, err.signal, address, warn);
    return { ok: false, signal };
  } finally {
    await target?.close(signal !== undefined);
    dispose();
  }
}

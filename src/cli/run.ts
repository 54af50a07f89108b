// `meterflow run`: one full pipeline run, on an embedded Temporal server with in-process workers,
// or submitted to TEMPORAL_ADDRESS where workers run elsewhere.
import { NativeConnection } from '@temporalio/worker';
import path from 'node:path';
import { connectClient, describeFailure, getProgress, startPipeline, waitForPipeline } from '../client';
import { StorageError } from '../errors';
import { defaultProjectDir, temporalAddress, temporalNamespace } from '../config';
import { createLogger } from '../logger';
import { parseLocation } from '../storage';
import { checkWritableFile, checkWritableFolder } from '../storage/fs-errors';
import { startDevServer, type DevServer } from '../temporal/dev-server';
import { createWorkers } from '../worker';
import type { PipelineInput, PipelineProgress, PipelineResult } from '../contract/run';
import { liveProgressPrinter, plainProgressPrinter, tallyLine } from './progress';
import { summaryTable } from './summary';

export interface RunCommandOptions {
  readonly sources: string;
  readonly db: string;
  readonly out: string;
  readonly projectDir?: string;
  readonly analyticsConcurrency?: number;
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  readonly fullRefresh?: boolean;
  readonly verify?: boolean;
  readonly force?: boolean;
  readonly logicalDate?: string;
  /** A SQLite file for the embedded server's history, so that the run is still there in `meterflow dev` (quickstart). */
  readonly temporalHistory?: string;
  readonly write?: (line: string) => void;
  /** Where warnings go (no worker polling the run's queues): stderr by default. */
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

/** SIGINT and SIGTERM as a promise that rejects, for racing each step of a run against; dispose removes the handlers. */
function interruption(): { readonly interrupted: Promise<never>; dispose(): void } {
  let reject: (err: Interrupted) => void = () => undefined;
  const interrupted = new Promise<never>((_resolve, rejectWith) => (reject = rejectWith));
  interrupted.catch(() => undefined); // raced below; never unhandled
  const onSignal = (signal: NodeJS.Signals) => reject(new Interrupted(signal));
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

/** With an embedded server the run's output folder and warehouse are on this machine: check them before anything starts. */
async function checkLocalTargets(options: RunCommandOptions): Promise<void> {
  const checks: [string, string, () => Promise<void>][] = [];
  const out = parseLocation(options.out);
  if (out.kind === 'local') checks.push(['--out', options.out, () => checkWritableFolder(out.path)]);
  checks.push(['--db', options.db, () => checkWritableFile(path.resolve(options.db))]);
  for (const [flag, value, check] of checks) {
    await check().catch((err: unknown) => {
      throw err instanceof StorageError ? new StorageError(`${flag} ${value}: ${err.message}`, value) : err;
    });
  }
}

/** How long in-flight activities may take to finish when a signal stops an embedded run. */
const SIGNAL_GRACE_MS = 5_000;

/** Absolute local paths, so that workers with another working directory read the same files. */
function normaliseUri(uri: string): string {
  const location = parseLocation(uri);
  return location.kind === 'local' ? location.path : uri;
}

/** Where a run on the SQLite-persisted embedded server can be seen once this command has ended. */
function historyLine(workflowId: string, historyFile: string): string {
  return `history: kept in ${historyFile}; run npx meterflow dev and open http://127.0.0.1:8233/namespaces/default/workflows/${workflowId}`;
}

export async function runCommand(options: RunCommandOptions): Promise<RunCommandOutcome> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const warn = options.warn ?? ((line: string) => process.stderr.write(`${line}\n`));
  const logicalDate = options.logicalDate === undefined ? undefined : new Date(options.logicalDate);
  if (logicalDate && Number.isNaN(logicalDate.getTime())) {
    throw new Error(`logical date ${options.logicalDate} is not an ISO 8601 date or time (e.g. 2024-01-31T02:00:00Z)`);
  }
  // the queue names `meterflow worker` takes from the same variables, so that a run reaches its workers
  const queues = {
    workflows: process.env.METERFLOW_WORKFLOW_QUEUE,
    writer: process.env.METERFLOW_WRITER_QUEUE,
    analytics: process.env.METERFLOW_ANALYTICS_QUEUE,
  };
  const input: PipelineInput = {
    sourcesUri: normaliseUri(options.sources),
    outUri: normaliseUri(options.out),
    ...(options.select?.length ? { select: options.select } : {}),
    ...(options.exclude?.length ? { exclude: options.exclude } : {}),
    ...(options.fullRefresh ? { fullRefresh: true } : {}),
    ...(options.verify ? { verify: true } : {}),
    ...(options.force ? { force: true } : {}),
    ...(logicalDate ? { logicalDate: logicalDate.toISOString() } : {}),
    ...(queues.writer ? { writerQueue: queues.writer } : {}),
    ...(queues.analytics ? { analyticsQueue: queues.analytics } : {}),
  };
  const address = temporalAddress();
  if (!address) await checkLocalTargets(options);
  const { interrupted, dispose } = interruption();
  const step = <T>(work: Promise<T>): Promise<T> => Promise.race([work, interrupted]);
  let server: DevServer | undefined;
  let workers: Awaited<ReturnType<typeof createWorkers>> | undefined;
  let workersDone: Promise<void> | undefined;
  let workerConnection: NativeConnection | undefined;
  let workflowId: string | undefined;
  let signal: NodeJS.Signals | undefined;
  try {
    if (!address) {
      const starting = startDevServer(options.temporalHistory ? { dbFilename: options.temporalHistory } : {});
      // a signal while the server starts: it is stopped as soon as it is up
      void interrupted.catch(() => (server ? undefined : starting.then((started) => started.stop()).catch(() => undefined)));
      server = await step(starting);
      write(`embedded Temporal dev server at ${server.address}, Web UI ${server.uiUrl} (while this run lasts)`);
      workerConnection = await step(NativeConnection.connect({ address: server.address }));
      workers = await step(
        createWorkers({
          connection: workerConnection,
          namespace: server.namespace,
          role: 'all',
          queues,
          warehousePath: path.resolve(options.db),
          projectDir: options.projectDir ?? defaultProjectDir(),
          ...(options.analyticsConcurrency ? { analyticsConcurrency: options.analyticsConcurrency } : {}),
          logger: createLogger('meterflow-worker', process.env.METERFLOW_LOG_LEVEL ?? 'warn'),
        }),
      );
      workersDone = workers.run();
    }
    const client = server
      ? server.environment.client
      : await step(connectClient({ address: address as string, namespace: temporalNamespace() }));
    const handle = await step(startPipeline(client, input, queues.workflows ? { taskQueue: queues.workflows } : {}));
    workflowId = handle.workflowId;
    const uiBase = server ? server.uiUrl : process.env.TEMPORAL_UI_URL;
    write(
      `run ${handle.workflowId} started${uiBase ? `: ${uiBase}/namespaces/${client.options.namespace}/workflows/${handle.workflowId}` : ''}`,
    );
    // a terminal gets the DAG redrawn in place; anything else (CI, a pipe) a line per change
    const live = options.write === undefined && process.stdout.isTTY ? liveProgressPrinter() : undefined;
    const print = live ? live.update : plainProgressPrinter(write);
    const waitStarted = Date.now();
    let lastProgress: PipelineProgress | undefined;
    const printer = (progress: PipelineProgress) => print((lastProgress = progress));
    try {
      const result = await step(
        waitForPipeline(handle, {
          onProgress: printer,
          onNoWorker: (notice) => warn(`meterflow: ${notice.message}`),
          ...(queues.writer ? { writerQueue: queues.writer } : {}),
          ...(queues.analytics ? { analyticsQueue: queues.analytics } : {}),
        }),
      ).finally(() => live?.done());
      if (!live) printer({ workflowId: result.workflowId, startedAt: 0, logicalDate: result.logicalDate, nodes: result.nodes, done: true });
      write('');
      write(summaryTable(result.nodes));
      write(tallyLine(result.nodes, Date.now() - waitStarted, result.dataTests));
      write('');
      if (options.temporalHistory) write(historyLine(handle.workflowId, options.temporalHistory));
      else if (uiBase) write(`web ui: ${uiBase}/namespaces/${client.options.namespace}/workflows/${handle.workflowId}`);
      if (result.snapshotUri) write(`snapshot: ${result.snapshotUri}`);
      write(`warehouse: ${result.warehousePath}`);
      write(`report: ${result.reportUri}`);
      return { ok: true, result };
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      const { node, reason } = describeFailure(err);
      // the run's final states (its pending nodes skipped); the last ones polled if no worker answers soon
      const final = Promise.race([getProgress(handle), new Promise<never>((_, reject) => setTimeout(reject, 3_000).unref())]);
      const nodes = (await final.catch(() => lastProgress))?.nodes;
      if (nodes) write(tallyLine(nodes, Date.now() - waitStarted));
      write(`error: run ${handle.workflowId} failed${node ? ` at ${node}` : ''}: ${reason}`);
      // with remote workers the warehouse is the writer's, which a failed run may not have reached
      write(`warehouse: ${server ? path.resolve(options.db) : '(on the writer worker)'}`);
      return { ok: false };
    }
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    signal = err.signal;
    warn(
      !address
        ? `meterflow: ${err.signal} received: stopping the workers and the embedded Temporal server`
        : `meterflow: ${err.signal} received: ${workflowId ? `run ${workflowId} goes on at ${address}; follow it with meterflow status ${workflowId}` : 'no run was started'}`,
    );
    return { ok: false, signal: err.signal };
  } finally {
    dispose();
    workers?.shutdown();
    // after a signal, in-flight activities get a few seconds, not the full grace time: the server goes too
    const stopped = workersDone?.catch(() => undefined);
    await (signal ? Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, SIGNAL_GRACE_MS).unref())]) : stopped);
    await workerConnection?.close().catch(() => undefined);
    await server?.stop();
  }
}

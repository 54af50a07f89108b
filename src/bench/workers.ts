// The bench's workers: `meterflow worker` processes on the bench's own queues, and their stop.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../config';

/** A worker process of the bench; `ready` settles once it polls (it has printed its polling line) or it has exited. */
export type BenchWorker = ChildProcess & { readonly ready: Promise<void> };

/** A worker of the bench, in its own process, its output discarded but for errors. */
export function spawnWorker(
  role: 'writer' | 'analytics' | 'build',
  address: string,
  queues: Record<string, string>,
  env: NodeJS.ProcessEnv,
  db?: string,
  extra: string[] = [],
): BenchWorker {
  const args = [
    path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'),
    'worker',
    '--role',
    role,
    '--writer-queue',
    queues.writer as string,
    '--analytics-queue',
    queues.analytics as string,
    '--workflow-queue',
    queues.workflows as string,
    '--analytics-concurrency',
    '2',
    ...(db ? ['--db', db] : []),
    ...extra,
  ];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, TEMPORAL_ADDRESS: address, METERFLOW_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // its stderr passed on, and watched for the line it prints once its workers poll: the bench times
  // runs, not the workers' start (loading DuckDB's extensions, opening the lake)
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (/meterflow worker \([a-z]+\) polling/.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bench worker (${role}) exited with code ${code} before it polled`)));
  });
  ready.catch(() => undefined);
  return Object.assign(child, { ready });
}

/** Wait until every worker polls. */
export async function workersReady(workers: readonly BenchWorker[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.ready));
}

/** Stop a worker with SIGTERM and wait until it has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The bench's pair of workers for one run: their queues and processes, and how a command reaches them. */
export interface BenchWorkers {
  readonly queues: { readonly writer: string; readonly analytics: string; readonly workflows: string };
  readonly writer: BenchWorker;
  readonly analytics: BenchWorker;
  /** The environment that points a `meterflow run` command at these workers and their server. */
  readonly commandEnv: NodeJS.ProcessEnv;
}

/**
 * A writer (of `warehouse`) and an analytics worker on queues of their own (named by `label`), both
 * polling while `work` runs, stopped after it; `env` is added to the workers' environment.
 */
export async function withBenchWorkers<T>(
  address: string,
  label: string,
  warehouse: string,
  work: (workers: BenchWorkers) => Promise<T>,
  env: NodeJS.ProcessEnv = {},
): Promise<T> {
  const queues = { writer: `w-${label}`, analytics: `a-${label}`, workflows: `f-${label}` };
  const writer = spawnWorker('writer', address, queues, env, warehouse);
  const analytics = spawnWorker('analytics', address, queues, env);
  try {
    await workersReady([writer, analytics]);
    const commandEnv = {
      TEMPORAL_ADDRESS: address,
      METERFLOW_WRITER_QUEUE: queues.writer,
      METERFLOW_ANALYTICS_QUEUE: queues.analytics,
      METERFLOW_WORKFLOW_QUEUE: queues.workflows,
    };
    return await work({ queues, writer, analytics, commandEnv });
  } finally {
    await Promise.all([stop(writer), stop(analytics)]);
  }
}

/** `meterflow run` as a shell runs it: its wall-clock seconds (it must succeed). */
export async function meterflowRun(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = process.hrtime.bigint();
  await promisify(execFile)(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), 'run', ...args], {
    env: { ...process.env, METERFLOW_LOG_LEVEL: 'warn', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

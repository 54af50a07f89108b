// The bench's workers: `meterflow worker` processes on the bench's own queues, and their stop.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../config';

/** A worker of the bench, in its own process, its output discarded but for errors. */
export function spawnWorker(
  role: 'writer' | 'analytics' | 'build',
  address: string,
  queues: Record<string, string>,
  env: NodeJS.ProcessEnv,
  db?: string,
  extra: string[] = [],
): ChildProcess {
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
  return spawn(process.execPath, args, {
    env: { ...process.env, TEMPORAL_ADDRESS: address, METERFLOW_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** Stop a worker with SIGTERM and wait until it has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

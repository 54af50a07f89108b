// Real processes for fault tests: meterflow workers and a Temporal dev server that a test can kill.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/config';
import { findTemporalCli } from '../../src/temporal/cli-path';

export interface Child {
  readonly process: ChildProcess;
  /** stdout and stderr as they came, interleaved. */
  readonly output: () => string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal and returns at once (SIGSTOP, SIGCONT: the process lives on). */
  signal(signal: NodeJS.Signals): void;
}

function track(child: ChildProcess): Child {
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => ((output += chunk.toString()), (stdout += chunk.toString())));
  child.stderr?.on('data', (chunk: Buffer) => ((output += chunk.toString()), (stderr += chunk.toString())));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    output: () => output,
    stdout: () => stdout,
    stderr: () => stderr,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
    signal(signal: NodeJS.Signals) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/**
 * Any meterflow command in its own process (no TEMPORAL_ADDRESS unless given), to watch while it runs.
 * `processGroup`: in a process group of its own, as a terminal's foreground job, so that a test can
 * send a signal to the whole group as Ctrl-C does (`process.kill(-pid, 'SIGINT')`).
 */
export function spawnMeterflow(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { readonly processGroup?: boolean } = {},
): Child & { readonly exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), ...args], {
    env: { ...process.env, TEMPORAL_ADDRESS: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { ...track(child), exited };
}

/** `meterflow worker` in its own process, polling the given queues. */
export function spawnWorker(options: {
  role: 'writer' | 'analytics' | 'build';
  address: string;
  queues: { writer: string; analytics: string; workflows: string };
  db?: string;
  env?: NodeJS.ProcessEnv;
  /** More options of `meterflow worker`, e.g. `['--build-concurrency', '0']`. */
  args?: string[];
  /** The worker's working folder (its machine's, in a rehearsal); the test's own by default. */
  cwd?: string;
}): Child {
  const args = [
    path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'),
    'worker',
    '--role',
    options.role,
    '--writer-queue',
    options.queues.writer,
    '--analytics-queue',
    options.queues.analytics,
    '--workflow-queue',
    options.queues.workflows,
    '--analytics-concurrency',
    '1',
    ...(options.db ? ['--db', options.db] : []),
    ...(options.args ?? []),
  ];
  return track(
    spawn(process.execPath, args, {
      env: { ...process.env, TEMPORAL_ADDRESS: options.address, METERFLOW_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    }),
  );
}

/**
 * The Temporal CLI's dev server on a fixed port, as its own process: with SQLite persistence when
 * given a file (else in memory), and meterflow's search attributes unless `searchAttributes: false`
 * (a stock server where `meterflow setup` was never run).
 */
export async function spawnTemporalServer(
  port: number,
  dbFilename?: string,
  options: { readonly searchAttributes?: boolean } = {},
): Promise<Child> {
  const cli = findTemporalCli() as string;
  const child = track(
    spawn(
      cli,
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--headless',
        ...(dbFilename ? ['--db-filename', dbFilename] : []),
        '--log-level',
        'error',
        ...(options.searchAttributes === false
          ? []
          : [
              '--search-attribute',
              'MeterflowRunKind=Keyword',
              '--search-attribute',
              'MeterflowLogicalDate=Datetime',
              '--search-attribute',
              'MeterflowModelsSelected=KeywordList',
            ]),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    ),
  );
  await waitForPort(port);
  return child;
}

export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A TCP proxy on loopback that can be taken down and brought back, to make a server unreachable for a while. */
export class OutageProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly targetPort: number,
    public readonly port: number,
  ) {}

  async up(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

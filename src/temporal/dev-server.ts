// The embedded Temporal server: the Temporal CLI's dev server (real server, SQLite persistence, Web UI),
// started under a small supervisor so that it never outlives the meterflow process that started it.
import { Connection } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { METERFLOW_SEARCH_ATTRIBUTES } from '../contract/run';
import { temporalExecutable } from './cli-path';

export interface DevServerOptions {
  /** gRPC port; a free one when not given. */
  readonly port?: number;
  /** Web UI port; a free one when not given. */
  readonly uiPort?: number;
  /** SQLite file to persist to; in memory when not given. */
  readonly dbFilename?: string;
  readonly namespace?: string;
  /** Picks a free port when none is given (tests inject a taken one); `freePort` by default. */
  readonly pickPort?: () => Promise<number>;
}

/** The dev server did not come up: `exited` when its process ended (a port taken meanwhile, say). */
class DevServerStartError extends Error {
  constructor(
    message: string,
    public readonly exited: boolean,
  ) {
    super(message);
  }
}

/** Free ports are picked, then bound by the server: another process can take one in between. */
const START_ATTEMPTS = 3;

export interface DevServer {
  readonly address: string;
  readonly uiUrl: string;
  readonly namespace: string;
  readonly environment: TestWorkflowEnvironment;
  /** The Temporal CLI process (undefined when the SDK started it, without the supervisor). */
  readonly pid?: number;
  stop(): Promise<void>;
}

/** How long the server may take to answer after start (a cold SQLite file takes a few seconds). */
const START_TIMEOUT_MS = 30_000;
/** How long the server gets to stop after it is told to, before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * The supervisor: runs the server in the background, prints its pid, and stops it (TERM, then KILL
 * after 5 s) when its stdin reaches end of file. Only the meterflow process holds the other end of
 * that pipe, and the kernel closes it however that process ends, SIGKILL included: so the server
 * goes with it. It runs in a process group of its own, so that a terminal's Ctrl-C reaches meterflow
 * alone (SIGINT is ignored too): meterflow cancels its run, stops its workers, and then the server.
 */
const SUPERVISOR = `
trap '' INT
exec 3<&0
"$@" </dev/null 3<&- &
server=$!
echo "$server"
(
  read -r _ <&3 || :
  kill -TERM "$server" 2>/dev/null
  i=0
  while kill -0 "$server" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$server" 2>/dev/null
) &
watcher=$!
exec 3<&-
trap 'kill -TERM "$server" 2>/dev/null' TERM HUP
status=0
while kill -0 "$server" 2>/dev/null; do wait "$server"; status=$?; done
kill "$watcher" 2>/dev/null
exit "$status"
`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a process runs (a zombie waiting for its parent to reap it does not). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (macOS): kill(0) is all there is
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return condition();
}

/** The Temporal CLI's `server start-dev` arguments for these options (the SDK's own dev-server settings). */
export function devServerArgs(options: { port: number; uiPort: number; namespace: string; dbFilename?: string }): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--namespace',
    options.namespace,
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
    '--log-format',
    'pretty',
    '--log-level',
    'error',
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
    // the Web UI filters runs by these; a real cluster registers them once (see README)
    ...METERFLOW_SEARCH_ATTRIBUTES.flatMap((key) => [
      '--search-attribute',
      `${key.name}=${TypedSearchAttributes.toMetadataType(key.type)}`,
    ]),
  ];
}

/** Start the CLI under the supervisor and wait until its frontend answers. */
async function startSupervised(cli: string, args: string[], address: string): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn('/bin/sh', ['-c', SUPERVISOR, 'meterflow-temporal-supervisor', cli, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // NOTE: a process group of its own: a terminal's Ctrl-C reaches the whole foreground group, and the
    // Temporal CLI takes SIGINT back even when it starts with it ignored, so it would stop before
    // meterflow has cancelled its run. The pipe still ends it with meterflow.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // the server's own output is kept for an error message only, never shown in a run's output
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  child.stdin?.on('error', () => undefined); // the supervisor gone first: nothing to tell it
  let exited = false;
  child.once('exit', () => (exited = true));
  const connectable = async () => {
    if (exited) return true;
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.close();
      return true;
    } catch {
      return false;
    }
  };
  // a server that answers at once may be another process's on a port taken meanwhile: ours then exits
  const answered = await until(connectable, START_TIMEOUT_MS);
  if (answered && !exited) await new Promise((resolve) => setTimeout(resolve, 300));
  if (!answered || exited) {
    child.stdin?.end();
    const tail = stderr.trim().split('\n').slice(-5).join('\n');
    throw new DevServerStartError(
      `the Temporal dev server (${cli}) did not start at ${address}${exited ? ` (it exited with code ${child.exitCode})` : ` within ${START_TIMEOUT_MS / 1000} s`}${tail ? `:\n${tail}` : ''}`,
      exited,
    );
  }
  return { child, pid: Number(stdout.split('\n')[0]) };
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  // ports we picked may be taken before the server binds them: then pick again
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startDevServerOnce(options);
    } catch (err) {
      const chosen = options.port === undefined || options.uiPort === undefined;
      if (!(err instanceof DevServerStartError && err.exited && chosen && attempt < START_ATTEMPTS)) throw err;
    }
  }
}

async function startDevServerOnce(options: DevServerOptions): Promise<DevServer> {
  const pickPort = options.pickPort ?? freePort;
  const port = options.port ?? (await pickPort());
  const uiPort = options.uiPort ?? (await pickPort());
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  const uiUrl = `http://127.0.0.1:${uiPort}`;
  const executable = temporalExecutable();
  if (executable.type !== 'existing-path') {
    // NOTE: the SDK's download of the CLI is started by the SDK itself, without the supervisor
    const environment = await TestWorkflowEnvironment.createLocal({
      server: {
        executable,
        ip: '127.0.0.1',
        port,
        ui: true,
        uiPort,
        namespace,
        ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
        searchAttributes: METERFLOW_SEARCH_ATTRIBUTES,
        log: { format: 'pretty', level: 'error' },
      },
    });
    return { address, uiUrl, namespace, environment, stop: () => environment.teardown() };
  }
  const args = devServerArgs({ port, uiPort, namespace, ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}) });
  const { child, pid } = await startSupervised(executable.path, args, address);
  const supervisorExited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
  let environment: TestWorkflowEnvironment;
  try {
    environment = await TestWorkflowEnvironment.createFromExistingServer({ address, namespace });
  } catch (err) {
    child.stdin?.end();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    address,
    uiUrl,
    namespace,
    environment,
    pid,
    stop() {
      stopping ??= (async () => {
        await environment.teardown();
        child.stdin?.end();
        await Promise.race([supervisorExited, new Promise((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS))]);
        // the supervisor may have gone first (killed on its own); the server must go too
        if (!(await until(() => !isRunning(pid), STOP_TIMEOUT_MS))) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
      })();
      return stopping;
    },
  };
}

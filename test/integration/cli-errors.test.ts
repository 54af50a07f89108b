// The meterflow command when something is wrong: bad flags, locations it cannot write, a Temporal
// address nobody answers, a run no worker polls, and the embedded server when meterflow is killed.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { freePort, startDevServer } from '../../src/temporal/dev-server';
import { Warehouse } from '../../src/warehouse/warehouse';
import { generateSampleData } from '../../src/generator/generate';
import { tempDir } from '../support/files';
import { spawnMeterflow, spawnWorker } from '../support/processes';
import { startPipeline, waitForPipeline, type NoWorkerNotice } from '../../src/client';
import { connectToTestServer, eventually, freshQueues, startWorkers, testServerAddress } from '../support/temporal';

interface Finished {
  readonly code: number | null;
  /** stdout and stderr together, as a user sees them. */
  readonly output: string;
  readonly ms: number;
}

/** A meterflow command to its end, with how long it took. */
async function meterflow(args: string[], env: NodeJS.ProcessEnv = {}, uid?: number): Promise<Finished> {
  const started = Date.now();
  if (uid !== undefined) {
    const { spawn } = await import('node:child_process');
    const { PACKAGE_ROOT } = await import('../../src/config');
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      uid,
      gid: uid,
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    return { code, output, ms: Date.now() - started };
  }
  const child = spawnMeterflow(args, env);
  const code = await child.exited;
  await new Promise((resolve) => setTimeout(resolve, 50)); // the last chunks of output
  return { code, output: child.output(), ms: Date.now() - started };
}

/** Whether something accepts connections on a loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The pid of the Temporal CLI serving a port, from /proc. */
function temporalServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('start-dev') && args[args.indexOf('--port') + 1] === String(port) && !args.includes('-c')) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A read-only bind mount of a fresh folder, where the machine allows it (root with CAP_SYS_ADMIN). */
function readOnlyMount(dir: string): (() => void) | undefined {
  try {
    execFileSync('mount', ['--bind', '-o', 'ro', dir, dir], { stdio: 'ignore' });
    return () => execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
}

/** The variables that point `meterflow run` at workers on these queues. */
function queueVariables(queues: { writer: string; analytics: string; workflows: string }): NodeJS.ProcessEnv {
  return { METERFLOW_WORKFLOW_QUEUE: queues.workflows, METERFLOW_WRITER_QUEUE: queues.writer, METERFLOW_ANALYTICS_QUEUE: queues.analytics };
}

/** A retry of a failed activity waits at least 1 s, then 2, 4…: a command that fails this fast did not retry. */
const NO_RETRY_MS = 8_000;

describe('meterflow says what is wrong', () => {
  let dir: string;
  let sources: string;

  beforeAll(async () => {
    dir = await tempDir('cli-errors');
    sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 3, from: '2023-03-01', to: '2023-03-03', seed: 5 });
    await writeFile(path.join(dir, 'a-file'), 'not a folder');
  });

  it.each([
    [
      ['run', '--sources', 'x', '--logical-date', 'notadate'],
      "option '--logical-date <time>' argument 'notadate' is invalid. must be an ISO 8601 date",
    ],
    [['run', '--sources', 'x', '--analytics-concurrency', 'two'], "option '--analytics-concurrency <n>' argument 'two' is invalid"],
    [
      ['generate', '--out', 'x', '--from', '2023-02-30'],
      "option '--from <date>' argument '2023-02-30' is invalid. must be a day in the form YYYY-MM-DD",
    ],
    [['generate', '--out', 'x', '--from', '2023-05-01', '--to', '2023-04-01'], '--from 2023-05-01 must be before --to 2023-04-01'],
    [['dev', '--port', '70000'], "option '--port <n>' argument '70000' is invalid. must be a port number"],
  ])('refuses %j at once, naming the flag and the value (exit 2: bad usage)', async (args, message) => {
    const { code, output, ms } = await meterflow(args);
    expect(output).toContain(message);
    expect(code).toBe(2);
    expect(ms).toBeLessThan(NO_RETRY_MS);
  });

  it('refuses --analytics-concurrency with TEMPORAL_ADDRESS, where the run could not honour it (exit 2)', async () => {
    const { code, output } = await meterflow(['run', '--sources', 'x', '--analytics-concurrency', '4'], {
      TEMPORAL_ADDRESS: testServerAddress(),
    });
    expect(output).toContain(
      'meterflow: --analytics-concurrency sets the embedded workers; with TEMPORAL_ADDRESS the run goes to workers elsewhere',
    );
    expect(code).toBe(2);
  });

  it('refuses an --out it cannot create before anything starts (a folder under /proc takes none)', async () => {
    const { code, output, ms } = await meterflow([
      'run',
      '--sources',
      sources,
      '--db',
      path.join(dir, 'w-warehouse'),
      '--out',
      '/proc/meterflow-out',
    ]);
    expect(output).toContain(
      'meterflow: --out /proc/meterflow-out: cannot create folder /proc/meterflow-out: /proc does not allow new folders',
    );
    expect(output).not.toContain('embedded Temporal dev server');
    expect({ code, fast: ms < NO_RETRY_MS }).toEqual({ code: 1, fast: true });
  });

  it('refuses a --db below a file, and a --db that is a file (a single-file warehouse of an earlier meterflow)', async () => {
    const belowFile = path.join(dir, 'a-file', 'w-warehouse');
    const underFile = await meterflow(['run', '--sources', sources, '--db', belowFile, '--out', path.join(dir, 'out')]);
    expect(underFile.output).toContain(
      `meterflow: --db ${belowFile}: cannot create folder ${belowFile}: ${path.join(dir, 'a-file')} is a file, not a folder`,
    );
    expect(underFile.code).toBe(1);
    const file = path.join(dir, 'a-file');
    const asFile = await meterflow(['run', '--sources', sources, '--db', file, '--out', path.join(dir, 'out')]);
    expect(asFile.output).toContain(`meterflow: --db ${file}: cannot create folder ${file}: ${file} is a file, not a folder`);
    expect({ code: asFile.code, fast: asFile.ms < NO_RETRY_MS }).toEqual({ code: 1, fast: true });
  });

  it('refuses a folder on a read-only file system (a read-only bind mount, where the machine allows one)', async () => {
    const readOnly = path.join(dir, 'read-only');
    await mkdir(readOnly);
    const unmount = readOnlyMount(readOnly);
    if (!unmount) return console.warn('skipped: no read-only bind mount here (needs root with CAP_SYS_ADMIN)');
    try {
      const out = path.join(readOnly, 'out');
      const { code, output, ms } = await meterflow(['run', '--sources', sources, '--db', path.join(dir, 'ro-warehouse'), '--out', out]);
      expect(output).toContain(`meterflow: --out ${out}: cannot create folder ${out}: it is on a read-only file system`);
      expect({ code, fast: ms < NO_RETRY_MS }).toEqual({ code: 1, fast: true });
    } finally {
      unmount();
    }
  });

  it('refuses a folder it may not write to, for a user without permission (run as nobody when the tests run as root)', async () => {
    if (process.getuid?.() !== 0) return console.warn('skipped: needs root to start a process as another user');
    const locked = path.join(dir, 'locked');
    await mkdir(locked);
    await chmod(locked, 0o755);
    await chmod(dir, 0o755);
    const home = await tempDir('cli-errors-nobody');
    await chmod(home, 0o777);
    const db = path.join(locked, 'w-warehouse');
    const { code, output, ms } = await meterflow(
      ['run', '--sources', sources, '--db', db, '--out', path.join(home, 'out')],
      { METERFLOW_HOME: home, HOME: home },
      65534,
    );
    expect(output).toContain(`meterflow: --db ${db}: permission denied creating folder ${db}`);
    expect({ code, fast: ms < NO_RETRY_MS }).toEqual({ code: 1, fast: true });
  });

  it('fails a run whose workers cannot write the output at the first attempt, naming the path', async () => {
    // remote workers: the command cannot check their disk, so the first analytics activity meets the error
    const temporal = await connectToTestServer();
    const queues = freshQueues('unwritable');
    const workers = await startWorkers(temporal, { label: 'unwritable', warehousePath: path.join(dir, 'remote-warehouse'), queues });
    try {
      const { code, output } = await meterflow(
        ['run', '--sources', sources, '--db', path.join(dir, 'remote-warehouse'), '--out', '/proc/meterflow-remote'],
        {
          TEMPORAL_ADDRESS: testServerAddress(),
          ...queueVariables(queues),
        },
      );
      expect(code).toBe(1);
      expect(output).toMatch(
        /^error: run pipeline-\S+ failed at analytics:\S+: cannot create folder \/proc\/meterflow-remote: \/proc does not allow new folders$/m,
      );
      const workflowId = /^run (pipeline-\S+) started/m.exec(output)?.[1] as string;
      const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
      const attempts = (history.events ?? [])
        .filter((event) => event.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes?.attempt);
      expect(attempts.every((attempt) => attempt === 1)).toBe(true);
    } finally {
      await workers.stop();
      await temporal.close();
    }
  });

  it('names the S3 URI and the variables to set when there are no AWS credentials, without retrying', async () => {
    const noCredentials = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
      AWS_CONFIG_FILE: path.join(dir, 'no-config'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const { code, output, ms } = await meterflow(
      ['generate', '--out', 's3://cli-errors/sources', '--meters', '2', '--from', '2023-01-01', '--to', '2023-01-02'],
      noCredentials,
    );
    expect(output).toMatch(
      /meterflow: s3:\/\/cli-errors\/sources\/\S+: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*or AWS_PROFILE/,
    );
    // on Node 20 the AWS SDK would add six lines on the Node 22 its later releases need (bin/meterflow.js)
    expect(output).not.toContain('NodeVersionSupportWarning');
    expect({ code, fast: ms < NO_RETRY_MS }).toEqual({ code: 1, fast: true });
  });

  it('names TEMPORAL_ADDRESS and the namespace when nothing answers there, at once', async () => {
    const closed = await freePort();
    const { code, output, ms } = await meterflow(['run', '--sources', sources], { TEMPORAL_ADDRESS: `127.0.0.1:${closed}` });
    expect(output).toContain(`meterflow: cannot reach Temporal at 127.0.0.1:${closed} (namespace default): connection refused`);
    expect(output).not.toMatch(/tonic|grpc|Failed to connect before the deadline/i);
    expect({ code, fast: ms < 12_000 }).toEqual({ code: 1, fast: true });
  });

  it('starts a writer beside a reader that holds the warehouse open, and answers queries beside an idle writer', async () => {
    const db = path.join(dir, 'read-warehouse');
    (await Warehouse.open(db)).close();
    const { spawn } = await import('node:child_process');
    // a reader holding the lake open, as an analyst's duckdb shell would
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `require('./dist/warehouse/warehouse').openWarehouseReader(${JSON.stringify(db)}).then(() => { console.log('open'); setInterval(() => {}, 1000); })`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: path.resolve(__dirname, '..', '..') },
    );
    // its own queues: a writer refuses a queue the writer of another warehouse serves
    const writer = spawnMeterflow(['worker', '--role', 'writer', '--db', db], {
      TEMPORAL_ADDRESS: testServerAddress(),
      ...queueVariables(freshQueues('beside-reader')),
    });
    try {
      await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
      await eventually(async () => {
        if (writer.process.exitCode !== null) throw new Error(`the writer exited: ${writer.output()}`);
        return /meterflow worker \(writer\) polling/.test(writer.stderr());
      }, 60_000);
      const { code, output } = await meterflow([
        'query',
        '--db',
        db,
        // a new warehouse holds meterflow's state tables only
        "select count(*) as n from information_schema.tables where table_catalog = current_database() and table_schema <> 'meterflow'",
      ]);
      expect(output).not.toMatch(/lock/i);
      expect({ code, output }).toEqual({ code: 0, output: 'n\n-\n0\n(1 row)\n' });
    } finally {
      holder.kill('SIGKILL');
      await writer.kill('SIGTERM');
    }
  });
});

describe('a run no worker picks up', () => {
  it("uses the contract's queue names in the workflow module", async () => {
    const { ANALYTICS_QUEUE, WRITER_QUEUE } = await import('../../src/workflows/pipeline');
    const { ANALYTICS_QUEUE_NAME, WRITER_QUEUE_NAME } = await import('../../src/contract/queues');
    expect({ writer: WRITER_QUEUE_NAME, analytics: ANALYTICS_QUEUE_NAME }).toEqual({ writer: WRITER_QUEUE, analytics: ANALYTICS_QUEUE });
  });

  it('refuses at once a run whose warehouse no writer serves, naming the command that starts one, then runs once one does', async () => {
    const dir = await tempDir('cli-no-worker');
    const sources = path.join(dir, 'sources');
    const db = path.join(dir, 'late-warehouse');
    await generateSampleData({ outDir: sources, meters: 3, from: '2023-04-01', to: '2023-04-03', seed: 6 });
    // fresh queues: pollers of earlier tests' workers stay listed on the server for a while
    const queues = freshQueues('late');
    const env = { TEMPORAL_ADDRESS: testServerAddress(), ...queueVariables(queues) };
    const refused = await meterflow(['run', '--sources', sources, '--db', db, '--out', path.join(dir, 'out')], env);
    expect(refused.output).toContain(
      `meterflow: no worker serves the warehouse ${db} at ${testServerAddress()} (namespace default): its writer queue ${queues.writer} has no poller, ` +
        `so the run was not started; start its writer with: meterflow worker --role writer --db ${db} --writer-queue ${queues.writer}`,
    );
    expect({ code: refused.code, fast: refused.ms < 15_000 }).toEqual({ code: 1, fast: true });
    const temporal = await connectToTestServer();
    const workers = await startWorkers(temporal, { label: 'late', warehousePath: db, queues });
    try {
      const ran = await meterflow(['run', '--sources', sources, '--db', db, '--out', path.join(dir, 'out')], env);
      expect(ran.code).toBe(0);
      expect(ran.output).toMatch(new RegExp(`^warehouse: ${db}$`, 'm'));
    } finally {
      await workers.stop();
      await temporal.close();
    }
  });
});

describe('a run whose months no build worker picks up', () => {
  it('names the build queue the run waits on, from the queues it was started with, then completes once a build worker starts', async () => {
    const dir = await tempDir('no-builder');
    const sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 3, from: '2023-04-01', to: '2023-04-03', seed: 7 });
    const queues = freshQueues('no-builder');
    const address = testServerAddress();
    // a writer that builds no months itself, and no build worker yet
    const workers = [
      spawnWorker({ role: 'writer', address, queues, db: path.join(dir, 'no-builder-warehouse'), args: ['--build-concurrency', '0'] }),
      spawnWorker({ role: 'analytics', address, queues }),
    ];
    const temporal = await connectToTestServer();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    try {
      await eventually(async () => workers.every((worker) => /polling/.test(worker.output())), 60_000);
      const handle = await startPipeline(
        temporal.client,
        { sourcesUri: sources, outUri: path.join(dir, 'out'), writerQueue: queues.writer, analyticsQueue: queues.analytics },
        { taskQueue: queues.workflows },
      );
      const notices: NoWorkerNotice[] = [];
      process.on('warning', onWarning);
      // the wait is not told the run's queues: it reads them from the run; it asks for the result in
      // rounds of 200 ms here (two minutes by default), so it asks many times while it waits
      const done = waitForPipeline(handle, { onNoWorker: (notice) => notices.push(notice), noWorkerAfterMs: 1000, resultRoundMs: 200 });
      // a round of no length would ask again without end
      await expect(waitForPipeline(handle, { resultRoundMs: 0 })).rejects.toThrow(
        'resultRoundMs must be a positive number of milliseconds, not 0',
      );
      await eventually(async () => notices.length > 0, 60_000);
      const buildQueue = `${queues.writer}-build`;
      expect(notices).toEqual([
        expect.objectContaining({
          taskQueue: buildQueue,
          role: 'build',
          message: expect.stringContaining(`start one with meterflow worker --role build --build-queue ${buildQueue}`),
        }),
      ]);
      workers.push(spawnWorker({ role: 'build', address, queues }));
      const result = await done;
      expect(result.nodes.filter((node) => node.state === 'failed')).toEqual([]);
      expect(result.nodes.find((node) => node.id === 'model:demand_price_elasticity')).toMatchObject({ state: 'succeeded' });
      expect(warnings.map((warning) => warning.name)).not.toContain('MaxListenersExceededWarning');
      // only the queue nobody polled was named: not the writer's or the analytics workers'
      expect(notices.map((notice) => notice.taskQueue)).toEqual([buildQueue]);
    } finally {
      process.off('warning', onWarning);
      await Promise.all(workers.map((worker) => worker.kill('SIGTERM')));
      await temporal.close();
    }
  });
});

describe('the embedded Temporal server', () => {
  let sources: string;

  it('starts on other ports when one it picked is taken before the server binds it', async () => {
    // a port held by another process, handed out as if it were free
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    let picks = 0;
    const server = await startDevServer({ pickPort: async () => (picks++ === 0 ? taken : freePort()) });
    try {
      expect(server.address).not.toBe(`127.0.0.1:${taken}`);
      expect(picks).toBeGreaterThan(2);
      expect((await server.environment.client.workflowService.getSystemInfo({})).serverVersion).toBeDefined();
    } finally {
      await server.stop();
      holder.close();
    }
  });

  beforeAll(async () => {
    const dir = await tempDir('cli-kill');
    sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 20, from: '2023-01-01', to: '2023-03-01', seed: 8 });
  });

  it.each(['SIGKILL', 'SIGTERM'] as const)('goes away when meterflow run is killed with %s', async (signal) => {
    const dir = await tempDir(`cli-${signal}`);
    const run = spawnMeterflow(['run', '--sources', sources, '--db', path.join(dir, 'w-warehouse'), '--out', path.join(dir, 'out')]);
    try {
      const port = Number(
        await eventually(async () => /embedded Temporal dev server at 127\.0\.0\.1:(\d+)/.exec(run.output())?.[1], 60_000),
      );
      const pid = temporalServerPid(port) as number;
      expect(pid).toBeGreaterThan(0);
      await eventually(async () => /^run pipeline-\S+ started/m.test(run.output()), 60_000);
      process.kill(run.process.pid as number, signal);
      const code = await run.exited;
      if (signal === 'SIGTERM') {
        expect(code).toBe(130);
        expect(run.output()).toContain('meterflow: SIGTERM received: cancelling run pipeline-');
        // stopped before meterflow exited, not after
        expect({ listening: await listening(port), running: running(pid) }).toEqual({ listening: false, running: false });
      }
      // the supervisor gives the server 5 s to stop after TERM before it kills it
      await eventually(async () => !(await listening(port)) && !running(pid), 15_000);
    } finally {
      await run.kill();
    }
  });
});

// The meterflow command as an operator meets it: a namespace without the search attributes, a
// workflow task that keeps failing, Ctrl-C and SIGTERM on runs and workers, exit codes and streams,
// the default Temporal address.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import net from 'node:net';
import path from 'node:path';
import { WorkflowTaskFailingError } from '../../src/errors';
import { generateSampleData } from '../../src/generator/generate';
import { connectClient, startPipeline, waitForPipeline } from '../../src/client';
import { freePort } from '../../src/temporal/dev-server';
import { tempDir } from '../support/files';
import { spawnMeterflow, spawnTemporalServer, spawnWorker, type Child } from '../support/processes';
import { connectToTestServer, eventually, freshQueues, startWorkers, testServerAddress } from '../support/temporal';

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** A meterflow command to its end, with its two streams apart and how long it took. */
async function meterflow(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  const started = Date.now();
  const child = spawnMeterflow(args, env);
  const code = await child.exited;
  await new Promise((resolve) => setTimeout(resolve, 50)); // the last chunks of output
  return { code, stdout: child.stdout(), stderr: child.stderr(), ms: Date.now() - started };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The variables that point `meterflow run` at workers on these queues. */
function queueVariables(queues: { writer: string; analytics: string; workflows: string }): NodeJS.ProcessEnv {
  return { METERFLOW_WORKFLOW_QUEUE: queues.workflows, METERFLOW_WRITER_QUEUE: queues.writer, METERFLOW_ANALYTICS_QUEUE: queues.analytics };
}

const MISSING =
  "lacks meterflow's search attributes MeterflowRunKind (Keyword), MeterflowLogicalDate (Datetime), MeterflowModelsSelected (KeywordList): " +
  'register them once with TEMPORAL_ADDRESS=';

let sources: string;

beforeAll(async () => {
  sources = path.join(await tempDir('cli-ops'), 'sources');
  // big enough that a run is still seeding a second after it starts
  await generateSampleData({ outDir: sources, meters: 20, from: '2023-01-01', to: '2023-03-01', seed: 12 });
});

describe('a Temporal server where meterflow setup was never run', () => {
  let server: Child;
  let address: string;

  beforeAll(async () => {
    const port = await freePort();
    address = `127.0.0.1:${port}`;
    server = await spawnTemporalServer(port, undefined, { searchAttributes: false });
  });

  afterAll(async () => {
    await server.kill('SIGTERM');
  });

  it('a worker refuses to start, naming the missing search attributes and meterflow setup', async () => {
    const { code, stdout, stderr, ms } = await meterflow(['worker', '--role', 'analytics'], { TEMPORAL_ADDRESS: address });
    expect(stderr).toContain(`meterflow: namespace default at ${address} ${MISSING}${address} meterflow setup`);
    expect({ code, stdout, fast: ms < 15_000 }).toEqual({ code: 1, stdout: '', fast: true });
  });

  it('a run stops at once with the same message, on stderr, and starts nothing', async () => {
    const { code, stdout, stderr, ms } = await meterflow(['run', '--sources', sources], { TEMPORAL_ADDRESS: address });
    expect(stderr).toContain(`meterflow: namespace default at ${address} ${MISSING}`);
    expect(stderr).not.toMatch(/^run pipeline-/m);
    expect({ code, stdout, fast: ms < 15_000 }).toEqual({ code: 1, stdout: '', fast: true });
  });

  it('a worker from before the check fails every workflow task: the wait says so within a minute', async () => {
    // such a worker never checks; the run it takes fails its first workflow task on the search attributes
    const connection = await (await import('@temporalio/worker')).NativeConnection.connect({ address });
    const queues = freshQueues('unchecked');
    const taskQueue = queues.workflows;
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: { codePath: path.resolve(__dirname, '..', '..', 'dist', 'workflow-bundle.js') },
    });
    const running = worker.run();
    const client = await connectClient({ address });
    try {
      // a writer queue named, no warehouse: the run starts without a writer check, as such a worker's runs did
      const handle = await startPipeline(client, { sourcesUri: sources, outUri: '/tmp/unused', writerQueue: queues.writer }, { taskQueue });
      const started = Date.now();
      const failure = await waitForPipeline(handle, { stopOnFailingWorkflowTask: true, onNoWorker: false }).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowTaskFailingError);
      expect((failure as WorkflowTaskFailingError).reason).toMatch(
        /BadSearchAttributes: .*no mapping defined for search attribute Meterflow/,
      );
      expect(Date.now() - started).toBeLessThan(60_000);
      expect((await handle.describe()).status.name).toBe('RUNNING'); // the run stays open for a fixed worker
      await handle.terminate('test over');
    } finally {
      worker.shutdown();
      await running;
      await client.connection.close();
      await connection.close();
    }
  });

  it('after meterflow setup a worker starts, and stops on SIGTERM saying so once, exit 0', async () => {
    const setup = await meterflow(['setup'], { TEMPORAL_ADDRESS: address });
    expect(setup).toMatchObject({ code: 0, stdout: expect.stringContaining('registered MeterflowRunKind') });
    const worker = spawnWorker({ role: 'analytics', address, queues: freshQueues('setup') });
    try {
      await eventually(async () => worker.output().includes('polling'), 30_000);
      worker.process.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => worker.process.once('exit', resolve));
      expect(code).toBe(0);
      expect(worker.output().match(/SIGTERM received/g)).toEqual(['SIGTERM received']);
      expect(worker.output()).toContain('meterflow worker: SIGTERM received: finishing in-flight activities, then stopping');
    } finally {
      await worker.kill();
    }
  });
});

describe('a workflow task that keeps failing', () => {
  it('ends meterflow run within a minute with exit 1 and the reason on stderr', async () => {
    const temporal = await connectToTestServer();
    const queues = freshQueues('broken');
    const worker = await Worker.create({
      connection: temporal.workerConnection,
      taskQueue: queues.workflows,
      workflowsPath: require.resolve('../fixtures/broken-workflow'),
    });
    const running = worker.run();
    // the run's warehouse has a writer (on a workflow queue of its own), so the run starts and meets the broken workflow
    const db = path.join(await tempDir('cli-ops-broken'), 'warehouse');
    const writer = await startWorkers(temporal, {
      label: 'broken',
      warehousePath: db,
      queues: { ...queues, workflows: freshQueues('unused').workflows },
    });
    try {
      const { code, stdout, stderr, ms } = await meterflow(['run', '--sources', sources, '--db', db], {
        TEMPORAL_ADDRESS: testServerAddress(),
        ...queueVariables(queues),
      });
      expect(stderr).toMatch(
        /^error: run (pipeline-\S+) cannot go on: its workflow task has failed \d+ times in a row: the meter map is upside down\. The run stays open/m,
      );
      expect({ code, stdout, withinAMinute: ms < 60_000 }).toEqual({ code: 1, stdout: '', withinAMinute: true });
      const workflowId = /^run (pipeline-\S+) started/m.exec(stderr)?.[1] as string;
      await temporal.client.workflow.getHandle(workflowId).terminate('test over');
    } finally {
      worker.shutdown();
      await running;
      await writer.stop();
      await temporal.close();
    }
  });
});

/**
 * How a run ended: its status, and for a failed run whether the failure is a cancellation.
 * NOTE: the pipeline workflow names the node a cancellation reached (a PipelineNodeFailed wrapping
 * it, in src/workflows/run-state.ts), so a cancelled run ends FAILED for now; either means the cancel ended it.
 */
async function howItEnded(handle: WorkflowHandle): Promise<string> {
  const status = (await handle.describe()).status.name;
  if (status !== 'FAILED') return status;
  const events = (await handle.fetchHistory()).events ?? [];
  let failure = events.find((event) => event.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure;
  while (failure && !failure.canceledFailureInfo) failure = failure.cause;
  return failure ? 'FAILED (cancelled)' : 'FAILED';
}

const ENDED_BY_THE_CANCEL = /^(CANCELLED|FAILED \(cancelled\))$/;

/** Send a signal as a terminal or a supervisor would: Ctrl-C to the whole process group, SIGTERM to the process. */
function interrupt(child: Child, signal: 'SIGINT' | 'SIGTERM'): void {
  const pid = child.process.pid as number;
  process.kill(signal === 'SIGINT' ? -pid : pid, signal);
}

/**
 * `meterflow run` against the test server, in its own process group, with workers of its own: once its
 * first seed has started. `stop` ends the command, the workers and the connection.
 */
async function remoteRunUnderway(label: string) {
  const dir = await tempDir(`cli-ops-${label}`);
  const temporal = await connectToTestServer();
  const workers = await startWorkers(temporal, { label, warehousePath: path.join(dir, 'w-warehouse') });
  const run = spawnMeterflow(
    ['run', '--sources', sources, '--db', path.join(dir, 'w-warehouse'), '--out', path.join(dir, 'out')],
    { TEMPORAL_ADDRESS: testServerAddress(), ...queueVariables(workers.queues) },
    { processGroup: true },
  );
  const stop = async () => {
    await run.kill();
    await workers.stop();
    await temporal.close();
  };
  try {
    await eventually(async () => /^ ?\d+ of \d+ START seed /m.test(run.stderr()), 60_000, 50);
  } catch (err) {
    await stop();
    throw err;
  }
  const workflowId = /^run (pipeline-\S+) started/m.exec(run.stderr())?.[1] as string;
  return { temporal, run, workflowId, stop };
}

describe.each(['SIGINT', 'SIGTERM'] as const)('%s on meterflow run', (signal) => {
  it('cancels a run on TEMPORAL_ADDRESS, says so once, exits 130 within 15 s and leaves it cancelled', async () => {
    const { temporal, run, workflowId, stop } = await remoteRunUnderway(`remote-${signal}`);
    try {
      const sent = Date.now();
      interrupt(run, signal);
      const code = await run.exited;
      expect({ code, within15s: Date.now() - sent < 15_000 }).toEqual({ code: 130, within15s: true });
      expect(run.stderr().match(/received/g)).toHaveLength(1);
      expect(run.stderr()).toContain(`meterflow: ${signal} received: cancelling run ${workflowId} (Ctrl-C again exits at once)`);
      expect(run.stdout()).toBe('');
      expect(await howItEnded(temporal.client.workflow.getHandle(workflowId))).toMatch(ENDED_BY_THE_CANCEL);
    } finally {
      await stop();
    }
  });

  it('cancels an embedded run first, then stops the server quietly, exits 130 within 15 s', async () => {
    const dir = await tempDir(`cli-ops-embedded-${signal}`);
    const run = spawnMeterflow(
      ['run', '--sources', sources, '--db', path.join(dir, 'w-warehouse'), '--out', path.join(dir, 'out')],
      {},
      { processGroup: true },
    );
    let client: Client | undefined;
    try {
      const port = Number(
        await eventually(async () => /embedded Temporal dev server at 127\.0\.0\.1:(\d+)/.exec(run.stderr())?.[1], 60_000),
      );
      client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${port}` }) });
      await eventually(async () => /^ ?\d+ of \d+ START seed /m.test(run.stderr()), 60_000, 50);
      const workflowId = /^run (pipeline-\S+) started/m.exec(run.stderr())?.[1] as string;
      const handle = client.workflow.getHandle(workflowId);
      const sent = Date.now();
      interrupt(run, signal);
      // how the run ended, seen on the embedded server before it went away with meterflow (when this
      // poll is quick enough: a loaded machine may stop the server between two polls) and, whatever
      // the timing, in the command's own line, which it takes from the server's result of the run
      let lastSeen = 'RUNNING';
      const watching = (async () => {
        while (run.process.exitCode === null && lastSeen === 'RUNNING') {
          lastSeen = await howItEnded(handle).catch(() => lastSeen);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const code = await run.exited;
      expect({ code, within15s: Date.now() - sent < 15_000 }).toEqual({ code: 130, within15s: true });
      await watching;
      if (lastSeen !== 'RUNNING') expect(lastSeen).toMatch(ENDED_BY_THE_CANCEL);
      const afterSignal = run.stderr().slice(run.stderr().indexOf(`${signal} received`));
      expect(afterSignal.trim()).toBe(
        `${signal} received: cancelling run ${workflowId} (Ctrl-C again exits at once)\nmeterflow: run ${workflowId} cancelled`,
      );
      expect(run.stdout()).toBe('');
      expect(await listening(port)).toBe(false);
    } finally {
      await run.kill();
      await client?.connection.close();
    }
  });
});

describe('a second Ctrl-C', () => {
  it('exits at once, saying the run may go on', async () => {
    const { run, workflowId, stop } = await remoteRunUnderway('twice');
    try {
      interrupt(run, 'SIGINT');
      await eventually(async () => run.stderr().includes('cancelling run'), 5_000, 20);
      const second = Date.now();
      interrupt(run, 'SIGINT');
      expect(await run.exited).toBe(130);
      expect(Date.now() - second).toBeLessThan(2_000);
      expect(run.stderr()).toContain(
        `meterflow: SIGINT received again: exiting now; run ${workflowId} may go on at ${testServerAddress()} (meterflow status ${workflowId})`,
      );
    } finally {
      await stop();
    }
  });
});

describe('exit codes and streams', () => {
  it('prints the version from package.json on stdout, exit 0', async () => {
    const { version } = (await import('../../package.json')) as { version: string };
    expect(await meterflow(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('lists the exit codes in --help', async () => {
    const { code, stdout } = await meterflow(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*bad usage.*\n {2}130 .*interrupted/);
  });

  it.each([[['run', '--sources']], [['run', '--no-such-flag', '--sources', 'x']], [['no-such-command']], [[]]])(
    'exits 2 on bad usage %j, with the error on stderr only',
    async (args) => {
      const { code, stdout, stderr } = await meterflow(args);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).not.toBe('');
    },
  );

  it('refuses an env: webhook that is not set where an embedded run would read it, before anything starts (exit 2)', async () => {
    const dir = await tempDir('cli-ops-unset-hook');
    const { code, stdout, stderr } = await meterflow([
      'run',
      '--sources',
      dir,
      '--db',
      path.join(dir, 'wh'),
      '--out',
      path.join(dir, 'out'),
      '--notify',
      'env:METERFLOW_TEST_UNSET_HOOK',
    ]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr.trim()).toBe(
      "meterflow: --notify env:METERFLOW_TEST_UNSET_HOOK: not set in this environment, where the run's embedded workers read it; set it, or give the URL",
    );
  });

  it('puts a failed run on stderr only: its error, and no warehouse line', async () => {
    const dir = await tempDir('cli-ops-failed');
    const { code, stdout, stderr } = await meterflow([
      'run',
      '--sources',
      path.join(dir, 'no-such-folder'),
      '--db',
      path.join(dir, 'w-warehouse'),
      '--out',
      path.join(dir, 'out'),
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: run pipeline-\S+ failed at seed:\w+: source \w+: no Parquet files at .*no-such-folder/m);
    expect(stdout).toBe('');
    expect(stderr).not.toContain('warehouse:');
  });
});

describe('the default Temporal address', () => {
  it('is 127.0.0.1:7233 for status, schedule and worker when TEMPORAL_ADDRESS is unset', async () => {
    if (await listening(7233)) {
      // someone's server is there: the commands reach it, which is the point
      expect((await meterflow(['schedule', 'list'])).code).toBe(0);
      return console.warn('7233 is taken: checked that schedule list reaches it, not the message for a closed port');
    }
    for (const args of [['status'], ['schedule', 'list'], ['worker', '--role', 'analytics']]) {
      const { code, stderr } = await meterflow(args);
      expect({ args, code }).toEqual({ args, code: 1 });
      expect(stderr).toContain('meterflow: cannot reach Temporal at 127.0.0.1:7233 (namespace default): connection refused');
    }
    const server = await spawnTemporalServer(7233);
    try {
      const status = await meterflow(['status']);
      expect(status).toMatchObject({ code: 1, stderr: 'meterflow: no pipeline runs on this server yet\n' });
      expect(await meterflow(['schedule', 'list'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    } finally {
      await server.kill('SIGTERM');
    }
  });
});

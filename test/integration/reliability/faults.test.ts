// Faults survived, each with real processes: a writer killed mid-build, an analytics worker killed
// mid-query, the Temporal server stopped and started mid-run, the S3 server unreachable for a while,
// and a second writer on one warehouse. Each run must complete with the tables of an undisturbed run.
import { Client, Connection } from '@temporalio/client';
import path from 'node:path';
import { getProgress, startPipeline, waitForPipeline } from '../../../src/client';
import { generateSampleData } from '../../../src/generator/generate';
import { freePort } from '../../../src/temporal/dev-server';
import { createStorageResolver, uploadDirectory } from '../../../src/storage';
import type { PipelineInput, PipelineResult } from '../../../src/contract/run';
import { recordChaos } from '../../support/chaos';
import { queryFile, tableChecksumSql, tempDir } from '../../support/files';
import { OutageProxy, spawnTemporalServer, spawnWorker, type Child } from '../../support/processes';
import { createBucket } from '../../support/s3-server';
import {
  connectToTestServer,
  eventually,
  freshQueues,
  startedActivity,
  startWorkers,
  testServerAddress,
  type TemporalTestContext,
} from '../../support/temporal';

const MASTER = 'main.demand_price_elasticity';

describe('faults survived', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;
  let reference: { checksum: Record<string, unknown>[]; rows: number };

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('faults');
    sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 300, from: '2023-05-01', to: '2023-07-01', seed: 23 });
    // the undisturbed run every disturbed one must equal
    const warehousePath = path.join(dir, 'reference-warehouse');
    const workers = await startWorkers(temporal, { label: 'reference', warehousePath });
    try {
      const handle = await startPipeline(temporal.client, input(workers.queues, 'reference'), { taskQueue: workers.queues.workflows });
      await waitForPipeline(handle);
    } finally {
      await workers.stop();
    }
    const checksum = await queryFile(warehousePath, tableChecksumSql(MASTER));
    reference = { checksum, rows: Number(checksum[0]?.n) };
  });

  afterAll(() => temporal.close());

  function input(queues: { writer: string; analytics: string }, label: string, sourcesUri = sources): PipelineInput {
    return { sourcesUri, outUri: path.join(dir, `out-${label}`), writerQueue: queues.writer, analyticsQueue: queues.analytics };
  }

  /** The disturbed run's master table against the undisturbed one's, recorded for `npm run chaos`. */
  async function expectLikeReference(name: string, warehousePath: string, result: PipelineResult, note: string): Promise<void> {
    expect(result.nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
    const checksum = await queryFile(warehousePath, tableChecksumSql(MASTER));
    const [keys] = await queryFile(
      warehousePath,
      `select count(distinct (meter_point_id, settlement_timestamp_utc))::integer as n from ${MASTER}`,
    );
    expect(checksum).toEqual(reference.checksum);
    const rows = Number(checksum[0]?.n);
    await recordChaos({
      category: 'fault',
      name,
      runsCompleted: '1/1',
      rowsLost: Math.max(0, reference.rows - Number(keys?.n)),
      rowsDuplicated: rows - Number(keys?.n),
      tablesUnchanged: 'all equal to an undisturbed run',
      outcome: note,
    });
  }

  const retried = async (client: Client, workflowId: string, activityType: string) => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).filter(
      (e) =>
        e.activityTaskScheduledEventAttributes?.activityType?.name === activityType &&
        (history.events ?? []).some(
          (s) =>
            Number(s.activityTaskStartedEventAttributes?.scheduledEventId) === Number(e.eventId) &&
            (s.activityTaskStartedEventAttributes?.attempt ?? 1) > 1,
        ),
    ).length;
  };

  it('completes when the writer is killed with SIGKILL while it builds the master table and is started again', async () => {
    const queues = freshQueues('kill-writer');
    const warehousePath = path.join(dir, 'killed-writer-warehouse');
    const env = { METERFLOW_DUCKDB_THREADS: '1' };
    let writer = spawnWorker({ role: 'writer', address: testServerAddress(), queues, db: warehousePath, env });
    const analytics = spawnWorker({ role: 'analytics', address: testServerAddress(), queues });
    try {
      const handle = await startPipeline(temporal.client, input(queues, 'kill-writer'), { taskQueue: queues.workflows });
      // one of the master's own build activities started on the writer (the readings' months are done
      // by then; the overlapping-readings test's months share the queue, so the master running is not enough)
      // The writer is frozen (SIGSTOP) before the check that decides the kill, so that the activity seen
      // started cannot finish between the check and the SIGKILL; if none is started, it goes on (SIGCONT).
      await eventually(
        async () => {
          if ((await getProgress(handle)).nodes.find((n) => n.id === 'model:demand_price_elasticity')?.state !== 'running') return false;
          if ((await startedActivity(handle, ['planBuildMonths', 'buildMonth'])) === undefined) return false;
          writer.signal('SIGSTOP');
          const still = await startedActivity(handle, ['planBuildMonths', 'buildMonth', 'commitBuiltMonths']).catch(() => undefined);
          if (still !== undefined) return true;
          writer.signal('SIGCONT');
          return false;
        },
        120_000,
        20,
      );
      await writer.kill('SIGKILL');
      writer = spawnWorker({ role: 'writer', address: testServerAddress(), queues, db: warehousePath, env });
      const result = await waitForPipeline(handle);
      // the writer builds the master's months too (no build worker here), then commits them
      const retries = await Promise.all(
        ['planBuildMonths', 'buildMonth', 'commitBuiltMonths'].map((type) => retried(temporal.client, handle.workflowId, type)),
      );
      expect(retries.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
      await writer.kill('SIGTERM');
      await expectLikeReference(
        'writer killed (SIGKILL) mid master build',
        warehousePath,
        result,
        'master build retried on the restarted writer after the heartbeat timeout',
      );
    } finally {
      await writer.kill();
      await analytics.kill();
    }
  });

  it('retries an analytics activity on another worker when its worker is killed mid-query', async () => {
    const queues = freshQueues('kill-analytics');
    const warehousePath = path.join(dir, 'killed-analytics-warehouse');
    const writer = spawnWorker({ role: 'writer', address: testServerAddress(), queues, db: warehousePath });
    const env = { METERFLOW_DUCKDB_THREADS: '1' };
    const first = spawnWorker({ role: 'analytics', address: testServerAddress(), queues, env });
    const second = spawnWorker({ role: 'analytics', address: testServerAddress(), queues, env });
    try {
      const handle = await startPipeline(temporal.client, input(queues, 'kill-analytics'), { taskQueue: queues.workflows });
      // both workers take one analytics activity at a time from eight: each is busy until the queue drains
      await eventually(
        async () => (await getProgress(handle)).nodes.filter((n) => n.kind === 'analytics' && n.state === 'running').length >= 2,
        120_000,
        20,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await first.kill('SIGKILL');
      const result = await waitForPipeline(handle);
      expect(await retried(temporal.client, handle.workflowId, 'runAnalyticsModel')).toBeGreaterThanOrEqual(1);
      await writer.kill('SIGTERM');
      await expectLikeReference(
        'analytics worker killed mid-query',
        warehousePath,
        result,
        'its activity retried on the other analytics worker',
      );
    } finally {
      await Promise.all([writer.kill(), first.kill(), second.kill()]);
    }
  });

  it('resumes and completes when the Temporal server is stopped and started again mid-run', async () => {
    const port = await freePort();
    const dbFilename = path.join(dir, 'temporal.sqlite');
    let server = await spawnTemporalServer(port, dbFilename);
    const address = `127.0.0.1:${port}`;
    const queues = freshQueues('server-restart');
    const warehousePath = path.join(dir, 'server-restart-warehouse');
    const writer = spawnWorker({ role: 'writer', address, queues, db: warehousePath });
    const analytics = spawnWorker({ role: 'analytics', address, queues });
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection });
      const handle = await startPipeline(client, input(queues, 'server-restart'), { taskQueue: queues.workflows });
      await eventually(async () => (await getProgress(handle)).nodes.some((n) => n.kind === 'seed' && n.state === 'succeeded'), 60_000, 50);
      await server.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      server = await spawnTemporalServer(port, dbFilename);
      const result = await eventually(
        async () => {
          try {
            return await client.workflow.getHandle(handle.workflowId).result();
          } catch {
            return undefined;
          }
        },
        120_000,
        500,
      );
      await writer.kill('SIGTERM');
      await expectLikeReference(
        'Temporal server stopped and started mid-run',
        warehousePath,
        result as PipelineResult,
        'the run resumed from its persisted history',
      );
    } finally {
      await Promise.all([writer.kill(), analytics.kill()]);
      await connection.close();
      await server.kill('SIGTERM');
    }
  });

  it('completes when the S3 server is unreachable for a while', async () => {
    const endpoint = process.env.METERFLOW_TEST_S3_ENDPOINT as string;
    const bucket = `outage-${Date.now()}`;
    await createBucket(endpoint, bucket);
    await uploadDirectory(createStorageResolver(), sources, `s3://${bucket}/sources`);
    const proxy = new OutageProxy(Number(new URL(endpoint).port), await freePort());
    await proxy.up();
    const queues = freshQueues('s3-outage');
    const warehousePath = path.join(dir, 's3-outage-warehouse');
    const env = { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${proxy.port}`, METERFLOW_S3_CACHE: path.join(dir, 's3-outage-cache') };
    const workers: Child[] = [
      spawnWorker({ role: 'writer', address: testServerAddress(), queues, db: warehousePath, env }),
      spawnWorker({ role: 'analytics', address: testServerAddress(), queues, env }),
    ];
    try {
      const handle = await startPipeline(temporal.client, input(queues, 's3-outage', `s3://${bucket}/sources`), {
        taskQueue: queues.workflows,
      });
      await eventually(async () => (await getProgress(handle)).nodes.some((n) => n.kind === 'seed' && n.state === 'running'), 60_000, 20);
      await proxy.down();
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      await proxy.up();
      const result = await waitForPipeline(handle);
      await workers[0]?.kill('SIGTERM');
      await expectLikeReference(
        'S3 server unreachable for 4 s',
        warehousePath,
        result,
        'S3 calls retried by the SDK, then by Temporal, until it was back',
      );
    } finally {
      await Promise.all(workers.map((w) => w.kill()));
      await proxy.down();
    }
  });

  it('refuses a second writer on a warehouse another writer holds', async () => {
    const queues = freshQueues('two-writers');
    const warehousePath = path.join(dir, 'two-writers-warehouse');
    const first = spawnWorker({ role: 'writer', address: testServerAddress(), queues, db: warehousePath });
    try {
      await eventually(async () => first.output().includes('polling'), 30_000, 100);
      const second = spawnWorker({ role: 'writer', address: testServerAddress(), queues, db: warehousePath });
      await new Promise<void>((resolve) => second.process.once('exit', () => resolve()));
      expect(second.process.exitCode).toBe(1);
      expect(second.output()).toMatch(
        /warehouse .*two-writers-warehouse is already open by another process \(pid \d+\): only one writer worker may own a warehouse$/m,
      );
      expect(first.process.exitCode).toBeNull();
      await recordChaos({
        category: 'fault',
        name: 'second writer on one warehouse',
        runsCompleted: 'n/a',
        rowsLost: 0,
        rowsDuplicated: 0,
        tablesUnchanged: 'all (it never opens the file)',
        outcome: 'refused at start: warehouse already open by another process',
      });
    } finally {
      await first.kill('SIGTERM');
    }
  });
});

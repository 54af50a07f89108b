// The compose deployment rehearsed on one machine, as separate machines would run it: a Temporal
// server, the lake's catalog in PostgreSQL, the sources, the lake's data and the runs' output in an
// S3-compatible server, and the writer, two build workers and two analytics workers as processes of
// their own, each in a working folder, home and temporary folder of its own (no folder is shared, as
// between containers; the DuckDB extensions and the project are the image's, read-only). A build worker
// and an analytics worker are killed mid-run: the run ends green and its master equals the reference.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { getProgress, waitForPipeline } from '../../src/client';
import { duckdbExtensionDirectory } from '../../src/duckdb/settings';
import { generateSampleData } from '../../src/generator/generate';
import { createStorageResolver, uploadDirectory } from '../../src/storage';
import { tempDir } from '../support/files';
import { createTestDatabase } from '../support/postgres-server';
import { spawnWorker, type Child } from '../support/processes';
import { differencesFromReference } from '../support/reference-master';
import { createBucket } from '../support/s3-server';
import {
  connectToTestServer,
  eventually,
  freshQueues,
  startRun,
  startedActivity,
  testServerAddress,
  type TemporalTestContext,
} from '../support/temporal';

describe('a rehearsal of the multi-machine deployment', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  const running: Child[] = [];

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('rehearsal');
  });
  afterAll(async () => {
    await Promise.all(running.map((child) => child.kill('SIGTERM')));
    await temporal.close();
  });

  /** A worker on a machine of its own: its working folder, home and temporary folder are its alone. */
  async function machine(
    name: string,
    role: 'writer' | 'build' | 'analytics',
    queues: ReturnType<typeof freshQueues>,
    env: NodeJS.ProcessEnv = {},
    db?: string,
  ) {
    const home = path.join(dir, name);
    await mkdir(path.join(home, 'tmp'), { recursive: true });
    const child = spawnWorker({
      role,
      address: testServerAddress(),
      queues,
      cwd: home,
      env: {
        HOME: home,
        TMPDIR: path.join(home, 'tmp'),
        METERFLOW_HOME: home,
        METERFLOW_DUCKDB_EXTENSIONS: duckdbExtensionDirectory(),
        METERFLOW_DUCKDB_THREADS: '1',
        ...env,
      },
      ...(db ? { db } : {}),
      ...(role === 'writer' ? { args: ['--build-concurrency', '0'] } : {}),
    });
    running.push(child);
    return child;
  }

  /** Kill, with SIGKILL, the worker that has started an activity of these types (its pid is in its identity). */
  async function killWhileItRuns(handle: Parameters<typeof startedActivity>[0], types: string[], workers: Child[]): Promise<Child> {
    const identity = await eventually(async () => (await startedActivity(handle, types))?.lastWorkerIdentity ?? undefined, 180_000, 20);
    const worker = workers.find((w) => w.process.pid === Number(identity.split('@')[0])) as Child;
    await worker.kill('SIGKILL');
    return worker;
  }

  it('runs green with a build worker and an analytics worker killed mid-run, and its master equals the reference', async () => {
    const catalog = `postgres:${await createTestDatabase('meterflow_rehearsal')}`;
    await createBucket(process.env.METERFLOW_TEST_S3_ENDPOINT as string, 'rehearsal');
    const sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 120, from: '2023-05-01', to: '2023-07-01', seed: 31 });
    await uploadDirectory(createStorageResolver(), sources, 's3://rehearsal/sources');
    const queues = freshQueues('rehearsal');
    await machine('writer', 'writer', queues, { METERFLOW_LAKE_DATA: 's3://rehearsal/lake/' }, catalog);
    const builders = [await machine('builder-1', 'build', queues), await machine('builder-2', 'build', queues)];
    const analysts = [await machine('analytics-1', 'analytics', queues), await machine('analytics-2', 'analytics', queues)];

    const handle = await startRun(temporal, { queues }, { sourcesUri: 's3://rehearsal/sources', outUri: 's3://rehearsal/out' });
    // a month of the master started on a build worker, then an analytics model on an analytics worker
    const masterRunning = async () =>
      (await getProgress(handle)).nodes.find((n) => n.id === 'model:demand_price_elasticity')?.state === 'running';
    await eventually(masterRunning, 180_000, 20);
    await killWhileItRuns(handle, ['buildMonth'], builders);
    await killWhileItRuns(handle, ['runAnalyticsModel'], analysts);

    const result = await waitForPipeline(handle);
    expect(result.nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
    expect(await differencesFromReference(catalog, sources)).toEqual({ missing: 0, extra: 0 });
    const report = await createStorageResolver().forUri(result.reportUri).stat(result.reportUri);
    expect(report?.size).toBeGreaterThan(0);
  }, 600_000);
});

// The pipeline with storage mixed per location against a real S3-compatible server: every combination
// gives the same master table as local files, and leaves its snapshot and analytics files where it was told.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { startPipeline, waitForPipeline } from '../../src/client';
import { PACKAGE_ROOT } from '../../src/config';
import { generateSampleData } from '../../src/generator/generate';
import { createLogger } from '../../src/logger';
import { createStorageResolver, uploadDirectory } from '../../src/storage';
import { createWorkers } from '../../src/worker';
import { queryFile, tableChecksumSql, tempDir } from '../support/files';
import { createBucket } from '../support/s3-server';
import { connectToTestServer, freshQueues, type TemporalTestContext } from '../support/temporal';

const logger = createLogger('test', 'silent');

describe('the pipeline with sources and outputs in S3', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let localSources: string;
  const storage = createStorageResolver();

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('pipeline-s3');
    localSources = path.join(dir, 'sources');
    await generateSampleData({ outDir: localSources, meters: 12, from: '2023-09-25', to: '2023-10-06', seed: 99 });
    await createBucket(process.env.METERFLOW_TEST_S3_ENDPOINT as string, 'meterflow-in');
    await createBucket(process.env.METERFLOW_TEST_S3_ENDPOINT as string, 'meterflow-out');
    await uploadDirectory(storage, localSources, 's3://meterflow-in/sources');
  });

  afterAll(() => temporal.close());

  async function run(label: string, sourcesUri: string, outUri: string, lakeData?: string) {
    const queues = freshQueues(label);
    const warehousePath = path.join(dir, `${label}-warehouse`);
    // the writer puts the lake's data files where METERFLOW_LAKE_DATA says; readers learn it from the catalog
    if (lakeData) process.env.METERFLOW_LAKE_DATA = lakeData;
    const created = createWorkers({
      connection: temporal.workerConnection,
      namespace: 'default',
      role: 'all',
      warehousePath,
      projectDir: path.join(PACKAGE_ROOT, 'models'),
      queues,
      logger,
    });
    const workers = await created.finally(() => delete process.env.METERFLOW_LAKE_DATA);
    const running = workers.run();
    try {
      const handle = await startPipeline(
        temporal.client,
        { sourcesUri, outUri, writerQueue: queues.writer, analyticsQueue: queues.analytics },
        { taskQueue: queues.workflows },
      );
      const result = await waitForPipeline(handle);
      const history = JSON.stringify(await handle.fetchHistory());
      return { result, warehousePath, history };
    } finally {
      workers.shutdown();
      await running;
    }
  }

  let local: Awaited<ReturnType<typeof run>>;
  let expected: Record<string, unknown>[];

  beforeAll(async () => {
    local = await run('local', localSources, path.join(dir, 'out-local'));
    expected = await queryFile(local.warehousePath, tableChecksumSql('main.demand_price_elasticity'));
  });

  it.each([
    ['sources in S3, outputs in S3', 's3://meterflow-in/sources', 's3://meterflow-out/runs'],
    ['sources local, outputs in S3', 'LOCAL', 's3://meterflow-out/runs-from-local'],
    ['sources in S3, everything else local', 's3://meterflow-in/sources', 'LOCAL_OUT'],
  ])('%s gives the master table of the local run', async (label, sources, out) => {
    const sourcesUri = sources === 'LOCAL' ? localSources : sources;
    const outUri = out === 'LOCAL_OUT' ? path.join(dir, `out-${label.replace(/\W+/g, '-')}`) : out;
    const mixed = await run(label.replace(/\W+/g, '-'), sourcesUri, outUri);
    expect(await queryFile(mixed.warehousePath, tableChecksumSql('main.demand_price_elasticity'))).toEqual(expected);
    expect(mixed.result.snapshotVersion).toBeGreaterThan(0);
    const analyticsPrefix = `${outUri}/runs/${mixed.result.workflowId}/analytics`;
    const analytics = await storage.forUri(analyticsPrefix).list(analyticsPrefix);
    expect(analytics.map((o) => o.name)).toEqual(expect.arrayContaining(['meter_anomalies.parquet', 'actual_vs_estimated_daily.parquet']));
    expect(analytics).toHaveLength(12); // eight analytics models and four of per-month partials
    // payloads carry URIs only: no credentials in the history
    expect(mixed.history).not.toContain(process.env.AWS_SECRET_ACCESS_KEY as string);
  });

  it("keeps the lake's data files in S3 when METERFLOW_LAKE_DATA says so, read back by other processes", async () => {
    const lakeData = 's3://meterflow-out/lake';
    const onS3 = await run('lake-on-s3', 's3://meterflow-in/sources', 's3://meterflow-out/runs-lake', lakeData);
    expect(await queryFile(onS3.warehousePath, tableChecksumSql('main.demand_price_elasticity'))).toEqual(expected);
    const files = await storage.forUri(`${lakeData}/main/`).list(`${lakeData}/main/`);
    expect(files.some((o) => /year=2023\/month=10\/.*\.parquet$/.test(o.name))).toBe(true);
    // nothing of the lake's data beside the catalog on local disk
    expect(readdirSync(onS3.warehousePath).filter((name) => name === 'data')).toEqual([]);
  });
});

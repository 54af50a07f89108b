// Per-month builds on build workers, each its own process: two build workers share a run's months and
// the master equals the independent reference; a build worker killed with SIGKILL mid-month has its
// month retried on the other, and the master loses nothing and duplicates nothing.
import type { Client } from '@temporalio/client';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getProgress, waitForPipeline } from '../../src/client';
import type { PipelineResult } from '../../src/contract/run';
import type { MonthPart } from '../../src/contract/activities';
import { generateSampleData } from '../../src/generator/generate';
import { withWarehouseReader } from '../../src/warehouse/warehouse';
import { queryFile, tableChecksumSql, tempDir } from '../support/files';
import { spawnWorker, type Child } from '../support/processes';
import { differencesFromReference, referenceMasterSql } from '../support/reference-master';
import {
  connectToTestServer,
  eventually,
  freshQueues,
  startRun,
  withWorkers,
  testServerAddress,
  startedActivity,
  type TemporalTestContext,
} from '../support/temporal';

const MASTER = 'main.demand_price_elasticity';

/** The months the master holds rows of, as `YYYY-MM`, in order. */
async function monthsOf(warehousePath: string): Promise<string[]> {
  const rows = await queryFile(
    warehousePath,
    `select distinct strftime(settlement_timestamp_utc, '%Y-%m') as month from ${MASTER} order by 1`,
  );
  return rows.map((row) => String(row.month));
}

/** The attempts of every per-month build activity (or of `type`) of a run, with the worker that ran each. */
async function monthAttempts(
  client: Client,
  workflowId: string,
  type = 'buildMonth',
): Promise<{ month: string; model: string; part?: MonthPart; attempt: number; identity: string }[]> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const scheduled = new Map(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)
      .map((e) => {
        const payload = e.activityTaskScheduledEventAttributes?.input?.payloads?.[0]?.data;
        const { month, model, part } = JSON.parse(Buffer.from(payload ?? []).toString('utf8')) as {
          month: string;
          model: string;
          part?: MonthPart;
        };
        return [String(e.eventId), { month, model, ...(part ? { part } : {}) }] as const;
      }),
  );
  return events.flatMap((e) => {
    const started = e.activityTaskStartedEventAttributes;
    const input = started ? scheduled.get(String(started.scheduledEventId)) : undefined;
    return started && input ? [{ ...input, attempt: started.attempt ?? 1, identity: started.identity ?? '' }] : [];
  });
}

describe('per-month builds on build workers in their own processes', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;
  let referenceRows: number;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('build-workers');
    sources = path.join(dir, 'sources');
    // small enough for the independent reference computation (range joins over the source files)
    await generateSampleData({ outDir: sources, meters: 30, from: '2023-03-01', to: '2023-07-01', seed: 31 });
    const [reference] = await queryFile(':memory:', `select count(*)::integer as n from (${referenceMasterSql(sources)})`);
    referenceRows = Number(reference?.n);
  });

  afterAll(() => temporal.close());

  /** A writer that builds no months, an analytics worker and two build workers (one DuckDB thread each). */
  function startProcesses(label: string, warehousePath: string) {
    const queues = freshQueues(label);
    const address = testServerAddress();
    const builderEnv = { METERFLOW_DUCKDB_THREADS: '1' };
    return {
      queues,
      writer: spawnWorker({ role: 'writer', address, queues, db: warehousePath, args: ['--build-concurrency', '0'] }),
      analytics: spawnWorker({ role: 'analytics', address, queues }),
      builders: [
        spawnWorker({ role: 'build', address, queues, env: builderEnv }),
        spawnWorker({ role: 'build', address, queues, env: builderEnv }),
      ],
    };
  }

  async function stopAll(children: Child[]): Promise<void> {
    await Promise.all(children.map((child) => child.kill('SIGTERM')));
    if (process.env.METERFLOW_TEST_WORKER_OUTPUT) for (const child of children) process.stderr.write(child.output());
  }

  /** The master equals the reference, each meter and half hour once. */
  async function expectReferenceRows(warehousePath: string): Promise<void> {
    expect(await differencesFromReference(warehousePath, sources)).toEqual({ missing: 0, extra: 0 });
    const [counts] = await queryFile(
      warehousePath,
      `select count(*)::integer as n, count(distinct (meter_point_id, settlement_timestamp_utc))::integer as keys from ${MASTER}`,
    );
    expect(counts).toEqual({ n: referenceRows, keys: referenceRows });
  }

  /** The master equals the reference, each meter and half hour once, and is one file a month. */
  async function expectMasterLikeReference(warehousePath: string): Promise<void> {
    await expectReferenceRows(warehousePath);
    const files = await withWarehouseReader(warehousePath, {}, (reader) => reader.listFiles('demand_price_elasticity'));
    const months = files.map((file) => /demand_price_elasticity-[A-Za-z0-9]+-(\d{4}-\d{2})\.parquet$/.exec(file.dataFile)?.[1]);
    expect(months.sort()).toEqual(await monthsOf(warehousePath));
  }

  it('shares a run’s months between two build workers, and the master equals the reference', async () => {
    const warehousePath = path.join(dir, 'two-builders-warehouse');
    const { queues, writer, analytics, builders } = startProcesses('two-builders', warehousePath);
    try {
      const handle = await startRun(temporal, { queues }, { sourcesUri: sources, outUri: path.join(dir, 'out') });
      const result: PipelineResult = await Promise.race([
        waitForPipeline(handle),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('run did not finish in 150 s')), 150_000)),
      ]);
      expect(result.nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
      const attempts = await monthAttempts(temporal.client, handle.workflowId);
      // both models, every month, each by one of the two build workers (never the writer)
      expect(new Set(attempts.map((a) => `${a.model} ${a.month}`)).size).toBe(2 * (await monthsOf(warehousePath)).length);
      const pids = new Set(attempts.map((a) => Number(a.identity.split('@')[0])));
      expect([...pids].sort()).toEqual(builders.map((b) => b.process.pid).sort());
      await expectMasterLikeReference(warehousePath);
    } finally {
      await stopAll([writer, analytics, ...builders]);
    }
  });

  it('builds big months in parts by meter on both build workers, and the master still equals the reference', async () => {
    // the shipped project with parts of 1 MB: a month of these 30 meters is about 3 MB of Parquet
    const project = path.join(dir, 'project-in-parts');
    await cp(path.resolve(__dirname, '../../models'), project, { recursive: true });
    const macro = path.join(project, 'macros', 'per_meter_half_hour_config.sql');
    await writeFile(
      macro,
      (await readFile(macro, 'utf8')).replace("'split_by': 'meter_point_id'", "'split_by': 'meter_point_id', 'part_mb': 1"),
    );
    const warehousePath = path.join(dir, 'parts-warehouse');
    const { queues, writer, analytics, builders } = startProcesses('parts', warehousePath);
    try {
      const handle = await startRun(temporal, { queues, projectDir: project }, { sourcesUri: sources, outUri: path.join(dir, 'out') });
      const result = await waitForPipeline(handle);
      expect(result.nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
      const attempts = await monthAttempts(temporal.client, handle.workflowId);
      const months = await monthsOf(warehousePath);
      for (const model of ['stg_smart_meter_consumption', 'demand_price_elasticity']) {
        const parts = attempts.filter((a) => a.model === model).map((a) => `${a.month} ${a.part?.index} of ${a.part?.of}`);
        const of = attempts.find((a) => a.model === model)?.part?.of ?? 1;
        expect(of).toBeGreaterThanOrEqual(2);
        expect(new Set(parts)).toEqual(new Set(months.flatMap((month) => Array.from({ length: of }, (_, i) => `${month} ${i} of ${of}`))));
        // each part a range of meters, the same in every month: the first from none, the last to none
        const ranges = new Set(
          attempts.filter((a) => a.model === model).map((a) => JSON.stringify([a.part?.index, a.part?.from, a.part?.to])),
        );
        expect(ranges.size).toBe(of);
        const first = attempts.find((a) => a.model === model && a.part?.index === 0)?.part;
        const last = attempts.find((a) => a.model === model && a.part?.index === of - 1)?.part;
        expect([first?.from, typeof first?.to, typeof last?.from, last?.to]).toEqual([undefined, 'string', 'string', undefined]);
      }
      expect(new Set(attempts.map((a) => Number(a.identity.split('@')[0])))).toEqual(new Set(builders.map((b) => b.process.pid)));
      await expectReferenceRows(warehousePath);
      // a file per part, named by it, and the tests each part decided alone all ran there
      const files = await withWarehouseReader(warehousePath, {}, (reader) => reader.listFiles('demand_price_elasticity'));
      expect(files.every((file) => /-\d{4}-\d{2}-part\d+of\d+\.parquet$/.test(file.dataFile))).toBe(true);
      expect(files.length).toBeGreaterThan(months.length);
      // what no part decides alone (the master's row count) was tested on a build worker, not the
      // writer; the staging table's parts decided all of its tests
      const tested = await monthAttempts(temporal.client, handle.workflowId, 'testBuiltModel');
      expect(tested.map((t) => t.model)).toEqual(['demand_price_elasticity']);
      for (const t of tested) expect(builders.map((b) => b.process.pid)).toContain(Number(t.identity.split('@')[0]));
      expect((await monthAttempts(temporal.client, handle.workflowId, 'testModel')).map((t) => t.model)).not.toContain(
        'demand_price_elasticity',
      );
      const rowCount = result.dataTests.find((t) => t.target === 'demand_price_elasticity' && t.test.startsWith('row_count'));
      expect(rowCount).toMatchObject({ status: 'pass', failures: 0 });
      expect(result.dataTests.filter((t) => t.status !== 'pass')).toEqual([]);
    } finally {
      await stopAll([writer, analytics, ...builders]);
    }
  }, 300_000);

  it('retries the month of a build worker killed with SIGKILL on the other one, losing and duplicating nothing', async () => {
    // months big enough to be killed in the middle of, against an undisturbed run on the same files
    const bigSources = path.join(dir, 'big-sources');
    await generateSampleData({ outDir: bigSources, meters: 300, from: '2023-05-01', to: '2023-07-01', seed: 23 });
    const referenceWarehouse = path.join(dir, 'undisturbed-warehouse');
    await withWorkers(temporal, { label: 'undisturbed', warehousePath: referenceWarehouse }, async (inProcess) =>
      waitForPipeline(await startRun(temporal, inProcess, { sourcesUri: bigSources, outUri: path.join(dir, 'out') })),
    );
    const reference = await queryFile(referenceWarehouse, tableChecksumSql(MASTER));

    const warehousePath = path.join(dir, 'killed-builder-warehouse');
    const { queues, writer, analytics, builders } = startProcesses('killed-builder', warehousePath);
    try {
      const handle = await startRun(temporal, { queues }, { sourcesUri: bigSources, outUri: path.join(dir, 'out') });
      // a month of the master that a build worker has started (the readings' months are done by then,
      // since the master waits for them): kill that worker at once
      const identity = await eventually(
        async () => {
          const master = (await getProgress(handle)).nodes.find((n) => n.id === 'model:demand_price_elasticity');
          if (master?.state !== 'running') return undefined;
          return (await startedActivity(handle, ['buildMonth']))?.lastWorkerIdentity ?? undefined;
        },
        180_000,
        20,
      );
      const killed = builders.find((b) => b.process.pid === Number(identity.split('@')[0])) as Child;
      await killed.kill('SIGKILL');
      const result = await waitForPipeline(handle);
      expect(result.nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
      const attempts = await monthAttempts(temporal.client, handle.workflowId);
      const retried = attempts.filter((a) => a.attempt > 1);
      expect(retried.length).toBeGreaterThanOrEqual(1);
      const survivor = builders.find((b) => b !== killed) as Child;
      for (const attempt of retried) expect(Number(attempt.identity.split('@')[0])).toBe(survivor.process.pid);
      // nothing lost, nothing twice: the undisturbed run's rows, each meter and half hour once, one file a month
      expect(await queryFile(warehousePath, tableChecksumSql(MASTER))).toEqual(reference);
      const [counts] = await queryFile(
        warehousePath,
        `select count(*)::integer as n, count(distinct (meter_point_id, settlement_timestamp_utc))::integer as keys from ${MASTER}`,
      );
      expect(counts?.n).toBe(counts?.keys);
      const files = await withWarehouseReader(warehousePath, {}, (reader) => reader.listFiles('demand_price_elasticity'));
      expect(files.map((file) => /-(\d{4}-\d{2})\.parquet$/.exec(file.dataFile)?.[1]).sort()).toEqual(await monthsOf(warehousePath));
    } finally {
      await stopAll([writer, analytics, ...builders]);
    }
  }, 600_000);
});

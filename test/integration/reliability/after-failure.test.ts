// A run after a failed one: whatever the failure left unpublished is rebuilt, so the next run's
// tables equal a clean run's (never "no new or changed files" over a stale master); no unpublished
// versions are left behind; tables meterflow did not create are not replaced; a writer of another
// warehouse refuses the work.
import { ActivityFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { copyFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createWriterActivities } from '../../../src/activities';
import { describeFailure, getProgress, startPipeline, waitForPipeline } from '../../../src/client';
import { generateSampleData } from '../../../src/generator/generate';
import { createLogger } from '../../../src/logger';
import { loadProject } from '../../../src/project/load';
import { createStorageResolver } from '../../../src/storage';
import { Warehouse } from '../../../src/warehouse/warehouse';
import type { pipeline } from '../../../src/workflows';
import type { PipelineInput, PipelineResult } from '../../../src/contract/run';
import { recordChaos, warehouseChecksums } from '../../support/chaos';
import { copyOfModels, queryFile, tempDir, writeParquet } from '../../support/files';
import { differencesFromReference } from '../../support/reference-master';
import { connectToTestServer, eventually, startWorkers, type RunningWorkers, type TemporalTestContext } from '../../support/temporal';

const MASTER = 'demand_price_elasticity';

describe('a run after a failed one publishes what a clean run would', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;
  /** Days of readings held back from the Q4 file, landed one by one by the tests. */
  let lateDays: string[];
  const q4Dir = () => path.join(sources, 'smart_meter_consumption_q4');

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('after-failure');
    sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 8, from: '2023-09-25', to: '2023-10-08', seed: 29 });
    const q4 = path.join(q4Dir(), 'smart_meter_consumption_2023_q4.parquet');
    lateDays = [];
    for (const day of ['2023-10-04', '2023-10-05', '2023-10-06', '2023-10-07']) {
      const file = path.join(dir, `late-${day}.parquet`);
      await writeParquet(
        file,
        `select * from read_parquet('${q4}') where settlement_timestamp_utc >= timestamp '${day}' and settlement_timestamp_utc < timestamp '${day}' + interval 1 day`,
      );
      lateDays.push(file);
    }
    await writeParquet(`${q4}.tmp`, `select * from read_parquet('${q4}') where settlement_timestamp_utc < timestamp '2023-10-04'`);
    await rename(`${q4}.tmp`, q4);
  });

  afterAll(() => temporal.close());

  const land = (index: number) => copyFile(lateDays[index] as string, path.join(q4Dir(), `late-day-${index}.parquet`));

  function start(workers: RunningWorkers, extra: Partial<PipelineInput> = {}): Promise<WorkflowHandle<typeof pipeline>> {
    return startPipeline(
      temporal.client,
      {
        sourcesUri: sources,
        outUri: path.join(dir, 'out'),
        writerQueue: workers.queues.writer,
        analyticsQueue: workers.queues.analytics,
        ...extra,
      },
      { taskQueue: workers.queues.workflows },
    );
  }
  const run = async (workers: RunningWorkers, extra: Partial<PipelineInput> = {}) => waitForPipeline(await start(workers, extra));
  async function failure(promise: Promise<unknown>): Promise<{ node?: string; reason: string }> {
    const error = await promise.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return describeFailure(error);
  }
  const stateOf = (result: PipelineResult, id: string) => result.nodes.find((n) => n.id === id)?.state;

  const pendingRelations = async (warehousePath: string) =>
    (
      await queryFile(
        warehousePath,
        `select table_name from information_schema.tables where table_catalog = current_database() and starts_with(table_name, '__meterflow_pending_') order by 1`,
      )
    ).map((row) => String(row.table_name));

  /** A fresh warehouse built from the current sources in one clean run. */
  async function cleanRun(label: string): Promise<string> {
    const warehousePath = path.join(dir, `clean-${label.replace(/\W+/g, '-')}-warehouse`);
    const workers = await startWorkers(temporal, { label: `clean-${label.replace(/\W+/g, '-')}`, warehousePath });
    try {
      await run(workers, { outUri: path.join(dir, `clean-out-${label.replace(/\W+/g, '-')}`) });
    } finally {
      await workers.stop();
    }
    return warehousePath;
  }

  /**
   * An analytics table's rows, in a stable order, for comparison within floating-point noise: its means
   * are sums over parallel threads, whose last bits (and so, rarely, the 9th rounded decimal) vary.
   */
  async function analyticsRows(warehousePath: string, table: string): Promise<Record<string, unknown>[]> {
    return queryFile(warehousePath, `select * from main.${table} order by all`);
  }
  const ANALYTICS = /^main\.(actual_vs|deviation_|half_hourly|price_response|meter_anomalies|meter_readings_by_month)/;

  /** The run after a failure: its tables, raw and main, equal a clean run's over the same files. */
  async function expectRecovered(label: string, warehousePath: string, failureNote: string): Promise<void> {
    expect(await pendingRelations(warehousePath)).toEqual([]);
    expect(await differencesFromReference(warehousePath, sources)).toEqual({ missing: 0, extra: 0 });
    const clean = await cleanRun(label);
    const [recovered, expected] = [await warehouseChecksums(warehousePath, { raw: true }), await warehouseChecksums(clean, { raw: true })];
    expect(Object.keys(recovered).sort()).toEqual(Object.keys(expected).sort());
    // sources, staging and master to the last bit; analytics to within 2e-9 (a mean rounded to 9 decimals may round the other way)
    const exact = (checksums: Record<string, string>) =>
      Object.fromEntries(Object.entries(checksums).filter(([name]) => !ANALYTICS.test(name)));
    expect(exact(recovered)).toEqual(exact(expected));
    for (const table of Object.keys(expected).filter((name) => ANALYTICS.test(name))) {
      const name = table.replace(/^main\./, '');
      const [got, want] = [await analyticsRows(warehousePath, name), await analyticsRows(clean, name)];
      expect(got.length).toBe(want.length);
      got.forEach((row, index) => {
        for (const [column, value] of Object.entries(row)) {
          const other = want[index]?.[column];
          if (typeof value === 'number' && typeof other === 'number')
            expect(Math.abs(value - other)).toBeLessThanOrEqual(2e-9 * Math.max(1, Math.abs(other)));
          else expect(value).toEqual(other);
        }
      });
    }
    await recordChaos({
      category: 'fault',
      name: `run after ${label}`,
      runsCompleted: '1/2 (the failed one, then the next)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: `${Object.keys(recovered).length}/${Object.keys(recovered).length} equal to a clean run's`,
      outcome: failureNote,
    });
  }

  describe('one warehouse through failures of every kind', () => {
    let workers: RunningWorkers;
    const warehousePath = () => path.join(dir, 'warehouse-warehouse');

    beforeAll(async () => {
      workers = await startWorkers(temporal, { label: 'after-failure', warehousePath: warehousePath() });
      await run(workers);
    });
    afterAll(() => workers.stop());

    it('a failing data test: the next run with the same files tests them again and fails again, then publishes once they are fixed', async () => {
      // a Q3 file with a reading that disagrees with the Q4 file's at the same meter and half hour
      const q4 = path.join(q4Dir(), 'smart_meter_consumption_2023_q4.parquet');
      const bad = path.join(sources, 'smart_meter_consumption_q3', 'disagreeing.parquet');
      await writeParquet(
        bad,
        `select meter_point_id, settlement_timestamp_utc, smart_meter_consumption + 1.0 as smart_meter_consumption
         from read_parquet('${q4}') order by all limit 1`,
      );
      await land(0);
      const firstError = await run(workers).catch((err: unknown) => err);
      expect(describeFailure(firstError).node).toBe('test:assert_overlapping_readings_agree');
      // red where it failed: the month's test activity failed itself, naming the test, its failing rows and the month
      const activity = (firstError as WorkflowFailedError).cause?.cause;
      expect(activity).toBeInstanceOf(ActivityFailure);
      expect((activity as ActivityFailure).activityType).toBe('testMonth');
      expect((activity as ActivityFailure).cause?.message).toMatch(
        /^data tests of assert_overlapping_readings_agree for 2023-\d\d failed: assert_overlapping_readings_agree \(1 failing row\)$/,
      );
      // the files are loaded, but nothing built from them was published: the same run again must not pass
      const second = await failure(run(workers));
      expect(second.node).toBe('test:assert_overlapping_readings_agree');
      await rm(bad);
      const fixed = await run(workers);
      expect(stateOf(fixed, `model:${MASTER}`)).toBe('succeeded');
      await expectRecovered('a failing data test', warehousePath(), 'the same files fail again; fixed, the next run publishes');
    });

    it('an analytics model with a SQL error: the next run rebuilds the master the failed run left unpublished', async () => {
      await land(1);
      const failed = await failure(run(workers, { vars: { price_response_min_points: 'no_such_column' } }));
      expect(failed.node).toBe('analytics:price_response_variable_tariff');
      const next = await run(workers);
      expect(stateOf(next, 'seed:smart_meter_consumption_q4')).toBe('unchanged');
      expect(stateOf(next, `model:${MASTER}`)).toBe('succeeded');
      // the failed run loaded the file: the readings' staging model is out of date with it, so the master too
      expect(next.nodes.find((n) => n.id === 'model:stg_smart_meter_consumption')?.note).toMatch(
        /changed since it was built: seed:smart_meter_consumption_q4/,
      );
      expect(next.nodes.find((n) => n.id === `model:${MASTER}`)?.note).toMatch(
        /changed since it was built: model:stg_smart_meter_consumption/,
      );
      await expectRecovered('an analytics model that failed', warehousePath(), 'master rebuilt from the seeded files');
    });

    it('a run killed during the master build: the next run drops what it left and rebuilds the master', async () => {
      await land(2);
      const handle = await start(workers);
      await eventually(
        async () => (await getProgress(handle)).nodes.find((n) => n.id === `model:${MASTER}`)?.state === 'running',
        120_000,
        50,
      );
      await handle.terminate('killed by the test during the master build');
      const next = await run(workers);
      expect(stateOf(next, `model:${MASTER}`)).toBe('succeeded');
      await expectRecovered('a kill during the master build', warehousePath(), 'leftovers dropped, master rebuilt');
    });

    it('a cancelled run leaves no unpublished versions, and the next run catches up', async () => {
      await land(3);
      const handle = await start(workers);
      await eventually(
        async () => (await getProgress(handle)).nodes.find((n) => n.id === `model:${MASTER}`)?.state === 'running',
        120_000,
        50,
      );
      await handle.cancel();
      await failure(handle.result());
      await eventually(async () => (await pendingRelations(warehousePath())).length === 0, 30_000);
      await run(workers);
      await expectRecovered('a cancelled run', warehousePath(), 'no leftovers after the cancel; next run catches up');
    });

    it('a cancel that arrives once the publish has started finds the run ended, published, as it says', async () => {
      // (an operator probe found a run reported cancelled whose publish had committed all the same)
      const handle = await start(workers, { fullRefresh: true });
      await eventually(
        async () => {
          const nodes = (await getProgress(handle)).nodes;
          return ['publish', 'report'].some((kind) => nodes.find((n) => n.kind === kind)?.state === 'running');
        },
        120_000,
        20,
      );
      await handle.cancel();
      const result = await handle.result();
      expect(stateOf(result, 'publish:run')).toBe('succeeded');
      expect((await handle.describe()).status.name).toBe('COMPLETED');
      await expectRecovered('a cancel during the publish', warehousePath(), 'the publish ran to its end; the run completed');
    });

    it('a selection that publishes the staging alone: the next full run rebuilds the master from it', async () => {
      await rm(path.join(q4Dir(), 'late-day-3.parquet'));
      const staged = await run(workers, { select: ['stg_smart_meter_consumption'] });
      expect(stateOf(staged, 'model:stg_smart_meter_consumption')).toBe('succeeded');
      const full = await run(workers);
      expect(stateOf(full, 'model:stg_smart_meter_consumption')).toBe('unchanged');
      expect(stateOf(full, `model:${MASTER}`)).toBe('succeeded');
      expect(stateOf(full, 'analytics:actual_vs_estimated_daily')).toBe('succeeded');
      await expectRecovered('a selection of the staging alone', warehousePath(), 'master and analytics rebuilt by the full run');
    });

    it('runs again with nothing changed and rebuilds nothing', async () => {
      const again = await run(workers);
      const ran = again.nodes.filter((n) => n.kind !== 'report' && n.state === 'succeeded').map((n) => n.id);
      expect(ran.filter((id) => id.startsWith('model:') || id.startsWith('analytics:') || id.startsWith('test:'))).toEqual([]);
    });
  });

  describe('singular tests that ref models', () => {
    it('every kind of test node runs on a first run: model tests, singular tests over sources and over models, analytics tests', async () => {
      const models = await copyOfModels('singular-pass');
      await writeFile(
        path.join(models, 'tests', 'assert_master_has_no_negative_estimate.sql'),
        `select meter_point_id from {{ ref('${MASTER}') }} where estimated_half_hour_consumption < 0\n`,
      );
      const warehousePath = path.join(dir, 'singular-pass-warehouse');
      const workers = await startWorkers(temporal, { label: 'singular-pass', warehousePath, projectDir: models });
      let result: PipelineResult;
      try {
        result = await run(workers, { outUri: path.join(dir, 'singular-pass-out') });
      } finally {
        await workers.stop();
      }
      const tests = result.nodes.filter((n) => n.kind === 'test');
      for (const id of [
        'test:assert_master_has_no_negative_estimate',
        'test:assert_overlapping_readings_agree',
        `test:${MASTER}`,
        'test:meter_anomalies',
      ]) {
        expect(tests.find((n) => n.id === id)?.state).toBe('succeeded');
      }
      expect(tests.filter((n) => n.state !== 'succeeded')).toEqual([]);
      // the test over the master ran after the master was built
      const master = result.nodes.find((n) => n.id === `model:${MASTER}`);
      const test = result.nodes.find((n) => n.id === 'test:assert_master_has_no_negative_estimate');
      expect(test?.startedAt).toBeGreaterThanOrEqual(master?.finishedAt ?? Infinity);
    });

    it('run after the models they ref, on their new versions, and gate the publish', async () => {
      const models = await copyOfModels('singular-ref');
      await writeFile(
        path.join(models, 'tests', 'assert_master_has_no_consumption.sql'),
        `-- fails whenever the master holds a reading: a test that must run and fail\nselect meter_point_id from {{ ref('${MASTER}') }} where smart_meter_consumption >= 0\n`,
      );
      const warehousePath = path.join(dir, 'singular-warehouse');
      const workers = await startWorkers(temporal, { label: 'singular-ref', warehousePath, projectDir: models });
      try {
        const failed = await failure(run(workers, { outUri: path.join(dir, 'singular-out') }));
        expect(failed.node).toBe('test:assert_master_has_no_consumption');
        expect(failed.reason).toMatch(/failing rows/);
      } finally {
        await workers.stop();
      }
      // nothing was published: the master never appeared
      const tables = await queryFile(
        warehousePath,
        `select table_name from information_schema.tables where table_catalog = current_database() and table_schema = 'main'`,
      );
      expect(tables).toEqual([]);
    });
  });

  describe('tables meterflow did not create', () => {
    it('are never replaced: the run refuses with their names, and --force replaces them', async () => {
      const warehousePath = path.join(dir, 'foreign-warehouse');
      const warehouse = await Warehouse.open(warehousePath);
      await warehouse.withConnection((connection) => connection.run(`create table main.stg_tariff_unit_rates as select 42 as mine`));
      warehouse.close();
      const workers = await startWorkers(temporal, { label: 'foreign', warehousePath });
      try {
        const refused = await failure(run(workers, { outUri: path.join(dir, 'foreign-out') }));
        expect(refused.reason).toMatch(/main\.stg_tariff_unit_rates, which meterflow did not create/);
        expect(refused.reason).toMatch(/--force/);
        expect(await queryFile(warehousePath, `select mine from main.stg_tariff_unit_rates`)).toEqual([{ mine: 42 }]);
        const forced = await run(workers, { outUri: path.join(dir, 'foreign-out'), force: true });
        expect(stateOf(forced, 'model:stg_tariff_unit_rates')).toBe('succeeded');
      } finally {
        await workers.stop();
      }
    });
  });

  describe('one writer per warehouse', () => {
    it('a writer activity that reaches the writer of another warehouse fails at once, naming both', async () => {
      const warehousePath = path.join(dir, 'writer-b-warehouse');
      const warehouse = await Warehouse.open(warehousePath);
      try {
        const project = await loadProject(path.join(__dirname, '..', '..', '..', 'models'));
        const writer = createWriterActivities({
          warehouse,
          project,
          storage: createStorageResolver(),
          logger: createLogger('test', 'silent'),
        });
        const source = project.plan.sources[0];
        if (!source) throw new Error('the project has no sources');
        const attempt = writer.seedSource({ source, uri: sources, warehouse: path.join(dir, 'writer-a-warehouse') });
        await expect(attempt).rejects.toMatchObject({ type: 'WrongWarehouseError', nonRetryable: true });
        await expect(attempt).rejects.toThrow(/writer-a.*writer-b/);
      } finally {
        warehouse.close();
      }
    });

    it('a second writer on a queue another warehouse’s writer serves refuses to start', async () => {
      const a = await startWorkers(temporal, { label: 'writer-a', warehousePath: path.join(dir, 'queue-a-warehouse') });
      try {
        await eventually(async () => {
          const described = await temporal.client.workflowService.describeTaskQueue({
            namespace: 'default',
            taskQueue: { name: a.queues.writer },
            taskQueueType: 2, // activity
          });
          return (described.pollers ?? []).length > 0;
        });
        await expect(
          startWorkers(temporal, {
            label: 'writer-b',
            warehousePath: path.join(dir, 'queue-b-warehouse'),
            queues: { ...a.queues, analytics: `${a.queues.analytics}-b`, workflows: `${a.queues.workflows}-b` },
          }),
        ).rejects.toThrow(/queue-a/);
      } finally {
        await a.stop();
      }
    });
  });
});

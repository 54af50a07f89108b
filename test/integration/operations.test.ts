// Operating the pipeline on the real dev server: incremental runs, selection, concurrent runs, reset
// and replay, schedules (ours and the stock Temporal CLI's), backfills and landed-files notifications.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  backfillSchedule,
  createSchedule,
  deleteSchedule,
  describeSchedule,
  getProgress,
  notifySourcesLanded,
  pauseSchedule,
  startPipeline,
  waitForPipeline,
} from '../../src/client';
import { PACKAGE_ROOT } from '../../src/config';
import { generateSampleData } from '../../src/generator/generate';
import { findTemporalCli } from '../../src/temporal/cli-path';
import type { PipelineInput, PipelineResult } from '../../src/contract/run';
import { queryFile, tableChecksumSql, tempDir, writeParquet } from '../support/files';
import { differencesFromReference } from '../support/reference-master';
import {
  connectToTestServer,
  eventually,
  startWorkers,
  testServerAddress,
  type RunningWorkers,
  type TemporalTestContext,
} from '../support/temporal';

const exec = promisify(execFile);

describe('operating the pipeline', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('operations');
    sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 15, from: '2023-09-20', to: '2023-10-05', seed: 5 });
  });

  afterAll(() => temporal.close());

  const inputFor = (workers: RunningWorkers, extra: Partial<PipelineInput> = {}): PipelineInput => ({
    sourcesUri: sources,
    outUri: path.join(dir, 'out'),
    writerQueue: workers.queues.writer,
    analyticsQueue: workers.queues.analytics,
    ...extra,
  });

  async function runOnce(workers: RunningWorkers, extra: Partial<PipelineInput> = {}) {
    const handle = await startPipeline(temporal.client, inputFor(workers, extra), { taskQueue: workers.queues.workflows });
    const result = await waitForPipeline(handle);
    return { handle, result };
  }

  const stateOf = (result: PipelineResult, id: string) => result.nodes.find((n) => n.id === id)?.state;

  describe('incremental runs', () => {
    let workers: RunningWorkers;
    const warehouse = () => path.join(dir, 'incremental-warehouse');

    const lateDay = () => path.join(dir, 'late-day.parquet');

    const noteOf = (result: PipelineResult, id: string) => result.nodes.find((n) => n.id === id)?.note;

    beforeAll(async () => {
      // the last day of readings arrives late: held back from the quarter's file, landed by a test
      const q4 = path.join(sources, 'smart_meter_consumption_q4', 'smart_meter_consumption_2023_q4.parquet');
      await writeParquet(lateDay(), `select * from read_parquet('${q4}') where settlement_timestamp_utc >= timestamp '2023-10-04'`);
      await writeParquet(`${q4}.tmp`, `select * from read_parquet('${q4}') where settlement_timestamp_utc < timestamp '2023-10-04'`);
      await rename(`${q4}.tmp`, q4);
      workers = await startWorkers(temporal, { label: 'incremental', warehousePath: warehouse() });
      await runOnce(workers);
    });
    afterAll(() => workers.stop());

    it('loads only a new file and rebuilds only the models downstream of it', async () => {
      const newFile = path.join(sources, 'smart_meter_consumption_q4', 'smart_meter_consumption_2023_q4_day_2023-10-04.parquet');
      const [before] = await queryFile(
        warehouse(),
        `select count(*)::integer as n from main.demand_price_elasticity where settlement_timestamp_utc >= timestamp '2023-10-04'`,
      );
      expect(before?.n).toBe(0);
      await copyFile(lateDay(), newFile);
      const { handle, result } = await runOnce(workers);
      // from the history: one file loaded, and builds only for the readings' staging table and the
      // master, each of the new day's month alone (built per month, then committed by the writer)
      const history = await handle.fetchHistory();
      const summaries = (history.events ?? [])
        .filter((e) => e.activityTaskScheduledEventAttributes)
        .map((e) => (e.userMetadata?.summary?.data ? JSON.parse(Buffer.from(e.userMetadata.summary.data).toString('utf8')) : ''));
      expect(summaries.filter((s: string) => s.startsWith('build '))).toEqual([
        'build stg_smart_meter_consumption for 2023-10',
        'build model stg_smart_meter_consumption (incremental): commit 1 months',
        'build demand_price_elasticity for 2023-10',
        'build model demand_price_elasticity (incremental): commit 1 months',
      ]);
      // both incremental models rebuilt the new day's half hours alone, in place
      for (const model of ['stg_smart_meter_consumption', 'demand_price_elasticity']) {
        expect(noteOf(result, `model:${model}`)).toMatch(/^incremental: \d+ rows rebuilt from 2023-10-04 00:00:00 to 2023-10-0[45] /);
      }
      expect(await differencesFromReference(warehouse(), sources)).toEqual({ missing: 0, extra: 0 });
      expect(stateOf(result, 'seed:smart_meter_consumption_q4')).toBe('succeeded');
      expect(stateOf(result, 'seed:tariff_unit_rates')).toBe('unchanged');
      expect(stateOf(result, 'model:stg_tariff_unit_rates')).toBe('unchanged');
      expect(stateOf(result, 'analytics:meter_anomalies')).toBe('succeeded');
      // from the provenance table: the new file with its rows, and the day's readings in the master
      const [provenance] = await queryFile(
        warehouse(),
        `select rows::integer as rows from meterflow.source_files where uri = '${newFile}'`,
      );
      expect(provenance?.rows).toBeGreaterThan(15 * 40);
      const [day] = await queryFile(
        warehouse(),
        `select count(*)::integer as n from main.demand_price_elasticity where settlement_timestamp_utc >= timestamp '2023-10-04'`,
      );
      expect(day?.n).toBeGreaterThan(0);
      // the new version's rows, counted from the window (not the whole table): the master's node and the
      // pinned version the analytics read both give the published table's count
      const [published] = await queryFile(warehouse(), 'select count(*)::integer as n from main.demand_price_elasticity');
      expect(result.nodes.find((n) => n.id === 'model:demand_price_elasticity')?.rows).toBe(published?.n);
      expect(result.nodes.find((n) => n.id.startsWith('snapshot:'))?.rows).toBe(published?.n);
    });

    it('replaces the rows of a replaced file, and removes those of a removed one', async () => {
      const file = path.join(sources, 'smart_meter_consumption_q4', 'smart_meter_consumption_2023_q4_day_2023-10-04.parquet');
      await writeParquet(file, `select * from read_parquet('${file}') where hour(settlement_timestamp_utc) < 6`);
      await runOnce(workers);
      const [replaced] = await queryFile(
        warehouse(),
        `select count(*)::integer as n, max(hour(settlement_timestamp_utc))::integer as h from raw.smart_meter_consumption_q4 where _source_file = '${file}'`,
      );
      expect(replaced?.h).toBeLessThan(6);
      expect(await differencesFromReference(warehouse(), sources)).toEqual({ missing: 0, extra: 0 });
      await rm(file);
      const { result } = await runOnce(workers);
      expect(result.nodes.find((n) => n.id === 'seed:smart_meter_consumption_q4')?.note).toBe('0 file(s) loaded, 1 removed');
      // the removed file's half hours are rebuilt from what is left: its readings are gone from the master
      expect(noteOf(result, 'model:demand_price_elasticity')).toMatch(/^incremental: 0 rows rebuilt from 2023-10-04 00:00:00/);
      expect(await differencesFromReference(warehouse(), sources)).toEqual({ missing: 0, extra: 0 });
      const [removed] = await queryFile(
        warehouse(),
        `select count(*)::integer as n from raw.smart_meter_consumption_q4 where _source_file = '${file}'`,
      );
      expect(removed?.n).toBe(0);
    });

    it('reloads and rebuilds everything with a full refresh', async () => {
      const { result } = await runOnce(workers, { fullRefresh: true });
      expect(result.nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
    });

    it('runs only the selected models: path:staging builds the staging views and publishes no snapshot', async () => {
      const { result } = await runOnce(workers, { select: ['path:staging'], fullRefresh: true });
      const kinds = result.nodes.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n.kind]: (acc[n.kind] ?? 0) + 1 }), {});
      expect(kinds).toEqual({ seed: 8, model: 5, test: 6, publish: 1, report: 1 }); // five staging models' tests and the overlapping-readings test
      const { result: one } = await runOnce(workers, { select: ['meter_anomalies'], fullRefresh: true });
      expect(one.nodes.map((n) => n.id)).toEqual([
        'snapshot:master',
        'analytics:meter_anomalies',
        'test:meter_anomalies',
        'publish:run',
        'report:run',
      ]);
    });
  });

  it('finishes two runs started at the same moment on one warehouse, with no lock error', async () => {
    const workers = await startWorkers(temporal, { label: 'concurrent', warehousePath: path.join(dir, 'concurrent-warehouse') });
    try {
      const [first, second] = await Promise.all([runOnce(workers, { fullRefresh: true }), runOnce(workers, { fullRefresh: true })]);
      for (const run of [first, second]) expect(run.result.nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
    } finally {
      await workers.stop();
    }
  });

  it('resets a finished run to after its seed step, re-executes the rest and gives identical tables', async () => {
    const warehousePath = path.join(dir, 'reset-warehouse');
    const workers = await startWorkers(temporal, { label: 'reset', warehousePath });
    const tables = ['main.demand_price_elasticity', 'main.meter_anomalies', 'main.actual_vs_estimated_daily'];
    try {
      const { handle } = await runOnce(workers, { fullRefresh: true });
      await workers.stop();
      const before = await Promise.all(tables.map((t) => queryFile(warehousePath, tableChecksumSql(t))));
      const history = await handle.fetchHistory();
      const events = history.events ?? [];
      const seedIds = new Set(
        events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'seedSource').map((e) => String(e.eventId)),
      );
      const lastSeedDone = Math.max(
        ...events
          .filter((e) => seedIds.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)))
          .map((e) => Number(e.eventId)),
      );
      const resetPoint = events.find((e) => Number(e.eventId) > lastSeedDone && e.workflowTaskCompletedEventAttributes);
      const describe = await handle.describe();
      const reset = await temporal.client.workflowService.resetWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: handle.workflowId, runId: describe.runId },
        workflowTaskFinishEventId: resetPoint?.eventId,
        reason: 'test: reset after seeding',
        requestId: randomUUID(),
      });
      const again = await startWorkers(temporal, { label: 'reset-again', warehousePath, queues: workers.queues });
      try {
        const resetHandle = temporal.client.workflow.getHandle(handle.workflowId, reset.runId ?? undefined);
        const result = (await resetHandle.result()) as PipelineResult;
        expect(stateOf(result, 'model:demand_price_elasticity')).toBe('succeeded');
        const resetHistory = await resetHandle.fetchHistory();
        const rerunBuilds = (resetHistory.events ?? []).filter(
          (e) =>
            Number(e.eventId) > Number(resetPoint?.eventId) &&
            ['buildModel', 'commitBuiltMonths'].includes(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
        );
        const rebuilt = rerunBuilds.map((e) => JSON.parse(Buffer.from(e.userMetadata?.summary?.data ?? []).toString('utf8')) as string);
        // the master is built a month at a time, then committed by the writer: the commit names it
        expect(rebuilt).toContainEqual(expect.stringMatching(/^build model demand_price_elasticity/));
      } finally {
        await again.stop();
      }
      expect(await Promise.all(tables.map((t) => queryFile(warehousePath, tableChecksumSql(t))))).toEqual(before);
    } finally {
      await workers.stop().catch(() => undefined);
    }
  });

  describe('schedules', () => {
    let workers: RunningWorkers;
    beforeAll(async () => {
      workers = await startWorkers(temporal, { label: 'schedules', warehousePath: path.join(dir, 'scheduled-warehouse') });
    });
    afterAll(() => workers.stop());

    it('starts runs on its own every few seconds with the scheduled time as logical date, and pause stops them', async () => {
      const scheduleId = `every-2s-${randomUUID().slice(0, 6)}`;
      await createSchedule(temporal.client, { scheduleId, every: '2s', input: inputFor(workers), taskQueue: workers.queues.workflows });
      try {
        const description = await eventually(async () => {
          const d = await describeSchedule(temporal.client, scheduleId);
          return d.info.recentActions.length >= 2 && d;
        });
        const first = description.info.recentActions[0]!;
        expect(first.action.workflow.workflowId).toMatch(new RegExp(`^pipeline-${scheduleId}-`));
        const progress = await getProgress(temporal.client.workflow.getHandle(first.action.workflow.workflowId));
        expect(progress.logicalDate).toBe(first.scheduledAt.toISOString());
        await pauseSchedule(temporal.client, scheduleId, 'test');
        const paused = (await describeSchedule(temporal.client, scheduleId)).info.recentActions.length;
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        expect((await describeSchedule(temporal.client, scheduleId)).info.recentActions.length).toBe(paused);
      } finally {
        await deleteSchedule(temporal.client, scheduleId);
      }
    });

    it('backfills a range with one run per slot, each with its slot as logical date', async () => {
      const scheduleId = `hourly-${randomUUID().slice(0, 6)}`;
      await createSchedule(temporal.client, {
        scheduleId,
        cron: '0 * * * *',
        input: inputFor(workers),
        taskQueue: workers.queues.workflows,
      });
      try {
        await pauseSchedule(temporal.client, scheduleId, 'only the backfill should run');
        await backfillSchedule(temporal.client, scheduleId, new Date('2023-10-01T00:00:00Z'), new Date('2023-10-01T02:30:00Z'));
        const ids = ['00', '01', '02'].map((hour) => `pipeline-${scheduleId}-2023-10-01T${hour}:00:00Z`);
        for (const id of ids) {
          const result = (await eventually(async () => {
            try {
              return await temporal.client.workflow.getHandle(id).result();
            } catch {
              return undefined;
            }
          })) as PipelineResult;
          expect(result.logicalDate).toBe(`${id.slice(-20, -1)}.000Z`);
        }
      } finally {
        await deleteSchedule(temporal.client, scheduleId);
      }
    });

    it("accepts docs/operations.md's stock `temporal schedule create` line as written", async () => {
      const readme = await readFile(path.join(PACKAGE_ROOT, 'docs', 'operations.md'), 'utf8');
      const block = /```sh\n(temporal schedule create[\s\S]*?)```/.exec(readme)?.[1];
      expect(block).toBeDefined();
      const scheduleId = `meterflow-nightly-${randomUUID().slice(0, 6)}`;
      // the documented run on the default queues, so this test's workers poll them
      const defaults = await startWorkers(temporal, {
        label: 'stock-cli',
        warehousePath: path.join(dir, 'stock-warehouse'),
        queues: { writer: 'meterflow-writer', analytics: 'meterflow-analytics', workflows: 'meterflow-workflows' },
      });
      try {
        const command = (block as string)
          .replace('meterflow-nightly', scheduleId)
          .replace('pipeline-nightly', `pipeline-${scheduleId}`)
          .replace('s3://meterflow/sources', sources)
          .replace('s3://meterflow/runs', path.join(dir, 'stock-out'));
        const cli = findTemporalCli() as string;
        await exec('bash', ['-c', `${command.replace(/^temporal /, `"${cli}" `).trim()} --address ${testServerAddress()}`]);
        await exec(cli, ['schedule', 'trigger', '--schedule-id', scheduleId, '--address', testServerAddress()]);
        const run = await eventually(async () => (await describeSchedule(temporal.client, scheduleId)).info.recentActions[0]);
        const result = (await temporal.client.workflow.getHandle(run.action.workflow.workflowId).result()) as PipelineResult;
        expect(result.nodes.every((n) => n.state === 'succeeded')).toBe(true);
      } finally {
        await deleteSchedule(temporal.client, scheduleId).catch(() => undefined);
        await defaults.stop();
      }
    });
  });

  it('starts a run when source files land, and runs once more when they land during a run', async () => {
    const workers = await startWorkers(temporal, { label: 'landed', warehousePath: path.join(dir, 'landed-warehouse') });
    try {
      const handle = await notifySourcesLanded(temporal.client, inputFor(workers), {
        taskQueue: workers.queues.workflows,
        note: 'first files',
      });
      // wait until the run is seeding, then land one more file and notify again
      await eventually(async () => (await getProgress(handle)).nodes.some((n) => n.kind === 'model' && n.state !== 'pending'));
      const extra = path.join(sources, 'tariff_unit_rates', 'tariff_unit_rates_extra.parquet');
      const [tariffs] = await readdir(path.join(sources, 'tariff_unit_rates'));
      await copyFile(path.join(sources, 'tariff_unit_rates', tariffs as string), extra);
      await notifySourcesLanded(temporal.client, inputFor(workers), { taskQueue: workers.queues.workflows, note: 'tariffs' });
      const final = await eventually(async () => {
        const described = await temporal.client.workflow.getHandle(handle.workflowId).describe();
        return described.status.name === 'COMPLETED' && described;
      });
      expect(final.runId).not.toBe((handle as unknown as { signaledRunId: string }).signaledRunId);
      const result = (await temporal.client.workflow.getHandle(handle.workflowId).result()) as PipelineResult;
      expect(result.nodes.find((n) => n.id === 'seed:tariff_unit_rates')?.note).toBe('1 file(s) loaded, 0 removed');
      await rm(extra);
    } finally {
      await workers.stop();
    }
  });
});

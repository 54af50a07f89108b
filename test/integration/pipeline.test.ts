// The pipeline workflow end to end on the real Temporal dev server, real workers and a real warehouse
// file: a small generated data set, checked against an independent computation; retries of a
// transient failure; bad SQL failing fast with the model's name; and replay of the recorded history.
import { WorkflowFailedError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createAnalyticsWorkerActivities, createBuildWorkerActivities, createWriterActivities } from '../../src/activities';
import { buildQueueFor } from '../../src/contract/queues';
import { describeFailure, getProgress, startPipeline, waitForPipeline } from '../../src/client';
import { PACKAGE_ROOT } from '../../src/config';
import { generateSampleData } from '../../src/generator/generate';
import { createLogger } from '../../src/logger';
import { loadProject } from '../../src/project/load';
import { createStorageResolver } from '../../src/storage';
import { Warehouse } from '../../src/warehouse/warehouse';
import { createWorkers, WORKER_TIMING } from '../../src/worker';
import type { PipelineProgress } from '../../src/contract/run';
import { copyOfModels, editFile, queryFile, tableChecksumSql, tempDir } from '../support/files';
import { MASTER_AS_REFERENCE_SQL, referenceMasterSql } from '../support/reference-master';
import { connectToTestServer, freshQueues, type TemporalTestContext } from '../support/temporal';

const logger = createLogger('test', 'silent');

describe('the pipeline workflow', () => {
  let temporal: TemporalTestContext;
  let sources: string;
  let dir: string;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('pipeline');
    sources = path.join(dir, 'sources');
    // a data set the model tests never saw: another seed, a window across a quarter boundary
    await generateSampleData({ outDir: sources, meters: 25, from: '2023-06-20', to: '2023-07-12', seed: 2024 });
  });

  afterAll(async () => {
    await temporal.close();
  });

  async function runPipeline(options: { warehousePath: string; projectDir: string; label: string }) {
    const queues = freshQueues(options.label);
    const workers = await createWorkers({
      connection: temporal.workerConnection,
      namespace: 'default',
      role: 'all',
      warehousePath: options.warehousePath,
      projectDir: options.projectDir,
      queues,
      logger,
    });
    const running = workers.run();
    const handle = await startPipeline(
      temporal.client,
      { sourcesUri: sources, outUri: path.join(dir, 'out'), writerQueue: queues.writer, analyticsQueue: queues.analytics },
      { taskQueue: queues.workflows },
    );
    const seen: PipelineProgress[] = [];
    try {
      const result = await waitForPipeline(handle, { onProgress: (p) => seen.push(p), pollIntervalMs: 200 });
      return { handle, result, seen, progress: await getProgress(handle) };
    } catch (err) {
      return { handle, error: err, seen };
    } finally {
      workers.shutdown();
      await running;
    }
  }

  describe('on a small generated data set', () => {
    let run: Awaited<ReturnType<typeof runPipeline>>;
    const warehousePath = () => path.join(dir, 'warehouse-warehouse');

    beforeAll(async () => {
      run = await runPipeline({ warehousePath: warehousePath(), projectDir: path.join(PACKAGE_ROOT, 'models'), label: 'good' });
      if ('error' in run) throw run.error;
    });

    it('completes with every node succeeded', () => {
      const nodes = run.result?.nodes ?? [];
      expect(nodes.filter((n) => n.state !== 'succeeded')).toEqual([]);
      expect(nodes.filter((n) => n.kind === 'seed')).toHaveLength(8);
      expect(nodes.filter((n) => n.kind === 'model')).toHaveLength(9); // five staging, the master and the three tables it reads
      expect(nodes.filter((n) => n.kind === 'analytics')).toHaveLength(12); // eight, and four of per-month partials
      // an analytics model's tests ran with it, before its result was uploaded: a node each still
      expect(nodes.filter((n) => n.kind === 'test' && n.id.startsWith('test:meter_anomalies'))).toHaveLength(1);
      expect(run.progress?.done).toBe(true);
      expect(run.seen.some((p) => p.nodes.some((n) => n.state === 'running'))).toBe(true);
    });

    it('schedules one activity per source and per model, each with a summary naming it', async () => {
      const history = await run.handle.fetchHistory();
      const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
      const summaries = await Promise.all(
        scheduled.map(async (e) => {
          const payload = e.userMetadata?.summary;
          return payload?.data ? JSON.parse(Buffer.from(payload.data).toString('utf8')) : undefined;
        }),
      );
      expect(summaries).toEqual(
        expect.arrayContaining([
          'seed tariff_unit_rates',
          expect.stringMatching(/^build model demand_price_elasticity: commit \d+ months$/),
          'months of demand_price_elasticity',
          'analytics model meter_anomalies',
        ]),
      );
      // the readings and the master are built a month at a time: their months planned, then built
      const months = summaries.filter((summary) =>
        /^build (stg_smart_meter_consumption|demand_price_elasticity) for \d{4}-\d{2}$/.test(summary),
      );
      expect(months.length).toBeGreaterThanOrEqual(2);
      // the singular test over the four reading sources (all timed) runs a month at a time too
      const testMonths = summaries.filter((summary) => /^test assert_overlapping_readings_agree for \d{4}-\d{2}$/.test(summary));
      expect(testMonths).toHaveLength(months.length / 2);
      // plan, 8 seeds, 9 models built (two of them planned per month, then built month by month) and
      // 8 test runs (the readings' months decide all of its tests: none), the singular test's months
      // planned and tested, the snapshot, 12 analytics models (each testing its own result), the one
      // publish of the whole run, the report
      expect(scheduled).toHaveLength(1 + 8 + 9 + 2 + months.length + 8 + 1 + testMonths.length + 1 + 12 + 1 + 1);
      // what the master's months leave undecided (its row count) is tested on the build queue
      const builtTests = scheduled.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'testBuiltModel');
      expect(builtTests.map((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name)).toEqual([expect.stringMatching(/-build$/)]);
      expect(summaries).toEqual(
        expect.arrayContaining([
          'test demand_price_elasticity',
          'publish 9 models and 12 analytics results',
          'months of test assert_overlapping_readings_agree',
        ]),
      );
    });

    it('builds a master table equal to an independent computation from the source files', async () => {
      const reference = referenceMasterSql(sources);
      const [counts] = await queryFile(
        warehousePath(),
        `select (select count(*) from (${reference}))::integer as expected,
                (select count(*) from main.demand_price_elasticity)::integer as actual,
                (select count(*) from ((${reference}) except (${MASTER_AS_REFERENCE_SQL})))::integer as missing,
                (select count(*) from ((${MASTER_AS_REFERENCE_SQL}) except (${reference})))::integer as extra`,
      );
      expect(counts).toMatchObject({ missing: 0, extra: 0 });
      expect(counts?.expected).toBeGreaterThan(20_000);
      expect(counts?.actual).toBe(counts?.expected);
    });

    it('loads every analytics result into the warehouse', async () => {
      const [row] = await queryFile(warehousePath(), `select count(*)::integer as n from main.actual_vs_estimated_daily`);
      expect(row?.n).toBe(22);
    });

    it('replays its recorded history without nondeterminism', async () => {
      const history = await run.handle.fetchHistory();
      await mkdir(path.join(PACKAGE_ROOT, 'test-artifacts'), { recursive: true });
      // kept as an artefact; copied to test/fixtures when the workflow changes on purpose (see replay.test.ts)
      await writeFile(path.join(PACKAGE_ROOT, 'test-artifacts', 'pipeline-history.json'), historyToJSON(history));
      await expect(Worker.runReplayHistory({ workflowsPath: require.resolve('../../src/workflows') }, history)).resolves.toBeUndefined();
    });

    it('runs again with the same inputs and changes nothing', async () => {
      const checksums = () =>
        Promise.all(
          ['main.demand_price_elasticity', 'main.meter_anomalies', 'raw.tariff_unit_rates'].map((t) =>
            queryFile(warehousePath(), tableChecksumSql(t)),
          ),
        );
      const before = await checksums();
      const again = await runPipeline({ warehousePath: warehousePath(), projectDir: path.join(PACKAGE_ROOT, 'models'), label: 'again' });
      expect(again.error).toBeUndefined();
      expect(again.result?.warehousePath).toBe(warehousePath());
      // only the report is written again, for this run
      expect(again.result?.nodes.filter((n) => n.state !== 'unchanged').map((n) => n.id)).toEqual(['report:run']);
      expect(await checksums()).toEqual(before);
      // every source looked at in one activity, none seeded; the report says nothing changed, reading nothing
      const scheduled = ((await again.handle.fetchHistory()).events ?? []).flatMap(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? [],
      );
      expect(scheduled).toEqual(['planRun', 'checkSources', 'renderReport']);
      const report = await readFile(again.result?.reportUri as string, 'utf8');
      expect(report).toContain('<strong>Nothing changed</strong>');
      expect(report).toContain('<a href="../../index.html">grid of runs</a>');
      // and each model's compiled SQL by its hash, as the plan in the run's history recorded it
      const events = (await again.handle.fetchHistory()).events ?? [];
      const planScheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'planRun');
      const planned = events.find(
        (e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(planScheduled?.eventId),
      );
      const payload = planned?.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
      const { stateHashes } = JSON.parse(Buffer.from(payload ?? []).toString('utf8')) as { stateHashes: Record<string, string> };
      expect(stateHashes.demand_price_elasticity).toMatch(/^[0-9a-f]{16}$/);
      expect(report).toContain(
        `<tr><td><code>demand_price_elasticity</code></td><td><code>${stateHashes.demand_price_elasticity}</code></td></tr>`,
      );
    });

    it('fails fast with the model and file named on bad SQL, leaving the published tables as they were', async () => {
      const before = await queryFile(warehousePath(), `${tableChecksumSql('main.demand_price_elasticity')}`);
      const broken = await copyOfModels('bad-sql');
      await editFile(path.join(broken, 'master', 'demand_price_elasticity.sql'), (sql) =>
        sql.replace('readings.smart_meter_consumption,', 'readings.no_such_column,'),
      );
      const started = Date.now();
      const failed = await runPipeline({ warehousePath: warehousePath(), projectDir: broken, label: 'bad-sql' });
      expect(failed.error).toBeInstanceOf(WorkflowFailedError);
      const { node, reason } = describeFailure(failed.error);
      expect(node).toBe('model:demand_price_elasticity');
      expect(reason).toMatch(/model demand_price_elasticity \(master\/demand_price_elasticity\.sql\): Binder Error: .*no_such_column/);
      // non-retryable: one attempt, not six with backoff
      const history = await failed.handle.fetchHistory();
      const attempts = (history.events ?? []).filter(
        (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
      );
      expect(attempts).toEqual([]);
      expect(Date.now() - started).toBeLessThan(60_000);
      const after = await queryFile(warehousePath(), `${tableChecksumSql('main.demand_price_elasticity')}`);
      expect(after).toEqual(before);
    });
  });

  it('retries a transient activity failure and completes', async () => {
    const queues = freshQueues('transient');
    const warehouse = await Warehouse.open(path.join(await tempDir('transient'), 'warehouse-warehouse'));
    const project = await loadProject(path.join(PACKAGE_ROOT, 'models'));
    const storage = createStorageResolver();
    const writerActivities = createWriterActivities({ warehouse, project, storage, logger });
    let failuresLeft = 1;
    const flakyWriter = {
      ...writerActivities,
      // a fault that passes: the first attempt at seeding the tariffs fails like a dropped connection
      seedSource: async (input: Parameters<typeof writerActivities.seedSource>[0]) => {
        if (input.source.name === 'tariff_unit_rates' && failuresLeft-- > 0) throw new Error('connection reset by peer');
        return writerActivities.seedSource(input);
      },
    };
    const common = { connection: temporal.workerConnection, namespace: 'default', ...WORKER_TIMING };
    const workers = [
      await Worker.create({ ...common, taskQueue: queues.writer, activities: flakyWriter, maxConcurrentActivityTaskExecutions: 1 }),
      await Worker.create({
        ...common,
        taskQueue: queues.analytics,
        activities: createAnalyticsWorkerActivities({ project, storage, logger, duckdb: {} }),
      }),
      await Worker.create({
        ...common,
        taskQueue: buildQueueFor(queues.writer),
        activities: createBuildWorkerActivities({ project, logger, duckdb: {} }),
      }),
      await Worker.create({ ...common, taskQueue: queues.workflows, workflowsPath: require.resolve('../../src/workflows') }),
    ];
    const running = Promise.all(workers.map((w) => w.run()));
    try {
      const handle = await startPipeline(
        temporal.client,
        { sourcesUri: sources, outUri: path.join(dir, 'out-transient'), writerQueue: queues.writer, analyticsQueue: queues.analytics },
        { taskQueue: queues.workflows },
      );
      const result = await waitForPipeline(handle);
      expect(result.nodes.every((n) => n.state === 'succeeded')).toBe(true);
      const history = await handle.fetchHistory();
      // the injected fault, retried once (a busy machine may retry something else too: not this test's matter)
      const retried = (history.events ?? []).filter(
        (e) => e.activityTaskStartedEventAttributes?.lastFailure?.message === 'connection reset by peer',
      );
      expect(retried.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toEqual([2]);
      expect(failuresLeft).toBe(-1);
    } finally {
      for (const worker of workers) worker.shutdown();
      await running;
      warehouse.close();
    }
  });
});

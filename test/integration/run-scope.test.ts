// A run names the warehouse and the project it runs: two of each served at once by one server, a
// warehouse nobody serves refused before the run starts, a writer of another warehouse refusing the
// work, an edit seen by the next run without a restart, and a reset after an edit naming the change.
import { WorkflowFailedError } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { describeFailure, startPipeline } from '../../src/client';
import { DEFAULT_TEMPORAL_ADDRESS, PACKAGE_ROOT } from '../../src/config';
import { probeAddress } from '../../src/temporal/connection';
import { freePort } from '../../src/temporal/dev-server';
import { DEV_WRITER_QUEUE_NAME, writerQueueFor } from '../../src/contract/queues';
import { PIPELINE_WORKFLOW_TYPE, type PipelineInput, type PipelineResult } from '../../src/contract/run';
import { NoWriterError } from '../../src/errors';
import { generateSampleData } from '../../src/generator/generate';
import { createLogger } from '../../src/logger';
import { fingerprintProject } from '../../src/project/fingerprint';
import { warehouseName } from '../../src/warehouse/names';
import { queryWarehouse } from '../../src/warehouse/warehouse';
import { createWorkers } from '../../src/worker';
import { copyOfModels, tempDir } from '../support/files';
import { spawnMeterflow, spawnWorker } from '../support/processes';
import { connectToTestServer, eventually, freshQueues, testServerAddress, type TemporalTestContext } from '../support/temporal';

const logger = createLogger('test', 'silent');
/** A small run: the tariffs' source and staging model (and whatever a test's project adds beside them). */
const SELECTED = ['stg_tariff_unit_rates', 'tariff_count'];

describe('a run names its warehouse and project', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;
  let projectB: string;
  const queues = freshQueues('scope');
  const stops: (() => Promise<void>)[] = [];

  /**
   * Workers of one warehouse and project, its writer on the warehouse's own writer queue: all of them,
   * or (a process may poll a queue once) its writer alone, the first set's analytics and build workers
   * serving both warehouses and projects.
   */
  async function serve(warehouse: string, projectDir: string, role: 'all' | 'writer'): Promise<void> {
    const workers = await createWorkers({
      connection: temporal.workerConnection,
      namespace: 'default',
      role,
      warehousePath: warehouse,
      projectDir,
      ...(role === 'writer' ? { buildConcurrency: 0 } : {}),
      queues: { analytics: queues.analytics, workflows: role === 'all' ? queues.workflows : freshQueues('scope-unused').workflows },
      logger,
    });
    const running = workers.run();
    stops.push(async () => {
      workers.shutdown();
      await running;
    });
  }

  async function inputFor(warehouse: string, projectDir: string, extra: Partial<PipelineInput> = {}): Promise<PipelineInput> {
    return {
      warehouse: warehouseName(warehouse),
      project: await fingerprintProject(projectDir),
      sourcesUri: sources,
      outUri: path.join(dir, 'out'),
      select: SELECTED,
      analyticsQueue: queues.analytics,
      ...extra,
    };
  }

  async function run(warehouse: string, projectDir: string, select = SELECTED): Promise<PipelineResult> {
    const handle = await startPipeline(temporal.client, await inputFor(warehouse, projectDir, { select }), { taskQueue: queues.workflows });
    return handle.result();
  }

  const tables = async (warehouse: string) =>
    (await queryWarehouse(warehouse, "select table_name from information_schema.tables where table_schema = 'main' order by 1")).rows.map(
      (row) => row.table_name,
    );

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('scope');
    sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 3, from: '2023-06-28', to: '2023-07-02', seed: 11 });
    // project B: the shipped models and one more, which project A does not have
    projectB = await copyOfModels('scope-b');
    await writeFile(path.join(projectB, 'staging', 'tariff_count.sql'), "select count(*) as n from {{ ref('stg_tariff_unit_rates') }}\n");
    await serve(path.join(dir, 'warehouse-a'), path.join(PACKAGE_ROOT, 'models'), 'all');
    await serve(path.join(dir, 'warehouse-b'), projectB, 'writer');
  });

  afterAll(async () => {
    for (const stop of stops) await stop();
    await temporal.close();
  });

  it('builds, with two warehouses and two projects served at once, the warehouse and project each run names', async () => {
    const a = path.join(dir, 'warehouse-a');
    const b = path.join(dir, 'warehouse-b');
    const [inA, inB] = await Promise.all([run(a, path.join(PACKAGE_ROOT, 'models'), ['stg_tariff_unit_rates']), run(b, projectB)]);
    expect(inA.warehousePath).toBe(a);
    expect(inB.warehousePath).toBe(b);
    expect(inB.projectHash).toBe((await fingerprintProject(projectB)).hash);
    expect(await tables(a)).toEqual(['stg_tariff_unit_rates']);
    expect(await tables(b)).toEqual(['stg_tariff_unit_rates', 'tariff_count']);
    // and project B's run on warehouse A's writer: A's warehouse gets B's model, B's is not touched
    const crossed = await run(a, projectB);
    expect(crossed.warehousePath).toBe(a);
    expect(await tables(a)).toEqual(['stg_tariff_unit_rates', 'tariff_count']);
  });

  it('refuses, within seconds and before starting it, a run whose warehouse no worker serves, saying how to start one', async () => {
    const nobody = path.join(dir, 'warehouse-nobody-serves');
    const started = Date.now();
    const refused = await startPipeline(temporal.client, await inputFor(nobody, projectB), { taskQueue: queues.workflows }).catch(
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(NoWriterError);
    expect((refused as Error).message).toContain(`no worker serves the warehouse ${nobody}`);
    expect((refused as Error).message).toContain(`meterflow worker --role writer --db ${nobody}`);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(nobody)).toBe(false);
  });

  it('refuses, too, a run whose input names a password', async () => {
    const input = await inputFor(path.join(dir, 'warehouse-a'), projectB, { warehouse: 'postgres:dbname=lake password=hunter2' });
    await expect(startPipeline(temporal.client, input, { taskQueue: queues.workflows })).rejects.toThrow(/holds a password/);
  });

  it('refuses a run with bad fields before starting anything, naming each', async () => {
    const input = await inputFor(path.join(dir, 'warehouse-a'), projectB, { sourcesUri: 'relative/dir', logicalDate: 'garbage' });
    const before = (await temporal.client.workflow.count(`TaskQueue = '${queues.workflows}'`)).count;
    const refused = await startPipeline(temporal.client, input, { taskQueue: queues.workflows }).catch((err: unknown) => err as Error);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as Error).message).toContain('sourcesUri must be an absolute path or a URI (s3://…), not "relative/dir"');
    expect((refused as Error).message).toContain('logicalDate must be an ISO 8601 date or time (e.g. 2024-01-31T02:00:00Z), not "garbage"');
    expect((await temporal.client.workflow.count(`TaskQueue = '${queues.workflows}'`)).count).toBe(before);
  });

  it("fails, non-retryably and writing nothing, a run that reaches another warehouse's writer", async () => {
    const elsewhere = path.join(dir, 'warehouse-c');
    // started past the client's check, as `temporal workflow start` would: on warehouse A's writer queue
    const input = await inputFor(elsewhere, projectB, { writerQueue: writerQueueFor(path.join(dir, 'warehouse-a')) });
    const handle = await temporal.client.workflow.start(PIPELINE_WORKFLOW_TYPE, {
      taskQueue: queues.workflows,
      workflowId: `scope-wrong-${randomUUID().slice(0, 8)}`,
      args: [input],
    });
    const failure = await handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(describeFailure(failure).reason).toMatch(
      new RegExp(
        `builds the warehouse ${elsewhere}, but its planRun activity reached the writer of ${path.join(dir, 'warehouse-a')}: nothing was written`,
      ),
    );
    const attempts = (await handle.fetchHistory()).events
      ?.filter((e) => e.activityTaskStartedEventAttributes)
      .map((e) => e.activityTaskStartedEventAttributes?.attempt);
    expect(attempts).toEqual([1]);
    expect(existsSync(elsewhere)).toBe(false);
  });

  it('runs a model added to the project while the workers run, in the next run, without a restart', async () => {
    await writeFile(path.join(projectB, 'staging', 'tariff_max.sql'), "select max(n) as n from {{ ref('tariff_count') }}\n");
    const handle = await startPipeline(
      temporal.client,
      await inputFor(path.join(dir, 'warehouse-b'), projectB, { select: [...SELECTED, 'tariff_max'] }),
      { taskQueue: queues.workflows },
    );
    const result = await handle.result();
    expect(result.nodes.find((n) => n.id === 'model:tariff_max')?.state).toBe('succeeded');
    expect(await tables(path.join(dir, 'warehouse-b'))).toContain('tariff_max');
  });

  it('names the files that changed when a run is reset after its project changed, instead of running other SQL', async () => {
    const warehouse = path.join(dir, 'warehouse-b');
    const handle = await startPipeline(temporal.client, await inputFor(warehouse, projectB), { taskQueue: queues.workflows });
    await handle.result();
    await writeFile(
      path.join(projectB, 'staging', 'tariff_count.sql'),
      "select count(*) + 1 as n from {{ ref('stg_tariff_unit_rates') }}\n",
    );
    const events = (await handle.fetchHistory()).events ?? [];
    const firstTask = events.find((e) => e.workflowTaskCompletedEventAttributes);
    const { runId } = await temporal.client.workflowService.resetWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: handle.workflowId },
      workflowTaskFinishEventId: firstTask?.eventId,
      requestId: randomUUID(),
      reason: 'test: reset after a project change',
    });
    const reset = temporal.client.workflow.getHandle(handle.workflowId, runId ?? undefined);
    const failure = await reset.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const { reason } = describeFailure(failure);
    expect(reason).toContain(`this run runs the project ${projectB} as it was at`);
    expect(reason).toContain('since the run started: changed staging/tariff_count.sql');
    expect(reason).toContain('Start a new run to run the project as it is now');
  });
  it("refuses, naming the variable and not its value, a worker whose env_var() value differs from the plan's, and loses nothing", async () => {
    const projectE = await copyOfModels('scope-env');
    await writeFile(
      path.join(projectE, 'analytics', 'regional_rates.sql'),
      "{{ config(materialized='table', meta={'meterflow': {'runs_on': 'analytics'} }) }}\n" +
        "select '{{ env_var('METERFLOW_TEST_REGION') }}' as region, count(*) as n from {{ ref('stg_tariff_unit_rates') }}\n",
    );
    const warehouse = path.join(dir, 'warehouse-e');
    // the writer (and so the plan) in this process, with one value; analytics workers in their own, with theirs
    process.env.METERFLOW_TEST_REGION = 'north';
    await serve(warehouse, projectE, 'writer');
    const analyticsQueue = freshQueues('scope-env').analytics;
    const analyticsWorker = (region: string) =>
      spawnWorker({
        role: 'analytics',
        address: testServerAddress(),
        queues: { writer: writerQueueFor(warehouse), analytics: analyticsQueue, workflows: freshQueues('scope-env-none').workflows },
        env: { METERFLOW_TEST_REGION: region },
      });
    const runE = async (select: string[]) =>
      startPipeline(temporal.client, await inputFor(warehouse, projectE, { select, analyticsQueue }), { taskQueue: queues.workflows });
    const elsewhere = analyticsWorker('south');
    try {
      await (await runE(['stg_tariff_unit_rates'])).result();
      const handle = await runE(['stg_tariff_unit_rates', 'regional_rates']);
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      const { reason } = describeFailure(failure);
      expect(reason).toContain(
        "this worker's environment differs from the one the run was planned with, in METERFLOW_TEST_REGION (another value)",
      );
      expect(reason).toContain('its runAnalyticsModel activity would render other SQL than the rest of the run');
      expect(reason).not.toMatch(/north|south/);
      const attempts = (await handle.fetchHistory()).events
        ?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runAnalyticsModel')
        .map((e) => e.eventId);
      expect(attempts).toHaveLength(1);
      expect(await tables(warehouse)).toEqual(['stg_tariff_unit_rates']);
    } finally {
      await elsewhere.kill('SIGTERM');
    }
    // the same values everywhere: the run builds, with the plan's value
    const alike = analyticsWorker('north');
    try {
      await (await runE(['stg_tariff_unit_rates', 'regional_rates'])).result();
      expect((await queryWarehouse(warehouse, 'select region from main.regional_rates')).rows).toEqual([{ region: 'north' }]);
    } finally {
      await alike.kill('SIGTERM');
      delete process.env.METERFLOW_TEST_REGION;
    }
  });

  it("says in one line, when an embedded run meets the warehouse meterflow dev holds, how to run on dev's server", async () => {
    if ((await probeAddress(DEFAULT_TEMPORAL_ADDRESS, 1_000)) === undefined) {
      return console.warn(`${DEFAULT_TEMPORAL_ADDRESS} is taken: meterflow dev cannot start there for this check`);
    }
    // a METERFLOW_HOME that does not exist yet: dev makes it, as every other command does
    const home = path.join(await tempDir('beside-dev'), 'home-not-made-yet');
    const dev = spawnMeterflow(['dev', '--ui-port', String(await freePort())], { METERFLOW_HOME: home });
    try {
      await eventually(async () => dev.output().includes('workers running'), 90_000);
      const run = spawnMeterflow(['run', '--sources', sources, '--out', path.join(home, 'out')], { METERFLOW_HOME: home });
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toContain(`warehouse ${path.join(home, 'warehouse')} is already open by another process`);
      expect(run.stderr()).toContain(
        `a Temporal server answers at ${DEFAULT_TEMPORAL_ADDRESS} (meterflow dev?): run there with TEMPORAL_ADDRESS=${DEFAULT_TEMPORAL_ADDRESS} meterflow run …`,
      );
    } finally {
      await dev.kill('SIGINT');
      await eventually(async () => (await probeAddress(DEFAULT_TEMPORAL_ADDRESS, 1_000)) !== undefined, 30_000);
    }
  });

  // last: a stopped worker's poller stays listed for a minute, and dev's would take the refused run above
  it("builds, with meterflow dev's writer of any warehouse, a warehouse no writer of its own serves", async () => {
    const devWarehouse = path.join(dir, 'warehouse-dev');
    const named = path.join(dir, 'warehouse-d');
    const workers = await createWorkers({
      connection: temporal.workerConnection,
      namespace: 'default',
      role: 'writer',
      serveAnyWarehouse: true,
      buildConcurrency: 0,
      warehousePath: devWarehouse,
      projectDir: path.join(PACKAGE_ROOT, 'models'),
      queues: { workflows: freshQueues('scope-dev').workflows },
      logger,
    });
    const running = workers.run();
    try {
      expect(workers.writerQueue).toBe(DEV_WRITER_QUEUE_NAME);
      const result = await run(named, projectB);
      expect(result.warehousePath).toBe(named);
      expect(await tables(named)).toEqual(['stg_tariff_unit_rates', 'tariff_count']);
    } finally {
      workers.shutdown();
      await running;
    }
  });
});

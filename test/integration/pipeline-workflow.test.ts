// The pipeline workflow's rules with mocked activities: a failing node named in the failure, up-to-date
// nodes left unchanged, a selection building only what it selects, an incremental model rebuilt over
// the window its readings changed in. The real workflow code on the integration tier's Temporal dev
// server (each run on a queue of its own); the activities are fakes over the shipped models project.
import { Context } from '@temporalio/activity';
import type { NotifyRunInput } from '../../src/activities/notify';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultProjectDir } from '../../src/config';
import { ModelBuildError } from '../../src/errors';
import { loadProject } from '../../src/project/load';
import { selectModels, type SelectionGraph } from '../../src/project/select';
import { runsOnOf, type ProjectPlan } from '../../src/project/types';
import type {
  BuildModelInput,
  BuildMonthInput,
  BuildMonthResult,
  CheckSourcesInput,
  CheckSourcesResult,
  BuildModelResult,
  BuiltState,
  DataTestResult,
  DataTestResults,
  EventWindow,
  PlannedRun,
  PlanRunInput,
  PublishRunInput,
  PublishRunResult,
  PinSnapshotInput,
  PinnedSnapshot,
  RenderReportInput,
  SeedSourceInput,
  SeedSourceResult,
} from '../../src/contract/activities';
import {
  MODELS_SELECTED,
  PIPELINE_WORKFLOW_TYPE,
  type NodeProgress,
  type PipelineInput,
  type PipelineResult,
  type PipelineWorkflow,
  sourcesLandedSignal,
} from '../../src/contract/run';
import type { AnalyticsActivities, BuildActivities, WriterActivities } from '../../src/workflows/activity-types';
import { connectToTestServer, type TemporalTestContext } from '../support/temporal';

/**
 * A warehouse in memory, as the writer's activities would leave it: each source's raw version, what
 * every published node was built from, and what the runs asked of it.
 */
/** The shipped project's selection graph, which the fake planRun selects from. */
let projectSelection: SelectionGraph;

class FakeWarehouse {
  readonly path = '/warehouse/meterflow.duckdb';
  /** Each source's raw version (a count of its loads). */
  private readonly loads = new Map<string, number>();
  /** Sources whose next seed loads new files, over these event times. */
  private readonly landed = new Map<string, EventWindow>();
  private readonly built: Record<string, BuiltState> = {};
  /** The lake's version: each publish commits one. */
  private version = 1;
  /** Models whose build fails with this error. */
  readonly failingBuilds = new Map<string, Error>();

  // what the runs asked, in order
  readonly plans: PlanRunInput[] = [];
  readonly seeded: string[] = [];
  /** The sources each checkSources looked at, by name. */
  readonly checked: string[][] = [];
  readonly builds: BuildModelInput[] = [];
  readonly analyticsRun: string[] = [];
  readonly published: PublishRunInput[] = [];
  readonly discarded: string[] = [];
  readonly reports: RenderReportInput[] = [];
  readonly notified: NotifyRunInput[] = [];

  constructor(private readonly plan: ProjectPlan) {}

  /** A warehouse holding what this one holds (its sources' versions and what it published), asked nothing yet. */
  copy(): FakeWarehouse {
    const copy = new FakeWarehouse(this.plan);
    for (const [source, loads] of this.loads) copy.loads.set(source, loads);
    Object.assign(copy.built, this.built);
    copy.version = this.version;
    return copy;
  }

  /** New files of a source land: its next seed loads them, and they hold these event times. */
  land(source: string, window: EventWindow): void {
    this.landed.set(source, window);
  }

  planRun(input: PlanRunInput): PlannedRun {
    this.plans.push(input);
    const definitions = [
      ...this.plan.models.map((model) => [model.name, `definition of ${model.name}`]),
      ...this.plan.singularTests.map((test) => [`test:${test.name}`, `definition of ${test.name}`]),
    ];
    return {
      plan: this.plan,
      selected: selectModels(projectSelection, input),
      stateHashes: Object.fromEntries(definitions),
      built: { ...this.built },
      droppedLeftovers: [],
      warehousePath: this.path,
    };
  }

  seedSource({ source }: SeedSourceInput): SeedSourceResult {
    this.seeded.push(source.name);
    const before = this.loads.get(source.name);
    const window = this.landed.get(source.name);
    const changed = before === undefined || window !== undefined;
    const loads = changed ? (before ?? 0) + 1 : (before as number);
    this.loads.set(source.name, loads);
    this.landed.delete(source.name);
    return this.seedResult(source.name, loads, { changed, before, ...(before !== undefined && window ? { window } : {}) });
  }

  /** As the writer's checkSources: a source seeded before with nothing landed since is unchanged; the rest null. */
  checkSources({ sources }: CheckSourcesInput): CheckSourcesResult {
    this.checked.push(sources.map((input) => input.source.name));
    return {
      results: sources.map(({ source }) => {
        const loads = this.loads.get(source.name);
        if (loads === undefined || this.landed.has(source.name)) return null;
        return this.seedResult(source.name, loads, { changed: false, before: loads });
      }),
    };
  }

  /** A seed's result after the source's loads-th load: one file, ten rows a load. */
  private seedResult(
    source: string,
    loads: number,
    how: { changed: boolean; before: number | undefined; window?: EventWindow },
  ): SeedSourceResult {
    const file = `/sources/${source}/part-${loads}.parquet`;
    return {
      source,
      table: `raw.${source}`,
      rows: 10 * loads,
      files: [{ uri: file, size: 100, etag: `etag-${loads}`, rows: 10 }],
      changed: how.changed,
      version: `${source}@${loads}`,
      ...(how.before !== undefined ? { previousVersion: `${source}@${how.before}` } : {}),
      loadedFiles: how.changed ? [file] : [],
      removedFiles: [],
      ignoredFiles: [],
      ...(how.window ? { window: how.window } : {}),
      durationMs: 1,
    };
  }

  buildModel(input: BuildModelInput): BuildModelResult {
    this.builds.push(input);
    const failure = this.failingBuilds.get(input.model);
    if (failure) throw failure;
    const model = this.plan.models.find((m) => m.name === input.model);
    if (!model) throw new Error(`no model ${input.model}`);
    return {
      model: model.name,
      relation: `main.${model.name}`,
      materialized: model.materialized,
      rows: 48,
      ...(input.window && this.built[model.name] ? { windowRows: 2 } : {}),
      durationMs: 1,
    };
  }

  pinSnapshot({ tables, pending }: PinSnapshotInput): PinnedSnapshot {
    return {
      warehouse: this.path,
      version: this.version,
      relations: Object.fromEntries(tables.map((name) => [name, pending?.tables.includes(name) ? `pending_${name}` : name])),
      tables: tables.map((name) => ({ name, rows: 48 })),
    };
  }

  publishRun(input: PublishRunInput): PublishRunResult {
    this.published.push(input);
    for (const { model, state } of [...input.models, ...input.analytics]) this.built[model] = state;
    for (const { test, state } of input.tests ?? []) this.built[`test:${test}`] = state;
    this.version += 1;
    const tables = [...input.models, ...input.analytics].map(({ model }) => ({ model, rows: 48 }));
    return { tables, snapshotVersion: this.version, warehousePath: this.path, rows: 48 * tables.length, durationMs: 1 };
  }
}

/** A part's build as a build worker returns it: one file of 10 rows, and the tests `tests` says it decided. */
const partBuilt =
  (tests: (input: BuildMonthInput) => (DataTestResult | null)[]) =>
  async (input: BuildMonthInput): Promise<BuildMonthResult> => ({
    model: input.model,
    month: input.month,
    files: [{ path: `/lake/${input.model}-${input.month}-${input.part?.index}.parquet`, rows: 10 }],
    rows: 10,
    durationMs: 1,
    tests: tests(input),
  });

const passed: DataTestResults = { results: [{ id: 'not_null_x', severity: 'error', failures: 0, status: 'pass' }], rows: 0 };

/**
 * The mocked activities, by the names the workflow calls them: the one place that names them, so a
 * renamed activity or a changed input is a change here alone.
 */
function mockActivities(warehouse: FakeWarehouse): WriterActivities & AnalyticsActivities & BuildActivities {
  return {
    planRun: async (input) => warehouse.planRun(input),
    seedSource: async (input) => warehouse.seedSource(input),
    checkSources: async (input) => warehouse.checkSources(input),
    buildModel: async (input) => warehouse.buildModel(input),
    // a model built per month: one month, whose commit is the build the fake records
    planBuildMonths: async () => ({ months: ['2024-01'] }),
    buildMonth: async ({ model, month }) => ({
      model,
      month,
      files: [{ path: `/lake/${model}-${month}.parquet`, rows: 48 }],
      rows: 48,
      durationMs: 1,
    }),
    commitBuiltMonths: async ({ files: _files, ...input }) => warehouse.buildModel(input),
    testModel: async () => passed,
    testBuiltModel: async () => passed,
    runSingularTest: async () => passed,
    // a singular test over timed inputs: one month, passing
    planTestMonths: async () => ({ months: ['2024-01'] }),
    testMonth: async ({ test }) => ({ id: test, severity: 'error', failures: 0, status: 'pass' }),
    pinSnapshot: async (input) => warehouse.pinSnapshot(input),
    maintainLake: async () => ({ expiredSnapshots: 0, deletedFiles: 0, filesBefore: 0, filesAfter: 0, durationMs: 1 }),
    publishRun: async (input) => warehouse.publishRun(input),
    discardPending: async ({ buildId }) => {
      warehouse.discarded.push(buildId);
      return { dropped: 0 };
    },
    runAnalyticsModel: async ({ model, outputUri }) => {
      warehouse.analyticsRun.push(model);
      return { model, outputUri, rows: 12, durationMs: 1 };
    },
    testAnalyticsResult: async () => passed,
    renderReport: async (input) => {
      warehouse.reports.push(input);
      return { reportUri: input.reportUri, bytes: 1 };
    },
    notifyRun: async (input) => {
      warehouse.notified.push(input);
      return { status: 200 };
    },
  };
}

/**
 * Where each run's history is written when set (RECORD_PIPELINE_HISTORIES=dir): the replay fixtures
 * of test/fixtures/pipeline-histories, recorded from these runs, one file a run (continued runs too).
 */
const RECORD_DIR = process.env.RECORD_PIPELINE_HISTORIES;
const recorded = new Map<string, number>();

/** Write every run of a workflow (the first, and the last when it continued as new) to RECORD_DIR. */
async function recordHistories(environment: TemporalTestContext, workflowId: string, firstRunId: string): Promise<void> {
  if (!RECORD_DIR) return;
  const name = (expect.getState().currentTestName ?? 'first-full-run')
    .replace(/^the pipeline workflow with mocked activities /, '')
    .replace(/[^a-z0-9]+/gi, '-')
    .slice(0, 60)
    .replace(/-+$/, '')
    .toLowerCase();
  const index = (recorded.get(name) ?? 0) + 1;
  recorded.set(name, index);
  await mkdir(RECORD_DIR, { recursive: true });
  const first = environment.client.workflow.getHandle(workflowId, firstRunId);
  const last = environment.client.workflow.getHandle(workflowId);
  const lastRunId = (await last.describe()).runId;
  const runs = lastRunId === firstRunId ? [first] : [first, last];
  for (const [i, handle] of runs.entries()) {
    const file = `${name}-${index}${runs.length > 1 ? `-run${i + 1}` : ''}.json`;
    await writeFile(path.join(RECORD_DIR, file), historyToJSON(await handle.fetchHistory()));
  }
}

const byId = (nodes: readonly NodeProgress[]) => new Map(nodes.map((node) => [node.id, node]));
const stateOf = (nodes: readonly NodeProgress[], id: string) => byId(nodes).get(id)?.state;

describe('the pipeline workflow with mocked activities', () => {
  let environment: TemporalTestContext;
  let workflowBundle: WorkflowBundle;
  let plan: ProjectPlan;
  /** A warehouse after a first, full run. */
  let afterFullRun: FakeWarehouse;

  beforeAll(async () => {
    [environment, workflowBundle, { plan, selection: projectSelection }] = await Promise.all([
      connectToTestServer(),
      bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: new DefaultLogger('ERROR') }),
      loadProject(defaultProjectDir()),
    ]);
    afterFullRun = new FakeWarehouse(plan);
    const { error } = await run(afterFullRun);
    if (error) throw error;
  });

  afterAll(async () => {
    await environment?.close();
  });

  /** A worker with the mocked activities on a fresh queue, one run on it, and the run's outcome. */
  async function run(
    warehouse: FakeWarehouse,
    options: Partial<PipelineInput> = {},
    overrides: Partial<ReturnType<typeof mockActivities>> = {},
  ): Promise<{ result?: PipelineResult; error?: unknown; workflowId: string }> {
    const taskQueue = `unit-${randomUUID()}`;
    const workflowId = `pipeline-${randomUUID()}`;
    const worker = await Worker.create({
      connection: environment.workerConnection,
      taskQueue,
      workflowBundle,
      activities: { ...mockActivities(warehouse), ...overrides },
    });
    const input: PipelineInput = {
      sourcesUri: '/sources',
      outUri: '/out',
      logicalDate: '2024-01-31T02:00:00.000Z',
      writerQueue: taskQueue,
      analyticsQueue: taskQueue,
      buildQueue: taskQueue,
      ...options,
    };
    const outcome = await worker.runUntil(async () => {
      const handle = await environment.client.workflow.start<PipelineWorkflow>(PIPELINE_WORKFLOW_TYPE, {
        taskQueue,
        workflowId,
        args: [input],
      });
      const settled = await handle.result().then(
        (result) => ({ result, workflowId }),
        (error: unknown) => ({ error, workflowId }),
      );
      await recordHistories(environment, workflowId, handle.firstExecutionRunId);
      return settled;
    });
    return outcome;
  }

  it('keeps at most 400 month activities pending at once, however many months a model spans, and builds them all', async () => {
    // 450 months for every per-month model and timed test: more than the slots, so some must wait
    const months = Array.from({ length: 450 }, (_, i) => `${1990 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`);
    const committed: number[] = [];
    const warehouse = new FakeWarehouse(plan);
    const { result, error, workflowId } = await run(
      warehouse,
      {},
      {
        planBuildMonths: async () => ({ months }),
        planTestMonths: async () => ({ months }),
        commitBuiltMonths: async ({ files, ...input }) => {
          committed.push(files.length);
          return warehouse.buildModel(input);
        },
      },
    );
    expect(error).toBeUndefined();
    expect(result?.nodes.filter((n) => n.state === 'failed')).toEqual([]);
    expect(committed.length).toBeGreaterThanOrEqual(2);
    expect(committed.every((files) => files === 450)).toBe(true);
    // pending: scheduled and not yet closed, over the whole history
    const events = (await environment.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const monthly = new Set<string>();
    let pending = 0;
    let most = 0;
    for (const event of events) {
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
      if (type === 'buildMonth' || type === 'testMonth') {
        monthly.add(String(event.eventId));
        pending += 1;
        most = Math.max(most, pending);
      }
      const closed =
        event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskCanceledEventAttributes;
      if (closed && monthly.has(String(closed.scheduledEventId))) pending -= 1;
    }
    expect(monthly.size).toBeGreaterThanOrEqual(3 * 450);
    expect(most).toBe(400);
  }, 120_000);

  it('builds a split model’s months in the key ranges its plan names, each an activity, all committed in one go', async () => {
    const built: string[] = [];
    const committed: string[][] = [];
    const warehouse = new FakeWarehouse(plan);
    const { error } = await run(
      warehouse,
      {},
      {
        planBuildMonths: async () => ({ months: ['2024-01', '2024-02'], parts: 3, bounds: ['m3', 'm6'] }),
        buildMonth: async ({ model, month, part }) => {
          built.push(`${model} ${month} ${part ? `${part.index}/${part.of} [${part.from ?? ''},${part.to ?? ''})` : 'whole'}`);
          return { model, month, files: [{ path: `/lake/${model}-${month}-${part?.index}.parquet`, rows: 10 }], rows: 10, durationMs: 1 };
        },
        commitBuiltMonths: async ({ files, ...input }) => {
          committed.push(files.map((f) => f.path));
          return warehouse.buildModel(input);
        },
      },
    );
    expect(error).toBeUndefined();
    const master = built.filter((b) => b.startsWith('demand_price_elasticity ')).sort();
    const ranges = ['[,m3)', '[m3,m6)', '[m6,)'];
    expect(master).toEqual(
      ['2024-01', '2024-02'].flatMap((month) => [0, 1, 2].map((i) => `demand_price_elasticity ${month} ${i}/3 ${ranges[i]}`)),
    );
    // one commit a model, of every part's file
    expect(committed.every((files) => files.length === 6)).toBe(true);
  });

  it('tests what a split model’s parts left undecided on the build queue after the commit, not on the writer', async () => {
    const order: string[] = [];
    const onBuildQueue: { model: string; monthTests: readonly unknown[]; rows: number; whole: boolean }[] = [];
    const onWriter: string[] = [];
    const pass = { id: 'not_null_x', severity: 'error' as const, failures: 2, status: 'pass' as const };
    const warehouse = new FakeWarehouse(plan);
    const { error } = await run(
      warehouse,
      {},
      {
        planBuildMonths: async () => ({ months: ['2024-01', '2024-02'], parts: 2, bounds: ['m5'] }),
        // each part decides its first test alone, not its second (a row count, say)
        buildMonth: partBuilt(() => [{ ...pass, failures: 0 }, null]),
        commitBuiltMonths: async ({ files: _files, ...input }) => {
          order.push(`commit ${input.model}`);
          return warehouse.buildModel(input);
        },
        testBuiltModel: async ({ model, monthTests, rows, whole }) => {
          order.push(`test ${model}`);
          onBuildQueue.push({ model, monthTests, rows, whole });
          return {
            results: [
              { ...pass, failures: 0 },
              { ...pass, id: 'row_count', failures: 0 },
            ],
            rows: 0,
          };
        },
        testModel: async ({ model }) => {
          onWriter.push(model);
          return passed;
        },
      },
    );
    expect(error).toBeUndefined();
    const master = onBuildQueue.find((t) => t.model === 'demand_price_elasticity');
    // the parts' results merged over the months, the undecided test left to the build worker
    // the parts' rows added up: 2 months, 2 parts each, 10 rows a part
    expect(master).toEqual({ model: 'demand_price_elasticity', monthTests: [{ ...pass, failures: 0 }, null], rows: 40, whole: true });
    expect(onWriter).not.toContain('demand_price_elasticity');
    expect(order.indexOf('test demand_price_elasticity')).toBeGreaterThan(order.indexOf('commit demand_price_elasticity'));
  });

  it('fails a split model’s tests when its parts find failing rows, with no activity of its own, and publishes nothing', async () => {
    const failing = { id: 'not_null_meter_point_id', severity: 'error' as const, failures: 2, status: 'fail' as const };
    const testedOnBuildQueue: string[] = [];
    const warehouse = new FakeWarehouse(plan);
    const { error } = await run(
      warehouse,
      {},
      {
        planBuildMonths: async () => ({ months: ['2024-01'], parts: 2, bounds: ['m5'], nullKeys: false }),
        // every test decided by the parts, one failing in one part of the staged readings
        buildMonth: partBuilt(({ model, part }) => [
          model === 'stg_smart_meter_consumption' && part?.index === 1
            ? { ...failing, failures: 1 }
            : { ...failing, failures: 0, status: 'pass' },
        ]),
        commitBuiltMonths: async ({ files: _files, ...input }) => warehouse.buildModel(input),
        testBuiltModel: async ({ model }) => {
          testedOnBuildQueue.push(model);
          return passed;
        },
      },
    );
    expect((error as WorkflowFailedError).cause?.message).toContain('test:stg_smart_meter_consumption failed');
    expect(warehouse.reports.at(-1)?.failure?.tests).toEqual([{ ...failing, failures: 1 }]);
    expect(testedOnBuildQueue).toEqual([]);
    expect(warehouse.builds.map((build) => build.model)).not.toContain('demand_price_elasticity');
    expect(warehouse.published).toEqual([]);
  });

  it('fails at once, naming each bad field, a run started past the client with a bad input (the client refuses it: run-scope.test.ts)', async () => {
    const bad = { sourcesUri: 'relative/dir', logicalDate: 'garbage' };
    // past the client, as `temporal workflow start` would: the run fails, it is not left running
    const { error, workflowId } = await run(new FakeWarehouse(plan), bad);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidPipelineInput');
    expect(cause.nonRetryable).toBe(true);
    expect(cause.message).toContain('sourcesUri must be an absolute path or a URI (s3://…), not "relative/dir"');
    expect(cause.message).toContain('logicalDate must be an ISO 8601 date or time (e.g. 2024-01-31T02:00:00Z), not "garbage"');
    expect((await environment.client.workflow.getHandle(workflowId).describe()).status.name).toBe('FAILED');
  });

  it('names the failing node and its reason in the failure, skips what depends on it, and discards what it built', async () => {
    const warehouse = new FakeWarehouse(plan);
    const reason = 'Binder Error: Referenced column "no_such_column" not found';
    warehouse.failingBuilds.set(
      'demand_price_elasticity',
      new ModelBuildError(reason, 'demand_price_elasticity', 'master/demand_price_elasticity.sql'),
    );

    const { error } = await run(warehouse);

    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('PipelineNodeFailed');
    expect((cause as ApplicationFailure).message).toBe(`model:demand_price_elasticity failed: ${reason}`);
    expect((cause as ApplicationFailure).details?.[0]).toEqual({ node: 'model:demand_price_elasticity', reason });
    // a ModelBuildError is not retried: the build was tried once
    expect(warehouse.builds.filter((build) => build.model === 'demand_price_elasticity')).toHaveLength(1);
    expect(warehouse.analyticsRun).toEqual([]);
    expect(warehouse.published).toEqual([]);
    expect(warehouse.discarded).toHaveLength(1);
    // the failed run's report opens on its failure, every node in its final state
    const report = warehouse.reports.at(-1);
    expect(report?.failure).toEqual({ node: 'model:demand_price_elasticity', reason });
    const nodes = report?.nodes ?? [];
    expect(stateOf(nodes, 'model:demand_price_elasticity')).toBe('failed');
    expect(stateOf(nodes, 'model:stg_smart_meter_consumption')).toBe('succeeded');
    expect(stateOf(nodes, 'snapshot:master')).toBe('skipped');
    expect(stateOf(nodes, 'analytics:meter_anomalies')).toBe('skipped');
    expect(stateOf(nodes, 'publish:run')).toBe('skipped');
  });

  it('tells each webhook once that the run failed, where and why; on success only when asked; and a webhook that never answers does not hold the run', async () => {
    const failing = () => {
      const warehouse = new FakeWarehouse(plan);
      warehouse.failingBuilds.set('demand_price_elasticity', new ModelBuildError('Binder Error: no', 'demand_price_elasticity', 'm.sql'));
      return warehouse;
    };
    const failed = failing();
    const { workflowId } = await run(failed, { notify: ['env:TEAM_HOOK', 'https://hooks.example.com/services/T0/B0/secret'] });
    expect(failed.notified.map((n) => n.target).sort()).toEqual(['env:TEAM_HOOK', 'https://hooks.example.com/services/T0/B0/secret']);
    expect(failed.notified[0]?.notification).toEqual({
      run: workflowId,
      state: 'failed',
      logicalDate: '2024-01-31T02:00:00.000Z',
      warehouse: expect.any(String),
      failedNode: 'model:demand_price_elasticity',
      error: 'Binder Error: no',
      report: `/out/runs/${workflowId}/report.html`,
    });
    // the activity's summary in the Web UI names the webhook by its host, never by its path
    // (its URL is in the input, as given: a secret one is named env:NAME, see notify.test.ts)
    const summaries = ((await environment.client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap((event) =>
      event.userMetadata?.summary?.data ? [Buffer.from(event.userMetadata.summary.data).toString('utf8')] : [],
    );
    expect(summaries).toContain('"notify https://hooks.example.com/… that the run failed"');
    expect(summaries.join('\n')).not.toContain('secret');

    const quiet = new FakeWarehouse(plan);
    expect((await run(quiet, { notify: ['env:TEAM_HOOK'] })).error).toBeUndefined();
    expect(quiet.notified).toEqual([]);
    const told = new FakeWarehouse(plan);
    expect((await run(told, { notify: ['env:TEAM_HOOK'], notifyOnSuccess: true })).error).toBeUndefined();
    expect(told.notified.map((n) => n.notification.state)).toEqual(['succeeded']);

    // a webhook that never answers: the run still ends, failed for its own reason, after notifyWaitSeconds
    const hanging = failing();
    const started = Date.now();
    const { error } = await run(
      hanging,
      { notify: ['env:TEAM_HOOK'], notifyWaitSeconds: 2 },
      {
        // answers never, until the worker stops and cancels it
        notifyRun: () =>
          new Promise((_resolve, reject) =>
            Context.current().cancellationSignal.addEventListener('abort', () => reject(new Error('stopped'))),
          ),
      },
    );
    expect((error as WorkflowFailedError).cause?.message).toBe('model:demand_price_elasticity failed: Binder Error: no');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('leaves every up-to-date node unchanged, running none of them, when nothing changed since the last run', async () => {
    const warehouse = afterFullRun.copy();

    const { result, error } = await run(warehouse);

    expect(error).toBeUndefined();
    const nodes = result?.nodes ?? [];
    // every source is looked at again, all in one activity, and none had new files: none is seeded
    expect(warehouse.checked).toEqual([plan.sources.map((source) => source.name)]);
    expect(warehouse.seeded).toEqual([]);
    expect(warehouse.builds).toEqual([]);
    expect(warehouse.analyticsRun).toEqual([]);
    expect(warehouse.published).toEqual([]);
    const notRun = nodes.filter((node) => node.kind !== 'report' && node.state !== 'unchanged');
    expect(notRun).toEqual([]);
    expect(byId(nodes).get('model:demand_price_elasticity')?.note).toBe('up to date: its inputs and SQL are unchanged since it was built');
    expect(byId(nodes).get('seed:tariff_unit_rates')?.note).toBe('no new or changed files');
    expect(byId(nodes).get('publish:run')?.note).toBe('nothing new to publish');
  });

  it('seeds and builds only the selected models, and says what it selected', async () => {
    const warehouse = new FakeWarehouse(plan);

    const { result, error, workflowId } = await run(warehouse, { select: ['stg_tariff_unit_rates'] });

    expect(error).toBeUndefined();
    expect(warehouse.plans.map((planned) => planned.select)).toEqual([['stg_tariff_unit_rates']]);
    expect(warehouse.seeded).toEqual(['tariff_unit_rates']);
    expect(warehouse.builds.map((build) => build.model)).toEqual(['stg_tariff_unit_rates']);
    expect(warehouse.analyticsRun).toEqual([]);
    expect(warehouse.published.flatMap((published) => published.models.map((m) => m.model))).toEqual(['stg_tariff_unit_rates']);
    const ids = (result?.nodes ?? []).map((node) => node.id);
    expect(ids.filter((id) => !id.startsWith('test:'))).toEqual([
      'seed:tariff_unit_rates',
      'model:stg_tariff_unit_rates',
      'publish:run',
      'report:run',
    ]);
    const description = await environment.client.workflow.getHandle(workflowId).describe();
    expect(description.typedSearchAttributes.get(MODELS_SELECTED)).toEqual(['stg_tariff_unit_rates']);
  });

  it("rebuilds the incremental models over the window a source's new files cover, and nothing else upstream", async () => {
    const warehouse = afterFullRun.copy();
    const window = { from: '2023-12-30 00:00:00', to: '2023-12-31 23:30:00' };
    warehouse.land('smart_meter_consumption_q4', window);

    const { result, error } = await run(warehouse);

    expect(error).toBeUndefined();
    const builds = new Map(warehouse.builds.map((build) => [build.model, build]));
    // the readings table over the window, then the master over it, reading only the readings rebuilt there
    expect(builds.get('stg_smart_meter_consumption')).toMatchObject({ window, windowRefs: [] });
    expect(builds.get('demand_price_elasticity')).toMatchObject({ window, windowRefs: ['stg_smart_meter_consumption'] });
    // staging models over other sources are up to date; the analytics read the new master whole
    expect([...builds.keys()]).toEqual(['stg_smart_meter_consumption', 'demand_price_elasticity']);
    expect(warehouse.analyticsRun.sort()).toEqual(
      plan.models
        .filter((model) => runsOnOf(model) === 'analytics')
        .map((model) => model.name)
        .sort(),
    );
    const nodes = byId(result?.nodes ?? []);
    expect(nodes.get('model:demand_price_elasticity')?.note).toBe(`incremental: 2 rows rebuilt from ${window.from} to ${window.to}`);
    expect(nodes.get('model:stg_tariff_unit_rates')?.state).toBe('unchanged');
    // published with their window, so the publish replaces those half hours alone
    const published = warehouse.published[0]?.models ?? [];
    expect(published.map(({ model, window: rebuiltOver }) => ({ model, window: rebuiltOver }))).toEqual([
      { model: 'stg_smart_meter_consumption', window },
      { model: 'demand_price_elasticity', window },
    ]);
  });

  it('runs once more, incrementally and as the same workflow, when source files land while it seeds', async () => {
    const warehouse = new FakeWarehouse(plan);
    let signalled = false;

    const { result, error } = await run(
      warehouse,
      {},
      {
        seedSource: async (input) => {
          if (!signalled) {
            signalled = true;
            const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
            await environment.client.workflow.getHandle(workflowId).signal(sourcesLandedSignal, { note: 'part-2.parquet' });
          }
          return warehouse.seedSource(input);
        },
      },
    );

    expect(error).toBeUndefined();
    // the second run looked at every source in one activity, found nothing new and built nothing
    expect(warehouse.plans).toHaveLength(2);
    expect(warehouse.checked).toEqual([plan.sources.map((source) => source.name)]);
    expect(warehouse.published).toHaveLength(1);
    expect(result?.nodes.filter((node) => node.kind !== 'report' && node.state !== 'unchanged')).toEqual([]);
  });

  it('stops when cancelled: discards what it built, reports no failure and tells no webhook', async () => {
    const warehouse = new FakeWarehouse(plan);

    const { error } = await run(
      warehouse,
      { notify: ['env:TEAM_HOOK'] },
      {
        buildModel: async (input) => {
          if (warehouse.builds.length === 0) {
            const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
            await environment.client.workflow.getHandle(workflowId).cancel();
          }
          return warehouse.buildModel(input);
        },
      },
    );

    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect(warehouse.discarded).toHaveLength(1);
    expect(warehouse.published).toEqual([]);
    expect(warehouse.reports).toEqual([]);
    expect(warehouse.notified).toEqual([]);
  });

  it('names a failing analytics model, publishes nothing, and reports the failure', async () => {
    const warehouse = new FakeWarehouse(plan);

    const { error } = await run(
      warehouse,
      {},
      {
        runAnalyticsModel: async ({ model, outputUri }) => {
          if (model === 'meter_anomalies') throw ApplicationFailure.nonRetryable('Binder Error: no column', 'AnalyticsModelError');
          warehouse.analyticsRun.push(model);
          return { model, outputUri, rows: 12, durationMs: 1 };
        },
      },
    );

    expect((error as WorkflowFailedError).cause?.message).toBe('analytics:meter_anomalies failed: Binder Error: no column');
    expect(warehouse.published).toEqual([]);
    expect(warehouse.discarded).toHaveLength(1);
    expect(warehouse.reports.at(-1)?.failure).toEqual({ node: 'analytics:meter_anomalies', reason: 'Binder Error: no column' });
  });

  it("fails an analytics model's failing tests as their own node, red, and keeps the model green with its rows", async () => {
    const warehouse = new FakeWarehouse(plan);
    const failing = { id: 'accepted_values_meter_anomalies_kind', severity: 'error' as const, failures: 2, status: 'fail' as const };

    const { error } = await run(
      warehouse,
      {},
      {
        runAnalyticsModel: async ({ model, outputUri }) => {
          const computed = { model, outputUri, rows: 12, durationMs: 1 };
          if (model !== 'meter_anomalies') return { ...computed, tests: passed };
          // as the activity fails itself: what it computed, and every result
          throw ApplicationFailure.create({
            type: 'DataTestFailed',
            message: `data tests of ${model} failed`,
            nonRetryable: true,
            details: [{ target: model, results: [failing], rows: 1, analytics: computed }],
          });
        },
      },
    );

    expect((error as WorkflowFailedError).cause?.message).toBe('test:meter_anomalies failed: data tests of meter_anomalies failed');
    expect(warehouse.reports.at(-1)?.failure).toEqual({
      node: 'test:meter_anomalies',
      reason: 'data tests of meter_anomalies failed',
      tests: [failing],
    });
    // the failed run's report has every node in its final state
    const nodes = warehouse.reports.at(-1)?.nodes ?? [];
    expect(byId(nodes).get('analytics:meter_anomalies')).toMatchObject({ state: 'succeeded', rows: 12 });
    expect(stateOf(nodes, 'test:meter_anomalies')).toBe('failed');
    expect(stateOf(nodes, 'analytics:deviation_by_gsp_group')).toBe('succeeded');
    expect(warehouse.published).toEqual([]);
  });

  it("names a model's failing tests, with their results, and builds nothing that reads the model", async () => {
    const warehouse = new FakeWarehouse(plan);
    const failing = { id: 'not_null_meter_point_id', severity: 'error' as const, failures: 3, status: 'fail' as const };

    const { error } = await run(
      warehouse,
      {},
      {
        testModel: async ({ model }) => {
          if (model !== 'stg_smart_meter_consumption') return passed;
          throw ApplicationFailure.create({
            type: 'DataTestFailed',
            message: `data tests of ${model} failed`,
            nonRetryable: true,
            details: [{ target: model, results: [failing], rows: 3 }],
          });
        },
      },
    );

    expect((error as WorkflowFailedError).cause?.message).toBe(
      'test:stg_smart_meter_consumption failed: data tests of stg_smart_meter_consumption failed',
    );
    expect(warehouse.reports.at(-1)?.failure).toEqual({
      node: 'test:stg_smart_meter_consumption',
      reason: 'data tests of stg_smart_meter_consumption failed',
      tests: [failing],
    });
    expect(warehouse.builds.map((build) => build.model)).not.toContain('demand_price_elasticity');
    expect(warehouse.published).toEqual([]);
  });

  it('reloads and rebuilds everything on a full refresh, each activity stamped with the warehouse and project the run names', async () => {
    const warehouse = afterFullRun.copy();
    const seen: unknown[] = [];
    const PROJECT_HASH = '0123456789abcdef'.repeat(4);

    const { result, error } = await run(
      warehouse,
      {
        fullRefresh: true,
        verify: true,
        force: true,
        vars: { region: 'north' },
        warehouse: warehouse.path,
        project: { dir: '/project', hash: PROJECT_HASH },
        notify: ['env:TEAM_HOOK'],
        notifyOnSuccess: true,
      },
      {
        planRun: async (input) => {
          seen.push(input);
          return warehouse.planRun(input);
        },
      },
    );

    expect(error).toBeUndefined();
    expect(seen).toEqual([
      expect.objectContaining({ force: true, warehouse: warehouse.path, project: { dir: '/project', hash: PROJECT_HASH } }),
    ]);
    expect(warehouse.checked).toEqual([]);
    expect(warehouse.seeded.sort()).toEqual(plan.sources.map((source) => source.name).sort());
    expect(warehouse.builds.map((build) => build.model).sort()).toEqual(
      plan.models
        .filter((model) => runsOnOf(model) !== 'analytics')
        .map((model) => model.name)
        .sort(),
    );
    expect(result?.projectHash).toBe(PROJECT_HASH);
    expect(warehouse.notified.map((n) => n.notification.state)).toEqual(['succeeded']);
  });
});

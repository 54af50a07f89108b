// The analytics phase: decide which analytics models to run, pin the lake version they read, and run
// them in parallel on the analytics queue, each testing its result before it is uploaded.
import type { AnalyticsModelResult, EventWindow, PinnedSnapshot, PinSnapshotInput } from './activity-types';
import { allOrCancel } from './all-or-cancel';
import { analyticsTestsOf, passesVersionRows } from './compat';
import { childUri, runFolderName } from '../contract/uri';
import type { ModelNode } from '../project/types';
import type { RunContext } from './run-context';
import type { RunLedger } from './run-ledger';
import { computedBeforeTestsFailed } from './run-state';
import { judge, type InputVersion } from './up-to-date';

/** The analytics models to run, in DAG order, with the versions each reads and the window it may run over. */
export interface AnalyticsChoice {
  readonly toRun: readonly ModelNode[];
  readonly inputs: ReadonlyMap<string, Record<string, InputVersion>>;
  readonly windows: ReadonlyMap<string, EventWindow>;
}

/**
 * Which analytics to run, decided in DAG order before any runs: a model that refs another analytics
 * model (per-month partial aggregates it merges) sees the version this run will give that one (in the ledger).
 */
export function chooseAnalytics(run: RunContext, ledger: RunLedger): AnalyticsChoice {
  const { state, built } = run;
  const { analyticsModels, masterTables } = run.graph;
  const inputs = new Map<string, Record<string, InputVersion>>();
  const windows = new Map<string, EventWindow>();
  const toRun = analyticsModels.filter((model) => {
    const modelInputs = ledger.inputsOf(model.sources, model.refs);
    inputs.set(model.name, modelInputs);
    const verdict = judge({
      built: built[model.name],
      stateHash: run.planned.stateHashes[model.name],
      inputs: modelInputs,
      fullRefresh: run.fullRefresh,
      // a model with a row per period, over the master alone: the periods holding a changed window are enough
      windowed: model.period !== undefined && model.refs.every((ref) => masterTables.includes(ref)),
    });
    if (verdict.upToDate) {
      state.markUnchanged(`analytics:${model.name}`, 'up to date: the master and its SQL are unchanged since it ran');
      if (state.has(`test:${model.name}`)) state.markUnchanged(`test:${model.name}`, 'model unchanged');
      return false;
    }
    if (verdict.window) windows.set(model.name, verdict.window);
    ledger.versions.set(`model:${model.name}`, {
      current: run.version,
      before: built[model.name]?.version,
      changedOver: verdict.window ?? 'all',
    });
    return true;
  });
  return { toRun, inputs, windows };
}

/** The master tables this run rebuilt, read at their new versions, with the rows their builds counted. */
function pendingTables(ledger: RunLedger, buildId: string, masterTables: readonly string[]): PinSnapshotInput['pending'] {
  const tables = masterTables.filter((table) => ledger.rebuilt.has(table));
  const rows = Object.fromEntries(
    tables.flatMap((table) => {
      const counted = ledger.rebuilt.get(table)?.rows;
      return counted === undefined ? [] : [[table, counted]];
    }),
  );
  return { buildId, tables, ...(Object.keys(rows).length > 0 && passesVersionRows() ? { rows } : {}) };
}

/**
 * Pin the lake version the analytics read, in their own processes: the master as this run rebuilt it
 * (unpublished still) or as it was published before. None when there are no analytics to run.
 */
export async function pinSnapshot(run: RunContext, ledger: RunLedger, { toRun }: AnalyticsChoice): Promise<PinnedSnapshot | undefined> {
  const { state, buildId, warehouse } = run;
  const { snapshotId, masterTables } = run.graph;
  let snapshot: PinnedSnapshot | undefined;
  if (snapshotId && toRun.length === 0) state.markUnchanged(snapshotId, 'no analytics to run');
  else if (snapshotId) {
    snapshot = await state.run(snapshotId, async () => {
      const pinned = await run.activities.writer.pinSnapshot.executeWithOptions(
        run.on('snapshot', `pin the lake version of ${masterTables.join(', ')}`),
        [{ tables: masterTables, pending: pendingTables(ledger, buildId, masterTables), warehouse }],
      );
      return { ...pinned, rows: pinned.tables.reduce((sum, table) => sum + table.rows, 0) };
    });
    state.node(snapshotId).note = `lake version ${snapshot.version}`;
  }
  state.publish();
  return snapshot;
}

/**
 * Run the chosen analytics models. Each runs once the analytics models it or its tests ref have, and
 * tests its result before it is uploaded. Scheduled longest first, so that the few workers are never left with a
 * long model at the end: models over the whole master, then those over a window, then those merging
 * partials (which come after the models they ref, as the DAG orders them).
 */
export async function runAnalytics(
  run: RunContext,
  { toRun, windows }: AnalyticsChoice,
  snapshot: PinnedSnapshot | undefined,
): Promise<AnalyticsModelResult[]> {
  const { masterTables } = run.graph;
  const expectedWork = (model: ModelNode) => (model.refs.some((ref) => !masterTables.includes(ref)) ? 2 : windows.has(model.name) ? 1 : 0);
  const scheduled = toRun.map((model, index) => ({ model, index }));
  scheduled.sort((a, b) => expectedWork(a.model) - expectedWork(b.model) || a.index - b.index);
  const analyticsStarted = new Map<string, Promise<AnalyticsModelResult>>();
  const byName = new Map(toRun.map((model) => [model.name, model]));
  /**
   * Start a model once, after the models it and its tests read that this run computes: those come
   * earlier in the order, save the ones a test reads (and what they read), which start first.
   */
  const start = (model: ModelNode): Promise<AnalyticsModelResult> => {
    const already = analyticsStarted.get(model.name);
    if (already) return already;
    const reads = [...new Set([...model.refs, ...(model.testRefs ?? [])])];
    const upstream = reads.flatMap((ref) => {
      const other = byName.get(ref);
      return other ? [start(other)] : [];
    });
    const started = Promise.all(upstream).then((inputs) => runAndTest(run, model, windows, snapshot, inputs));
    analyticsStarted.set(model.name, started);
    return started;
  };
  return allOrCancel(() => scheduled.map(({ model }) => start(model)));
}

/** One analytics model, then its tests' node: a result that failed its tests is computed (green), its test node red. */
async function runAndTest(
  run: RunContext,
  model: ModelNode,
  windows: ReadonlyMap<string, EventWindow>,
  snapshot: PinnedSnapshot | undefined,
  inputs: readonly AnalyticsModelResult[],
): Promise<AnalyticsModelResult> {
  const { state } = run;
  let testsFailed: unknown;
  const result = await state.run(`analytics:${model.name}`, async () => {
    const window = windows.get(model.name);
    let computed: AnalyticsModelResult;
    try {
      computed = await runAnalyticsModel(run, model, snapshot as PinnedSnapshot, window, inputs);
    } catch (err) {
      const beforeTests = computedBeforeTestsFailed(err);
      if (!beforeTests) throw err;
      [computed, testsFailed] = [beforeTests, err];
    }
    if (window)
      state.node(`analytics:${model.name}`).note = `incremental: ${computed.rows} rows of the periods from ${window.from} to ${window.to}`;
    return computed;
  });
  await state.test(model.name, async () => {
    if (testsFailed) throw testsFailed;
    return analyticsTestsOf(result);
  });
  return result;
}

/** One analytics model over the pinned version, testing its result before it is uploaded. */
function runAnalyticsModel(
  run: RunContext,
  model: ModelNode,
  snapshot: PinnedSnapshot,
  window: EventWindow | undefined,
  inputs: readonly AnalyticsModelResult[],
): Promise<AnalyticsModelResult> {
  return run.activities.analytics.runAnalyticsModel.executeWithOptions(
    run.on('analytics', `analytics model ${model.name}${window ? ' (incremental)' : ''}`),
    [
      {
        model: model.name,
        snapshot,
        outputUri: childUri(run.input.outUri, 'runs', runFolderName(run.workflowId), 'analytics', `${model.name}.parquet`),
        vars: run.vars,
        test: true,
        ...(window ? { window } : {}),
        ...(inputs.length > 0
          ? { upstream: inputs.map(({ model: m, outputUri, window: w }) => ({ model: m, outputUri, ...(w ? { window: w } : {}) })) }
          : {}),
      },
    ],
  );
}

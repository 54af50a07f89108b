// Publishing a run on the writer: every rebuilt model's tested new version swapped in and every
// analytics result loaded, in one transaction, so readers see the run's whole output or none of it.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BuildIdentity, PublishRunInput, PublishRunResult } from '../contract/activities';
import { pathList, quotedIdentifier, relation } from '../duckdb/sql';
import { LAKE_ALIAS } from '../lake/lake';
import { ModelBuildError, ProjectError } from '../errors';
import type { LoadedProject } from '../project/load';
import { tableOf, type ModelNode, type TableName } from '../project/types';
import type { StorageResolver } from '../storage';
import { readBuiltStates, recordBuiltStates, type BuiltState } from '../warehouse/state';
import { uninterruptible, type ModelContext } from './context';
import { buildKey, dropRelations, pendingRelations } from './housekeeping';
import { deltaName, findModel, inWindow, modelRelation, pendingName, warehouseResolver } from './model-sql';
import { modelSqlToRun } from './render-answered';
import { publishIncrementalRows } from './incremental-rows';
import { periodStartsOf } from './periods';
import { countRowsOf, ensureSchema, existingKinds, tableKey } from './relations';

/** A relation a publish made current, and whether its rows are counted (after the commit, all at once). */
interface PublishedTable {
  readonly model: string;
  readonly counted: boolean;
}

/** A publish under way in its transaction: what the schema holds, and what it has published so far. */
interface Publishing {
  readonly connection: DuckDBConnection;
  readonly project: LoadedProject;
  /** what the schema holds, read once and kept as the transaction changes it */
  readonly kinds: Map<string, 'table' | 'view'>;
  readonly drop: (table: TableName) => Promise<void>;
  readonly published: PublishedTable[];
  readonly built: { node: string; state: BuiltState }[];
}

/**
 * Where each analytics result the publish loads is on this machine, by model; a missing one fails the
 * publish. A read-only view's result is not loaded (the view is created over the published names), so
 * not fetched.
 */
async function analyticsFilesOf(
  storage: StorageResolver,
  project: LoadedProject,
  analytics: PublishRunInput['analytics'],
): Promise<Map<string, string>> {
  const analyticsFiles = new Map<string, string>();
  for (const result of analytics.filter((r) => findModel(project, r.model).materialized !== 'view')) {
    const store = storage.forUri(result.outputUri);
    const object = await store.stat(result.outputUri);
    if (!object) throw new ProjectError(`analytics result of ${result.model} is missing at ${result.outputUri}`);
    analyticsFiles.set(result.model, await store.localPath(object));
  }
  return analyticsFiles;
}

/** A view created anew over the published names (whatever the name held before dropped first). */
async function publishView({ connection, project, kinds, drop, published }: Publishing, model: ModelNode, vars: PublishRunInput['vars']) {
  await drop(tableOf(model));
  await ensureSchema(connection, tableOf(model));
  const resolver = warehouseResolver(project);
  const sql = await modelSqlToRun(connection, project, model, resolver, vars);
  await connection.run(`create view ${modelRelation(model)} as\n${sql}`);
  kinds.set(tableKey(tableOf(model)), 'view');
  published.push({ model: model.name, counted: false });
}

/** Each rebuilt model's new version made current: renamed in, its window's rows replaced, or its view created anew. */
async function publishModels(
  publishing: Publishing,
  { buildId, models, vars }: PublishRunInput,
  states: ReadonlyMap<string, BuiltState>,
): Promise<void> {
  const { connection, project, kinds, drop, published, built } = publishing;
  for (const { model: name, state, window } of models) {
    const model = findModel(project, name);
    const table = tableOf(model);
    const pendingTable = { schema: table.schema, name: pendingName(name, buildId) };
    const deltaTable = { schema: table.schema, name: deltaName(name, buildId) };
    const pending = kinds.get(tableKey(pendingTable));
    const delta = relation(deltaTable.schema, deltaTable.name);
    if (pending && kinds.has(tableKey(deltaTable))) {
      // an incremental model rebuilt over a window (its rows there replaced in place), or one without
      // an event_time (its new rows added, or replacing the rows of their keys)
      const target = modelRelation(model);
      await drop(pendingTable);
      if (model.incremental) await publishIncrementalRows(connection, model, target, delta);
      else {
        if (!window || !model.eventTime)
          throw new ModelBuildError(`model ${name}: rebuilt over a window, but none given to publish`, name, model.file);
        await connection.run(`delete from ${target} where ${inWindow(model.eventTime, window)}`);
        await connection.run(`insert into ${target} select * from ${delta}`);
      }
      await drop(deltaTable);
      published.push({ model: name, counted: true });
      built.push({ node: name, state });
      continue;
    }
    if (!pending) {
      if (state.version !== undefined && states.get(name)?.version === state.version) continue; // published by an earlier attempt
      throw new ModelBuildError(`model ${name}: no new version to publish (build it first)`, name, model.file);
    }
    if (pending === 'view') {
      await drop(pendingTable);
      await publishView(publishing, model, vars);
    } else {
      await drop(table);
      // (a model's pending version is in its schema: renamed in place)
      await connection.run(`alter table ${relation(pendingTable.schema, pendingTable.name)} rename to ${quotedIdentifier(table.name)}`);
      kinds.delete(tableKey(pendingTable));
      kinds.set(tableKey(table), 'table');
      published.push({ model: name, counted: true });
    }
    built.push({ node: name, state });
  }
}

/**
 * The read-only views of the run (views downstream of an analytics model), created anew over the
 * published names once every table is in place, in DAG order. Their results were computed and tested
 * on the analytics queue; a view keeps no rows of its own.
 */
async function publishAnalyticsViews(publishing: Publishing, analytics: PublishRunInput['analytics'], vars: PublishRunInput['vars']) {
  const results = new Map(analytics.map((result) => [result.model, result]));
  for (const model of publishing.project.plan.models.filter((m) => m.materialized === 'view' && results.has(m.name))) {
    await publishView(publishing, model, vars);
    publishing.built.push({ node: model.name, state: (results.get(model.name) as PublishRunInput['analytics'][number]).state });
  }
}

/** Each analytics result loaded: its table replaced, or the periods of the master's changed window in it; then the views. */
async function publishAnalytics(
  publishing: Publishing,
  { analytics, vars }: PublishRunInput,
  analyticsFiles: ReadonlyMap<string, string>,
): Promise<void> {
  const { connection, project, kinds, drop, published, built } = publishing;
  for (const result of analytics) {
    const model = findModel(project, result.model);
    if (model.materialized === 'view') continue;
    const table = tableOf(model);
    const target = relation(table.schema, table.name);
    const file = pathList([analyticsFiles.get(result.model) as string]);
    const current = kinds.get(tableKey(table));
    if (result.window && current === 'table' && model.period && model.eventTime) {
      // computed for the periods holding the master's changed window: those periods' rows are replaced
      await connection.run(`delete from ${target} where ${periodStartsOf(model.eventTime, model.period, result.window)}`);
      await connection.run(`insert into ${target} select * from read_parquet(${file}, hive_partitioning = false)`);
    } else if (result.window) {
      throw new ModelBuildError(
        `analytics model ${result.model}: computed over a window, but it has no published table or period to replace`,
        result.model,
        model.file,
      );
    } else {
      await drop(table);
      await ensureSchema(connection, table);
      await connection.run(`create table ${target} as select * from read_parquet(${file}, hive_partitioning = false)`);
      kinds.set(tableKey(table), 'table');
    }
    built.push({ node: result.model, state: result.state });
    published.push({ model: result.model, counted: true });
  }
  await publishAnalyticsViews(publishing, analytics, vars);
}

/** The publish's transaction: the commit named for the run, models and analytics made current, their states recorded. */
async function publishInTransaction(
  connection: DuckDBConnection,
  project: LoadedProject,
  input: PublishRunInput,
  analyticsFiles: ReadonlyMap<string, string>,
): Promise<PublishedTable[]> {
  const { buildId, tests = [], run } = input;
  // the commit names the run, so `meterflow query --at <run>` finds its version
  await connection.run(`call ${LAKE_ALIAS}.set_commit_message('meterflow', $message, extra_info => $info)`, {
    message: `publish ${run ?? buildId}`,
    info: JSON.stringify({ run: run ?? null, build: buildId }),
  });
  const states = await readBuiltStates(connection);
  // what the schema holds, read once and kept as the transaction changes it
  const kinds = await existingKinds(connection);
  const drop = async (table: TableName) => {
    const current = kinds.get(tableKey(table));
    if (current) await connection.run(`drop ${current} ${relation(table.schema, table.name)}`);
    kinds.delete(tableKey(table));
  };
  const published: PublishedTable[] = [];
  const built: { node: string; state: BuiltState }[] = [];
  const publishing: Publishing = { connection, project, kinds, drop, published, built };
  await publishModels(publishing, input, states);
  await publishAnalytics(publishing, input, analyticsFiles);
  await recordBuiltStates(connection, [...built, ...tests.map(({ test, state }) => ({ node: `test:${test}`, state }))]);
  return published;
}

/**
 * Publish a run: swap every rebuilt model's tested new version in and load every analytics result,
 * all in one transaction, so readers see the run's whole output or none of it. Views are created
 * anew over the published names. A retry after a commit finds the models already in place.
 */
export async function publishRun(
  { warehouse, project, storage, logger, interruptible = uninterruptible }: ModelContext,
  input: PublishRunInput,
): Promise<PublishRunResult> {
  const started = Date.now();
  const analyticsFiles = await analyticsFilesOf(storage, project, input.analytics);
  const published = await warehouse.transaction(async (connection) =>
    interruptible(connection, () => publishInTransaction(connection, project, input, analyticsFiles)),
  );
  // the published tables' rows, counted on the committed version: the lake's file statistics answer
  // most of it, where a count inside the transaction read each table's uncommitted rows
  const counted = new Map(
    published.filter((table) => table.counted).map((table) => [table.model, tableOf(findModel(project, table.model))]),
  );
  const rows = await warehouse.withConnection((connection) => countRowsOf(connection, counted));
  const tables = published.map(({ model, counted }) => ({ model, rows: counted ? (rows.get(model) ?? 0) : null }));
  // one writer: the latest snapshot is the commit above
  const snapshotVersion = await warehouse.currentSnapshot();
  logger.info({ tables: tables.length, snapshotVersion }, 'published run');
  return {
    tables,
    snapshotVersion,
    warehousePath: warehouse.path,
    rows: tables.reduce((sum, t) => sum + (t.rows ?? 0), 0),
    durationMs: Date.now() - started,
  };
}

/** Drop this run's unpublished new versions (a failed or cancelled run leaves none behind). */
export async function discardPending({ warehouse }: ModelContext, { buildId }: BuildIdentity): Promise<{ dropped: number }> {
  return warehouse.withConnection(async (connection) => {
    const own = (await pendingRelations(connection)).filter((pending) => pending.key === buildKey(buildId));
    await dropRelations(connection, own);
    return { dropped: own.length };
  });
}

// Building a model's new version on the writer: beside the published one, in one transaction, so a
// failed build leaves the previous version readable.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BuildModelInput, BuildModelResult, EventWindow } from '../contract/activities';
import { quotedIdentifier, relation } from '../duckdb/sql';
import { relationKind, tableOf, type ModelNode } from '../project/types';
import { uninterruptible, type ModelContext } from './context';
import {
  besideModel,
  deltaName,
  modelRelation,
  findModel,
  inWindow,
  modelSqlError,
  pendingName,
  pendingRelationOf,
  warehouseResolver,
} from './model-sql';
import { modelSqlToRun } from './render-answered';
import { countRows, ensureSchema, existingKind } from './relations';
import { refuseRowsOutsideWindow } from './window-rows';
import { buildIncrementalRows } from './incremental-rows';

/** What a build counted: its new version's rows (null for a view), and the window's rebuilt rows. */
export interface Built {
  readonly rows: number | null;
  readonly windowRows?: number;
}

/** Drop what an earlier attempt of this run left of a model's new version: its pending and delta relations. */
export async function dropOwnVersions(connection: DuckDBConnection, model: ModelNode, buildId: string): Promise<void> {
  const { schema } = tableOf(model);
  for (const leftover of [pendingName(model.name, buildId), deltaName(model.name, buildId)]) {
    const leftoverKind = await existingKind(connection, { schema, name: leftover });
    if (leftoverKind) await connection.run(`drop ${leftoverKind} ${relation(schema, leftover)}`);
  }
}

/**
 * The new version of a model rebuilt over a window: the published rows outside the window and the
 * rebuilt ones, a view until publishing replaces the window's rows in place. Returns its rows.
 */
export async function createWindowedVersion(
  connection: DuckDBConnection,
  model: ModelNode,
  window: EventWindow,
  rebuilt: string,
  buildId: string,
): Promise<number> {
  const pending = pendingRelationOf(model, buildId);
  await connection.run(
    `create view ${pending} as\nselect * from ${modelRelation(model)} where not (${inWindow(model.eventTime as string, window)})\nunion all\nselect * from ${rebuilt}`,
  );
  return windowedVersionRows(connection, model, window, rebuilt);
}

/**
 * The rows of a windowed version (createWindowedVersion's view), without reading the rows outside the
 * window: the published table's count (the lake's statistics) less its rows in the window or with no
 * event time (those the view leaves out; the window's files only, pruned by their statistics), plus
 * the rebuilt rows. Counting the view instead reads every event time of the table, on every new day.
 */
export async function windowedVersionRows(
  connection: DuckDBConnection,
  model: ModelNode,
  window: EventWindow,
  rebuilt: string,
): Promise<number> {
  const published = modelRelation(model);
  const eventTime = model.eventTime as string;
  const counted = await connection.runAndReadAll(
    `select (select count(*) from ${published})
          - (select count(*) from ${published} where ${inWindow(eventTime, window)} or ${quotedIdentifier(eventTime)} is null)
          + (select count(*) from ${rebuilt})`,
  );
  return Number(counted.getRows()[0]?.[0] ?? 0);
}

/** A build's result: the model's new, pending version and what the build counted. */
export function builtResult(
  model: ModelNode,
  buildId: string,
  built: { rows: number | null; windowRows?: number },
  started: number,
): BuildModelResult {
  return {
    model: model.name,
    relation: `${tableOf(model).schema}.${pendingName(model.name, buildId)}`,
    materialized: model.materialized,
    ...built,
    durationMs: Date.now() - started,
  };
}

/** Create a model's relation from its SQL: partitioned by the event time's month where asked and it can be. */
async function createModelRelation(
  connection: DuckDBConnection,
  model: ModelNode,
  target: string,
  sql: string,
  partitioned = false,
): Promise<void> {
  const kind = relationKind(model.materialized);
  try {
    if (kind === 'table' && partitioned && model.eventTime) {
      // the lake writes one folder of Parquet files per month of the event time, so a later run
      // that changes one month rewrites that month's files only
      await connection.run(`create table ${target} as\nselect * from (\n${sql}\n) limit 0`);
      const column = quotedIdentifier(model.eventTime);
      await connection.run(`alter table ${target} set partitioned by (year(${column}), month(${column}))`);
      await connection.run(`insert into ${target}\n${sql}`);
    } else {
      await connection.run(`create ${kind} ${target} as\n${sql}`);
    }
  } catch (err) {
    throw modelSqlError(err, model);
  }
}

/** The new version built in the transaction: over the window, or whole. */
async function buildVersion(
  connection: DuckDBConnection,
  { project }: ModelContext,
  model: ModelNode,
  input: BuildModelInput,
): Promise<Built> {
  const { vars, buildId, pendingRefs = [], window, windowRefs = [] } = input;
  const pending = pendingRelationOf(model, buildId);
  const delta = besideModel(model, deltaName(model.name, buildId));
  const create = (target: string, sql: string, partitioned = false) => createModelRelation(connection, model, target, sql, partitioned);
  await ensureSchema(connection, tableOf(model));
  await dropOwnVersions(connection, model, buildId);
  const published = await existingKind(connection, tableOf(model));
  if (model.materialized === 'incremental' && model.eventTime && window && published === 'table') {
    // only the window's rows are rebuilt; the new version is the published rows outside it
    // and the rebuilt ones, a view until publishing replaces the window's rows in place
    const resolver = warehouseResolver(project, { buildId, models: pendingRefs }, { window, windowRefs });
    await create(delta, await modelSqlToRun(connection, project, model, resolver, vars));
    await refuseRowsOutsideWindow(connection, delta, model, "its rows over the run's window", window);
    return {
      rows: await createWindowedVersion(connection, model, window, delta, buildId),
      windowRows: await countRows(connection, delta),
    };
  }
  if (model.incremental && published === 'table' && !input.fullRefresh && model.incremental.fullRefresh !== true) {
    // as dbt: is_incremental() true, the new rows added to the table or replacing its rows of their keys
    return { rows: await buildIncrementalRows(connection, project, model, input, create) };
  }
  const resolver = warehouseResolver(project, { buildId, models: pendingRefs });
  await create(pending, await modelSqlToRun(connection, project, model, resolver, vars), true);
  if (relationKind(model.materialized) === 'view') {
    // a view is checked by running it once, so a bad column fails here, not in its readers
    await connection.run(`select * from ${pending} limit 0`);
    return { rows: null };
  }
  return { rows: await countRows(connection, pending) };
}

/**
 * Build one model's new version beside the published one (`__meterflow_pending_<model>`), so its
 * tests can run before anyone reads it; promoteModel swaps it in.
 */
export async function buildModel(context: ModelContext, input: BuildModelInput): Promise<BuildModelResult> {
  const { warehouse, project, logger, interruptible = uninterruptible } = context;
  const { model: name, buildId } = input;
  const started = Date.now();
  const model = findModel(project, name);
  const built = await warehouse.transaction(async (connection) =>
    interruptible(connection, () => buildVersion(connection, context, model, input)),
  );
  logger.info({ model: model.name, ...built }, 'built model');
  return builtResult(model, buildId, built, started);
}

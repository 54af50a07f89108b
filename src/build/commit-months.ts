// The writer's half of a per-month build: the Parquet files the build workers wrote become this run's
// new version of a model in one commit, with ducklake_add_data_files.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { BuildModelResult, CommitBuiltMonthsInput, EventWindow } from '../contract/activities';
import { quotedIdentifier, quotedString, relation } from '../duckdb/sql';
import { ModelBuildError } from '../errors';
import { filesOf } from '../duckdb/lake-tables';
import { tableOf, type ModelNode } from '../project/types';
import { builtResult, createWindowedVersion, dropOwnVersions, windowedVersionRows, type Built } from './build-model';
import { uninterruptible, type ModelContext } from './context';
import { deltaName, findModel, modelSqlError, pendingName, warehouseResolver } from './model-sql';
import { modelSqlToRun } from './render-answered';
import { intoTableFolder, lakeDataPath } from './month-files';
import { ensureSchema, existingKind } from './relations';

/** The files committed as the model's new version (or its rebuilt rows), in the transaction. */
async function commitFiles(
  connection: DuckDBConnection,
  { warehouse, project }: ModelContext,
  model: ModelNode,
  { vars, buildId, pendingRefs = [], window, windowRefs = [], files }: CommitBuiltMonthsInput,
  rows: number,
): Promise<Built> {
  const { schema } = tableOf(model);
  await ensureSchema(connection, tableOf(model));
  const published = await existingKind(connection, tableOf(model));
  const windowed = window !== undefined && published === 'table';
  const targetName = windowed ? deltaName(model.name, buildId) : pendingName(model.name, buildId);
  const target = relation(schema, targetName);
  // in the table's folder, so that the catalog records them relative to it (see month-files.ts)
  const dataPath = await lakeDataPath(connection, warehouse.alias);
  const paths = (
    await intoTableFolder(
      dataPath,
      schema,
      model.name,
      targetName,
      files.map((file) => file.path),
    )
  ).sort();
  if ((await existingKind(connection, { schema, name: targetName })) === 'table') {
    const committed = (await filesOf(connection, warehouse.alias, targetName, schema)).map((f) => f.dataFile).sort();
    // an earlier attempt committed these very files: dropping its table would delete them later
    if (JSON.stringify(committed) === JSON.stringify(paths))
      return windowed ? { rows: await windowedVersionRows(connection, model, window as EventWindow, target), windowRows: rows } : { rows };
  }
  await dropOwnVersions(connection, model, buildId);
  const resolver = warehouseResolver(project, { buildId, models: pendingRefs }, windowed && window ? { window, windowRefs } : undefined);
  const sql = await modelSqlToRun(connection, project, model, resolver, vars);
  try {
    await connection.run(`create table ${target} as\nselect * from (\n${sql}\n) limit 0`);
    // NOTE: the files are added before the table is partitioned: DuckLake 1.5.5's
    // ducklake_add_data_files refuses a year()/month() partitioned table. Each file holds one
    // month (so reads of a month still skip the others, by the files' statistics); rows a
    // later incremental run inserts go to partitioned files. hive_partitioning off: the files'
    // folders (year=…/month=…, and any name=value in the lake's path) are not columns.
    if (paths.length > 0) {
      await connection.run(
        `call ducklake_add_data_files(${quotedString(warehouse.alias)}, ${quotedString(targetName)}, [${paths.map(quotedString).join(', ')}], schema => ${quotedString(schema)}, hive_partitioning => false)`,
      );
    }
    const column = quotedIdentifier(model.eventTime as string);
    await connection.run(`alter table ${target} set partitioned by (year(${column}), month(${column}))`);
  } catch (err) {
    throw modelSqlError(err, model);
  }
  if (!windowed) return { rows };
  return { rows: await createWindowedVersion(connection, model, window as EventWindow, target, buildId), windowRows: rows };
}

/**
 * The writer's half of a per-month build: the files the build workers wrote become this run's new
 * version of the model (or, for an incremental build, its rebuilt rows beside the published ones)
 * in one commit, with ducklake_add_data_files: no row is read or written again. A retry after the
 * commit finds the same files in place and commits nothing twice.
 */
export async function commitBuiltMonths(context: ModelContext, input: CommitBuiltMonthsInput): Promise<BuildModelResult> {
  const { warehouse, project, logger, interruptible = uninterruptible } = context;
  const { model: name, buildId, files } = input;
  const started = Date.now();
  const model = findModel(project, name);
  if (!model.eventTime) throw new ModelBuildError(`model ${name}: built per month, but it has no event_time`, name, model.file);
  const rows = files.reduce((sum, file) => sum + file.rows, 0);
  const built = await warehouse.transaction(async (connection) =>
    interruptible(connection, () => commitFiles(connection, context, model, input, rows)),
  );
  logger.info({ model: model.name, files: files.length, ...built }, 'committed built months');
  return builtResult(model, buildId, built, started);
}

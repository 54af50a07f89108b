// Lake maintenance: merge small files, expire snapshots past the retention, delete the files nothing
// references any more. On the writer, since each step commits to the catalog.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { tableOf } from '../project/types';
import { filesOf, tablesOf } from '../duckdb/lake-tables';
import { quotedString } from '../duckdb/sql';
import { StorageError } from '../errors';
import { tableFoldersOf } from '../lake/relative-files';
import type { Warehouse } from '../warehouse/warehouse';
import type { MaintainLakeInput, MaintainLakeResult } from '../contract/activities';
import { uninterruptible, type Interruptible } from './context';

/**
 * Files the lake no longer needs are left this long before they are deleted: an orphan may be a
 * build's that has not committed yet, and the files of an expired snapshot or of merged small files
 * may still be read by a query pinned to an older version (an analytics activity of a run underway).
 */
export const DEFAULT_ORPHAN_GRACE_MINUTES = 60;

export interface MaintenanceContext {
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  /** Its models built per month are left unmerged (see below). */
  readonly project?: LoadedProject;
  /** A cancelled activity interrupts its DuckDB work; by default nothing does. */
  readonly interruptible?: Interruptible;
}

/** The number of data files of every table of the lake. */
async function liveFiles(connection: DuckDBConnection, alias: string): Promise<number> {
  let total = 0;
  for (const { schema, table } of await tablesOf(connection, alias)) {
    total += (await filesOf(connection, alias, table, schema)).length;
  }
  return total;
}

/** Merge each table's small files, but those of the models built per month. */
async function mergeSmallFiles(connection: DuckDBConnection, alias: string, project: LoadedProject | undefined): Promise<void> {
  const lake = quotedString(alias);
  // NOTE: a model built per month has one file a month, added with ducklake_add_data_files, which in
  // DuckLake 1.5.5 records no partition values: merging would join months into one file (and lose the
  // month-by-month rewrites of incremental runs). Those files are month-sized already; not merged.
  const perMonth = new Set(
    (project?.plan.models ?? [])
      .filter((m) => m.materialized === 'incremental' && m.eventTime)
      .flatMap((m) => [`${tableOf(m).schema}.${tableOf(m).name}`, `${tableOf(m).schema}.${m.name}`]),
  );
  for (const { schema, table } of await tablesOf(connection, alias)) {
    // its published table, or a run's unpublished version of it (`__meterflow_pending_<model>__<build>`, beside it)
    const model = table.replace(/^__meterflow_pending_(.+)__[A-Za-z0-9]+$/, '$1').replace(/__delta$/, '');
    if (perMonth.has(`${schema}.${model}`)) continue;
    await connection.run(`call ducklake_merge_adjacent_files(${lake}, ${quotedString(table)}, schema => ${quotedString(schema)})`);
  }
}

/** Expire old snapshots and delete the files nothing needs any more, the grace given; what each step did. */
async function expireAndClean(
  connection: DuckDBConnection,
  alias: string,
  { retentionDays, orphanGraceMinutes = DEFAULT_ORPHAN_GRACE_MINUTES }: MaintainLakeInput,
): Promise<{ expiredSnapshots: number; deletedFiles: number }> {
  const lake = quotedString(alias);
  const rowsOf = async (sql: string) => (await connection.runAndReadAll(sql)).getRows().length;
  // the latest snapshot is never expired, whatever its age
  const expired = await rowsOf(`call ducklake_expire_snapshots(${lake}, older_than => now() - to_days(${Math.trunc(retentionDays)}))`);
  const graceStart = `now() - to_minutes(${Math.trunc(orphanGraceMinutes)})`;
  // files scheduled for deletion (of expired snapshots, of merged files) go once the grace
  // has passed since they were scheduled, counted in whole days: those scheduled before the
  // day the grace started. NOTE: on a SQLite catalog, DuckLake 1.5.5 compares the schedule
  // with `older_than` as text, so any cutoff within a day counts that whole day's files as
  // older (measured: a cutoff of an hour ago deleted files scheduled a second ago); a
  // cutoff at the end of the day before is right on either catalog.
  const cleaned = await rowsOf(
    orphanGraceMinutes > 0
      ? `call ducklake_cleanup_old_files(${lake}, older_than => date_trunc('day', ${graceStart}) - to_microseconds(1))`
      : `call ducklake_cleanup_old_files(${lake}, cleanup_all => true)`,
  );
  const orphans = await rowsOf(`call ducklake_delete_orphaned_files(${lake}, older_than => ${graceStart})`);
  return { expiredSnapshots: expired, deletedFiles: cleaned + orphans };
}

/** The folders of every table the lake has had (a dropped one's too), as its data files' paths begin. */
async function tableFolders(connection: DuckDBConnection, alias: string, dataPath: string): Promise<string[]> {
  const metadata = `__ducklake_metadata_${alias}`;
  const reader = await connection.runAndReadAll(
    `select distinct s.path, s.path_is_relative, t.path, t.path_is_relative
     from ${metadata}.ducklake_table t join ${metadata}.ducklake_schema s using (schema_id)`,
  );
  return reader
    .getRows()
    .map(
      ([schemaPath, schemaRelative, tablePath, tableRelative]) =>
        tableFoldersOf(dataPath, [schemaPath, schemaRelative], [tablePath, tableRelative]).tableFolder,
    );
}

/**
 * DuckLake's orphan cleanup deletes every Parquet file under the data path that no version
 * references: sources or results kept there (--sources or --out inside it, a shared
 * METERFLOW_LAKE_DATA) would go. Such files, outside every table's folder, stop the maintenance
 * before it changes anything, naming them.
 */
async function refuseForeignFiles(
  connection: DuckDBConnection,
  { alias, dataPath }: { alias: string; dataPath: string },
  graceMinutes: number,
): Promise<void> {
  const olderThan = `now() - to_minutes(${Math.trunc(graceMinutes)})`;
  const orphans = (
    await connection.runAndReadAll(
      `call ducklake_delete_orphaned_files(${quotedString(alias)}, older_than => ${olderThan}, dry_run => true)`,
    )
  )
    .getRows()
    .map(([file]) => String(file));
  if (orphans.length === 0) return;
  const folders = await tableFolders(connection, alias, dataPath);
  const foreign = orphans.filter((file) => !folders.some((folder) => file.startsWith(folder)));
  if (foreign.length === 0) return;
  throw new StorageError(
    `the lake's data folder ${dataPath} holds ${foreign.length} file(s) that are not the lake's (${foreign.slice(0, 3).join(', ')}` +
      `${foreign.length > 3 ? ', …' : ''}): maintenance changed nothing, as DuckLake's cleanup would have deleted those. ` +
      `Move them out of ${dataPath} (keep --sources and --out outside it), then run maintenance again`,
    dataPath,
  );
}

/** Merge small files, expire snapshots past the retention, and delete the files nothing references. */
export async function maintainLake(
  { warehouse, logger, project, interruptible = uninterruptible }: MaintenanceContext,
  input: MaintainLakeInput,
): Promise<MaintainLakeResult> {
  const started = Date.now();
  const result = await warehouse.withConnection((connection) =>
    interruptible(connection, async () => {
      await refuseForeignFiles(connection, warehouse, input.orphanGraceMinutes ?? DEFAULT_ORPHAN_GRACE_MINUTES);
      const filesBefore = await liveFiles(connection, warehouse.alias);
      await mergeSmallFiles(connection, warehouse.alias, project);
      const filesAfter = await liveFiles(connection, warehouse.alias);
      const { expiredSnapshots, deletedFiles } = await expireAndClean(connection, warehouse.alias, input);
      return { expiredSnapshots, deletedFiles, filesBefore, filesAfter };
    }),
  );
  logger.info(result, 'maintained lake');
  return { ...result, durationMs: Date.now() - started };
}

// Lake maintenance: merge small files, expire snapshots past the retention, delete the files nothing
// references any more. On the writer, since each step commits to the catalog.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { filesOf, tablesOf } from '../lake/lake';
import { quotedString } from '../warehouse/sql';
import type { Warehouse } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import type { MaintainLakeInput, MaintainLakeResult } from '../contract/activities';

/** Files no snapshot references are left this long: a build may have written them and not committed yet. */
export const DEFAULT_ORPHAN_GRACE_MINUTES = 60;

export interface MaintenanceDependencies {
  readonly warehouse: Warehouse;
  readonly logger: Logger;
  /** Its models built per month are left unmerged (see below). */
  readonly project?: LoadedProject;
}

export function createMaintenanceActivities({ warehouse, logger, project }: MaintenanceDependencies) {
  // NOTE: a model built per month has one file a month, added with ducklake_add_data_files, which in
  // DuckLake 1.5.5 records no partition values: merging would join months into one file (and lose the
  // month-by-month rewrites of incremental runs). Those files are month-sized already; not merged.
  const perMonth = new Set((project?.plan.models ?? []).filter((m) => m.materialized === 'incremental' && m.eventTime).map((m) => m.name));
  return {
    async maintainLake({
      retentionDays,
      orphanGraceMinutes = DEFAULT_ORPHAN_GRACE_MINUTES,
    }: MaintainLakeInput): Promise<MaintainLakeResult> {
      return activityFrame('maintain lake', async () => {
        const started = Date.now();
        const lake = quotedString(warehouse.alias);
        const result = await warehouse.withConnection((connection) =>
          interruptOnCancel(connection, async () => {
            const liveFiles = async () => {
              let total = 0;
              for (const { schema, table } of await tablesOf(connection, warehouse.alias)) {
                total += (await filesOf(connection, warehouse.alias, table, schema)).length;
              }
              return total;
            };
            const rowsOf = async (sql: string) => (await connection.runAndReadAll(sql)).getRows().length;
            const filesBefore = await liveFiles();
            for (const { schema, table } of await tablesOf(connection, warehouse.alias)) {
              // a run's unpublished version of one too (`__meterflow_pending_<model>__<build>`)
              const model = table.replace(/^__meterflow_pending_(.+)__[A-Za-z0-9]+$/, '$1').replace(/__delta$/, '');
              if (schema === 'main' && perMonth.has(model)) continue;
              await connection.run(
                `call ducklake_merge_adjacent_files(${lake}, ${quotedString(table)}, schema => ${quotedString(schema)})`,
              );
            }
            const filesAfter = await liveFiles();
            // the latest snapshot is never expired, whatever its age
            const expired = await rowsOf(
              `call ducklake_expire_snapshots(${lake}, older_than => now() - to_days(${Math.trunc(retentionDays)}))`,
            );
            // the files of the snapshots just expired, at once
            const cleaned = await rowsOf(`call ducklake_cleanup_old_files(${lake}, cleanup_all => true)`);
            const orphans = await rowsOf(
              `call ducklake_delete_orphaned_files(${lake}, older_than => now() - to_minutes(${Math.trunc(orphanGraceMinutes)}))`,
            );
            return { expiredSnapshots: expired, deletedFiles: cleaned + orphans, filesBefore, filesAfter };
          }),
        );
        logger.info(result, 'maintained lake');
        return { ...result, durationMs: Date.now() - started };
      });
    },
  };
}

// Lake maintenance: merge small files, expire snapshots past the retention, delete the files nothing
// references any more. On the writer, since each step commits to the catalog.
import type { Logger } from '../logger';
import { quotedString } from '../warehouse/sql';
import type { Warehouse } from '../warehouse/warehouse';
import { activityFrame, interruptOnCancel } from './context';
import type { MaintainLakeInput, MaintainLakeResult } from '../contract/activities';

/**
 * Files no snapshot references are left this long: a build may have written them and not committed
 * yet, or a reader be in a query on an expired snapshot.
 */
export const DEFAULT_ORPHAN_GRACE_MINUTES = 60;

export interface MaintenanceDependencies {
  readonly warehouse: Warehouse;
  readonly logger: Logger;
}

export function createMaintenanceActivities({ warehouse, logger }: MaintenanceDependencies) {
  return {
    async maintainLake({
      retentionDays,
      orphanGraceMinutes = DEFAULT_ORPHAN_GRACE_MINUTES,
    }: MaintainLakeInput): Promise<MaintainLakeResult> {
      return activityFrame('maintain lake', async () => {
        const started = Date.now();
        const result = await warehouse.withConnection((connection) =>
          interruptOnCancel(connection, async () => {
            const count = async (sql: string) => Number((await connection.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0);
            const liveFiles = async () => {
              let total = 0;
              const tables = (
                await connection.runAndReadAll(`select schema_name, table_name from duckdb_tables() where database_name = 'lake'`)
              ).getRows();
              for (const [schema, table] of tables) {
                total += await count(
                  `select count(*) from ducklake_list_files('lake', ${quotedString(String(table))}, schema => ${quotedString(String(schema))})`,
                );
              }
              return total;
            };
            const filesBefore = await liveFiles();
            await connection.run(`call ducklake_merge_adjacent_files('lake')`);
            const filesAfter = await liveFiles();
            // the latest snapshot is never expired, whatever its age
            const expired = (
              await connection.runAndReadAll(
                `call ducklake_expire_snapshots('lake', older_than => now() - to_days(${Math.trunc(retentionDays)}))`,
              )
            ).getRows().length;
            const cleaned = (await connection.runAndReadAll(`call ducklake_cleanup_old_files('lake', cleanup_all => true)`)).getRows()
              .length;
            const orphans = (
              await connection.runAndReadAll(
                `call ducklake_delete_orphaned_files('lake', older_than => now() - to_minutes(${Math.trunc(orphanGraceMinutes)}))`,
              )
            ).getRows().length;
            return { expiredSnapshots: expired, deletedFiles: cleaned + orphans, filesBefore, filesAfter };
          }),
        );
        logger.info(result, 'maintained lake');
        return { ...result, durationMs: Date.now() - started };
      });
    },
  };
}

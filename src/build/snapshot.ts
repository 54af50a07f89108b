// The snapshot analytics read: a committed lake version, named by its number. Nothing is copied: the
// master's Parquet files, written once by its build, are read in place at that version by any
// process, while the writer goes on writing.
import type { Logger } from '../logger';
import { currentSnapshotOf } from '../duckdb/lake-tables';
import type { Warehouse } from '../warehouse/warehouse';
import { relation } from '../duckdb/sql';
import { pendingName, publishedTableOf } from './model-sql';
import type { LoadedProject } from '../project/load';
import { countRows, existingKind, tableKey } from './relations';
import { ProjectError } from '../errors';
import type { PinnedSnapshot, PinSnapshotInput } from '../contract/activities';

/**
 * The lake version analytics read, and the relation of each master table there: this run's new,
 * unpublished version where it rebuilt the table, else the published one. Cheap and idempotent.
 */
export async function pinSnapshot(
  { warehouse, logger, project }: { readonly warehouse: Warehouse; readonly logger: Logger; readonly project: LoadedProject },
  { tables, pending }: PinSnapshotInput,
): Promise<PinnedSnapshot> {
  return warehouse.withConnection(async (connection) => {
    const relations: Record<string, string> = {};
    const counted: { name: string; rows: number }[] = [];
    for (const table of tables) {
      const published = publishedTableOf(project, table);
      const rebuilt = pending?.tables.includes(table) === true;
      const pinned = rebuilt ? { schema: published.schema, name: pendingName(table, pending?.buildId ?? '') } : published;
      if (!(await existingKind(connection, pinned))) {
        throw new ProjectError(
          `the warehouse ${warehouse.path} has no ${pinned.schema}.${pinned.name} to read ${table} from: build it first`,
        );
      }
      relations[table] = tableKey(pinned);
      const known = rebuilt ? pending?.rows?.[table] : undefined;
      counted.push({ name: table, rows: known ?? (await countRows(connection, relation(pinned.schema, pinned.name))) });
    }
    const version = await currentSnapshotOf(connection, warehouse.alias);
    logger.info({ version, relations }, 'pinned snapshot');
    return { warehouse: warehouse.path, version, relations, tables: counted };
  });
}

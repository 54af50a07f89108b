// The snapshot analytics read: a committed lake version, named by its number. Nothing is copied: the
// master's Parquet files, written once by its build, are read in place at that version by any
// process, while the writer goes on writing.
import type { Logger } from '../logger';
import { currentSnapshotOf } from '../duckdb/lake-tables';
import type { Warehouse } from '../warehouse/warehouse';
import { relation } from '../duckdb/sql';
import { MODEL_SCHEMA, pendingName } from './model-sql';
import { countRows, existingKind } from './relations';
import { ProjectError } from '../errors';
import type { PinnedSnapshot, PinSnapshotInput } from '../contract/activities';

/**
 * The lake version analytics read, and the relation of each master table there: this run's new,
 * unpublished version where it rebuilt the table, else the published one. Cheap and idempotent.
 */
export async function pinSnapshot(
  { warehouse, logger }: { readonly warehouse: Warehouse; readonly logger: Logger },
  { tables, pending }: PinSnapshotInput,
): Promise<PinnedSnapshot> {
  return warehouse.withConnection(async (connection) => {
    const relations: Record<string, string> = {};
    const counted: { name: string; rows: number }[] = [];
    for (const table of tables) {
      const name = pending?.tables.includes(table) ? pendingName(table, pending.buildId) : table;
      if (!(await existingKind(connection, name))) {
        throw new ProjectError(`the warehouse ${warehouse.path} has no ${MODEL_SCHEMA}.${name} to read ${table} from: build it first`);
      }
      relations[table] = name;
      const known = name === table ? undefined : pending?.rows?.[table];
      counted.push({ name: table, rows: known ?? (await countRows(connection, relation(MODEL_SCHEMA, name))) });
    }
    const version = await currentSnapshotOf(connection, warehouse.alias);
    logger.info({ version, relations }, 'pinned snapshot');
    return { warehouse: warehouse.path, version, relations, tables: counted };
  });
}

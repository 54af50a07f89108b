// A warehouse's name: what messages, results, history and writer queues call it. Pure (no DuckDB),
// so the command line can name the warehouse a run builds without loading the lake's code.
import path from 'node:path';
import { withoutPassword } from '../secrets';
import { StorageError } from '../errors';
import { parseLakeCatalog, type LakeCatalog } from '../duckdb/catalog';

/** The file in a warehouse folder that holds its catalog (when the catalog is SQLite). */
export const CATALOG_FILE = 'catalog.sqlite';

/** `sqlite:<folder>/catalog.sqlite` names the warehouse folder `<folder>`; other SQLite files are not warehouses. */
export function sqliteFolder(location: string): string {
  const file = path.resolve(location.slice('sqlite:'.length));
  if (path.basename(file) !== CATALOG_FILE) {
    throw new StorageError(
      `warehouse ${location}: a SQLite catalog is a warehouse folder's ${CATALOG_FILE} (sqlite:<folder>/${CATALOG_FILE}), or give the folder itself`,
      location,
    );
  }
  return path.dirname(file);
}

/**
 * The location as messages, results, history and writer queues name it, and writers compare runs'
 * warehouses by: a resolved folder, or the catalog with its settings' spacing made single, `lake=`
 * last and no password (workers take that from their own --db, PGPASSWORD or a passfile).
 */
export function warehouseName(location: string): string {
  if (location.startsWith('postgres:')) {
    const catalog = parseLakeCatalog(location) as Extract<LakeCatalog, { kind: 'postgres' }>;
    return `postgres:${withoutPassword(catalog.conninfo)}${catalog.lake !== undefined ? ` lake=${catalog.lake}` : ''}`;
  }
  return location.startsWith('sqlite:') ? sqliteFolder(location) : path.resolve(location);
}

/** Full locations (with their password) this process was given, by name: what opening a named warehouse uses. */
const credentials = new Map<string, string>();

/**
 * A warehouse location as given to this process (--db, METERFLOW_CATALOG), remembered with its
 * password so that a run naming it by its name alone (no password in history) can open it; its name.
 */
export function registerWarehouse(location: string): string {
  const name = warehouseName(location);
  if (location.startsWith('postgres:') && name !== location) credentials.set(name, location);
  return name;
}

/** What opens a warehouse: the location itself if it holds its password, else the one registered under its name. */
export function withCredentials(location: string): string {
  if (!location.startsWith('postgres:')) return location;
  return credentials.get(warehouseName(location)) ?? location;
}

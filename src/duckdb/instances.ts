// The DuckDB instances a process shares (the lake's extensions loaded once per pool and settings), and instances for one unit of work.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { computeInUtc, ensureLakeExtensions, loadLakeExtensions } from './extensions';
import { duckdbOptions, type DuckdbSettings } from './settings';

/**
 * Instances with the lake's extensions loaded, one per pool and settings, kept for the life of the
 * process (a pool keeps attachments that live long, such as pinned versions kept for the next
 * activity, apart from the rest: a catalog-wide query there would read every attached lake):
 * loading verifies the extensions' signatures (about a second), attaching a lake takes milliseconds.
 */
const sharedInstances = new Map<string, Promise<DuckDBInstance>>();

export function sharedLakeInstance(settings: DuckdbSettings = {}, pool = 'default'): Promise<DuckDBInstance> {
  const key = JSON.stringify([pool, settings]);
  let instance = sharedInstances.get(key);
  if (!instance) {
    instance = (async () => {
      const created = await DuckDBInstance.create(':memory:', {
        ...duckdbOptions(settings),
        extension_directory: await ensureLakeExtensions(),
      });
      const connection = await created.connect();
      try {
        await loadLakeExtensions(connection);
      } finally {
        connection.closeSync();
      }
      return created;
    })();
    instance.catch(() => sharedInstances.delete(key));
    sharedInstances.set(key, instance);
  }
  return instance;
}

/** An in-memory DuckDB for work over files (analytics results): never the warehouse. */
export async function withScratchDuckdb<T>(settings: DuckdbSettings, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  return withDuckdbFile(':memory:', settings, work);
}

/** One DuckDB instance and connection for a unit of work, both closed after it (the bench's databases). */
export async function withDuckdbFile<T>(
  database: string,
  settings: DuckdbSettings,
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(database, duckdbOptions(settings));
  const connection = await instance.connect();
  try {
    await computeInUtc(connection);
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

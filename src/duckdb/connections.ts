// A connection per unit of work, and a transaction around it: how every DuckDB instance here is used.
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** Run work on a fresh connection of the instance, always closed after it. */
export async function withConnection<T>(instance: DuckDBInstance, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
  }
}

/** Run work in one transaction on a fresh connection: committed whole, or rolled back. */
export async function inTransaction<T>(instance: DuckDBInstance, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  return withConnection(instance, async (connection) => {
    await connection.run('begin transaction');
    try {
      const result = await work(connection);
      await connection.run('commit');
      return result;
    } catch (err) {
      await connection.run('rollback').catch(() => undefined);
      throw err;
    }
  });
}

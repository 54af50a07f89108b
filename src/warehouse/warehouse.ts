// The warehouse: one DuckDB file, opened once by the writer worker, the only process that may open it.
import { inTransaction, withConnection } from './connections';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import path from 'node:path';
import { StorageError, WarehouseLockedError } from '../errors';
import { makeDirectory } from '../storage/fs-errors';
import { duckdbMessage, isPermanentDuckdbIoError } from './sql';

/** Settings for a DuckDB instance: bound memory so that large builds spill to disk instead of failing. */
export interface DuckdbSettings {
  /** e.g. '4GB'; DuckDB's default is 80% of RAM. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** Where DuckDB spills when over its memory limit. */
  readonly tempDirectory?: string;
}

export function duckdbOptions(settings: DuckdbSettings): Record<string, string> {
  const options: Record<string, string> = {};
  if (settings.memoryLimit) options.memory_limit = settings.memoryLimit;
  if (settings.threads) options.threads = String(settings.threads);
  if (settings.tempDirectory) options.temp_directory = settings.tempDirectory;
  return options;
}

export function duckdbSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DuckdbSettings {
  return {
    ...(env.METERFLOW_DUCKDB_MEMORY_LIMIT ? { memoryLimit: env.METERFLOW_DUCKDB_MEMORY_LIMIT } : {}),
    ...(env.METERFLOW_DUCKDB_THREADS ? { threads: Number(env.METERFLOW_DUCKDB_THREADS) } : {}),
  };
}

/**
 * The lock error of a warehouse another process holds. DuckDB's message says who holds it (program
 * and pid) and, only when that holder is a reader, that a read-only open would still work.
 */
export function lockFailure(err: unknown, warehousePath: string): WarehouseLockedError | undefined {
  const message = duckdbMessage(err);
  if (!/Could not set lock on file|Conflicting lock/i.test(message)) return undefined;
  const holder = /held in (.+?) \(PID (\d+)\)/.exec(message);
  const program = holder?.[1];
  const pid = holder?.[2];
  if (/open this database in read-only mode/.test(message)) {
    return new WarehouseLockedError(
      `warehouse ${warehousePath} is open read-only by another process${pid ? ` (${program ? `${path.basename(program)}, ` : ''}pid ${pid})` : ''}: ` +
        'a writer needs the file to itself; close that reader (e.g. a `duckdb -readonly` shell) and start again',
      warehousePath,
      'reader',
      ...(pid ? [Number(pid)] : []),
    );
  }
  return new WarehouseLockedError(
    `warehouse ${warehousePath} is already open by another process${pid ? ` (pid ${pid})` : ''}: only one writer worker may own a warehouse file`,
    warehousePath,
    'writer',
    ...(pid ? [Number(pid)] : []),
  );
}

export class Warehouse {
  private constructor(
    public readonly path: string,
    private readonly instance: DuckDBInstance,
  ) {}

  /**
   * Open the warehouse for writing. DuckDB itself holds a file lock, so a second writer process
   * fails here, before it takes any work, with a message that names the file and the holder.
   */
  static async open(warehousePath: string, settings: DuckdbSettings = {}): Promise<Warehouse> {
    const resolved = path.resolve(warehousePath);
    await makeDirectory(path.dirname(resolved));
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(resolved, duckdbOptions(settings));
    } catch (err) {
      throw (
        lockFailure(err, resolved) ??
        (isPermanentDuckdbIoError(err) ? new StorageError(`warehouse ${resolved}: ${duckdbMessage(err)}`, resolved) : err)
      );
    }
    const warehouse = new Warehouse(resolved, instance);
    await warehouse.withConnection(async (connection) => {
      await connection.run('create schema if not exists raw');
      await connection.run('create schema if not exists meterflow');
    });
    return warehouse;
  }

  /** A connection per unit of work, always closed. */
  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return withConnection(this.instance, work);
  }

  /** Run work in one transaction: all of it is visible afterwards, or none of it. */
  async transaction<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return inTransaction(this.instance, work);
  }

  close(): void {
    this.instance.closeSync();
  }
}

/** An in-memory DuckDB for read-only work (analytics over a snapshot): never the warehouse file. */
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
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

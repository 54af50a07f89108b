// The warehouse: a DuckLake lake (catalog in SQLite or PostgreSQL, tables as Parquet files). The writer
// worker is its one writer; any number of readers (analytics workers, `meterflow query`, the duckdb
// CLI) read a committed version of it at the same time, from any process. What a warehouse location
// means, how it is opened and how readers attach it live here.
import type { DuckDBConnection } from '@duckdb/node-api';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultLakeDataPath } from '../config';
import { QueryRefusedError, StorageError, WarehouseLockedError } from '../errors';
import { runReadStatement, withSandboxedLake } from '../lake/sandbox';
import { LAKE_ALIAS, Lake, lakeAttachOptions, type LakeOptions } from '../lake/lake';
import { makeDataFilesRelative } from '../lake/relative-files';
import { claimLakeWriter, heldForLife, type WriterLock } from '../lake/writer-lock';
import { makeDirectory } from '../storage/fs-errors';
import type { AttachOptions } from '../duckdb/attach';
import { LakeHandle } from '../duckdb/lake-tables';
import { LakeReader, pinnedVersionReaders, withLakeReader, type ReaderOptions, type WithPinnedReader } from '../duckdb/readers';
import { DEFAULT_MEMORY_LIMIT, type DuckdbSettings } from '../duckdb/settings';
import { duckdbMessage, isPermanentDuckdbIoError, quotedString } from '../duckdb/sql';
import { CATALOG_FILE, sqliteFolder, warehouseName, withCredentials } from './names';
import { migrateStateSchema } from './state-schema';

/**
 * What a warehouse location names. `postgres:<conninfo>` (with `lake=<name>` for one of several lakes
 * in the database): a catalog in PostgreSQL, its data at METERFLOW_LAKE_DATA (required). Anything else
 * is a folder (`sqlite:<folder>/catalog.sqlite` too): `<folder>/catalog.sqlite` and `<folder>/data/`
 * (or METERFLOW_LAKE_DATA, e.g. `s3://bucket/lake/`). A reader takes the data path the catalog
 * records: it need not know where the writer put the files.
 */
export function lakeOptionsFor(
  location: string,
  env: NodeJS.ProcessEnv = process.env,
  role: 'writer' | 'reader' = 'writer',
): LakeOptions & { readonly folder?: string } {
  if (location.startsWith('sqlite:')) return lakeOptionsFor(sqliteFolder(location), env, role);
  if (location.startsWith('postgres:')) {
    location = withCredentials(location);
    if (role === 'reader') return { catalog: location, env };
    const lakeData = defaultLakeDataPath(env);
    if (!lakeData) {
      throw new StorageError(
        `warehouse ${warehouseName(location)}: a PostgreSQL catalog needs METERFLOW_LAKE_DATA, where the data files live (a shared path or s3://…)`,
        warehouseName(location),
      );
    }
    return { catalog: location, dataPath: lakeData, env };
  }
  const folder = path.resolve(location);
  const catalog = { kind: 'sqlite' as const, path: path.join(folder, CATALOG_FILE) };
  // a folder with its own data/ reads and writes that, wherever the catalog says it was created
  // (a warehouse folder copied or moved keeps working)
  const ownData = path.join(folder, 'data');
  const lakeData = defaultLakeDataPath(env);
  if (existsSync(ownData) && (role === 'reader' || lakeData === undefined)) {
    return { folder, catalog, dataPath: ownData, overrideDataPath: true, env };
  }
  if (role === 'reader') return { folder, catalog, env };
  return { folder, catalog, dataPath: lakeData ?? ownData, env };
}

/**
 * A lake is created only where there is neither a catalog nor data: an empty catalog (a full disk, a
 * bad copy) or a missing one beside data files would otherwise become a new, empty lake, silently
 * losing every version, source record and model state. Refused, naming the file and what to do.
 */
function refuseDamagedCatalog(folder: string): void {
  const catalog = path.join(folder, CATALOG_FILE);
  const data = path.join(folder, 'data');
  // NOTE: the data folder is looked into only when the catalog is missing: readers open lakes often
  const hasData = () => existsSync(data) && readdirSync(data).length > 0;
  const remedy = `restore ${catalog} from a backup; to start a new lake on purpose, move ${folder} away (or delete it) first`;
  if (existsSync(catalog) && statSync(catalog).size === 0) {
    throw new StorageError(
      `warehouse ${folder}: its catalog ${catalog} is empty (0 bytes: a full disk or a bad copy?); nothing was changed: ${remedy}`,
      folder,
    );
  }
  if (!existsSync(catalog) && hasData()) {
    throw new StorageError(
      `warehouse ${folder}: it has data files in ${data} but no catalog ${catalog}; nothing was changed: ${remedy}`,
      folder,
    );
  }
}

/** How much of a catalog file is read for DuckLake's tables: their CREATE statements are in its first pages. */
const CATALOG_HEAD_BYTES = 4 << 20;

/** The first CATALOG_HEAD_BYTES of a file; undefined where there is none. */
function fileHead(file: string): Buffer | undefined {
  if (!existsSync(file)) return undefined;
  const head = Buffer.alloc(Math.min(statSync(file).size, CATALOG_HEAD_BYTES));
  const fd = openSync(file, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  return head;
}

/**
 * A catalog.sqlite that is another application's SQLite database is never taken over (a writer would
 * add DuckLake's tables beside its own). An empty SQLite database (no table yet) is a lake to
 * create, as a missing one is.
 */
function refuseForeignCatalog(folder: string): void {
  const catalog = path.join(folder, CATALOG_FILE);
  const head = fileHead(catalog);
  if (head === undefined || head.length === 0) return;
  const remedy = `give --db a folder of its own (meterflow keeps catalog.sqlite and data/ there); nothing was changed`;
  // (a file that is no SQLite database is named damaged when it is attached)
  if (!head.subarray(0, 16).equals(Buffer.from('SQLite format 3\0', 'latin1'))) return;
  // (a lake just created may hold its tables in the write-ahead log still)
  const ducklake = (bytes: Buffer | undefined) => bytes?.includes('ducklake_metadata') === true;
  if (!ducklake(head) && !ducklake(fileHead(`${catalog}-wal`)) && /create\s+table/i.test(head.toString('latin1'))) {
    throw new StorageError(`warehouse ${folder}: ${catalog} holds another application's tables, not a DuckLake catalog: ${remedy}`, folder);
  }
}

/** A folder location that is a file: most likely a single-file DuckDB warehouse of an older meterflow. */
function refuseFile(folder: string): void {
  if (existsSync(folder) && !statSync(folder).isDirectory()) {
    throw new StorageError(
      `warehouse ${folder} is a file, not a lake folder (a single-file DuckDB warehouse of an earlier meterflow?): ` +
        'give --db a folder (it will hold catalog.sqlite and data/), or move the file away',
      folder,
    );
  }
}

/**
 * How often a writer touches its `writer.pid`, and how long a file another machine wrote may go
 * untouched before its writer counts as gone (its pid cannot be asked about from here).
 */
export const WRITER_HEARTBEAT_MS = 10_000;
export const WRITER_STALE_MS = 60_000;

/** Who holds `writer.pid`, if anyone still does: a live process on this machine, or another machine's recent file. */
async function holderOf(file: string): Promise<{ pid: number; host: string } | undefined> {
  const held = await readFile(file, 'utf8').catch(() => '');
  const [pid, host] = held.trim().split(' ');
  if (!pid || !host || (Number(pid) === process.pid && host === os.hostname())) return undefined;
  if (host === os.hostname()) return alive(Number(pid)) ? { pid: Number(pid), host } : undefined;
  const touched = await stat(file).then(
    (info) => info.mtimeMs,
    () => 0,
  );
  return Date.now() - touched < WRITER_STALE_MS ? { pid: Number(pid), host } : undefined;
}

/**
 * One writer per warehouse folder: `writer.pid` names the process that writes it (`<pid> <host>`),
 * created exclusively, and touched every WRITER_HEARTBEAT_MS while it is held. A live process on this
 * machine, or another machine's file touched within WRITER_STALE_MS (a folder on a shared disk),
 * refuses a second writer; a dead or silent one's file is taken over. (A lake in PostgreSQL has a lock
 * there instead, see lake/writer-lock.ts.)
 */
async function claimWriter(folder: string): Promise<() => Promise<void>> {
  const file = path.join(folder, 'writer.pid');
  const me = `${process.pid} ${os.hostname()}`;
  const holder = await holderOf(file);
  if (holder) {
    const where = holder.host === os.hostname() ? '' : ` on ${holder.host} (its writer.pid was touched within ${WRITER_STALE_MS / 1000} s)`;
    throw new WarehouseLockedError(
      `warehouse ${folder} is already open by another process (pid ${holder.pid}${where}): only one writer worker may own a warehouse`,
      folder,
      'writer',
      holder.pid,
    );
  }
  // a dead or silent holder's file is moved aside (of two claims at once, one moves it), then the
  // file is created exclusively, so that of two claims at once one fails
  const aside = `${file}.${process.pid}.${Date.now()}.stale`;
  if (
    await rename(file, aside).then(
      () => true,
      () => false,
    )
  )
    await rm(aside, { force: true });
  try {
    await writeFile(file, `${me}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new WarehouseLockedError(
      `warehouse ${folder} was claimed by another writer at the same moment: only one writer worker may own a warehouse`,
      folder,
      'writer',
    );
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, WRITER_HEARTBEAT_MS);
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    if ((await readFile(file, 'utf8').catch(() => '')).trim() === me) await rm(file, { force: true });
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Work whose unqualified names (`main.x`, `raw.x`) are the writer's lake's. */
const inLake =
  <T>(work: (connection: DuckDBConnection) => Promise<T>) =>
  async (connection: DuckDBConnection): Promise<T> => {
    await connection.run(`use ${LAKE_ALIAS}`);
    return work(connection);
  };

export class Warehouse extends LakeHandle {
  readonly alias = LAKE_ALIAS;

  private constructor(
    /** The location as given to --db, resolved: a folder, or `postgres:…`. */
    public readonly path: string,
    private readonly lake: Lake,
    private readonly lock: WriterLock,
  ) {
    super();
  }

  /** Where the lake's data files are (a folder ending in `/`, or an S3 prefix): nothing else belongs there. */
  get dataPath(): string {
    return this.lake.dataPath;
  }

  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    await this.lock.ensureHeld();
    return this.lake.withConnection(inLake(work));
  }

  /**
   * Open the warehouse for writing: create the lake on first use. A second writer on the same
   * machine fails here, before it takes any work, naming the process that writes it.
   */
  static async open(location: string, settings: DuckdbSettings = {}, env: NodeJS.ProcessEnv = process.env): Promise<Warehouse> {
    const name = warehouseName(location);
    const options = lakeOptionsFor(location, env);
    let lock = heldForLife(async () => undefined);
    if (options.folder) {
      refuseFile(options.folder);
      refuseDamagedCatalog(options.folder);
      refuseForeignCatalog(options.folder);
      await makeDirectory(options.folder);
      lock = heldForLife(await claimWriter(options.folder));
    }
    let lake: Lake;
    try {
      lake = await Lake.open({
        ...options,
        settings: {
          memoryLimit: DEFAULT_MEMORY_LIMIT,
          // spills go beside the lake (a folder) or to the system's temporary folder, one each: DuckDB
          // deletes its spill folder on close, and several writers of a PostgreSQL catalog may share a machine
          tempDirectory: options.folder ? path.join(options.folder, 'tmp') : path.join(os.tmpdir(), `meterflow-spill-${process.pid}`),
          ...settings,
        },
      });
    } catch (err) {
      await lock.release();
      throw isPermanentDuckdbIoError(err) ? new StorageError(`warehouse ${name}: ${duckdbMessage(err)}`, name) : err;
    }
    if (lake.catalog.kind === 'postgres') {
      // no folder for a writer.pid: the writer holds the lake's lock in PostgreSQL instead
      try {
        lock = await claimLakeWriter(lake.catalog);
      } catch (err) {
        lake.close();
        throw err;
      }
    }
    const warehouse = new Warehouse(name, lake, lock);
    try {
      // the state tables brought to this code's version first: a newer warehouse is refused before anything is written
      await migrateStateSchema(warehouse, name);
      await warehouse.withConnection(async (connection) => {
        // files an older meterflow recorded by absolute path: made relative, so a copy of the folder is its
        // own (a folder's lake: a PostgreSQL catalog's data lives in a shared path or S3, not copied by folder)
        if (lake.catalog.kind === 'sqlite') await makeDataFilesRelative(connection, LAKE_ALIAS, lake.dataPath);
        await connection.run('create schema if not exists raw');
      });
    } catch (err) {
      warehouse.close();
      throw err;
    }
    return warehouse;
  }

  /** Run work in one transaction: it becomes one lake snapshot when it commits, or nothing. */
  async transaction<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    await this.lock.ensureHeld();
    return this.lake.transaction(inLake(work));
  }

  close(): void {
    this.lake.close();
    void this.lock.release();
  }
}

/** How a reader attaches a warehouse: a folder must hold a catalog that is not empty. */
function readerLakeOptions(location: string): LakeOptions & { readonly folder?: string } {
  const lakeOptions = lakeOptionsFor(location, process.env, 'reader');
  if (lakeOptions.folder) {
    refuseFile(lakeOptions.folder);
    const catalog = path.join(lakeOptions.folder, CATALOG_FILE);
    if (!existsSync(catalog)) {
      throw new StorageError(
        `no warehouse at ${lakeOptions.folder}: it has no ${CATALOG_FILE} (has a run written it yet?)`,
        lakeOptions.folder,
      );
    }
    refuseDamagedCatalog(lakeOptions.folder);
  }
  return lakeOptions;
}

/** How a reader attaches a warehouse's lake, at a version or its latest. */
function readerAttachOptions(location: string, snapshotVersion?: number): AttachOptions {
  return lakeAttachOptions({
    ...readerLakeOptions(location),
    readOnly: true,
    ...(snapshotVersion !== undefined ? { snapshotVersion } : {}),
  });
}

/**
 * A read-only view of a warehouse at its latest committed version, or at the given snapshot: the lake
 * attached on the process's shared DuckDB instance (extensions loaded once), detached when closed.
 */
export async function openWarehouseReader(
  location: string,
  options: ReaderOptions & { snapshotVersion?: number } = {},
): Promise<LakeReader> {
  return LakeReader.open(readerAttachOptions(location, options.snapshotVersion), options);
}

/** Read a warehouse (at a snapshot, or its latest version) for one unit of work, closed after it. */
export async function withWarehouseReader<T>(
  location: string,
  options: ReaderOptions & { snapshotVersion?: number },
  work: (reader: LakeReader) => Promise<T>,
): Promise<T> {
  return withLakeReader(readerAttachOptions(location, options.snapshotVersion), options, work);
}

/** Warehouses' versions kept attached between a worker's activities (see pinnedVersionReaders). */
export function pinnedReaders(settings: DuckdbSettings): WithPinnedReader {
  return pinnedVersionReaders(settings, readerAttachOptions);
}

/**
 * The lake version holding a run's tables: `--at` given as a version number, or as a run (its
 * workflow id), found by the commit that published it.
 */
export async function versionAt(location: string, at: string): Promise<number> {
  if (/^\d+$/.test(at)) return Number(at);
  return withWarehouseReader(location, {}, (reader) =>
    reader.withConnection(async (connection) => {
      const found = await connection.runAndReadAll(
        `select max(snapshot_id) from ducklake_snapshots(${quotedString(reader.alias)}) where json_extract_string(commit_extra_info, '$.run') = $run`,
        { run: at },
      );
      const version = found.getRows()[0]?.[0];
      if (version === null || version === undefined) {
        throw new StorageError(
          `no run ${at} published anything to the warehouse ${warehouseName(location)}: give --at a run that published ` +
            '(`meterflow status` lists runs; a run that found everything up to date left the version before it) or a lake version number',
          warehouseName(location),
        );
      }
      return Number(version);
    }),
  );
}

/** Plain values for JSON and text: bigints as numbers where exact, dates as ISO strings. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint')
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plainValue);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainValue(v)]));
  return value;
}

/** Run SQL on a warehouse's latest published version, or at a version: its columns and rows. */
export async function queryWarehouse(
  location: string,
  sql: string,
  options: { snapshotVersion?: number } = {},
): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const name = warehouseName(location);
  try {
    // SQL people type runs on a sandbox of its own: one read statement, the lake's data and nothing else
    return await withSandboxedLake(
      { ...readerLakeOptions(location), ...(options.snapshotVersion !== undefined ? { snapshotVersion: options.snapshotVersion } : {}) },
      async (connection) => {
        const result = await runReadStatement(connection, sql);
        const columns = result.columnNames();
        const rows = result.getRowObjectsJS().map((row) => plainValue(row) as Record<string, unknown>);
        return { columns, rows };
      },
    );
  } catch (err) {
    if (err instanceof QueryRefusedError || err instanceof StorageError) throw err;
    throw new StorageError(`query on ${name}: ${duckdbMessage(err)}`, name);
  }
}

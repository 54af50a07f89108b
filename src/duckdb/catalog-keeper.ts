// Keeping a SQLite catalog's file open in a worker process between its units of work, so that no
// other process's reads of it wait a whole second.
//
// Why: DuckDB's sqlite extension opens the catalog's file for every DuckDB transaction that reads it
// and closes it after (a worker does that many times an activity). The catalog is in WAL mode, and in
// WAL mode the last connection to close takes an exclusive lock to checkpoint and remove the WAL; a
// process opening the file meanwhile gets SQLITE_BUSY, and the extension's SQLite then sleeps a whole
// second before it tries again (its busy handler sleeps in seconds). In a full run on three worker
// processes that happened several times, on the run's critical path. Measured with a writer committing
// and a reader attaching in a loop: 46 of 276 reads met the lock (surfaced at once with no busy
// timeout), 1 with a connection kept open elsewhere.
//
// How: one connection per catalog file, opened read-only through the sqlite extension and kept in an
// open DuckDB transaction. Binding a query over sqlite_master opens the file and reads its schema, then
// ends SQLite's read transaction, so the connection holds no snapshot: checkpoints go on, the WAL stays
// its usual size, and no other close is the last one. Only an optimisation: failing to keep a file
// open changes nothing else, and is never an error of the work that asked for it.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import { ensureLakeExtensions } from './extensions';
import { quotedIdentifier, quotedString } from './sql';

/** A catalog file not attached for this long is let go (a worker between scheduled runs keeps nothing open). */
export const KEEP_IDLE_MS = 60_000;

interface Kept {
  /** The file's identity when it was opened: a catalog restored or re-created at the path is another file. */
  readonly inode: string;
  readonly alias: string;
  readonly connection: Promise<DuckDBConnection>;
  lastUsed: number;
}

let enabled = false;
let instance: Promise<DuckDBInstance> | undefined;
const kept = new Map<string, Kept>();
let opened = 0;
let sweeper: NodeJS.Timeout | undefined;

/** Keep SQLite catalogs open from now on in this process (a worker's), or (false) no longer: see keepCatalogOpen. */
export function keepCatalogsOpen(on = true): void {
  enabled = on;
}

/**
 * Note that a unit of work attached the SQLite catalog at this path: keep the file open (the first
 * time, and for a file replaced at the path, by opening it). Does nothing unless keepCatalogsOpen was
 * called, and never fails: callers need not wait for it (tests do).
 */
export function keepCatalogOpen(path: string): Promise<void> {
  if (!enabled) return Promise.resolve();
  return keep(path).catch(() => undefined);
}

async function keep(path: string): Promise<void> {
  const file = await stat(path);
  const inode = `${file.dev}:${file.ino}`;
  const entry = kept.get(path);
  if (entry?.inode === inode) {
    entry.lastUsed = Date.now();
    return;
  }
  // let go of the file replaced at the path; its entry leaves the map at once, so that the new one is
  // set with no await between this check and it (attachments at the same moment keep one connection)
  if (entry) void release(path, entry);
  const alias = `kept_catalog_${(opened += 1)}`;
  const created: Kept = { inode, alias, connection: openKept(path, alias), lastUsed: Date.now() };
  kept.set(path, created);
  created.connection.catch(() => kept.get(path) === created && kept.delete(path));
  sweeper ??= setInterval(() => void releaseIdleCatalogs(Date.now()), KEEP_IDLE_MS / 4).unref();
  await created.connection;
}

/** A connection in a transaction that has the catalog's file open and no SQLite transaction. */
async function openKept(path: string, alias: string): Promise<DuckDBConnection> {
  const keeper = await keeperInstance();
  const connection = await keeper.connect();
  try {
    await connection.run(`attach ${quotedString(path)} as ${quotedIdentifier(alias)} (type sqlite, read_only)`);
    await connection.run('begin transaction');
    await connection.run(`describe select * from sqlite_query(${quotedString(alias)}, 'select name from sqlite_master')`);
    return connection;
  } catch (err) {
    await connection.run(`detach database if exists ${quotedIdentifier(alias)}`).catch(() => undefined);
    connection.closeSync();
    throw err;
  }
}

/** The process's instance for kept catalogs: one thread, little memory, the sqlite extension alone. */
function keeperInstance(): Promise<DuckDBInstance> {
  instance ??= (async () => {
    const created = await DuckDBInstance.create(':memory:', {
      threads: '1',
      memory_limit: '64MB',
      extension_directory: await ensureLakeExtensions(),
    });
    const connection = await created.connect();
    try {
      await connection.run('load sqlite_scanner');
    } finally {
      connection.closeSync();
    }
    return created;
  })();
  instance.catch(() => (instance = undefined));
  return instance;
}

/** Close a kept connection; its entry leaves the map before the first await. Never fails. */
async function release(path: string, entry: Kept): Promise<void> {
  if (kept.get(path) === entry) kept.delete(path);
  const connection = await entry.connection.catch(() => undefined);
  if (!connection) return;
  await connection.run('rollback').catch(() => undefined);
  await connection.run(`detach database if exists ${quotedIdentifier(entry.alias)}`).catch(() => undefined);
  try {
    connection.closeSync();
  } catch {
    // closed already (its instance gone at exit): nothing held
  }
}

/** Let go of the files not attached for KEEP_IDLE_MS before now (every KEEP_IDLE_MS / 4). */
export async function releaseIdleCatalogs(now: number): Promise<void> {
  for (const [path, entry] of [...kept.entries()]) if (now - entry.lastUsed >= KEEP_IDLE_MS) await release(path, entry);
}

/** The catalog files this process keeps open now: each path, and the file's identity (device:inode) when opened. */
export function keptCatalogs(): Map<string, string> {
  return new Map([...kept.entries()].map(([path, entry]) => [path, entry.inode]));
}

/** Let go of every kept file, as a worker that stops does. */
export async function releaseKeptCatalogs(): Promise<void> {
  for (const [path, entry] of [...kept.entries()]) await release(path, entry);
  if (sweeper) clearInterval(sweeper);
  sweeper = undefined;
}

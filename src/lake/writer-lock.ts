// One writer per lake in a PostgreSQL catalog. A folder's lake has its writer.pid; a lake in
// PostgreSQL has no folder, so its writer holds a PostgreSQL advisory lock, keyed by the lake's name,
// on a connection of its own for as long as it runs. A second writer of the same lake (on any
// machine) is refused at start, naming the first; a writer that dies (even SIGKILLed) loses its
// connection, and PostgreSQL releases the lock with it. A writer whose lock connection is lost while
// it lives (PostgreSQL restarted) takes the lock again before its next write, or stops writing.
import { createHash } from 'node:crypto';
import os from 'node:os';
import { Client, type ClientConfig } from 'pg';
import { WarehouseLockedError } from '../errors';
import { masked } from '../secrets';
import { catalogName, type LakeCatalog } from '../duckdb/catalog';

/** The first key of meterflow's advisory locks ('mf'); the second is the lake's. */
const LOCK_CLASS = 0x6d66;

/** The lake's advisory lock key: a stable 31-bit hash of its name (`public` when it has none). */
export function writerLockKey(lake: string | undefined): number {
  return (
    createHash('sha256')
      .update(`meterflow writer of lake ${lake ?? 'public'}`)
      .digest()
      .readUInt32BE(0) & 0x7fffffff
  );
}

/** A libpq conninfo (`key=value …`, or a postgres:// URI) as node-postgres takes it; the environment (PGHOST, PGPASSWORD, …) fills the rest. */
export function clientConfig(conninfo: string): ClientConfig {
  if (/^postgres(ql)?:\/\//.test(conninfo)) return { connectionString: conninfo };
  const settings = new Map<string, string>();
  for (const [, key, raw] of conninfo.matchAll(/(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/g)) {
    const value = (raw as string).startsWith("'") ? (raw as string).slice(1, -1).replace(/\\(.)/g, '$1') : (raw as string);
    settings.set(key as string, value);
  }
  const host = settings.get('host') ?? settings.get('hostaddr');
  const port = settings.get('port');
  const timeout = settings.get('connect_timeout');
  const sslmode = settings.get('sslmode');
  return {
    ...(host !== undefined ? { host } : {}),
    ...(port !== undefined ? { port: Number(port) } : {}),
    ...(settings.has('dbname') ? { database: settings.get('dbname') } : {}),
    ...(settings.has('user') ? { user: settings.get('user') } : {}),
    ...(settings.has('password') ? { password: settings.get('password') } : {}),
    ...(timeout !== undefined ? { connectionTimeoutMillis: Number(timeout) * 1000 } : {}),
    ...(sslmode && /^(require|verify-ca|verify-full)$/.test(sslmode) ? { ssl: { rejectUnauthorized: sslmode !== 'require' } } : {}),
  };
}

/** A writer's hold on its lake: checked before each write, let go of when the writer stops. */
export interface WriterLock {
  /**
   * Resolves while this writer holds its lake. After the lock's connection was lost (PostgreSQL
   * restarted, the network cut), it takes the lock again on a new connection; while PostgreSQL cannot
   * be reached that fails with a plain (retryable) error, and if another writer took the lake meanwhile
   * with WarehouseLockedError, which no retry fixes.
   */
  ensureHeld(): Promise<void>;
  release(): Promise<void>;
}

/** A folder's writer.pid is held for the process's life: nothing to check before a write. */
export const heldForLife = (release: () => Promise<void>): WriterLock => ({ ensureHeld: async () => undefined, release });

/**
 * Take the writer lock of a lake in PostgreSQL, or refuse, naming the writer that holds it. The lock
 * lives on a connection of its own; when that connection is lost, the lock is taken again before the
 * next write (see WriterLock.ensureHeld).
 */
export async function claimLakeWriter(catalog: Extract<LakeCatalog, { kind: 'postgres' }>): Promise<WriterLock> {
  const name = catalogName(catalog);
  let released = false;
  let lost: string | undefined;
  const watch = (client: Client) => {
    const onLost = (why: string) => {
      // a lost connection says so once: its error and its end come one after the other
      if (released || client !== current || lost !== undefined) return;
      lost = why;
      process.stderr.write(
        `meterflow: the connection holding the writer lock of ${name} was lost (${why}): taking it again before the next write\n`,
      );
    };
    client.on('error', (err) => onLost(masked(err.message)));
    client.on('end', () => onLost('the server closed it'));
    return client;
  };
  let current = watch(await lockedConnection(catalog, name));
  return {
    async ensureHeld() {
      if (released) throw new Error(`the writer lock of ${name} was released: this writer has stopped`);
      if (lost === undefined) return;
      let next: Client;
      try {
        next = await lockedConnection(catalog, name);
      } catch (err) {
        if (err instanceof WarehouseLockedError) throw err;
        throw new Error(
          `lake catalog ${name}: the writer lock's connection was lost (${lost}) and the lock cannot be taken again yet (${masked((err as Error).message)}): retried`,
        );
      }
      const old = current;
      current = watch(next);
      lost = undefined;
      void old.end().catch(() => undefined);
      process.stderr.write(`meterflow: took the writer lock of ${name} again\n`);
    },
    async release() {
      if (released) return;
      released = true;
      await current.end().catch(() => undefined);
    },
  };
}

/** A new connection holding the lake's advisory lock, or WarehouseLockedError naming who holds it. */
async function lockedConnection(catalog: Extract<LakeCatalog, { kind: 'postgres' }>, name: string): Promise<Client> {
  const me = `meterflow writer ${process.pid}@${os.hostname()}`;
  const client = new Client({ ...clientConfig(catalog.conninfo), application_name: me, keepAlive: true });
  // an error before the caller watches the connection is the connect's or the query's, thrown below
  client.on('error', () => undefined);
  try {
    await client.connect();
    const key = writerLockKey(catalog.lake);
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [LOCK_CLASS, key]);
    if (!rows[0]?.locked) throw await lockedBy(client, key, name);
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** The refusal of a second writer, naming the session that holds the lake's lock. */
async function lockedBy(client: Client, key: number, name: string): Promise<WarehouseLockedError> {
  const holders = await client.query<{ application_name: string; client_addr: string | null; session: number }>(
    `select a.application_name, host(a.client_addr) as client_addr, a.pid as session
     from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.granted and l.classid::bigint = $1 and l.objid::bigint = $2`,
    [LOCK_CLASS, key],
  );
  const holder = holders.rows[0];
  const who = holder
    ? `${holder.application_name || 'a client without a name'}${holder.client_addr ? ` from ${holder.client_addr}` : ''}, PostgreSQL session ${holder.session}`
    : 'a client that has just let go';
  // a machine that vanished keeps its session until PostgreSQL's keepalives give up on it: say how to end it
  const gone = holder ? `; if its machine is gone, end its session: select pg_terminate_backend(${holder.session})` : '';
  const pid = /^meterflow writer (\d+)@/.exec(holder?.application_name ?? '')?.[1];
  return new WarehouseLockedError(
    `warehouse ${name} is already written by another writer (${who}): only one writer worker may own a lake; stop that one, or give this one a lake of its own (lake=<name>)${gone}`,
    name,
    'writer',
    pid !== undefined ? Number(pid) : undefined,
  );
}

// One writer per lake in a PostgreSQL catalog. A folder's lake has its writer.pid; a lake in
// PostgreSQL has no folder, so its writer holds a PostgreSQL advisory lock, keyed by the lake's name,
// on a connection of its own for as long as it runs. A second writer of the same lake (on any
// machine) is refused at start, naming the first; a writer that dies (even SIGKILLed) loses its
// connection, and PostgreSQL releases the lock with it.
import { createHash } from 'node:crypto';
import os from 'node:os';
import { Client, type ClientConfig } from 'pg';
import { WarehouseLockedError } from '../errors';
import { catalogName, type LakeCatalog } from './lake';

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

/**
 * Take the writer lock of a lake in PostgreSQL, or refuse, naming the writer that holds it. Returns
 * what releases it (closing the lock's connection).
 */
export async function claimLakeWriter(catalog: Extract<LakeCatalog, { kind: 'postgres' }>): Promise<() => Promise<void>> {
  const name = catalogName(catalog);
  const me = `meterflow writer ${process.pid}@${os.hostname()}`;
  const client = new Client({ ...clientConfig(catalog.conninfo), application_name: me });
  let released = false;
  client.on('error', (err) => {
    // the lock went with the connection: say so, since a second writer could start now
    if (!released)
      process.stderr.write(`meterflow: the connection holding the writer lock of ${name} failed (${err.message}): restart this writer\n`);
  });
  await client.connect();
  const key = writerLockKey(catalog.lake);
  try {
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1, $2) as locked', [LOCK_CLASS, key]);
    if (!rows[0]?.locked) {
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
      throw new WarehouseLockedError(
        `warehouse ${name} is already written by another writer (${who}): only one writer worker may own a lake; stop that one, or give this one a lake of its own (lake=<name>)${gone}`,
        name,
        'writer',
        pid !== undefined ? Number(pid) : undefined,
      );
    }
  } catch (err) {
    released = true;
    await client.end().catch(() => undefined);
    throw err;
  }
  return async () => {
    if (released) return;
    released = true;
    await client.end().catch(() => undefined);
  };
}

// A PostgreSQL server of its own, for the tests of the lake's PostgreSQL catalog and the bench's commit
// part: Debian's `postgresql` package, initdb'd into a temporary folder and started on a free port (its
// unix socket in that folder, trust authentication, fsync off); stopped and its folder removed by stop().
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../temporal/dev-server';

const exec = promisify(execFile);

/** The superuser of the server: trust authentication, on loopback and the socket only. */
const SUPERUSER = 'postgres';

/** How tests and the bench reach the server: its address and superuser, as a libpq conninfo without a database. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly socketDir: string;
  /** Stop the server (`pg_ctl stop -m fast`) and delete its folder. */
  stop(): Promise<void>;
}

/** Where Debian puts the server's programs (the highest version installed), or PG_BINDIR. */
export function postgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PG_BINDIR) return env.PG_BINDIR;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((version) => existsSync(path.join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

/** initdb and the server refuse root: as root, run them as the `postgres` user the package creates. */
async function asServerUser(program: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  if (process.getuid?.() !== 0) return exec(program, args);
  return exec('runuser', ['-u', SUPERUSER, '--', program, ...args]);
}

async function serverUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([exec('id', ['-u', SUPERUSER]), exec('id', ['-g', SUPERUSER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new Error(
      `running as root, the PostgreSQL server must run as the '${SUPERUSER}' user (initdb refuses root), and there is none: ` +
        `install Debian's postgresql package (it creates the user), or run as another user`,
    );
  }
}

/** initdb into a new temporary folder, then `pg_ctl start` on a free port, listening on loopback and a socket there. */
export async function startPostgresServer(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    throw new Error(
      "PostgreSQL is not installed: the lake's PostgreSQL-catalog tests and the bench's commit part need Debian's postgresql package " +
        '(`apt-get install postgresql`; scripts/ensure-test-tools.sh and .ci/run install it as root), or PG_BINDIR naming its bin/ folder',
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-postgres-'));
  const owner = await serverUserIds();
  if (owner) await chown(dir, owner.uid, owner.gid);
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  try {
    await asServerUser(path.join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      SUPERUSER,
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    const options = [`-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c fsync=off', '-c max_connections=200'];
    await asServerUser(path.join(bin, 'pg_ctl'), [
      '-D',
      dataDir,
      '-l',
      path.join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      options.join(' '),
      'start',
    ]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not start a PostgreSQL server from ${bin}: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`);
  }
  return {
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    socketDir: dir,
    async stop() {
      await asServerUser(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A new database on the server; returns its conninfo (`dbname=… host=… port=… user=…`). */
export async function createDatabase(server: PostgresServer, name: string): Promise<string> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL programs not found (PG_BINDIR, /usr/lib/postgresql/<version>/bin)');
  await exec(path.join(bin, 'createdb'), ['-h', server.host, '-p', String(server.port), '-U', server.user, name]);
  return `dbname=${name} host=${server.host} port=${server.port} user=${server.user}`;
}

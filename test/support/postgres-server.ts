// A real PostgreSQL server for the tests of the lake's PostgreSQL catalog: Debian's `postgresql`
// package, initdb'd into a temporary folder and started on a free port (its unix socket in that
// folder), once for the integration run; stopped and removed in the global teardown.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/temporal/dev-server';

const exec = promisify(execFile);

/** The superuser of the test server: trust authentication, on loopback and the socket only. */
const SUPERUSER = 'postgres';

/** How tests reach the server: its address and superuser, as a libpq conninfo without a database. */
export interface PostgresTestServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly socketDir: string;
  /** Stop the server (`pg_ctl stop -m fast`) and delete its folder. */
  stop(): Promise<void>;
}

/** The environment variables global-setup passes the server through to every test file. */
const ENV_ADDRESS = 'METERFLOW_TEST_POSTGRES';
const ENV_FAILURE = 'METERFLOW_TEST_POSTGRES_FAILURE';

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
      `running as root, the PostgreSQL test server must run as the '${SUPERUSER}' user (initdb refuses root), and there is none: ` +
        `install Debian's postgresql package (it creates the user), or run the tests as another user`,
    );
  }
}

/** initdb into a new temporary folder, then `pg_ctl start` on a free port, listening on loopback and a socket there. */
export async function startPostgresServer(): Promise<PostgresTestServer> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    throw new Error(
      "PostgreSQL is not installed: the lake's PostgreSQL-catalog tests need Debian's postgresql package " +
        '(`apt-get install postgresql`; scripts/ensure-test-tools.sh and .ci/run install it as root), or PG_BINDIR naming its bin/ folder',
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-test-postgres-'));
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
    throw new Error(
      `could not start the PostgreSQL test server from ${bin}: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`,
    );
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

/** Pass the server (or why it could not start) to the test files through the environment. */
export function exportPostgresServer(started: PostgresTestServer | Error): void {
  if (started instanceof Error) process.env[ENV_FAILURE] = started.message;
  else process.env[ENV_ADDRESS] = `host=${started.host} port=${started.port} user=${started.user}`;
}

/**
 * The test server's conninfo without a database (`host=… port=… user=…`). Where global-setup could not
 * start it, this fails with the reason: a test of the PostgreSQL catalog never passes by skipping.
 */
export function testPostgres(): string {
  const address = process.env[ENV_ADDRESS];
  if (address) return address;
  throw new Error(
    `the PostgreSQL test server is not running: ${process.env[ENV_FAILURE] ?? 'jest globalSetup did not start it (run the integration project)'}`,
  );
}

/** A new database on the test server; returns its conninfo (`dbname=… host=… port=… user=…`). */
export async function createTestDatabase(name: string): Promise<string> {
  const address = testPostgres();
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL programs not found (PG_BINDIR, /usr/lib/postgresql/<version>/bin)');
  const host = /host=(\S+)/.exec(address)?.[1] as string;
  const port = /port=(\d+)/.exec(address)?.[1] as string;
  await exec(path.join(bin, 'createdb'), ['-h', host, '-p', port, '-U', SUPERUSER, name]);
  return `dbname=${name} ${address}`;
}

/** Rows of a SQL query run with psql on a database of the test server, as tab-separated fields. */
export async function psql(conninfo: string, sql: string): Promise<string[][]> {
  const bin = postgresBinDir() as string;
  const { stdout } = await exec(path.join(bin, 'psql'), ['-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', sql, conninfo]);
  return stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'));
}

// A real PostgreSQL server for the tests of the lake's PostgreSQL catalog, started once for the
// integration run (src/bench/postgres-server.ts, which the bench's commit part uses too); stopped and
// removed in the global teardown.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { postgresBinDir, type PostgresServer } from '../../src/bench/postgres-server';

export { postgresBinDir, startPostgresServer } from '../../src/bench/postgres-server';

const exec = promisify(execFile);

/** The superuser of the test server: trust authentication, on loopback and the socket only. */
const SUPERUSER = 'postgres';

/** How tests reach the server: its address and superuser, as a libpq conninfo without a database. */
export type PostgresTestServer = PostgresServer;

/** The environment variables global-setup passes the server through to every test file. */
const ENV_ADDRESS = 'METERFLOW_TEST_POSTGRES';
const ENV_FAILURE = 'METERFLOW_TEST_POSTGRES_FAILURE';

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

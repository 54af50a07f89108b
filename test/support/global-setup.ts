// Starts the one Temporal dev server (the real Temporal CLI, found as meterflow finds it), the one
// S3-compatible server (moto) and the one PostgreSQL server (the lake's catalog) for the whole run.
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { exportPostgresServer, startPostgresServer, type PostgresTestServer } from './postgres-server';
import { s3TestEnvironment, startS3Server, type S3TestServer } from './s3-server';

declare global {
  var meterflowTestServer: DevServer | undefined;
  var meterflowS3Server: S3TestServer | undefined;
  var meterflowPostgresServer: PostgresTestServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const server = await startDevServer();
  globalThis.meterflowTestServer = server;
  process.env.METERFLOW_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.METERFLOW_TEST_TEMPORAL_UI = server.uiUrl;
  // one S3-compatible server too; every process the tests start finds it through the AWS variables
  const s3 = await startS3Server();
  globalThis.meterflowS3Server = s3;
  Object.assign(process.env, s3TestEnvironment(s3.endpoint), { METERFLOW_TEST_S3_ENDPOINT: s3.endpoint });
  // and one PostgreSQL server; where it cannot start, the tests that need it fail with the reason
  // (testPostgres()), and the others still run
  const postgres = await startPostgresServer().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  if (!(postgres instanceof Error)) globalThis.meterflowPostgresServer = postgres;
  exportPostgresServer(postgres);
}

// Starts the one Temporal dev server (the real Temporal CLI, found as meterflow finds it) and the one
// S3-compatible server (moto) for the whole run.
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { s3TestEnvironment, startS3Server, type S3TestServer } from './s3-server';

declare global {
  var meterflowTestServer: DevServer | undefined;
  var meterflowS3Server: S3TestServer | undefined;
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
}

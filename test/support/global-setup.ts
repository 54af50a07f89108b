// Starts the one Temporal dev server (the real Temporal CLI, found as meterflow finds it) for the whole run.
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';

declare global {
  var meterflowTestServer: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const server = await startDevServer();
  globalThis.meterflowTestServer = server;
  process.env.METERFLOW_TEST_TEMPORAL_ADDRESS = server.address;
  process.env.METERFLOW_TEST_TEMPORAL_UI = server.uiUrl;
}

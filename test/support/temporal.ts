// Test helpers for anything that crosses a process: the shared dev server, workers on fresh queues.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';

let runtimeInstalled = false;

/** Keep the SDK's logs to errors so test output stays readable. */
export function quietTemporalLogs(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by an earlier file in this process
  }
}

export function testServerAddress(): string {
  const address = process.env.METERFLOW_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('the Temporal test server is not running (jest globalSetup)');
  return address;
}

export interface TemporalTestContext {
  readonly client: Client;
  readonly workerConnection: NativeConnection;
  close(): Promise<void>;
}

export async function connectToTestServer(): Promise<TemporalTestContext> {
  quietTemporalLogs();
  const address = testServerAddress();
  const connection = await Connection.connect({ address });
  const workerConnection = await NativeConnection.connect({ address });
  return {
    client: new Client({ connection, namespace: 'default' }),
    workerConnection,
    async close() {
      await workerConnection.close();
      await connection.close();
    },
  };
}

/** Fresh queue names, so that no test's workers take another test's tasks. */
export function freshQueues(label: string): { writer: string; analytics: string; workflows: string } {
  const suffix = `${label}-${randomUUID().slice(0, 8)}`;
  return { writer: `writer-${suffix}`, analytics: `analytics-${suffix}`, workflows: `workflows-${suffix}` };
}

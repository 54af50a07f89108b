// The embedded Temporal server: the Temporal CLI's dev server (real server, SQLite persistence, Web UI).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import net from 'node:net';
import { METERFLOW_SEARCH_ATTRIBUTES } from '../workflows/definitions';
import { temporalExecutable } from './cli-path';

export interface DevServerOptions {
  /** gRPC port; a free one when not given. */
  readonly port?: number;
  /** Web UI port; a free one when not given. */
  readonly uiPort?: number;
  /** SQLite file to persist to; in memory when not given. */
  readonly dbFilename?: string;
  readonly namespace?: string;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl: string;
  readonly namespace: string;
  readonly environment: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort ?? (await freePort());
  const namespace = options.namespace ?? 'default';
  const environment = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: temporalExecutable(),
      ip: '127.0.0.1',
      port,
      ui: true,
      uiPort,
      namespace,
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      // the Web UI filters runs by these; a real cluster registers them once (see README)
      searchAttributes: METERFLOW_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    namespace,
    environment,
    stop: () => environment.teardown(),
  };
}

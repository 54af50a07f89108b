// How meterflow reaches a Temporal cluster: TEMPORAL_ADDRESS, and for a remote or cloud cluster TLS
// (mTLS client certificate, custom CA, server name) and an API key, all from the environment, so no
// credential is ever part of a workflow's input or history.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { NativeConnection } from '@temporalio/worker';
import { TemporalUnreachableError } from '../errors';

/** How long a client or worker tries to reach TEMPORAL_ADDRESS before it says it cannot. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface TemporalConnectionSettings {
  readonly address: string;
  readonly tls?: {
    readonly serverNameOverride?: string;
    readonly serverRootCACertificate?: Buffer;
    readonly clientCertPair?: { readonly crt: Buffer; readonly key: Buffer };
  };
  readonly apiKey?: string;
}

function file(name: string, env: NodeJS.ProcessEnv): Buffer | undefined {
  const location = env[name];
  if (!location) return undefined;
  try {
    return readFileSync(location);
  } catch (err) {
    throw new Error(`${name}=${location} cannot be read: ${(err as Error).message}`);
  }
}

/**
 * TEMPORAL_ADDRESS; TEMPORAL_TLS=true (implied by any TLS file or an API key); TEMPORAL_TLS_CERT and
 * TEMPORAL_TLS_KEY (mTLS), TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME; TEMPORAL_API_KEY.
 */
export function temporalConnectionSettings(address: string, env: NodeJS.ProcessEnv = process.env): TemporalConnectionSettings {
  const crt = file('TEMPORAL_TLS_CERT', env);
  const key = file('TEMPORAL_TLS_KEY', env);
  if ((crt === undefined) !== (key === undefined)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS needs both)');
  const ca = file('TEMPORAL_TLS_CA', env);
  const apiKey = env.TEMPORAL_API_KEY;
  const tls = env.TEMPORAL_TLS === 'true' || crt !== undefined || ca !== undefined || apiKey !== undefined;
  return {
    address,
    ...(tls
      ? {
          tls: {
            ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
            ...(ca ? { serverRootCACertificate: ca } : {}),
            ...(crt && key ? { clientCertPair: { crt, key } } : {}),
          },
        }
      : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}

/** TCP errors that mean nobody will answer at this address, whatever the wait. */
const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens on that port)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/**
 * Why host:port certainly cannot be reached (refused, unknown host), in words; undefined when a TCP
 * connection opens or the answer is not certain (slow), so that the gRPC connect decides.
 */
export async function probeAddress(address: string, timeoutMs = 3_000): Promise<string | undefined> {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  if (colon < 1 || !Number.isInteger(port) || port < 1 || port > 65_535) return 'not a host:port address';
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(UNREACHABLE[err.code ?? ''] ?? undefined));
  });
}

/** The error for a frontend that cannot be reached, naming the address, the namespace and what to check. */
export function unreachableError(address: string, namespace: string, reason: string): TemporalUnreachableError {
  return new TemporalUnreachableError(
    `cannot reach Temporal at ${address} (namespace ${namespace}): ${reason}; check TEMPORAL_ADDRESS and that the server is running`,
    address,
    namespace,
  );
}

/** The first line of a connection error, without the gRPC or Rust dump around it. */
export function connectionReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/before the deadline|deadline exceeded/i.test(message)) return `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  const os = /message: \\?"([^"\\]+)/.exec(message)?.[1];
  return os ? os.toLowerCase() : (message.split('\n')[0] ?? message);
}

/** A worker's connection to TEMPORAL_ADDRESS, failing within CONNECT_TIMEOUT_MS with the address named. */
export async function connectWorkerConnection(address: string, namespace: string): Promise<NativeConnection> {
  const refused = await probeAddress(address);
  if (refused) throw unreachableError(address, namespace, refused);
  // NOTE: loaded here, not at the top: the client package imports this module and must not load the worker
  const { NativeConnection } = await import('@temporalio/worker');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('deadline exceeded')), CONNECT_TIMEOUT_MS);
  });
  const connecting = NativeConnection.connect(temporalConnectionSettings(address));
  try {
    return await Promise.race([connecting, timeout]);
  } catch (err) {
    // a connection that arrives after the deadline is closed, not leaked
    void connecting.then((late) => late.close()).catch(() => undefined);
    throw unreachableError(address, namespace, connectionReason(err));
  } finally {
    clearTimeout(timer);
  }
}

// How meterflow reaches a Temporal cluster: TEMPORAL_ADDRESS, and for a remote or cloud cluster TLS
// (mTLS client certificate, custom CA, server name) and an API key, all from the environment, so no
// credential is ever part of a workflow's input or history.
import { readFileSync } from 'node:fs';

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

// A real S3-compatible server over HTTP on loopback for tests: moto's standalone server (PyPI, pinned),
// pip-installed on first use like the Temporal CLI.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '../../src/temporal/dev-server';

export const MOTO_REQUIREMENT = 'moto[server]==5.2.5';

function motoInstalled(): boolean {
  try {
    execFileSync('python3', ['-c', 'import moto.server, flask'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface S3TestServer {
  readonly endpoint: string;
  readonly port: number;
  /** Stop the server (its buckets are in memory and are lost). */
  stop(): Promise<void>;
}

async function waitUntilUp(endpoint: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto server exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`moto server at ${endpoint} did not start within 30 s`);
}

export async function startS3Server(port?: number, env: Record<string, string> = {}): Promise<S3TestServer> {
  if (!motoInstalled()) {
    process.stderr.write(`meterflow tests: installing ${MOTO_REQUIREMENT} from PyPI for the S3 test server\n`);
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', MOTO_REQUIREMENT], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const chosen = port ?? (await freePort());
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(chosen)], {
    stdio: 'ignore',
    env: { ...process.env, ...env },
  });
  const endpoint = `http://127.0.0.1:${chosen}`;
  await waitUntilUp(endpoint, child);
  return {
    endpoint,
    port: chosen,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** The S3 settings the tests give every process: moto's endpoint and dummy credentials. */
export function s3TestEnvironment(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'meterflow-test',
    AWS_SECRET_ACCESS_KEY: 'meterflow-test-secret',
    AWS_REGION: 'us-east-1',
  };
}

export async function createBucket(endpoint: string, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1' });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
}

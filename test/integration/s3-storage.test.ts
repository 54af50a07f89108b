// The S3 storage against a real S3-compatible server over HTTP (moto): pagination, multipart uploads,
// streaming in bounded memory, the ETag download cache, and errors that name the URI.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { NotAFolderError, StorageError } from '../../src/errors';
import { createStorageResolver, parseLocation, S3Storage, s3SettingsFromEnv } from '../../src/storage';
import { tempDir } from '../support/files';
import { createBucket, s3TestEnvironment, startS3Server } from '../support/s3-server';

const run = promisify(execFile);
const endpoint = () => process.env.METERFLOW_TEST_S3_ENDPOINT as string;

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

describe('S3 storage', () => {
  let storage: S3Storage;
  let dir: string;
  const bucket = 'storage-tests';

  beforeAll(async () => {
    await createBucket(endpoint(), bucket);
    dir = await tempDir('s3');
    storage = new S3Storage({ ...s3SettingsFromEnv(), cacheDir: path.join(dir, 'cache') });
  });

  it('lists more than 1,000 keys across pages, sorted, with size and ETag', async () => {
    const names = Array.from({ length: 1_050 }, (_, i) => `part-${String(i).padStart(4, '0')}.parquet`);
    for (let start = 0; start < names.length; start += 50) {
      await Promise.all(names.slice(start, start + 50).map((name) => storage.write(`s3://${bucket}/many/${name}`, name)));
    }
    const listed = await storage.list(`s3://${bucket}/many`);
    expect(listed).toHaveLength(1_050);
    expect(listed.map((o) => o.name)).toEqual(names);
    expect(listed[0]).toMatchObject({ uri: `s3://${bucket}/many/part-0000.parquet`, size: 'part-0000.parquet'.length });
    expect(listed[0]?.etag).toMatch(/^[0-9a-f]{32}$/);
  });

  it('uploads a large file in parts and reads it back unchanged', async () => {
    const file = path.join(dir, 'large.bin');
    await writeFile(file, randomBytes(40 * 1024 * 1024));
    await storage.upload(file, `s3://${bucket}/large/large.bin`);
    const object = await storage.stat(`s3://${bucket}/large/large.bin`);
    expect(object?.size).toBe(40 * 1024 * 1024);
    expect(object?.etag).toMatch(/-3$/); // a multipart ETag: three 16 MiB parts
    expect(await sha256(await storage.localPath(object!))).toBe(await sha256(file));
  });

  it('downloads an unchanged file once, and again when it changes', async () => {
    const uri = `s3://${bucket}/cache/readings.parquet`;
    await storage.write(uri, 'first version');
    const first = (await storage.stat(uri))!;
    expect(await storage.isCached(first)).toBe(false);
    const path1 = await storage.localPath(first);
    const cachedAt = (await stat(path1)).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await storage.localPath(first)).toBe(path1);
    expect((await stat(path1)).mtimeMs).toBe(cachedAt);
    await storage.write(uri, 'second, longer version');
    const second = (await storage.stat(uri))!;
    expect(second.etag).not.toBe(first.etag);
    expect(await readFile(await storage.localPath(second), 'utf8')).toBe('second, longer version');
  });

  it('streams a file larger than its heap through upload and download', async () => {
    const file = path.join(dir, 'bigger-than-heap.bin');
    const out = createWriteStream(file);
    for (let i = 0; i < 160; i++) out.write(randomBytes(1024 * 1024));
    await new Promise((resolve) => out.end(resolve));
    const { stdout } = await run(
      process.execPath,
      ['--max-old-space-size=48', path.join(__dirname, '..', 'support', 'stream-roundtrip.js'), file, `s3://${bucket}/stream/bigger.bin`],
      { env: { ...process.env, METERFLOW_S3_CACHE: path.join(dir, 'child-cache') }, maxBuffer: 1024 * 1024 },
    );
    const [digest] = stdout.trim().split(' ');
    expect(digest).toBe(await sha256(file));
  });

  it('treats a missing prefix as an empty listing and a missing key as absent', async () => {
    expect(await storage.list(`s3://${bucket}/nothing-here`)).toEqual([]);
    expect(await storage.stat(`s3://${bucket}/nothing-here/x.parquet`)).toBeUndefined();
  });

  it('lists hidden keys only on request, and refuses to list an object as if it were a folder', async () => {
    await storage.write(`s3://${bucket}/mixed/a.parquet`, 'a');
    await storage.write(`s3://${bucket}/mixed/.b.tmp`, 'b');
    expect((await storage.list(`s3://${bucket}/mixed`)).map((o) => o.name)).toEqual(['a.parquet']);
    expect((await storage.list(`s3://${bucket}/mixed`, { hidden: true })).map((o) => o.name)).toEqual(['.b.tmp', 'a.parquet']);
    const error = await storage.list(`s3://${bucket}/mixed/a.parquet`).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NotAFolderError);
    expect((error as Error).message).toBe(`s3://${bucket}/mixed/a.parquet is a file, not a folder`);
  });

  it("lists names of at most maxDepth parts when asked, as the grid of runs reads each run's record", async () => {
    await storage.write(`s3://${bucket}/depth/top.json`, 't');
    await storage.write(`s3://${bucket}/depth/run-1/run.json`, 'r');
    await storage.write(`s3://${bucket}/depth/run-1/logs/a.jsonl`, 'l');
    expect((await storage.list(`s3://${bucket}/depth`, { maxDepth: 1 })).map((o) => o.name)).toEqual(['top.json']);
    expect((await storage.list(`s3://${bucket}/depth`, { maxDepth: 2 })).map((o) => o.name)).toEqual(['run-1/run.json', 'top.json']);
    expect((await storage.list(`s3://${bucket}/depth`)).map((o) => o.name)).toEqual(['run-1/logs/a.jsonl', 'run-1/run.json', 'top.json']);
  });

  it('fails at once on a bucket that does not exist, naming the URI', async () => {
    const error = await storage.list('s3://no-such-bucket-here/sources').catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toMatch(/^s3:\/\/no-such-bucket-here\/sources: NoSuchBucket/);
  });

  it('fails at once when access is denied, naming the URI', async () => {
    // a second server that checks credentials: ours are unknown to it
    const strict = await startS3Server(undefined, { INITIAL_NO_AUTH_ACTION_COUNT: '0' });
    try {
      const denied = new S3Storage({ region: 'us-east-1', endpoint: strict.endpoint, cacheDir: path.join(dir, 'denied') });
      const error = await denied.list(`s3://${bucket}/x`).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toMatch(new RegExp(`^s3://${bucket}/x: (InvalidAccessKeyId|AccessDenied)`));
    } finally {
      await strict.stop();
    }
  });

  it('refuses a malformed URI with a message naming it', () => {
    expect(() => parseLocation('s3://Bad_Bucket/x')).toThrow("malformed S3 URI s3://Bad_Bucket/x: 'Bad_Bucket' is not a valid bucket name");
    expect(() => parseLocation('ftp://host/x')).toThrow('unsupported location ftp://host/x: use a path, file:// or s3://');
    expect(() => createStorageResolver({}).forUri('s3://bucket/x')).toThrow(
      's3://bucket/x: S3 locations are not configured on this worker',
    );
  });

  it('takes its endpoint and region from the standard AWS variables', () => {
    expect(s3SettingsFromEnv({ ...s3TestEnvironment('http://127.0.0.1:9'), AWS_REGION: 'eu-west-2' })).toMatchObject({
      endpoint: 'http://127.0.0.1:9',
      region: 'eu-west-2',
    });
    expect(s3SettingsFromEnv({ AWS_ENDPOINT_URL: 'http://minio:9000' }).endpoint).toBe('http://minio:9000');
  });
});

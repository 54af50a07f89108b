// S3 storage on the AWS SDK: the standard credential chain, AWS_REGION, a custom endpoint for MinIO
// and other S3-compatible servers (path-style addressing), multipart uploads through lib-storage,
// streamed reads, and a local download cache keyed by ETag so an unchanged file is fetched once.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotAFolderError, StorageError } from '../errors';
import { makeDirectory } from './fs-errors';
import type { ListOptions, Storage, StoredObject } from './storage';
import { parseLocation } from './uri';

/** Multipart part size: S3's minimum is 5 MiB; 16 MiB keeps a 35M-row snapshot to a few dozen parts. */
const PART_SIZE = 16 * 1024 * 1024;
/** Parts in flight per upload: bounded memory (PART_SIZE x this) whatever the file size. */
const UPLOAD_QUEUE = 4;
/** The SDK's own retries of throttling, 5xx and dropped connections, with backoff, before Temporal's. */
const SDK_MAX_ATTEMPTS = 5;

export interface S3Settings {
  readonly region: string;
  readonly endpoint?: string;
  /** Where downloads are cached, by ETag. */
  readonly cacheDir: string;
}

/** S3 settings the AWS way: AWS_REGION, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL; credentials stay with the SDK's chain. */
export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    cacheDir: env.METERFLOW_S3_CACHE ?? path.join(os.tmpdir(), 'meterflow-s3-cache'),
  };
}

/** Errors that retrying cannot fix, named by S3's error code. */
const PERMANENT = new Set([
  'AccessDenied',
  'NoSuchBucket',
  'InvalidBucketName',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AllAccessDisabled',
]);

const CREDENTIALS_HINT =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones), or AWS_PROFILE for a profile in ~/.aws';

/** What to do about a permanent S3 error, by its code. */
function hintFor(code: string, uri: string): string {
  switch (code) {
    case 'CredentialsProviderError':
      return `no AWS credentials found: ${CREDENTIALS_HINT}`;
    case 'InvalidAccessKeyId':
      return `the access key is not known to the server: check AWS_ACCESS_KEY_ID or AWS_PROFILE (and AWS_ENDPOINT_URL for an S3-compatible server)`;
    case 'SignatureDoesNotMatch':
      return 'the secret key does not match the access key: check AWS_SECRET_ACCESS_KEY or AWS_PROFILE';
    case 'AccessDenied':
    case 'AllAccessDisabled':
      return `access denied: the credentials in use (AWS_ACCESS_KEY_ID or AWS_PROFILE) may not use ${uri}`;
    case 'NoSuchBucket':
      return `bucket ${s3Location(uri).bucket} does not exist (check the URI, AWS_REGION and AWS_ENDPOINT_URL)`;
    default:
      return code;
  }
}

function translate(err: unknown, uri: string): unknown {
  // the credential chain fails before any request, and the SDK's own retries cannot change that
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'CredentialsProviderError') {
    return new StorageError(`${uri}: ${hintFor(name, uri)}`, uri);
  }
  if (err instanceof S3ServiceException && PERMANENT.has(err.name)) {
    const detail = err.message && err.message !== err.name && err.message !== 'UnknownError' ? ` (${err.message})` : '';
    return new StorageError(`${uri}: ${err.name}: ${hintFor(err.name, uri)}${detail}`, uri);
  }
  return err;
}

function s3Location(uri: string): { bucket: string; key: string } {
  const location = parseLocation(uri);
  if (location.kind !== 's3') throw new StorageError(`not an S3 location: ${uri}`, uri);
  return location;
}

export class S3Storage implements Storage {
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    const config: S3ClientConfig = {
      region: settings.region,
      maxAttempts: SDK_MAX_ATTEMPTS,
      ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
    };
    this.client = new S3Client(config);
  }

  /** An S3 ETag is new with every PUT or upload of an object. */
  readonly etagCoversContent = true;

  async list(prefixUri: string, options: ListOptions = {}): Promise<StoredObject[]> {
    const { bucket, key } = s3Location(prefixUri);
    const prefix = key.length === 0 || key.endsWith('/') ? key : `${key}/`;
    const objects: StoredObject[] = [];
    let continuationToken: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: continuationToken }),
        );
        for (const item of page.Contents ?? []) {
          if (!item.Key || item.Key.endsWith('/')) continue;
          const name = item.Key.slice(prefix.length);
          if (!options.hidden && name.split('/').some((part) => part.startsWith('.'))) continue;
          if (options.maxDepth !== undefined && name.split('/').length > options.maxDepth) continue;
          objects.push({
            uri: `s3://${bucket}/${item.Key}`,
            name,
            size: item.Size ?? 0,
            etag: (item.ETag ?? '').replace(/"/g, ''),
            modified: item.LastModified ?? new Date(0),
          });
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken);
    } catch (err) {
      throw translate(err, prefixUri);
    }
    // nothing below the prefix: it may be an object (a file) named where a folder was meant
    if (objects.length === 0 && key.length > 0 && !key.endsWith('/') && (await this.stat(prefixUri))) {
      throw new NotAFolderError(prefixUri, prefixUri);
    }
    return objects.sort((a, b) => a.name.localeCompare(b.name));
  }

  async stat(uri: string): Promise<StoredObject | undefined> {
    const { bucket, key } = s3Location(uri);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        uri,
        name: key.split('/').pop() ?? key,
        size: head.ContentLength ?? 0,
        etag: (head.ETag ?? '').replace(/"/g, ''),
        modified: head.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NotFound' || err.name === 'NoSuchKey')) return undefined;
      throw translate(err, uri);
    }
  }

  async read(uri: string): Promise<Readable> {
    const { bucket, key } = s3Location(uri);
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return object.Body as Readable;
    } catch (err) {
      throw translate(err, uri);
    }
  }

  /** A completed PUT or multipart upload is atomic in S3: readers see the old object or the new one. */
  async write(uri: string, body: Readable | Buffer | string): Promise<void> {
    const { bucket, key } = s3Location(uri);
    try {
      await new Upload({
        client: this.client,
        params: { Bucket: bucket, Key: key, Body: body },
        partSize: PART_SIZE,
        queueSize: UPLOAD_QUEUE,
      }).done();
    } catch (err) {
      throw translate(err, uri);
    }
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = s3Location(uri);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      throw translate(err, uri);
    }
  }

  /** The cache file of one version (ETag) of an object. */
  private cachePath(object: StoredObject): string {
    const digest = createHash('sha256').update(`${object.uri}\0${object.etag}`).digest('hex').slice(0, 32);
    return path.join(this.settings.cacheDir, `${digest}-${path.basename(object.name)}`);
  }

  /** Download once per ETag into the cache (streamed, then renamed into place) and return the file. */
  async localPath(object: StoredObject): Promise<string> {
    const file = this.cachePath(object);
    try {
      if ((await stat(file)).size === object.size) return file;
    } catch {
      // not cached yet
    }
    await makeDirectory(this.settings.cacheDir);
    const temporary = `${file}.${randomUUID()}.part`;
    try {
      await pipeline(await this.read(object.uri), createWriteStream(temporary));
      await rename(temporary, file);
    } catch (err) {
      await rm(temporary, { force: true });
      throw err;
    }
    return file;
  }

  async upload(localPath: string, uri: string): Promise<void> {
    await this.write(uri, createReadStream(localPath));
  }

  /** Whether a download of this object is already cached (for tests and the bench). */
  async isCached(object: StoredObject): Promise<boolean> {
    try {
      return (await stat(this.cachePath(object))).size === object.size;
    } catch {
      return false;
    }
  }
}

// Storage for a URI: local disk or S3, chosen per location.
import { StorageError } from '../errors';
import { LocalStorage } from './local';
import { S3Storage, s3SettingsFromEnv } from './s3';
import type { Storage } from './storage';
import { joinUri, parseLocation } from './uri';

export * from './storage';
export * from './uri';
export { LocalStorage } from './local';
export { S3Storage, s3SettingsFromEnv, type S3Settings } from './s3';

export interface StorageResolver {
  forUri(uri: string): Storage;
}

export interface StorageResolverOptions {
  /** Builds the S3 storage on first use, so local-only workers need no AWS configuration; from the environment by default. */
  readonly s3?: () => Storage;
}

export function createStorageResolver(options: StorageResolverOptions = { s3: () => new S3Storage(s3SettingsFromEnv()) }): StorageResolver {
  const local = new LocalStorage();
  let s3: Storage | undefined;
  return {
    forUri(uri: string): Storage {
      const location = parseLocation(uri);
      if (location.kind === 'local') return local;
      if (!options.s3) throw new StorageError(`${uri}: S3 locations are not configured on this worker`, uri);
      s3 ??= options.s3();
      return s3;
    },
  };
}

/** Copy every file below a local folder to a location (a folder or an s3:// prefix), keeping relative paths. */
export async function uploadDirectory(resolver: StorageResolver, localDir: string, targetUri: string): Promise<number> {
  const files = await new LocalStorage().list(localDir);
  for (const file of files) {
    const target = joinUri(targetUri, ...file.name.split('/'));
    await resolver.forUri(target).upload(file.uri, target);
  }
  return files.length;
}

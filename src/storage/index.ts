// Storage for a URI: local disk or S3, chosen per location.
import { StorageError } from '../errors';
import { LocalStorage } from './local';
import type { Storage } from './storage';
import { parseLocation } from './uri';

export * from './storage';
export * from './uri';
export { LocalStorage } from './local';

export interface StorageResolver {
  forUri(uri: string): Storage;
}

export interface StorageResolverOptions {
  /** Builds the S3 storage on first use, so local-only workers need no AWS configuration. */
  readonly s3?: () => Storage;
}

export function createStorageResolver(options: StorageResolverOptions = {}): StorageResolver {
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

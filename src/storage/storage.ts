// One storage interface for local disk and S3: every activity gets the storage for a URI from it.
import type { Readable } from 'node:stream';

export interface StoredObject {
  readonly uri: string;
  /** The name below the listed prefix, e.g. `2023_q1.parquet`. */
  readonly name: string;
  readonly size: number;
  /** Changes whenever the content does: S3's ETag, or size and mtime on local disk. */
  readonly etag: string;
  readonly modified: Date;
}

export interface Storage {
  /** Objects below a prefix (a folder), sorted by name. A missing prefix lists as empty. */
  list(prefixUri: string): Promise<StoredObject[]>;
  stat(uri: string): Promise<StoredObject | undefined>;
  read(uri: string): Promise<Readable>;
  /** Write atomically: readers see the old object or the whole new one, never a part. */
  write(uri: string, body: Readable | Buffer | string): Promise<void>;
  delete(uri: string): Promise<void>;
  /** A local file with the object's content (the object itself on disk; a cached download for S3). */
  localPath(object: StoredObject): Promise<string>;
  /** Copy a local file to the URI, atomically. */
  upload(localPath: string, uri: string): Promise<void>;
}

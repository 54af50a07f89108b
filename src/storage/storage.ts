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

export interface ListOptions {
  /**
   * Also list names with a part starting with '.' (by default they are left out: the temporary files
   * of writes in progress). Seeding lists them, to report every file it does not load.
   */
  readonly hidden?: boolean;
  /**
   * Only names of at most this many parts: 1 lists the prefix's own files, 2 those of its folders too.
   * A local disk does not walk deeper; S3 lists every key below the prefix and leaves the deeper out.
   */
  readonly maxDepth?: number;
}

export interface Storage {
  /**
   * Objects below a prefix (a folder, and the folders below it), sorted by name. A missing prefix
   * lists as empty; a prefix that is a file, or lies below one, is a NotAFolderError naming the file.
   * On local disk symbolic links are followed, to files and to folders (a link back to a folder
   * above it is not followed again, a file reached by two names is listed once, by the name that sorts
   * first), and a link to nothing is a StorageError naming it.
   */
  list(prefixUri: string, options?: ListOptions): Promise<StoredObject[]>;
  stat(uri: string): Promise<StoredObject | undefined>;
  read(uri: string): Promise<Readable>;
  /** Write atomically: readers see the old object or the whole new one, never a part. */
  write(uri: string, body: Readable | Buffer | string): Promise<void>;
  delete(uri: string): Promise<void>;
  /** A local file with the object's content (the object itself on disk; a cached download for S3). */
  localPath(object: StoredObject): Promise<string>;
  /**
   * Whether every rewrite of an object changes its etag (S3's ETag does), so a checksum of its content
   * adds nothing; false on local disk, where the etag (size and mtime) misses a rewrite keeping both.
   */
  readonly etagCoversContent: boolean;
  /** Copy a local file to the URI, atomically. */
  upload(localPath: string, uri: string): Promise<void>;
}

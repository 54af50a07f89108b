// Storage locations are URIs: a plain path or file://… for local disk, s3://bucket/prefix for S3.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StorageError } from '../errors';

export type Location =
  { readonly kind: 'local'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly key: string };

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseLocation(uri: string): Location {
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const key = slash < 0 ? '' : rest.slice(slash + 1);
    if (!BUCKET.test(bucket)) throw new StorageError(`malformed S3 URI ${uri}: '${bucket}' is not a valid bucket name`, uri);
    return { kind: 's3', bucket, key };
  }
  if (uri.startsWith('file://')) return { kind: 'local', path: fileURLToPath(uri) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new StorageError(`unsupported location ${uri}: use a path, file:// or s3://`, uri);
  if (uri.length === 0) throw new StorageError('empty location', uri);
  return { kind: 'local', path: path.resolve(uri) };
}

/**
 * A folder location as the URIs of the files below it begin: a local folder resolved (`/a//b/.` is
 * `/a/b/`), an S3 prefix as it is, ending in '/'.
 */
export function folderPrefix(uri: string): string {
  const location = parseLocation(uri);
  const base = location.kind === 'local' ? location.path : uri;
  return base.endsWith('/') ? base : `${base}/`;
}

/**
 * folderPrefix with a local folder's links followed (its real path; for a folder not made yet, its
 * nearest existing parent's real path and the rest): two spellings of one place give one prefix.
 */
export async function realFolderPrefix(uri: string): Promise<string> {
  const location = parseLocation(uri);
  if (location.kind !== 'local') return folderPrefix(uri);
  const real = async (folder: string): Promise<string> => {
    try {
      return await realpath(folder);
    } catch {
      const parent = path.dirname(folder);
      return parent === folder ? folder : path.join(await real(parent), path.basename(folder));
    }
  };
  return folderPrefix(await real(location.path));
}

/** Join path segments onto a location URI, keeping its kind. */
export function joinUri(base: string, ...segments: string[]): string {
  const location = parseLocation(base);
  if (location.kind === 'local') return path.join(location.path, ...segments);
  const key = [location.key.replace(/\/+$/, ''), ...segments].filter((part) => part.length > 0).join('/');
  return `s3://${location.bucket}/${key}`;
}

/** The last segment of a URI: a file's name. */
export function baseName(uri: string): string {
  return uri.replace(/\/+$/, '').split(/[/\\]/).pop() ?? uri;
}

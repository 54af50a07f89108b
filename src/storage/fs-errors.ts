// File-system failures that retrying cannot fix (read-only, permission denied, a file where a folder
// should be), turned into StorageErrors that say which path and what is wrong.
import { statSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StorageError } from '../errors';

/** errno codes that mean the same call will fail again: the location itself is wrong. */
const PERMANENT_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR']);

/** What meterflow was doing to the path when it failed, for the message. */
export type FileSystemAction = 'write' | 'create folder' | 'read' | 'open';

const GERUNDS: Record<FileSystemAction, string> = {
  write: 'writing',
  'create folder': 'creating folder',
  read: 'reading',
  open: 'opening',
};

function errnoOf(err: unknown): { code?: string; syscall?: string; path?: string } {
  return typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException) : {};
}

/** The nearest existing ancestor of a path (or the path itself) that is not a folder, if any. */
function fileInTheWay(target: string): string | undefined {
  for (let current = path.resolve(target); ; current = path.dirname(current)) {
    try {
      return statSync(current).isDirectory() ? undefined : current;
    } catch {
      if (path.dirname(current) === current) return undefined;
    }
  }
}

/** The message for a failure with an errno code, or undefined when the code is not one retrying cannot fix. */
function describe(code: string | undefined, syscall: string | undefined, target: string, action: FileSystemAction): string | undefined {
  switch (code) {
    case 'EROFS':
      return `cannot ${action} ${target}: it is on a read-only file system`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied ${GERUNDS[action]} ${target}`;
    case 'ENOTDIR': {
      const file = fileInTheWay(target);
      return `cannot ${action} ${target}: ${file ?? 'a part of the path'} is a file, not a folder`;
    }
    case 'EISDIR':
      return `cannot ${action} ${target}: it is a folder, not a file`;
    case 'ENOENT':
      // mkdir says ENOENT when a parent exists but takes no new entries (e.g. /proc); a missing file
      // to read may appear later, so only the mkdir case is final
      return syscall === 'mkdir' ? `cannot create folder ${target}: ${path.dirname(target)} does not allow new folders` : undefined;
    default:
      return undefined;
  }
}

/** A StorageError naming the path when the error is one that retrying cannot fix; otherwise undefined. */
export function fileSystemFailure(err: unknown, target: string, action: FileSystemAction): StorageError | undefined {
  if (err instanceof StorageError) return err;
  const { code, syscall } = errnoOf(err);
  const message = describe(code, syscall, target, action);
  return message ? new StorageError(message, target) : undefined;
}

/** Any Node errno error that retrying cannot fix, named by the path in the error itself (for activities). */
export function permanentFileSystemError(err: unknown): StorageError | undefined {
  const { code, syscall, path: failedPath } = errnoOf(err);
  if (typeof failedPath !== 'string' || !(code && (PERMANENT_CODES.has(code) || (code === 'ENOENT' && syscall === 'mkdir')))) {
    return undefined;
  }
  const action: FileSystemAction =
    syscall === 'mkdir' ? 'create folder' : /^(open|read|scandir|stat)/.test(syscall ?? '') ? 'read' : 'write';
  return fileSystemFailure(err, failedPath, action);
}

/**
 * `mkdir -p` with clear failures. NOTE: Node 20's own recursive mkdir never returns when a parent
 * refuses new entries with ENOENT (e.g. under /proc), so each missing folder is made one at a time.
 */
export async function makeDirectory(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    let info;
    try {
      info = await stat(current);
    } catch (err) {
      const { code } = errnoOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fileSystemFailure(err, dir, 'create folder') ?? err;
      missing.unshift(current);
      if (path.dirname(current) === current) break;
      continue;
    }
    if (!info.isDirectory()) throw new StorageError(`cannot create folder ${dir}: ${current} is a file, not a folder`, dir);
    break;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (err) {
      if (errnoOf(err).code === 'EEXIST' && (await stat(folder)).isDirectory()) continue; // made meanwhile
      throw fileSystemFailure(err, folder, 'create folder') ?? err;
    }
  }
}

/** Check up front that a folder can be made and written to (a probe file, removed again). */
export async function checkWritableFolder(dir: string): Promise<void> {
  await makeDirectory(dir);
  const probe = path.join(dir, `.meterflow-write-check-${process.pid}`);
  try {
    await writeFile(probe, '');
  } catch (err) {
    throw fileSystemFailure(err, dir, 'write') ?? err;
  } finally {
    await rm(probe, { force: true });
  }
}

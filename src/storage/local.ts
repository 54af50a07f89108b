// Local-disk storage: objects are files (symbolic links followed), writes go to a temporary name and
// are renamed into place.
import { createReadStream, createWriteStream, type Dirent, type Stats } from 'node:fs';
import { copyFile, readdir, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { NotAFolderError, StorageError } from '../errors';
import type { ListOptions, Storage, StoredObject } from './storage';
import { fileSystemFailure, makeDirectory } from './fs-errors';
import { parseLocation } from './uri';

function localPathOf(uri: string): string {
  const location = parseLocation(uri);
  if (location.kind !== 'local') throw new Error(`not a local location: ${uri}`);
  return location.path;
}

function objectOf(file: string, name: string, info: Stats): StoredObject {
  return { uri: file, name, size: info.size, etag: `${info.size}-${Math.trunc(info.mtimeMs)}`, modified: info.mtime };
}

async function statObject(file: string, name: string): Promise<StoredObject | undefined> {
  try {
    const info = await stat(file);
    return info.isFile() ? objectOf(file, name, info) : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** The file at a path or, when a folder above it is a file (ENOTDIR), that file. */
async function fileAlong(file: string): Promise<string | undefined> {
  for (let current = file; path.dirname(current) !== current; current = path.dirname(current)) {
    try {
      if ((await stat(current)).isFile()) return current;
    } catch {
      // not there: look one folder up
    }
  }
  return undefined;
}

/** What a symbolic link points at, followed; a link to nothing is an error naming it. */
async function followLink(link: string): Promise<Stats | undefined> {
  try {
    return await stat(link);
  } catch (err) {
    let target: string;
    try {
      target = await readlink(link);
    } catch {
      return undefined; // the link itself went away since it was listed
    }
    const why = codeOf(err) === 'ELOOP' ? 'a loop of links' : 'nothing';
    throw new StorageError(`${link} is a symbolic link to ${why} (${target})`, link);
  }
}

function temporaryNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
}

export class LocalStorage implements Storage {
  readonly etagCoversContent = false;

  async list(prefixUri: string, options: ListOptions = {}): Promise<StoredObject[]> {
    const root = localPathOf(prefixUri);
    /** Every file found, with its real path: a file reached by two names is listed once. */
    const found: { object: StoredObject; real: string }[] = [];
    /** List one folder; `ancestors` are the real paths of the folders above it, to stop at a link cycle. */
    const maxDepth = options.maxDepth ?? Number.POSITIVE_INFINITY;
    const walk = async (dir: string, ancestors: ReadonlySet<string>, depth = 1): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (dir === root && codeOf(err) === 'ENOENT') return;
        if (dir === root && codeOf(err) === 'ENOTDIR') throw new NotAFolderError((await fileAlong(root)) ?? root, prefixUri);
        throw err;
      }
      const real = await realpath(dir);
      // NOTE: a link back to a folder above it lists nothing new: its files are listed once, by their own path
      if (ancestors.has(real)) return;
      const inside = new Set([...ancestors, real]);
      for (const entry of entries) {
        if (!options.hidden && entry.name.startsWith('.')) continue;
        const file = path.join(dir, entry.name);
        // a link is followed: its target's kind, size and mtime are the entry's
        const linked = entry.isSymbolicLink() ? await followLink(file) : undefined;
        if (entry.isDirectory() || linked?.isDirectory()) {
          if (depth < maxDepth) await walk(file, inside, depth + 1);
        } else if (entry.isFile() || linked?.isFile()) {
          const name = path.relative(root, file).split(path.sep).join('/');
          const object = linked ? objectOf(file, name, linked) : await statObject(file, name);
          if (object) found.push({ object, real: linked ? await realpath(file) : path.join(real, entry.name) });
        }
        // sockets, FIFOs and devices hold no files
      }
    };
    await walk(root, new Set());
    // NOTE: a folder linked beside itself (`latest -> 2023-10`) would load its files twice: each file
    // is listed once, under the name that sorts first
    const objects: StoredObject[] = [];
    const listed = new Set<string>();
    for (const { object, real } of found.sort((a, b) => a.object.name.localeCompare(b.object.name))) {
      if (listed.has(real)) continue;
      listed.add(real);
      objects.push(object);
    }
    return objects;
  }

  async stat(uri: string): Promise<StoredObject | undefined> {
    const file = localPathOf(uri);
    return statObject(file, path.basename(file));
  }

  async read(uri: string): Promise<Readable> {
    return createReadStream(localPathOf(uri));
  }

  async write(uri: string, body: Readable | Buffer | string): Promise<void> {
    const file = localPathOf(uri);
    await makeDirectory(path.dirname(file));
    const temporary = temporaryNameFor(file);
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const stream = createWriteStream(temporary);
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          stream.end(body, resolve);
        });
      } else {
        await pipeline(body, createWriteStream(temporary));
      }
      await rename(temporary, file);
    } catch (err) {
      await rm(temporary, { force: true });
      throw fileSystemFailure(err, file, 'write') ?? err;
    }
  }

  async delete(uri: string): Promise<void> {
    await rm(localPathOf(uri), { force: true });
  }

  async localPath(object: StoredObject): Promise<string> {
    return localPathOf(object.uri);
  }

  async upload(localFile: string, uri: string): Promise<void> {
    const file = localPathOf(uri);
    if (path.resolve(localFile) === file) return;
    await makeDirectory(path.dirname(file));
    const temporary = temporaryNameFor(file);
    try {
      await copyFile(localFile, temporary);
      await rename(temporary, file);
    } catch (err) {
      await rm(temporary, { force: true });
      throw fileSystemFailure(err, file, 'write') ?? err;
    }
  }
}

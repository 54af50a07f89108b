// Local-disk storage: objects are files, writes go to a temporary name and are renamed into place.
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import { fileSystemFailure, makeDirectory } from './fs-errors';
import type { Storage, StoredObject } from './storage';
import { parseLocation } from './uri';

function localPathOf(uri: string): string {
  const location = parseLocation(uri);
  if (location.kind !== 'local') throw new Error(`not a local location: ${uri}`);
  return location.path;
}

async function statObject(file: string, name: string): Promise<StoredObject | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return undefined;
    return { uri: file, name, size: info.size, etag: `${info.size}-${Math.trunc(info.mtimeMs)}`, modified: info.mtime };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function temporaryNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
}

export class LocalStorage implements Storage {
  async list(prefixUri: string): Promise<StoredObject[]> {
    const dir = localPathOf(prefixUri);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true, recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const objects: StoredObject[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith('.')) continue;
      const file = path.join(entry.parentPath, entry.name);
      const object = await statObject(file, path.relative(dir, file).split(path.sep).join('/'));
      if (object) objects.push(object);
    }
    return objects.sort((a, b) => a.name.localeCompare(b.name));
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

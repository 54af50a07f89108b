// A worker keeps each SQLite catalog it attaches open between attachments: then no other process's
// close is the last one, which is what takes the exclusive lock that made reads wait a whole second.
// The kept connection holds no snapshot (a checkpoint still copies every frame), a file replaced at the
// path is opened anew, and a file not attached for a while is let go.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  KEEP_IDLE_MS,
  keepCatalogOpen,
  keepCatalogsOpen,
  keptCatalogs,
  releaseIdleCatalogs,
  releaseKeptCatalogs,
} from '../../src/duckdb/catalog-keeper';
import { ensureLakeExtensions } from '../../src/duckdb/extensions';
import { Warehouse } from '../../src/warehouse/warehouse';
import { CATALOG_FILE } from '../../src/warehouse/names';
import { tempDir } from '../support/files';

/** A writer's commit, its instance closed after it. */
async function commitOnce(folder: string, sql: string): Promise<void> {
  const writer = await Warehouse.open(folder);
  try {
    await writer.transaction((connection) => connection.run(sql));
  } finally {
    writer.close();
  }
}

/** `pragma wal_checkpoint(passive)` on the catalog: the WAL's frames, and how many of them it copied into the file. */
async function checkpoint(catalog: string): Promise<{ frames: number; copied: number }> {
  const instance = await DuckDBInstance.create(':memory:', { extension_directory: await ensureLakeExtensions() });
  const connection = await instance.connect();
  try {
    await connection.run('load sqlite_scanner');
    await connection.run(`attach '${catalog}' as c (type sqlite)`);
    const rows = (await connection.runAndReadAll(`select * from sqlite_query('c', 'pragma wal_checkpoint(passive)')`)).getRows();
    const [, frames, copied] = (rows[0] ?? []).map(Number);
    return { frames: frames ?? -1, copied: copied ?? -1 };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const fileIdentity = async (file: string) => {
  const { dev, ino } = await stat(file);
  return `${dev}:${ino}`;
};

describe('a SQLite catalog kept open by a worker', () => {
  let folder: string;
  let catalog: string;

  beforeAll(async () => {
    folder = path.join(await tempDir('catalog-keeper'), 'warehouse');
    catalog = path.join(folder, CATALOG_FILE);
  });

  afterAll(() => releaseKeptCatalogs());

  it('is not kept unless the process asked for it (a command, not a worker)', async () => {
    await commitOnce(folder, 'create table main.t as select 1 as i');
    await keepCatalogOpen(catalog);
    expect(keptCatalogs().size).toBe(0);
    // the writer's close was the last: it checkpointed and removed the WAL (what made readers wait)
    expect(existsSync(`${catalog}-wal`)).toBe(false);
  });

  it('keeps the file open, so that a writer that closes is no longer the last', async () => {
    keepCatalogsOpen();
    await keepCatalogOpen(catalog);
    expect(keptCatalogs()).toEqual(new Map([[catalog, await fileIdentity(catalog)]]));
    await commitOnce(folder, 'insert into main.t values (2)');
    expect(existsSync(`${catalog}-wal`)).toBe(true);
  });

  it('holds no snapshot: a checkpoint copies every frame into the file', async () => {
    for (let i = 3; i < 6; i++) await commitOnce(folder, `insert into main.t values (${i})`);
    const kept = await checkpoint(catalog);
    expect(kept.frames).toBeGreaterThan(0);
    expect(kept.copied).toBe(kept.frames);
    // the control: a connection in a read transaction holds its snapshot, and the checkpoint stops short
    const instance = await DuckDBInstance.create(':memory:', { extension_directory: await ensureLakeExtensions() });
    const reading = await instance.connect();
    try {
      await reading.run('load sqlite_scanner');
      await reading.run(`attach '${catalog}' as c (type sqlite, read_only)`);
      await reading.run('begin transaction');
      await reading.run('select count(*) from c.ducklake_snapshot');
      await commitOnce(folder, 'insert into main.t values (6)');
      const held = await checkpoint(catalog);
      expect(held.copied).toBeLessThan(held.frames);
    } finally {
      await reading.run('rollback');
      reading.closeSync();
      instance.closeSync();
    }
  });

  it('opens a file replaced at the path anew, and lets go of one not attached for a while', async () => {
    for (const file of [catalog, `${catalog}-wal`, `${catalog}-shm`]) await rm(file, { force: true });
    await rm(path.join(folder, 'data'), { recursive: true, force: true });
    await commitOnce(folder, 'create table main.u as select 1 as i');
    await keepCatalogOpen(catalog);
    expect(keptCatalogs().get(catalog)).toBe(await fileIdentity(catalog));
    await releaseIdleCatalogs(Date.now() + KEEP_IDLE_MS);
    expect(keptCatalogs().size).toBe(0);
  });

  it('never fails the work that asked: a path with no file keeps nothing', async () => {
    const missing = path.join(folder, 'none.sqlite');
    await expect(keepCatalogOpen(missing)).resolves.toBeUndefined();
    expect(keptCatalogs().has(missing)).toBe(false);
  });
});

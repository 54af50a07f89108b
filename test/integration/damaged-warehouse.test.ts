// A damaged or half-copied warehouse folder is never silently replaced by a new, empty lake: an
// empty catalog, or data files without their catalog, are refused naming the file and what to do,
// and nothing is changed; a malformed catalog's error names the file.
import { existsSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ensureLakeExtensions, loadLakeExtensions } from '../../src/duckdb/extensions';
import { queryWarehouse, Warehouse } from '../../src/warehouse/warehouse';
import { tempDir } from '../support/files';

/** A warehouse folder with one table, its writer closed: as a run leaves one. */
async function warehouseWithData(label: string): Promise<string> {
  const folder = path.join(await tempDir(label), 'warehouse');
  const writer = await Warehouse.open(folder);
  try {
    await writer.transaction((connection) => connection.run('create table main.readings as select range as meter from range(50)'));
  } finally {
    writer.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 100)); // the writer's lock file goes on close
  return folder;
}

const dataFiles = async (folder: string) =>
  (await readdir(path.join(folder, 'data'), { recursive: true })).filter((f) => f.endsWith('.parquet'));

describe('a damaged warehouse', () => {
  it('is refused, not replaced, when its catalog is empty (a full disk, a bad copy)', async () => {
    const folder = await warehouseWithData('empty-catalog');
    const catalog = path.join(folder, 'catalog.sqlite');
    const files = await dataFiles(folder);
    expect(files.length).toBeGreaterThan(0);
    await rm(`${catalog}-wal`, { force: true });
    await rm(`${catalog}-shm`, { force: true });
    await truncate(catalog, 0);
    await expect(Warehouse.open(folder)).rejects.toThrow(
      `warehouse ${folder}: its catalog ${catalog} is empty (0 bytes: a full disk or a bad copy?); nothing was changed: ` +
        `restore ${catalog} from a backup; to start a new lake on purpose, move ${folder} away (or delete it) first`,
    );
    await expect(queryWarehouse(folder, 'select 1')).rejects.toThrow(`its catalog ${catalog} is empty`);
    expect((await stat(catalog)).size).toBe(0);
    expect(await dataFiles(folder)).toEqual(files);
  });

  it('is refused when its data files have no catalog beside them', async () => {
    const folder = await warehouseWithData('missing-catalog');
    const catalog = path.join(folder, 'catalog.sqlite');
    for (const file of [catalog, `${catalog}-wal`, `${catalog}-shm`]) await rm(file, { force: true });
    await expect(Warehouse.open(folder)).rejects.toThrow(
      `warehouse ${folder}: it has data files in ${path.join(folder, 'data')} but no catalog ${catalog}`,
    );
    expect(existsSync(catalog)).toBe(false);
  });

  it('names the file when its catalog is malformed', async () => {
    const folder = await warehouseWithData('malformed-catalog');
    const catalog = path.join(folder, 'catalog.sqlite');
    for (const file of [`${catalog}-wal`, `${catalog}-shm`]) await rm(file, { force: true });
    await writeFile(catalog, Buffer.alloc(8192, 7));
    await expect(Warehouse.open(folder)).rejects.toThrow(
      new RegExp(`^lake catalog ${catalog} is damaged \\(.+\\): restore it from a backup; nothing was changed$`),
    );
    await expect(queryWarehouse(folder, 'select 1')).rejects.toThrow(`lake catalog ${catalog} is damaged`);
  });

  it("is never another application's SQLite database: its tables stay alone, and it is refused naming it", async () => {
    const folder = path.join(await tempDir('foreign-catalog'), 'warehouse');
    await mkdir(folder);
    const catalog = path.join(folder, 'catalog.sqlite');
    const instance = await DuckDBInstance.create(':memory:', { extension_directory: await ensureLakeExtensions() });
    const connection = await instance.connect();
    await loadLakeExtensions(connection);
    await connection.run(`attach '${catalog}' as app (type sqlite); create table app.customers (id integer, name text); detach app`);
    connection.closeSync();
    instance.closeSync();
    const before = await readFile(catalog);
    await expect(Warehouse.open(folder)).rejects.toThrow(
      `warehouse ${folder}: ${catalog} holds another application's tables, not a DuckLake catalog: give --db a folder of its own`,
    );
    expect((await readFile(catalog)).equals(before)).toBe(true);
    expect(existsSync(path.join(folder, 'data'))).toBe(false);
  });

  it('still creates a lake in a new folder, and in an empty one', async () => {
    const folder = path.join(await tempDir('new-lake'), 'warehouse');
    const writer = await Warehouse.open(folder);
    writer.close();
    expect(existsSync(path.join(folder, 'catalog.sqlite'))).toBe(true);
  });
});

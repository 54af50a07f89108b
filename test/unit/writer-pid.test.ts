// One writer per warehouse folder, on any machine that shares the folder: writer.pid names the
// writer; another machine's file recently touched refuses a second writer, a silent one is taken over.
import { existsSync } from 'node:fs';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WarehouseLockedError } from '../../src/errors';
import { Warehouse, WRITER_STALE_MS } from '../../src/warehouse/warehouse';
import { tempDir } from '../support/files';

describe("a warehouse folder's writer.pid", () => {
  it("refuses a second writer while another machine's writer touches the file, and takes a silent one's over", async () => {
    const folder = path.join(await tempDir('writer-pid'), 'warehouse');
    (await Warehouse.open(folder)).close();
    const pidFile = path.join(folder, 'writer.pid');
    await writeFile(pidFile, '4242 another-host\n');
    const refused = await Warehouse.open(folder).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(WarehouseLockedError);
    expect((refused as Error).message).toBe(
      `warehouse ${folder} is already open by another process (pid 4242 on another-host (its writer.pid was touched within 60 s)): only one writer worker may own a warehouse`,
    );
    expect(await readFile(pidFile, 'utf8')).toBe('4242 another-host\n');

    // untouched for longer than WRITER_STALE_MS: that writer is gone, its file taken over
    const silent = new Date(Date.now() - WRITER_STALE_MS - 5_000);
    await utimes(pidFile, silent, silent);
    const warehouse = await Warehouse.open(folder);
    expect(await readFile(pidFile, 'utf8')).toBe(`${process.pid} ${os.hostname()}\n`);
    warehouse.close();
    // (released on close, asynchronously)
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(existsSync(pidFile)).toBe(false);
  });

  it("takes over a dead process's file on this machine, as before", async () => {
    const folder = path.join(await tempDir('writer-pid-dead'), 'warehouse');
    (await Warehouse.open(folder)).close();
    // a pid that is no process here
    await writeFile(path.join(folder, 'writer.pid'), `2147483646 ${os.hostname()}\n`);
    const warehouse = await Warehouse.open(folder);
    expect(await readFile(path.join(folder, 'writer.pid'), 'utf8')).toBe(`${process.pid} ${os.hostname()}\n`);
    warehouse.close();
  });
});

// A warehouse folder is self-contained: every data file is recorded relative to its table, so a copy
// made with `cp -r` reads and runs on its own files only, with the original moved away. A lake an
// older meterflow wrote (month files recorded by absolute path) is migrated when its writer opens it.
import { cp, mkdir, readdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { waitForPipeline } from '../../src/client';
import { generateSampleData } from '../../src/generator/generate';
import { Warehouse } from '../../src/warehouse/warehouse';
import { queryFile, referencedFiles, tableChecksumSql, tempDir, writeParquet } from '../support/files';
import { differencesFromReference } from '../support/reference-master';
import { connectToTestServer, startRun, withWorkers, type TemporalTestContext } from '../support/temporal';

const MASTER = 'main.demand_price_elasticity';

/** How the catalog records a table's data files: relative to their table, or not. */
async function recordedPaths(warehouse: Warehouse, table = 'readings'): Promise<{ path: string; relative: boolean }[]> {
  const metadata = `__ducklake_metadata_${warehouse.alias}`;
  return warehouse.withConnection(async (connection) =>
    (
      await connection.runAndReadAll(
        `select f.path, f.path_is_relative from ${metadata}.ducklake_data_file f join ${metadata}.ducklake_table t using (table_id) ` +
          `where t.table_name = $table and t.end_snapshot is null order by f.path`,
        { table },
      )
    )
      .getRows()
      .map(([file, relative]) => ({ path: String(file), relative: Boolean(relative) })),
  );
}

describe('a copied warehouse folder', () => {
  let temporal: TemporalTestContext;
  let dir: string;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('warehouse-copy');
  });

  afterAll(() => temporal.close());

  it('reads and runs on its own files, with the original moved away, every file recorded relative to its table', async () => {
    const sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 8, from: '2023-09-20', to: '2023-10-10', seed: 31 });
    const original = path.join(dir, 'original');
    await withWorkers(temporal, { label: 'copy-original', warehousePath: original }, async (workers) =>
      waitForPipeline(await startRun(temporal, workers, { sourcesUri: sources, outUri: path.join(dir, 'out-original') })),
    );
    const [before] = await queryFile(original, tableChecksumSql(MASTER));
    const copy = path.join(dir, 'copy');
    await cp(original, copy, { recursive: true });
    await rename(original, path.join(dir, 'original-moved-away'));

    // every file the copy's catalog names is in the copy
    const files = await referencedFiles(copy);
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((file) => !file.startsWith(`${copy}/`))).toEqual([]);
    expect(await queryFile(copy, tableChecksumSql(MASTER))).toEqual([before]);
    expect(await differencesFromReference(copy, sources)).toEqual({ missing: 0, extra: 0 });

    // and it runs: a full refresh rebuilds every model from the copy's own raw tables
    const result = await withWorkers(temporal, { label: 'copy-again', warehousePath: copy }, async (again) =>
      waitForPipeline(await startRun(temporal, again, { sourcesUri: sources, outUri: path.join(dir, 'out-copy'), fullRefresh: true })),
    );
    expect(result.nodes.filter((n) => n.state === 'failed')).toEqual([]);
    expect((await referencedFiles(copy)).filter((file) => !file.startsWith(`${copy}/`))).toEqual([]);
    expect(await differencesFromReference(copy, sources)).toEqual({ missing: 0, extra: 0 });
  });

  it('migrates month files an older meterflow recorded by absolute path when its writer opens the lake', async () => {
    const folder = path.join(dir, 'older');
    // as an older meterflow committed a month: the file in the model's folder, added to a pending table
    const writer = await Warehouse.open(folder);
    const monthFile = path.join(folder, 'data', 'main', 'readings', 'year=2023', 'month=1', 'readings-1-2023-01.parquet');
    try {
      await mkdir(path.dirname(monthFile), { recursive: true });
      await writeParquet(monthFile, `select range::integer as meter from range(40)`);
      await writer.transaction(async (connection) => {
        await connection.run('create table main.__meterflow_pending_readings__1 (meter integer)');
        await connection.run(
          `call ducklake_add_data_files('${writer.alias}', '__meterflow_pending_readings__1', ['${monthFile}'], schema => 'main')`,
        );
        await connection.run('alter table main.__meterflow_pending_readings__1 rename to readings');
      });
      expect(await recordedPaths(writer)).toEqual([{ path: monthFile, relative: false }]);
    } finally {
      writer.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // the writer's lock file goes on close

    const reopened = await Warehouse.open(folder);
    try {
      expect(await recordedPaths(reopened)).toEqual([{ path: 'year=2023/month=1/readings-1-2023-01.parquet', relative: true }]);
      const rows = await reopened.withConnection(async (c) =>
        (await c.runAndReadAll('select count(*)::integer from main.readings')).getRows(),
      );
      expect(rows).toEqual([[40]]);
    } finally {
      reopened.close();
    }
    // the file is in its table's folder now, and no longer in the model's
    const parquet = (await readdir(path.join(folder, 'data', 'main'), { recursive: true })).filter((f) => f.endsWith('.parquet'));
    expect(parquet).toEqual([path.join('__meterflow_pending_readings__1', 'year=2023', 'month=1', 'readings-1-2023-01.parquet')]);
  });
});

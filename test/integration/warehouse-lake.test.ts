// The warehouse as a DuckLake lake, on the real dev server: readers in other processes while a run
// writes, the previous version kept whole by a failed run, `--at` an earlier run, incremental runs
// that rewrite only their month's files, and maintenance that deletes what nothing references.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitForPipeline } from '../../src/client';
import { PACKAGE_ROOT } from '../../src/config';
import { generateSampleData } from '../../src/generator/generate';
import type { PipelineResult } from '../../src/contract/run';
import { withWarehouseReader } from '../../src/warehouse/warehouse';
import {
  copyOfModels,
  editFile,
  parquetFilesUnder,
  queryFile,
  referencedFiles,
  tableChecksumSql,
  tempDir,
  writeParquet,
} from '../support/files';
import { differencesFromReference } from '../support/reference-master';
import { connectToTestServer, startRun, startWorkers, type RunningWorkers, type TemporalTestContext } from '../support/temporal';

const exec = promisify(execFile);

/** `meterflow query --json` in its own process, as an analyst's shell would run it. */
async function query(warehouse: string, sql: string, at?: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await exec(
    process.execPath,
    [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), 'query', '--warehouse', warehouse, '--json', ...(at ? ['--at', at] : []), sql],
    { env: { ...process.env, TEMPORAL_ADDRESS: undefined } },
  );
  return JSON.parse(stdout) as Record<string, unknown>[];
}

const MASTER_COUNT = 'select count(*) as n from demand_price_elasticity';

describe('the warehouse as a lake', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;
  let warehouse: string;
  let workers: RunningWorkers;
  let first: PipelineResult;
  const lateDay = () => path.join(dir, 'late-day.parquet');
  const q4 = () => path.join(sources, 'smart_meter_consumption_q4', 'smart_meter_consumption_2023_q4.parquet');

  const run = async (extra: { fullRefresh?: boolean } = {}) => {
    const handle = await startRun(temporal, workers, { sourcesUri: sources, outUri: path.join(dir, 'out'), ...extra });
    return { handle, result: await waitForPipeline(handle) };
  };

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('lake-warehouse');
    sources = path.join(dir, 'sources');
    warehouse = path.join(dir, 'warehouse');
    // three months of readings; the last two days arrive late, as a file of their own
    await generateSampleData({ outDir: sources, meters: 12, from: '2023-08-25', to: '2023-10-06', seed: 11 });
    await writeParquet(lateDay(), `select * from read_parquet('${q4()}') where settlement_timestamp_utc >= timestamp '2023-10-04'`);
    await writeParquet(`${q4()}.tmp`, `select * from read_parquet('${q4()}') where settlement_timestamp_utc < timestamp '2023-10-04'`);
    await rename(`${q4()}.tmp`, q4());
    workers = await startWorkers(temporal, { label: 'lake', warehousePath: warehouse });
    first = (await run()).result;
  });

  afterAll(async () => {
    await workers.stop();
    await temporal.close();
  });

  it('keeps catalog and data in the warehouse folder, the master partitioned by month', async () => {
    expect((await stat(path.join(warehouse, 'catalog.sqlite'))).isFile()).toBe(true);
    const files = await withWarehouseReader(warehouse, {}, (reader) => reader.listFiles('demand_price_elasticity'));
    const months = new Set(files.map((file) => /year=(\d+)\/month=(\d+)\//.exec(file.dataFile)?.slice(1).join('-')));
    expect([...months].sort()).toEqual(['2023-10', '2023-8', '2023-9']);
    expect(first.snapshotVersion).toBeGreaterThan(0);
    expect(await differencesFromReference(warehouse, sources)).toEqual({ missing: 0, extra: 0 });
  });

  it('answers queries in another process while a run writes, each with the previous version whole', async () => {
    const [before] = await query(warehouse, MASTER_COUNT);
    const handle = await startRun(temporal, workers, { sourcesUri: sources, outUri: path.join(dir, 'out'), fullRefresh: true });
    const seen: { n: unknown; running: boolean }[] = [];
    for (;;) {
      const [row] = await query(warehouse, MASTER_COUNT);
      const running = (await handle.describe()).status.name === 'RUNNING';
      seen.push({ n: row?.n, running });
      if (!running) break;
    }
    await waitForPipeline(handle);
    // answered while the run still wrote (not after it, held by its writer): how long each took is the
    // bench's matter, not this test's (a busy machine once took 27 s for one)
    const whileRunning = seen.filter((read) => read.running);
    expect(whileRunning.length).toBeGreaterThan(1);
    // a full refresh rebuilds every table: a reader sees the version before it, never a half-built one
    for (const read of whileRunning) expect(read.n).toBe(before?.n);
  });

  it('rewrites only the new day’s month on an incremental run, and --at reads the run before it', async () => {
    const before = await withWarehouseReader(warehouse, {}, (reader) => reader.listFiles('demand_price_elasticity'));
    const [countBefore] = await query(warehouse, MASTER_COUNT);
    await copyFile(lateDay(), path.join(sources, 'smart_meter_consumption_q4', 'late_day.parquet'));
    const { result } = await run();
    expect(result.nodes.find((n) => n.id === 'model:demand_price_elasticity')?.note).toMatch(/^incremental: /);
    const after = await withWarehouseReader(warehouse, {}, (reader) => reader.listFiles('demand_price_elasticity'));
    const key = (file: { dataFile: string; deleteFile?: string }) => `${file.dataFile} ${file.deleteFile ?? ''}`;
    const untouched = new Set(before.map(key));
    const changed = after.filter((file) => !untouched.has(key(file)));
    expect(changed.length).toBeGreaterThan(0);
    for (const file of changed) expect(file.dataFile).toMatch(/\/year=2023\/month=10\//);
    // the other months' files are the same files as before
    for (const file of before.filter((f) => !/\/month=10\//.test(f.dataFile))) expect(after.map(key)).toContain(key(file));
    expect(await differencesFromReference(warehouse, sources)).toEqual({ missing: 0, extra: 0 });

    const [countAfter] = await query(warehouse, MASTER_COUNT);
    expect(Number(countAfter?.n)).toBeGreaterThan(Number(countBefore?.n));
    const [atFirst] = await query(warehouse, MASTER_COUNT, first.workflowId);
    expect(atFirst?.n).toBe(countBefore?.n);
    const [atVersion] = await query(warehouse, MASTER_COUNT, String(result.snapshotVersion));
    expect(atVersion?.n).toBe(countAfter?.n);
  });

  it('leaves the previous version current when a run fails after building the master, and nothing of its own', async () => {
    const master = tableChecksumSql('main.demand_price_elasticity');
    const [before] = await query(warehouse, master);
    // a project whose master fails a new test: the master is built, then the run fails before publishing
    const models = await copyOfModels('lake-failing');
    await editFile(path.join(models, 'master', 'demand_price_elasticity.yml'), (text) =>
      text.replace(
        '    data_tests:\n',
        "    data_tests:\n      - expression_is_true:\n          arguments:\n            expression: 'smart_meter_consumption < 0'\n",
      ),
    );
    await workers.stop();
    const failing = await startWorkers(temporal, { label: 'lake-failing', warehousePath: warehouse, projectDir: models });
    try {
      const handle = await startRun(temporal, failing, { sourcesUri: sources, outUri: path.join(dir, 'out') });
      await expect(waitForPipeline(handle)).rejects.toThrow(/demand_price_elasticity/);
    } finally {
      await failing.stop();
      workers = await startWorkers(temporal, { label: 'lake-again', warehousePath: warehouse });
    }
    const [after] = await query(warehouse, master);
    expect(after).toEqual(before);
    const pending = await queryFile(
      warehouse,
      `select table_name from information_schema.tables where table_catalog = current_database() and starts_with(table_name, '__meterflow_pending_')`,
    );
    expect(pending).toEqual([]);
  });

  it('maintenance expires old snapshots, deletes every file nothing references after the grace, and queries still work', async () => {
    const [before] = await query(warehouse, MASTER_COUNT);
    const filesBefore = await parquetFilesUnder(path.join(warehouse, 'data'));
    const referencedBefore = new Set(await referencedFiles(warehouse));
    // replaced versions, the failed run's discarded tables: files on disk that nothing current references
    expect(filesBefore.filter((file) => !referencedBefore.has(file)).length).toBeGreaterThan(0);
    const maintain = async (orphanGraceMinutes?: number) =>
      (await temporal.client.workflow.execute('maintenance', {
        taskQueue: workers.queues.workflows,
        workflowId: `maintenance-${Date.now()}`,
        args: [
          {
            retentionDays: 0,
            ...(orphanGraceMinutes !== undefined ? { orphanGraceMinutes } : {}),
            writerQueue: workers.queues.writer,
            warehouse,
          },
        ],
      })) as { expiredSnapshots: number; deletedFiles: number };

    // the default grace: snapshots expire, but their files stay for an hour (a reader may be on them)
    const graced = await maintain();
    expect(graced.expiredSnapshots).toBeGreaterThan(0);
    expect(graced.deletedFiles).toBe(0);
    const onDisk = new Set(await parquetFilesUnder(path.join(warehouse, 'data')));
    expect(filesBefore.filter((file) => !onDisk.has(file))).toEqual([]);

    // a file that is not the lake's in its data folder (sources kept there): maintenance stops before
    // it changes anything, naming it (DuckLake alone deletes every unreferenced file under the path)
    const foreign = path.join(warehouse, 'data', 'landing', 'readings.parquet');
    await mkdir(path.dirname(foreign), { recursive: true });
    await writeFile(foreign, 'PAR1 not the lake');
    const refused = await maintain(0).catch((err: unknown) => err);
    const messages: string[] = [];
    for (let cause = refused; cause instanceof Error; cause = (cause as Error & { cause?: unknown }).cause) messages.push(cause.message);
    expect(messages.join(' / ')).toContain(
      `holds 1 file(s) that are not the lake's (${foreign}): maintenance changed nothing, as DuckLake's cleanup would have deleted those`,
    );
    expect(existsSync(foreign)).toBe(true);
    const stillOnDisk = new Set(await parquetFilesUnder(path.join(warehouse, 'data')));
    expect(filesBefore.filter((file) => !stillOnDisk.has(file))).toEqual([]);
    await rm(path.dirname(foreign), { recursive: true });

    const handle = await temporal.client.workflow.start('maintenance', {
      taskQueue: workers.queues.workflows,
      workflowId: `maintenance-${Date.now()}`,
      args: [{ retentionDays: 0, orphanGraceMinutes: 0, writerQueue: workers.queues.writer, warehouse }],
    });
    // a reader while maintenance commits: it waits for the catalog, it does not fail
    expect(await query(warehouse, MASTER_COUNT)).toEqual([before]);
    const result = (await handle.result()) as { expiredSnapshots: number; deletedFiles: number };
    expect(result.deletedFiles).toBeGreaterThan(0);
    // on disk now: exactly the files the lake references (the failed run's and the replaced ones gone)
    expect(await parquetFilesUnder(path.join(warehouse, 'data'))).toEqual(await referencedFiles(warehouse));
    expect(await query(warehouse, MASTER_COUNT)).toEqual([before]);
    expect(await differencesFromReference(warehouse, sources)).toEqual({ missing: 0, extra: 0 });
    // an expired run cannot be read back, and the message says why
    await expect(query(warehouse, MASTER_COUNT, first.workflowId)).rejects.toThrow(/no run .* published anything|snapshot/i);
  });
});

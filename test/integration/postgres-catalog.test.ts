// The lake's catalog in a real PostgreSQL server (started once by the global set-up): a full run by a
// writer and an analytics worker in processes of their own, equal to the reference and read back by
// `meterflow query`; two lakes in one database whose writers commit at the same time; and a catalog
// that is unreachable, misnamed or about to share another lake's files refused with a message naming it.
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { getProgress, waitForPipeline } from '../../src/client';
import { catalogFromEnv, defaultWarehousePath, PACKAGE_ROOT } from '../../src/config';
import type { PipelineResult } from '../../src/contract/run';
import { generateSampleData } from '../../src/generator/generate';
import { catalogName, parseLakeCatalog } from '../../src/duckdb/catalog';
import { clientConfig, writerLockKey } from '../../src/lake/writer-lock';
import { freePort } from '../../src/temporal/dev-server';
import { QueryRefusedError, WarehouseLockedError } from '../../src/errors';
import { warehouseName } from '../../src/warehouse/names';
import { Warehouse, openWarehouseReader, queryWarehouse } from '../../src/warehouse/warehouse';
import { parquetFilesUnder, queryFile, referencedFiles, tempDir } from '../support/files';
import { createTestDatabase, psql, testPostgres } from '../support/postgres-server';
import { OutageProxy, spawnWorker, type Child } from '../support/processes';
import { createBucket } from '../support/s3-server';
import { differencesFromReference, referenceMasterSql } from '../support/reference-master';
import { connectToTestServer, eventually, freshQueues, startRun, testServerAddress, type TemporalTestContext } from '../support/temporal';

const exec = promisify(execFile);

/** `meterflow query --db <catalog> --json` in its own process, as an analyst's shell would run it. */
async function query(catalog: string, sql: string): Promise<Record<string, unknown>[]> {
  const { stdout } = await exec(
    process.execPath,
    [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), 'query', '--db', catalog, '--json', sql],
    {
      env: { ...process.env, TEMPORAL_ADDRESS: undefined },
    },
  );
  return JSON.parse(stdout) as Record<string, unknown>[];
}

/** The same, expected to fail: its exit code and stderr. */
async function failingQuery(catalog: string, sql: string): Promise<{ code: number; stderr: string }> {
  try {
    await exec(process.execPath, [path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'), 'query', '--db', catalog, sql], {
      env: { ...process.env, TEMPORAL_ADDRESS: undefined },
    });
  } catch (err) {
    const failure = err as { code: number; stderr: string };
    return { code: failure.code, stderr: failure.stderr };
  }
  throw new Error(`meterflow query --db ${catalog} succeeded`);
}

/** The run that a lake's commit names, as `meterflow query --at` finds it. */
const PUBLISHED_RUNS = `select json_extract_string(commit_extra_info, '$.run') as run from ducklake_snapshots(current_database()) where commit_extra_info is not null`;

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the lake catalog in PostgreSQL', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let server: string;
  const stopping: Child[] = [];

  beforeAll(async () => {
    // fails with the reason when the global set-up could not start PostgreSQL (not installed, say)
    server = testPostgres();
    temporal = await connectToTestServer();
    dir = await tempDir('postgres-catalog');
  });

  afterAll(async () => {
    await Promise.all(stopping.map((child) => child.kill('SIGTERM')));
    await temporal?.close();
  });

  /** A writer worker in its own process on the catalog that env names (METERFLOW_CATALOG) or --db names. */
  function writer(
    queues: { writer: string; analytics: string; workflows: string },
    env: NodeJS.ProcessEnv,
    db?: string,
    args?: string[],
  ): Child {
    const child = spawnWorker({
      role: 'writer',
      address: testServerAddress(),
      queues,
      env,
      ...(db ? { db } : {}),
      ...(args ? { args } : {}),
    });
    stopping.push(child);
    return child;
  }

  function analytics(queues: { writer: string; analytics: string; workflows: string }): Child {
    const child = spawnWorker({ role: 'analytics', address: testServerAddress(), queues });
    stopping.push(child);
    return child;
  }

  /** A build worker in its own process: it learns the catalog from each month's activity. */
  function builder(queues: { writer: string; analytics: string; workflows: string }): Child {
    const child = spawnWorker({ role: 'build', address: testServerAddress(), queues, env: { METERFLOW_DUCKDB_THREADS: '1' } });
    stopping.push(child);
    return child;
  }

  it('runs the whole pipeline with the catalog in PostgreSQL, the data in a shared folder and the months on two build workers: the master equals the reference, and maintenance keeps exactly the referenced files', async () => {
    const catalog = `postgres:${await createTestDatabase('meterflow_lake')}`;
    const sources = path.join(dir, 'sources');
    const lakeData = path.join(dir, 'shared', 'lake');
    await generateSampleData({ outDir: sources, meters: 12, from: '2023-08-25', to: '2023-10-06', seed: 14 });
    const queues = freshQueues('postgres');
    // the documented environment form: no --db, the catalog from METERFLOW_CATALOG; the writer builds
    // no months itself: two build workers, each its own process, share them
    writer(queues, { METERFLOW_CATALOG: catalog, METERFLOW_LAKE_DATA: lakeData, METERFLOW_WAREHOUSE: undefined }, undefined, [
      '--build-concurrency',
      '0',
    ]);
    analytics(queues);
    const builders = [builder(queues), builder(queues)];

    const handle = await startRun(temporal, { queues }, { sourcesUri: sources, outUri: path.join(dir, 'out') });
    const result = await waitForPipeline(handle);
    expect(result.nodes.filter((node) => node.state === 'failed')).toEqual([]);
    expect(result.warehousePath).toBe(catalog);
    expect(result.snapshotVersion).toBeGreaterThan(0);
    // every month was built by one of the build workers, never by the writer
    const events = (await handle.fetchHistory()).events ?? [];
    const monthActivities = new Set(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildMonth').map((e) => String(e.eventId)),
    );
    const builtBy = events
      .filter((e) => monthActivities.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '')))
      .map((e) => Number(e.activityTaskStartedEventAttributes?.identity?.split('@')[0]));
    expect(builtBy.length).toBeGreaterThanOrEqual(2 * 3);
    expect(new Set(builtBy)).toEqual(new Set(builders.map((b) => b.process.pid)));

    expect(await differencesFromReference(catalog, sources)).toEqual({ missing: 0, extra: 0 });
    // the catalog is in PostgreSQL (DuckLake's tables in schema public), the files in the shared folder
    const tables = await psql(catalog.slice('postgres:'.length), "select count(*) from pg_tables where tablename like 'ducklake_%'");
    expect(Number(tables[0]?.[0])).toBeGreaterThan(10);
    const reader = await openWarehouseReader(catalog);
    const masterFiles = await reader.listFiles('demand_price_elasticity').finally(() => reader.close());
    const months = new Set(masterFiles.map((file) => /\/year=(\d+)\/month=(\d+)\//.exec(file.dataFile)?.slice(1).join('-')));
    expect([...months].sort()).toEqual(['2023-10', '2023-8', '2023-9']);
    const onDisk = new Set(await parquetFilesUnder(lakeData));
    for (const file of masterFiles) expect(onDisk.has(file.dataFile)).toBe(true);

    // read back from another process by the catalog alone: the master, and an analytics table
    const [count] = await query(catalog, 'select count(*) as n from demand_price_elasticity');
    const [reference] = await queryFile(':memory:', `select count(*)::integer as n from (${referenceMasterSql(sources)})`);
    expect(Number(count?.n)).toBe(Number(reference?.n));
    // an analytics table, built by the analytics worker from the pinned version, against the reference's counts
    const groups = await query(catalog, 'select gsp_group_id, half_hours from deviation_by_gsp_group order by gsp_group_id');
    const expectedGroups = await queryFile(
      ':memory:',
      `select gsp_group_id, count(*)::integer as half_hours from (${referenceMasterSql(sources)}) group by all order by gsp_group_id`,
    );
    expect(groups.map((row) => ({ ...row, half_hours: Number(row.half_hours) }))).toEqual(expectedGroups);
    expect(groups.length).toBeGreaterThan(1);
    expect(await query(catalog, PUBLISHED_RUNS)).toContainEqual({ run: result.workflowId });

    // a full refresh replaces every table, then maintenance on the writer: files the catalog no longer
    // references are deleted from the shared folder, and the lake still reads whole
    const again = await startRun(temporal, { queues }, { sourcesUri: sources, outUri: path.join(dir, 'out'), fullRefresh: true });
    await waitForPipeline(again);
    const referencedBefore = new Set(await referencedFiles(catalog));
    expect((await parquetFilesUnder(lakeData)).filter((file) => !referencedBefore.has(file)).length).toBeGreaterThan(0);
    const maintenance = await temporal.client.workflow.start('maintenance', {
      taskQueue: queues.workflows,
      workflowId: `maintenance-postgres-${Date.now()}`,
      args: [{ retentionDays: 0, orphanGraceMinutes: 0, writerQueue: queues.writer, warehouse: catalog }],
    });
    const maintained = (await maintenance.result()) as { expiredSnapshots: number; deletedFiles: number };
    expect(maintained.expiredSnapshots).toBeGreaterThan(0);
    expect(maintained.deletedFiles).toBeGreaterThan(0);
    expect((await parquetFilesUnder(lakeData)).sort()).toEqual(await referencedFiles(catalog));
    expect(await differencesFromReference(catalog, sources)).toEqual({ missing: 0, extra: 0 });
  });

  it('lets two writers of two lakes in one database commit at the same time: both runs land, each equal to its reference', async () => {
    const database = await createTestDatabase('meterflow_regions');
    const lakes = ['north', 'south'] as const;
    const analyticsQueues = freshQueues('regions');
    analytics(analyticsQueues);
    const runs = await Promise.all(
      lakes.map(async (lake, i) => {
        const catalog = `postgres:${database} lake=${lake}`;
        const sources = path.join(dir, `sources-${lake}`);
        await generateSampleData({ outDir: sources, meters: 10 + i * 3, from: '2023-06-20', to: '2023-08-05', seed: 30 + i });
        // each lake its own writer queue and data path; --db names the lake this time
        const queues = { ...analyticsQueues, writer: `${analyticsQueues.writer}-${lake}` };
        const child = writer(queues, { METERFLOW_LAKE_DATA: path.join(dir, 'shared', lake) }, catalog);
        return { lake, catalog, sources, queues, child };
      }),
    );
    const handles = await Promise.all(
      runs.map((run) => startRun(temporal, run, { sourcesUri: run.sources, outUri: path.join(dir, `out-${run.lake}`) })),
    );
    const results: PipelineResult[] = await Promise.all(handles.map((handle) => waitForPipeline(handle)));

    // the two runs wrote at the same time: each started before the other ended
    const [first, second] = await Promise.all(handles.map((handle) => handle.describe()));
    expect(first?.startTime.getTime()).toBeLessThan(second?.closeTime?.getTime() as number);
    expect(second?.startTime.getTime()).toBeLessThan(first?.closeTime?.getTime() as number);

    for (const [i, run] of runs.entries()) {
      const result = results[i] as PipelineResult;
      expect(result.nodes.filter((node) => node.state === 'failed')).toEqual([]);
      expect(result.warehousePath).toBe(run.catalog);
      expect(await differencesFromReference(run.catalog, run.sources)).toEqual({ missing: 0, extra: 0 });
      // its commit is in its own lake, not in the other one's
      expect(await query(run.catalog, PUBLISHED_RUNS)).toEqual([{ run: result.workflowId }]);
      expect(run.child.stderr()).not.toMatch(/conflict|lock|error/i);
    }
    // different data, different masters: nothing of one lake leaked into the other
    const counts = await Promise.all(
      runs.map((run) => query(run.catalog, 'select count(distinct meter_point_id) as meters from demand_price_elasticity')),
    );
    expect(counts.map(([row]) => Number(row?.meters))).toEqual([10, 13]);
    // each lake's catalog tables in its own schema of the one database
    const schemas = await psql(database, "select distinct schemaname from pg_tables where tablename = 'ducklake_snapshot' order by 1");
    expect(schemas.map(([schema]) => schema)).toEqual(['north', 'south']);
  });

  it('keeps the data in S3 with the catalog in PostgreSQL, as the compose deployment does: the master equals the reference', async () => {
    const catalog = `postgres:${await createTestDatabase('meterflow_s3_lake')}`;
    const sources = path.join(dir, 'sources-s3');
    await generateSampleData({ outDir: sources, meters: 8, from: '2023-03-28', to: '2023-04-10', seed: 41 });
    await createBucket(process.env.METERFLOW_TEST_S3_ENDPOINT as string, 'meterflow-pg-lake');
    const queues = freshQueues('postgres-s3');
    writer(queues, { METERFLOW_CATALOG: catalog, METERFLOW_LAKE_DATA: 's3://meterflow-pg-lake/lake/', METERFLOW_WAREHOUSE: undefined });
    analytics(queues);
    const handle = await startRun(temporal, { queues }, { sourcesUri: sources, outUri: path.join(dir, 'out-s3') });
    const result = await waitForPipeline(handle);
    expect(result.nodes.filter((node) => node.state === 'failed')).toEqual([]);
    // readers learn the data path from the catalog (a table's files stay in the folder it was built under)
    const reader = await openWarehouseReader(catalog);
    const files = await reader.listFiles('demand_price_elasticity').finally(() => reader.close());
    expect(files.length).toBeGreaterThan(0);
    for (const file of files)
      expect(file.dataFile).toMatch(/^s3:\/\/meterflow-pg-lake\/lake\/main\/\S*demand_price_elasticity\S*\/year=2023\/month=[34]\//);
    expect(await differencesFromReference(catalog, sources)).toEqual({ missing: 0, extra: 0 });
    // meterflow query on it: the probe's SQL-as-text reached postgres_execute, committed and emptied the
    // lake, and duckdb_databases() showed the password; both refused, and the lake as it was
    const withPassword = `${catalog} password=hunter2`;
    const rows = async () => (await queryWarehouse(withPassword, 'select count(*) as n from demand_price_elasticity')).rows;
    const before = await rows();
    const execute = "postgres_execute(''__ducklake_metadata_lake'', ''commit; delete from public.ducklake_data_file'')";
    for (const sql of [
      `select * from json_execute_serialized_sql(json_serialize_sql('select * from ${execute}'))`,
      'select path from duckdb_databases()',
    ]) {
      const err = (await queryWarehouse(withPassword, sql).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(QueryRefusedError);
      expect(err.message).not.toContain('hunter2');
    }
    expect(await rows()).toEqual(before);
  });

  it('refuses a third lake whose data path holds another lake’s files, naming both', async () => {
    const database = await createTestDatabase('meterflow_shared_path');
    const shared = path.join(dir, 'shared-path');
    const first = await Warehouse.open(
      `postgres:${database} lake=east`,
      {},
      { ...process.env, METERFLOW_LAKE_DATA: path.join(shared, 'east') },
    );
    first.close();
    // west's files would lie under east's path: east's maintenance would delete them as orphans
    await expect(
      Warehouse.open(`postgres:${database} lake=west`, {}, { ...process.env, METERFLOW_LAKE_DATA: path.join(shared, 'east', 'west') }),
    ).rejects.toThrow(/lake=west.*data path .*shared-path\/east\/west\/ overlaps that of lake=east .*shared-path\/east\//);
    const west = await Warehouse.open(
      `postgres:${database} lake=west`,
      {},
      { ...process.env, METERFLOW_LAKE_DATA: path.join(shared, 'west') },
    );
    expect(await west.currentSnapshot()).toBeGreaterThan(0);
    west.close();
  });

  it("is never another application's database: a schema holding its tables is refused, naming them, and left as it was", async () => {
    const database = await createTestDatabase('meterflow_foreign');
    await psql(database, 'create table customers (id int primary key, name text); insert into customers values (1, $$a$$)');
    const tables = `select table_schema || '.' || table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') order by 1`;
    const env = { ...process.env, METERFLOW_LAKE_DATA: path.join(dir, 'foreign') };
    await expect(Warehouse.open(`postgres:${database}`, {}, env)).rejects.toThrow(
      /lake catalog .*meterflow_foreign.*: its schema public holds another application's tables \(customers\), not a DuckLake catalog: give the lake a database of its own, or a schema of its own with lake=<name>; nothing was changed/,
    );
    expect(await psql(database, tables)).toEqual([['public.customers']]);
    // a schema of its own is a lake to create beside them
    const own = await Warehouse.open(`postgres:${database} lake=meterflow`, {}, env);
    own.close();
    expect((await psql(database, tables)).map(([t]) => t)).toContain('meterflow.ducklake_metadata');
    expect(await psql(database, 'select name from public.customers')).toEqual([['a']]);
  });

  it('refuses a second writer of the same lake, on any machine, naming the first; a killed writer lets go of the lake at once', async () => {
    const database = await createTestDatabase('meterflow_one_writer');
    const catalog = `postgres:${database} lake=solo`;
    const env = { ...process.env, METERFLOW_LAKE_DATA: path.join(dir, 'solo') };
    // a writer worker in its own process holds the lake
    const first = writer(freshQueues('postgres-solo'), { METERFLOW_LAKE_DATA: env.METERFLOW_LAKE_DATA }, catalog);
    await eventually(async () => first.output().includes('polling'));
    const pid = first.process.pid as number;
    // a second writer, here in this process as it would be on another machine (no writer.pid to see)
    const refusal = await Warehouse.open(catalog, {}, env).then(
      (opened) => (opened.close(), undefined),
      (err: unknown) => err as WarehouseLockedError,
    );
    expect(refusal).toBeInstanceOf(WarehouseLockedError);
    expect(refusal?.message).toMatch(
      new RegExp(
        `^warehouse ${escaped(catalog)} is already written by another writer \\(meterflow writer ${pid}@${escaped(os.hostname())} from 127\\.0\\.0\\.1, PostgreSQL session (\\d+)\\): ` +
          `only one writer worker may own a lake; stop that one, or give this one a lake of its own \\(lake=<name>\\); ` +
          `if its machine is gone, end its session: select pg_terminate_backend\\(\\1\\)$`,
      ),
    );
    expect(refusal?.holderPid).toBe(pid);
    // another lake of the same database has a writer of its own
    const other = await Warehouse.open(
      `postgres:${database} lake=other`,
      {},
      { ...env, METERFLOW_LAKE_DATA: path.join(dir, 'solo-other') },
    );
    // the first writer dies without a word: PostgreSQL ends its session, and the lock with it
    await first.kill('SIGKILL');
    const second = await eventually(() => Warehouse.open(catalog, {}, env).catch(() => undefined), 15_000);
    expect(await second.currentSnapshot()).toBeGreaterThan(0);
    // while this one writes, a writer worker on the lake says why it does not start, and exits
    const refusedWorker = writer(freshQueues('postgres-solo-2'), { METERFLOW_LAKE_DATA: env.METERFLOW_LAKE_DATA }, catalog);
    const exitCode = await new Promise<number | null>((resolve) => refusedWorker.process.once('exit', (code) => resolve(code)));
    expect(exitCode).not.toBe(0);
    expect(refusedWorker.stderr()).toContain(`warehouse ${catalog} is already written by another writer (meterflow writer ${process.pid}@`);
    // an operator whose writer machine vanished ends its session as the message says: the lake is free,
    // and a writer still running on it (here, this process) says on stderr that it lost the lock; while
    // the new writer holds the lake, the old one writes nothing, and says who holds it
    const session = /select pg_terminate_backend\((\d+)\)/.exec(refusedWorker.stderr())?.[1];
    expect(session).toBeDefined();
    const said = jest.spyOn(process.stderr, 'write');
    try {
      await psql(database, `select pg_terminate_backend(${session})`);
      const third = await eventually(() => Warehouse.open(catalog, {}, env).catch(() => undefined), 15_000);
      const refusedWrite = await second.withConnection((c) => c.run('create table main.never as select 1 as x')).catch((err) => err);
      expect(refusedWrite).toBeInstanceOf(WarehouseLockedError);
      expect((refusedWrite as Error).message).toContain(`(meterflow writer ${process.pid}@`);
      third.close();
      expect(said.mock.calls.map(([text]) => String(text)).join('')).toContain(
        `meterflow: the connection holding the writer lock of ${catalog} was lost (`,
      );
      // the new writer gone, the old one takes its lake again before its next write
      await eventually(() => second.withConnection(async () => true).catch(() => undefined), 15_000);
      expect(said.mock.calls.map(([text]) => String(text)).join('')).toContain(`meterflow: took the writer lock of ${catalog} again`);
    } finally {
      said.mockRestore();
    }
    second.close();
    other.close();
    // closed, it lets go: the lake opens again
    const fourth = await eventually(() => Warehouse.open(catalog, {}, env).catch(() => undefined), 15_000);
    fourth.close();
  });

  it('rides out PostgreSQL gone for ten seconds mid-run: activities retry, the writer takes its lock again, and the run ends green and equal to the reference', async () => {
    const database = await createTestDatabase('meterflow_outage');
    // every connection to the catalog goes through a proxy that the test cuts, as a stopped server would
    const proxy = new OutageProxy(Number(/port=(\d+)/.exec(database)?.[1]), await freePort());
    await proxy.up();
    const catalog = `postgres:${database.replace(/port=\d+/, `port=${proxy.port}`)}`;
    const sources = path.join(dir, 'outage-sources');
    await generateSampleData({ outDir: sources, meters: 12, from: '2023-08-25', to: '2023-10-06', seed: 15 });
    const queues = freshQueues('postgres-outage');
    const lakeWriter = writer(queues, { METERFLOW_LAKE_DATA: path.join(dir, 'outage-lake') }, catalog);
    analytics(queues);
    try {
      const handle = await startRun(temporal, { queues }, { sourcesUri: sources, outUri: path.join(dir, 'outage-out') });
      await eventually(async () => (await getProgress(handle)).nodes.some((n) => n.kind === 'seed' && n.state === 'succeeded'), 60_000, 50);
      await proxy.down();
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      await proxy.up();
      const result = await waitForPipeline(handle);
      expect(result.nodes.filter((node) => node.state !== 'succeeded')).toEqual([]);
      expect(await differencesFromReference(catalog, sources)).toEqual({ missing: 0, extra: 0 });
      // the outage was met, not missed: the lock's connection was lost and taken again, activities retried
      expect(lakeWriter.stderr()).toContain(`the connection holding the writer lock of ${catalog} was lost`);
      expect(lakeWriter.stderr()).toContain(`took the writer lock of ${catalog} again`);
      const retried = ((await handle.fetchHistory()).events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
      expect(retried.length).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.down();
    }
  });

  it('names the catalog and the server when PostgreSQL cannot be reached, and the database when it does not exist', async () => {
    const port = await freePort();
    const refused = await failingQuery(`postgres:dbname=meterflow_lake host=127.0.0.1 port=${port} user=postgres`, 'select 1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `lake catalog postgres:dbname=meterflow_lake host=127.0.0.1 port=${port} user=postgres: cannot connect to PostgreSQL at 127.0.0.1:${port} (Connection refused)`,
    );
    // a writer worker on it does not start: it says why and exits, before it takes any work
    const queues = freshQueues('postgres-refused');
    const refusedWriter = spawnWorker({
      role: 'writer',
      address: testServerAddress(),
      queues,
      db: `postgres:dbname=meterflow_lake host=127.0.0.1 port=${port} user=postgres`,
      env: { METERFLOW_LAKE_DATA: path.join(dir, 'refused-data') },
    });
    const exitCode = await new Promise<number | null>((resolve) => refusedWriter.process.once('exit', (code) => resolve(code)));
    expect(exitCode).toBe(1);
    expect(refusedWriter.stderr()).toContain(`cannot connect to PostgreSQL at 127.0.0.1:${port} (Connection refused)`);
    const missing = await failingQuery(`postgres:dbname=no_such_lake ${server}`, 'select 1');
    expect(missing.stderr).toMatch(
      /lake catalog postgres:dbname=no_such_lake .*: PostgreSQL at 127\.0\.0\.1:\d+ refused: database "no_such_lake" does not exist/,
    );
    // a database that holds no lake of that name: a reader says so, and creates nothing
    const empty = `postgres:${await createTestDatabase('meterflow_empty')} lake=nowhere`;
    await expect(openWarehouseReader(empty)).rejects.toThrow(
      /lake catalog postgres:dbname=meterflow_empty .* lake=nowhere: no lake there yet/,
    );
    expect(
      await psql(
        empty.slice('postgres:'.length).replace(' lake=nowhere', ''),
        "select count(*) from pg_namespace where nspname = 'nowhere'",
      ),
    ).toEqual([['0']]);
  });
});

describe('the writer lock of a lake in PostgreSQL', () => {
  it('connects where libpq would: conninfo settings (quoted ones too) or a URI, the environment filling the rest', () => {
    expect(
      clientConfig("dbname=lake host=db.internal port=5433 user=meterflow password='a b\\'c' connect_timeout=5 sslmode=require"),
    ).toEqual({
      host: 'db.internal',
      port: 5433,
      database: 'lake',
      user: 'meterflow',
      password: "a b'c",
      connectionTimeoutMillis: 5000,
      ssl: { rejectUnauthorized: false },
    });
    expect(clientConfig('dbname=lake')).toEqual({ database: 'lake' });
    expect(clientConfig('postgresql://u@db/lake')).toEqual({ connectionString: 'postgresql://u@db/lake' });
  });

  it('keys each lake of a database apart, the same on every machine', () => {
    expect(writerLockKey('north')).toBe(writerLockKey('north'));
    expect(writerLockKey('north')).not.toBe(writerLockKey('south'));
    expect(writerLockKey(undefined)).toBe(writerLockKey('public'));
    expect(writerLockKey('north')).toBeLessThan(2 ** 31);
  });
});

describe('naming the PostgreSQL catalog', () => {
  it('takes lake=<name> out of the conninfo and keeps a password out of messages', () => {
    expect(parseLakeCatalog('postgres:dbname=lake lake=north host=db  user=meterflow')).toEqual({
      kind: 'postgres',
      conninfo: 'dbname=lake host=db user=meterflow',
      lake: 'north',
    });
    expect(() => parseLakeCatalog('postgres:dbname=lake lake=North-1')).toThrow(/lake=North-1 .*lower-case letters, digits and _/);
    expect(() => parseLakeCatalog('postgres:dbname=lake lake=a lake=b')).toThrow(/names its lake once/);
    // one warehouse however its settings are spaced or ordered: what writers compare runs' warehouses by
    expect(warehouseName('postgres:lake=north  dbname=lake host=db')).toBe(warehouseName('postgres:dbname=lake host=db lake=north'));
    expect(catalogName(parseLakeCatalog('postgres:dbname=lake password=hunter2 host=db lake=south'))).toBe(
      'postgres:dbname=lake password=*** host=db lake=south',
    );
  });

  it('reads METERFLOW_CATALOG (METERFLOW_LAKE_CATALOG its older name) as the warehouse when METERFLOW_WAREHOUSE is unset', () => {
    const catalog = 'postgres:dbname=lake host=db';
    expect(defaultWarehousePath({ METERFLOW_CATALOG: catalog })).toBe(catalog);
    expect(defaultWarehousePath({ METERFLOW_LAKE_CATALOG: catalog })).toBe(catalog);
    expect(defaultWarehousePath({ METERFLOW_WAREHOUSE: catalog, METERFLOW_CATALOG: catalog })).toBe(catalog);
    expect(catalogFromEnv({})).toBeUndefined();
    expect(() => catalogFromEnv({ METERFLOW_CATALOG: catalog, METERFLOW_LAKE_CATALOG: 'postgres:dbname=other' })).toThrow(
      /METERFLOW_CATALOG and METERFLOW_LAKE_CATALOG .* both set, to different catalogs/,
    );
    expect(() => defaultWarehousePath({ METERFLOW_WAREHOUSE: '/srv/warehouse', METERFLOW_CATALOG: catalog })).toThrow(
      /METERFLOW_WAREHOUSE \(\/srv\/warehouse\) and METERFLOW_CATALOG \(postgres:dbname=lake host=db\) name different warehouses/,
    );
  });
});

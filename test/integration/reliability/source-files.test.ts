// Source files are never skipped or mistaken: symbolic links are followed, files that are not Parquet
// are reported, a file where a folder should be is refused at once, and a file rewritten with the same
// size and mtime is found by a --verify run. Real Temporal dev server, real DuckDB, generated sources.
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, rename, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { describeFailure, startPipeline, waitForPipeline } from '../../../src/client';
import { PACKAGE_ROOT } from '../../../src/config';
import { generateSampleData } from '../../../src/generator/generate';
import { LocalStorage, S3Storage, s3SettingsFromEnv } from '../../../src/storage';
import type { PipelineInput, PipelineResult } from '../../../src/contract/run';
import { recordChaos } from '../../support/chaos';
import { queryFile, tableChecksumSql, tempDir, writeParquet } from '../../support/files';
import { differencesFromReference } from '../../support/reference-master';
import { createBucket } from '../../support/s3-server';
import { connectToTestServer, startWorkers, type TemporalTestContext } from '../../support/temporal';
import { openWarehouseFixture } from '../../support/warehouse';

const Q1 = 'smart_meter_consumption_q1';
const Q2 = 'smart_meter_consumption_q2';
const MASTER = tableChecksumSql('main.demand_price_elasticity');

describe('source files are never skipped or mistaken', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  /** Plain files and folders, no links: the sources every other layout must seed the same as. */
  let plain: string;
  let plainMaster: Record<string, unknown>[];

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('source-files');
    plain = path.join(dir, 'plain');
    await generateSampleData({ outDir: plain, meters: 8, from: '2023-03-25', to: '2023-04-05', seed: 23 });
    await run('plain', plain, path.join(dir, 'plain-warehouse'));
    plainMaster = await queryFile(path.join(dir, 'plain-warehouse'), MASTER);
  });

  afterAll(() => temporal.close());

  /** One run of the pipeline on its own workers; the error, if it failed, with its history. */
  async function run(label: string, sourcesUri: string, warehousePath: string, extra: Partial<PipelineInput> = {}) {
    const workers = await startWorkers(temporal, { label, warehousePath });
    try {
      const handle = await startPipeline(
        temporal.client,
        {
          sourcesUri,
          outUri: path.join(dir, 'out'),
          writerQueue: workers.queues.writer,
          analyticsQueue: workers.queues.analytics,
          ...extra,
        },
        { taskQueue: workers.queues.workflows },
      );
      let result: PipelineResult | undefined;
      let error: unknown;
      try {
        result = await waitForPipeline(handle);
      } catch (err) {
        error = err;
      }
      return { handle, result, error };
    } finally {
      await workers.stop();
    }
  }

  const noteOf = (result: PipelineResult | undefined, id: string) => result?.nodes.find((n) => n.id === id)?.note;
  const stateOf = (result: PipelineResult | undefined, id: string) => result?.nodes.find((n) => n.id === id)?.state;

  /** Activity attempts after the first in a run's history: none for a failure that retrying cannot fix. */
  async function retries(handle: Awaited<ReturnType<typeof run>>['handle']): Promise<number> {
    const history = await handle.fetchHistory();
    return (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
  }

  /**
   * The plain sources through links: q1 a real folder of links to its files (and three files that are
   * not Parquet, one hidden, and a nested folder with a link back up), q2 a real folder holding a link
   * to a folder of files (and a link to itself, and a second link to that folder), every other source
   * a link to its folder.
   */
  async function linkedSources(): Promise<string> {
    const linked = path.join(dir, 'linked');
    for (const source of await readdir(plain)) {
      const target = path.join(plain, source);
      const folder = path.join(linked, source);
      if (source === Q1) {
        await mkdir(path.join(folder, 'nested'), { recursive: true });
        for (const file of await readdir(target)) await symlink(path.join(target, file), path.join(folder, file));
        await writeFile(path.join(folder, 'README'), 'readings of the first quarter\n');
        await writeFile(path.join(folder, 'notes.csv'), 'meter,note\n');
        await writeFile(path.join(folder, '.DS_Store'), '');
        await symlink('..', path.join(folder, 'nested', 'up'));
      } else if (source === Q2) {
        await mkdir(folder, { recursive: true });
        await symlink(target, path.join(folder, 'archive'));
        await symlink('.', path.join(folder, 'again'));
        // the same folder under a second name, as a `latest` link would be: its file is listed once
        await symlink('archive', path.join(folder, 'latest'));
      } else {
        await mkdir(linked, { recursive: true });
        await symlink(target, folder);
      }
    }
    return linked;
  }

  it('lists linked files and folders, each file once, stops at link cycles, and lists hidden files on request', async () => {
    const linked = await linkedSources();
    const storage = new LocalStorage();
    const [q1File] = await readdir(path.join(plain, Q1));
    expect((await storage.list(path.join(linked, Q1))).map((o) => o.name)).toEqual(['notes.csv', 'README', q1File]);
    expect((await storage.list(path.join(linked, Q1), { hidden: true })).map((o) => o.name)).toEqual([
      '.DS_Store',
      'notes.csv',
      'README',
      q1File,
    ]);
    const [q2File] = await readdir(path.join(plain, Q2));
    const q2 = await storage.list(path.join(linked, Q2));
    expect(q2.map((o) => o.name)).toEqual([`archive/${q2File}`]);
    // the identity is the target's: size and mtime of the file linked to
    const target = await stat(path.join(plain, Q2, q2File as string));
    expect(q2[0]).toMatchObject({ uri: path.join(linked, Q2, 'archive', q2File as string), size: target.size });
    expect(q2[0]?.etag).toBe(`${target.size}-${Math.trunc(target.mtimeMs)}`);
    // a link to a folder at the top: the folder's files
    expect((await storage.list(path.join(linked, 'tariff_unit_rates'))).length).toBeGreaterThan(0);
    // not walked below maxDepth: the linked folder's own files only, not its archive folder's
    expect((await storage.list(path.join(linked, Q2), { maxDepth: 1 })).map((o) => o.name)).toEqual([]);
    expect((await storage.list(path.join(linked, Q2), { maxDepth: 2 })).map((o) => o.name)).toEqual([`archive/${q2File}`]);
  });

  it('seeds symbolically linked files and folders like plain ones, and names the files it ignores', async () => {
    const linked = path.join(dir, 'linked');
    const warehousePath = path.join(dir, 'linked-warehouse');
    const { result, error } = await run('linked', linked, warehousePath);
    expect(error).toBeUndefined();
    expect(await queryFile(warehousePath, MASTER)).toEqual(plainMaster);
    expect(await differencesFromReference(warehousePath, plain)).toEqual({ missing: 0, extra: 0 });
    expect(noteOf(result, `seed:${Q1}`)).toBe('1 file(s) loaded, 0 removed, 3 ignored (not .parquet): .DS_Store, notes.csv, README');
    expect(noteOf(result, `seed:${Q2}`)).toBe('1 file(s) loaded, 0 removed');
    const [rows] = await queryFile(warehousePath, `select count(*)::integer as n from raw.${Q2} where _source_file like '%/archive/%'`);
    expect(rows?.n).toBeGreaterThan(0);
    await recordChaos({
      category: 'bad input',
      name: 'symbolically linked source files and folders',
      runsCompleted: '1/1',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: 'n/a (master equal to a run on plain files)',
      outcome: `seeded through the links; ${noteOf(result, `seed:${Q1}`)}`,
    });
  });

  it('refuses a symbolic link to nothing at once, naming it', async () => {
    const sources = path.join(dir, 'dangling');
    await cp(plain, sources, { recursive: true, preserveTimestamps: true });
    await symlink(path.join(dir, 'no-such-file.parquet'), path.join(sources, Q1, 'lost.parquet'));
    const { handle, error } = await run('dangling', sources, path.join(dir, 'dangling-warehouse'));
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = describeFailure(error);
    expect(failure.node).toBe(`seed:${Q1}`);
    expect(failure.reason).toMatch(
      /dangling\/smart_meter_consumption_q1\/lost\.parquet is a symbolic link to nothing \(.*no-such-file\.parquet\)/,
    );
    expect(await retries(handle)).toBe(0);
    await recordChaos({
      category: 'bad input',
      name: 'a symbolic link to nothing',
      runsCompleted: '0/1 (refused, not retried)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: 'n/a (new warehouse)',
      outcome: `${failure.node}: ${failure.reason}`,
    });
  });

  it('refuses --sources naming a file at once, not retried, saying it is a file', async () => {
    const [q1File] = await readdir(path.join(plain, Q1));
    const file = path.join(plain, Q1, q1File as string);
    const { handle, error } = await run('sources-file', file, path.join(dir, 'sources-file-warehouse'));
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = describeFailure(error);
    expect(failure.node).toMatch(/^seed:/);
    const source = failure.node?.slice('seed:'.length) ?? '';
    expect(failure.reason).toBe(
      `source ${source}: ${file} is a file, not a folder of Parquet files (source ${source} is read from ${file}/${source})`,
    );
    expect(await retries(handle)).toBe(0);
    await recordChaos({
      category: 'bad input',
      name: '--sources naming a file',
      runsCompleted: '0/1 (refused, not retried)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: 'n/a (new warehouse)',
      outcome: `${failure.node}: ${failure.reason}`,
    });
  });

  it('refuses a source location that is a file, on local disk and in S3', async () => {
    const fixture = await openWarehouseFixture('source-file-location');
    try {
      const source = fixture.project.plan.sources.find((s) => s.name === 'tariff_unit_rates')!;
      const [tariffs] = await readdir(path.join(plain, 'tariff_unit_rates'));
      const local = path.join(plain, 'tariff_unit_rates', tariffs as string);
      const localError = await fixture.writer.seedSource({ source, uri: local }).catch((err: unknown) => err);
      expect(localError).toMatchObject({
        type: 'SourceDataError',
        nonRetryable: true,
        message: `source tariff_unit_rates: ${local} is a file, not a folder of Parquet files`,
      });
      await createBucket(process.env.METERFLOW_TEST_S3_ENDPOINT as string, 'source-files');
      const s3 = 's3://source-files/sources/tariff_unit_rates/rates.parquet';
      await new S3Storage(s3SettingsFromEnv()).upload(local, s3);
      const s3Error = await fixture.writer.seedSource({ source, uri: s3 }).catch((err: unknown) => err);
      expect(s3Error).toMatchObject({
        type: 'SourceDataError',
        nonRetryable: true,
        message: `source tariff_unit_rates: ${s3} is a file, not a folder of Parquet files`,
      });
    } finally {
      fixture.close();
    }
  });

  it('reports keys in S3 that are not Parquet as ignored, like files on disk', async () => {
    const fixture = await openWarehouseFixture('source-files-s3');
    try {
      const source = fixture.project.plan.sources.find((s) => s.name === 'tariff_unit_rates')!;
      const [tariffs] = await readdir(path.join(plain, 'tariff_unit_rates'));
      const prefix = 's3://source-files/ignored/tariff_unit_rates';
      const storage = new S3Storage(s3SettingsFromEnv());
      await storage.upload(path.join(plain, 'tariff_unit_rates', tariffs as string), `${prefix}/rates.parquet`);
      await storage.write(`${prefix}/README`, 'tariffs\n');
      await storage.write(`${prefix}/.hidden.parquet`, 'not loaded');
      await storage.write(`${prefix}/2023/rates.csv`, 'a,b\n');
      const result = await fixture.writer.seedSource({ source, uri: prefix });
      expect(result.loadedFiles).toEqual([`${prefix}/rates.parquet`]);
      expect(result.ignoredFiles).toEqual(['.hidden.parquet', '2023/rates.csv', 'README']);
    } finally {
      fixture.close();
    }
  });

  it('refuses --sources naming a file from the command line within seconds, with the message', async () => {
    const [q1File] = await readdir(path.join(plain, Q1));
    const file = path.join(plain, Q1, q1File as string);
    const started = Date.now();
    // the error goes to stderr, results (none here) to stdout
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          path.join(PACKAGE_ROOT, 'bin', 'meterflow.js'),
          'run',
          '--sources',
          file,
          '--db',
          path.join(dir, 'cli-warehouse'),
          '--out',
          path.join(dir, 'cli-out'),
        ],
        { env: { ...process.env, TEMPORAL_ADDRESS: undefined }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ code: exitCode, stderr: err }));
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^error: run pipeline-\S+ failed at seed:\w+: source \w+: .+\.parquet is a file, not a folder of Parquet files/m,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  describe('a file rewritten with the same size and modification time', () => {
    const sources = () => path.join(dir, 'rewritten');
    const warehousePath = () => path.join(dir, 'rewritten-warehouse');
    let q1File: string;
    const MTIME = 1_700_000_000;

    /** The q1 file as this test writes it: one reading's consumption replaced by an expression. */
    async function writeQ1(target: string, consumption: string, meter = '', at = ''): Promise<void> {
      const original = path.join(plain, Q1, path.basename(q1File));
      const replaced = meter
        ? `case when meter_point_id = '${meter}' and settlement_timestamp_utc = timestamp '${at}' then ${consumption} else smart_meter_consumption end`
        : 'smart_meter_consumption';
      await writeParquet(target, `select * replace (${replaced} as smart_meter_consumption) from read_parquet('${original}') order by all`);
    }

    beforeAll(async () => {
      await cp(plain, sources(), { recursive: true, preserveTimestamps: true });
      const [name] = await readdir(path.join(sources(), Q1));
      q1File = path.join(sources(), Q1, name as string);
      // written the way the rewrite below is, so that one changed value can keep the size
      await writeQ1(q1File, 'smart_meter_consumption');
      // a whole second as its mtime, which utimes can give the rewritten file exactly
      await utimes(q1File, MTIME, MTIME);
    });

    it('is not noticed by a default run, and is reloaded by a --verify run that then matches a clean run', async () => {
      const first = await run('rewritten-first', sources(), warehousePath());
      expect(first.error).toBeUndefined();
      expect(await differencesFromReference(warehousePath(), sources())).toEqual({ missing: 0, extra: 0 });

      // one reading of the master, outside the hour q2 repeats, takes another reading's value: same width
      const [reading] = await queryFile(
        warehousePath(),
        `select meter_point_id, settlement_timestamp_utc::varchar as at, smart_meter_consumption as value
         from main.demand_price_elasticity where settlement_timestamp_utc < timestamp '2023-03-30' order by all limit 1`,
      );
      const candidates = await queryFile(
        warehousePath(),
        `select distinct smart_meter_consumption::varchar as value from raw.${Q1}
         where smart_meter_consumption is not null and smart_meter_consumption <> ${Number(reading?.value)} order by 1 limit 200`,
      );
      const before = await stat(q1File);
      const rewritten = `${q1File}.rewritten`;
      let sameSize = false;
      for (const candidate of candidates) {
        await writeQ1(rewritten, `${String(candidate.value)}::double`, String(reading?.meter_point_id), String(reading?.at));
        if ((await stat(rewritten)).size === before.size) {
          sameSize = true;
          break;
        }
      }
      expect(sameSize).toBe(true);
      await rename(rewritten, q1File);
      await utimes(q1File, MTIME, MTIME);
      const after = await stat(q1File);
      expect([after.size, Math.trunc(after.mtimeMs)]).toEqual([before.size, Math.trunc(before.mtimeMs)]);

      // the default identity (size and mtime) sees nothing: the old value stays in the master
      const unseen = await run('rewritten-default', sources(), warehousePath());
      expect(unseen.error).toBeUndefined();
      expect(stateOf(unseen.result, `seed:${Q1}`)).toBe('unchanged');
      expect(await differencesFromReference(warehousePath(), sources())).toEqual({ missing: 1, extra: 1 });

      // --verify hashes every file that looks unchanged and reloads the one whose content differs
      const verified = await run('rewritten-verify', sources(), warehousePath(), { verify: true });
      expect(verified.error).toBeUndefined();
      expect(noteOf(verified.result, `seed:${Q1}`)).toBe('1 file(s) loaded, 0 removed, 1 verified by checksum, 1 differed');
      expect(noteOf(verified.result, 'seed:tariff_unit_rates')).toMatch(/^no new or changed files, \d+ verified by checksum, 0 differed$/);
      expect(noteOf(verified.result, 'model:demand_price_elasticity')).toMatch(/^incremental: \d+ rows rebuilt from 2023-03-2/);
      expect(await differencesFromReference(warehousePath(), sources())).toEqual({ missing: 0, extra: 0 });
      const clean = path.join(dir, 'rewritten-clean-warehouse');
      expect((await run('rewritten-clean', sources(), clean)).error).toBeUndefined();
      expect(await queryFile(warehousePath(), MASTER)).toEqual(await queryFile(clean, MASTER));

      // the checksum recorded is the new content's: verifying again finds nothing to reload
      const again = await run('rewritten-again', sources(), warehousePath(), { verify: true });
      expect(noteOf(again.result, `seed:${Q1}`)).toBe('no new or changed files, 1 verified by checksum, 0 differed');
      await recordChaos({
        category: 'bad input',
        name: 'a file rewritten with the same size and mtime',
        runsCompleted: '5/5',
        rowsLost: 0,
        rowsDuplicated: 0,
        tablesUnchanged: 'n/a (master equal to a clean run after --verify)',
        outcome: 'unseen by a default run (1 stale row in the master); --verify reloaded it',
      });
    });
  });

  it('refuses a source file whose name DuckDB would read as a pattern of other files, naming it', async () => {
    const sources = path.join(dir, 'patterned');
    await cp(plain, sources, { recursive: true, preserveTimestamps: true });
    const [q1File] = await readdir(path.join(sources, Q1));
    // wk?.parquet beside wk1.parquet: read as a pattern, it is both files, and its rows twice in raw
    const patterned = path.join(sources, Q1, 'wk?.parquet');
    await cp(path.join(sources, Q1, q1File as string), patterned);
    const { handle, error } = await run('patterned', sources, path.join(dir, 'patterned-warehouse'));
    const failure = describeFailure(error);
    expect(failure.node).toBe(`seed:${Q1}`);
    expect(failure.reason).toBe(
      `source ${Q1}: ${patterned} holds *, ? or [, which DuckDB reads in a path as a pattern of other files: rename it`,
    );
    expect(await retries(handle)).toBe(0);
  });

  it("refuses sources kept in the lake's data folder, where maintenance would delete them, naming it", async () => {
    const warehousePath = path.join(dir, 'inside-warehouse');
    const sources = path.join(warehousePath, 'data', 'landing');
    await cp(path.join(dir, 'plain-warehouse'), warehousePath, { recursive: true });
    await cp(plain, sources, { recursive: true, preserveTimestamps: true });
    const { handle, error } = await run('inside', sources, warehousePath);
    const failure = describeFailure(error);
    expect(failure.node).toMatch(/^seed:/);
    expect(failure.reason).toMatch(
      new RegExp(
        `^source \\w+: its files \\(${sources}/\\w+\\) lie in the lake's data folder ${path.join(warehousePath, 'data')}/, where the lake's maintenance deletes`,
      ),
    );
    expect(await retries(handle)).toBe(0);
    expect((await readdir(path.join(sources, Q1))).length).toBeGreaterThan(0);
  });

  it('reads no folder name as a column: name=value folders in a source, the warehouse and the out folder change no value', async () => {
    // DuckDB reads `name=value` in a path as a hive partition and puts the value in every row
    const sources = path.join(dir, 'partitioned');
    await cp(plain, sources, { recursive: true, preserveTimestamps: true });
    const configuration = path.join(sources, 'meter_register_agreement_configuration_interval');
    const nested = path.join(configuration, 'gsp_group_id=_B');
    await mkdir(nested);
    for (const file of await readdir(configuration)) {
      if (file.endsWith('.parquet')) await rename(path.join(configuration, file), path.join(nested, file));
    }
    const warehousePath = path.join(dir, 'gsp_group_id=_A', 'warehouse');
    const { error } = await run('partitioned', sources, warehousePath, { outUri: path.join(dir, 'meters=0', 'out') });
    expect(error).toBeUndefined();
    expect(await queryFile(warehousePath, MASTER)).toEqual(plainMaster);
    const weekly = 'select period_start, meters from main.actual_vs_estimated_weekly order by all';
    expect(await queryFile(warehousePath, weekly)).toEqual(await queryFile(path.join(dir, 'plain-warehouse'), weekly));
    const columns = `select table_name, column_name from information_schema.columns where column_name in ('gsp_group_id', 'meters') order by all`;
    expect(await queryFile(warehousePath, columns)).toEqual(await queryFile(path.join(dir, 'plain-warehouse'), columns));
  });

  it("refuses sources reached through a link into the lake's data folder, as the folder they are", async () => {
    const warehousePath = path.join(dir, 'linked-into-warehouse');
    const landing = path.join(warehousePath, 'data', 'landing');
    await cp(path.join(dir, 'plain-warehouse'), warehousePath, { recursive: true });
    await cp(plain, landing, { recursive: true, preserveTimestamps: true });
    const link = path.join(dir, 'landing-link');
    await symlink(landing, link);
    const { error } = await run('linked-inside', link, warehousePath);
    expect(describeFailure(error).reason).toMatch(new RegExp(`^source \\w+: its files \\(${link}/\\w+\\) lie in the lake's data folder`));
  });

  it("refuses a warehouse kept in a source's folder, whose files the source would read as its own, naming both", async () => {
    const sources = path.join(dir, 'around-warehouse');
    await cp(plain, sources, { recursive: true, preserveTimestamps: true });
    const warehousePath = path.join(sources, Q1, 'warehouse');
    const { handle, error } = await run('around', sources, warehousePath);
    const failure = describeFailure(error);
    expect(failure.node).toBe(`seed:${Q1}`);
    expect(failure.reason).toBe(
      `source ${Q1}: the lake's data folder ${path.join(warehousePath, 'data')}/ lies in its folder ${path.join(sources, Q1)}/, ` +
        "so the source would read the lake's own files as its own: keep the warehouse (--db) outside --sources' folders",
    );
    expect(await retries(handle)).toBe(0);
  });

  describe('a warehouse run against another sources folder', () => {
    const warehousePath = () => path.join(dir, 'moved-warehouse');
    const moved = () => path.join(dir, 'moved');
    /** Where the rows of a raw table came from: the folders of their files. */
    const folders = (table: string) =>
      queryFile(warehousePath(), `select distinct regexp_replace(_source_file, '/[^/]*$', '') as folder from raw.${table} order by 1`);

    beforeAll(async () => {
      // the plain warehouse as a copy (its folder is self-contained), and the same files in another folder
      await cp(path.join(dir, 'plain-warehouse'), warehousePath(), { recursive: true });
      await cp(plain, moved(), { recursive: true, preserveTimestamps: true });
    });

    it('is refused at the first source, naming both folders, not retried, and changes nothing', async () => {
      const { handle, error } = await run('moved-refused', moved(), warehousePath());
      const failure = describeFailure(error);
      const [, source, from, to] =
        /^source (\w+): this warehouse holds [\d,]+ rows of it from \d+ file\(s\) in (\S+), but this run reads it from (\S+): going on would drop those rows\. Nothing was changed\./.exec(
          failure.reason,
        ) ?? [];
      expect(failure.node).toBe(`seed:${source}`);
      expect([from, to]).toEqual([path.join(plain, source as string), path.join(moved(), source as string)]);
      expect(failure.reason).toContain('run again with --sources-moved');
      expect(await retries(handle)).toBe(0);
      expect(await queryFile(warehousePath(), MASTER)).toEqual(plainMaster);
      expect(await folders(Q1)).toEqual([{ folder: path.join(plain, Q1) }]);
      // a run that names the old folder goes on as before, with nothing to load (spelt otherwise too)
      const again = await run('moved-old-folder', `${plain}/./`, warehousePath());
      expect(again.error).toBeUndefined();
      expect(stateOf(again.result, `seed:${Q1}`)).toBe('unchanged');
    });

    it('with sourcesMoved loads the new folder, drops the old rows, and equals a clean run; a renamed file then is an ordinary change', async () => {
      const first = await run('moved-accepted', moved(), warehousePath(), { sourcesMoved: true });
      expect(first.error).toBeUndefined();
      expect(noteOf(first.result, `seed:${Q1}`)).toBe('1 file(s) loaded, 1 removed');
      expect(await queryFile(warehousePath(), MASTER)).toEqual(plainMaster);
      expect(await folders(Q1)).toEqual([{ folder: path.join(moved(), Q1) }]);
      // the new folder is now the one its rows came from: no flag needed, nothing to load
      const next = await run('moved-next', moved(), warehousePath());
      expect(next.error).toBeUndefined();
      expect(stateOf(next.result, `seed:${Q1}`)).toBe('unchanged');
      // a snapshot file replaced under another name in the same folder is not a move
      const [name] = await readdir(path.join(moved(), Q1));
      await rename(path.join(moved(), Q1, name as string), path.join(moved(), Q1, `renamed-${name as string}`));
      const renamed = await run('moved-renamed', moved(), warehousePath());
      expect(renamed.error).toBeUndefined();
      expect(noteOf(renamed.result, `seed:${Q1}`)).toBe('1 file(s) loaded, 1 removed');
      expect(await queryFile(warehousePath(), MASTER)).toEqual(plainMaster);
      await recordChaos({
        category: 'bad input',
        name: 'a warehouse run against another sources folder',
        runsCompleted: '4/5 (the one refused was meant to be)',
        rowsLost: 0,
        rowsDuplicated: 0,
        tablesUnchanged: 'yes (the refused run); the master equal to a clean run after --sources-moved',
        outcome: 'refused, naming both folders; loaded from the new folder with --sources-moved',
      });
    });
  });
});

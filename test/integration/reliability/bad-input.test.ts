// Bad input, each refused with a message naming the file, column or model, and the warehouse's
// published tables byte-for-byte as they were (checksums of their contents before and after).
import { WorkflowFailedError } from '@temporalio/client';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createWriterActivities } from '../../../src/activities';
import { describeFailure, waitForPipeline } from '../../../src/client';
import { PACKAGE_ROOT } from '../../../src/config';
import { generateSampleData } from '../../../src/generator/generate';
import { createLogger } from '../../../src/logger';
import { loadProject } from '../../../src/project/load';
import { type createStorageResolver, LocalStorage } from '../../../src/storage';
import { Warehouse } from '../../../src/warehouse/warehouse';
import type { PipelineResult } from '../../../src/contract/run';
import { recordChaos, warehouseChecksums } from '../../support/chaos';
import { copyOfModels, editFile, queryFile, tempDir, writeParquet } from '../../support/files';
import {
  connectToTestServer,
  errorWithWorkers,
  startRun,
  startWorkers,
  type RunningWorkers,
  type TemporalTestContext,
} from '../../support/temporal';

const READINGS = `select meter_point_id, settlement_timestamp_utc, smart_meter_consumption`;

describe('bad input is refused and loses nothing', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let goodSources: string;
  let warehousePath: string;
  let baseline: Record<string, string>;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('bad-input');
    goodSources = path.join(dir, 'good');
    warehousePath = path.join(dir, 'warehouse-warehouse');
    await generateSampleData({ outDir: goodSources, meters: 10, from: '2023-03-25', to: '2023-04-05', seed: 17 });
    const workers = await startWorkers(temporal, { label: 'bad-input-good', warehousePath });
    try {
      await run(workers, goodSources);
    } finally {
      await workers.stop();
    }
    baseline = await warehouseChecksums(warehousePath, { raw: true });
  });

  afterAll(() => temporal.close());

  const run = async (workers: RunningWorkers, sourcesUri: string): Promise<PipelineResult> =>
    waitForPipeline(await startRun(temporal, workers, { sourcesUri, outUri: path.join(dir, 'out') }));

  /**
   * The good sources with one change, made in place (so every other file keeps its identity and is
   * not reloaded); the next test starts from the good sources again.
   */
  async function sourcesWith(label: string, change: (dir: string) => Promise<void>): Promise<string> {
    await rm(pristine(), { recursive: true, force: true });
    await cp(goodSources, pristine(), { recursive: true, preserveTimestamps: true });
    restore = async () => {
      await rm(goodSources, { recursive: true, force: true });
      await cp(pristine(), goodSources, { recursive: true, preserveTimestamps: true });
    };
    await change(goodSources);
    void label;
    return goodSources;
  }
  let restore: (() => Promise<void>) | undefined;
  const pristine = () => path.join(dir, 'pristine');
  afterEach(async () => {
    await restore?.();
    restore = undefined;
  });

  async function expectRefused(name: string, sources: string, node: RegExp, reason: RegExp, projectDir?: string): Promise<void> {
    const label = name.replace(/\W+/g, '-');
    const error = await errorWithWorkers(temporal, { label, warehousePath, ...(projectDir ? { projectDir } : {}) }, (workers) =>
      run(workers, sources),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = describeFailure(error);
    expect(failure.node).toMatch(node);
    expect(failure.reason).toMatch(reason);
    // a refused file leaves its source's seeded table as it was too; later refusals (tests, SQL)
    // happen after seeding accepted well-formed files, and leave every published table as it was
    const seedRefusal = /^seed:/.test(failure.node ?? '');
    const after = await warehouseChecksums(warehousePath, { raw: seedRefusal });
    expect(after).toEqual(
      seedRefusal ? baseline : Object.fromEntries(Object.entries(baseline).filter(([name]) => name.startsWith('main.'))),
    );
    await recordChaos({
      category: 'bad input',
      name,
      runsCompleted: '0/1 (refused)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: `${Object.keys(after).length}/${Object.keys(after).length}${seedRefusal ? ' (raw and main)' : ' (main)'}`,
      outcome: `${failure.node}: ${failure.reason.split('\n')[0]?.slice(0, 120)}`,
    });
  }

  const q1 = (sources: string) => path.join(sources, 'smart_meter_consumption_q1');

  it('refuses a corrupt Parquet file, naming it', async () => {
    const sources = await sourcesWith('corrupt', (d) => writeFile(path.join(q1(d), 'corrupt.parquet'), 'PAR1 this is not parquet at all'));
    await expectRefused(
      'corrupt Parquet file',
      sources,
      /^seed:smart_meter_consumption_q1$/,
      /corrupt\.parquet is not a readable Parquet file/,
    );
  });

  it('refuses a truncated file, naming it', async () => {
    const sources = await sourcesWith('truncated', async (d) => {
      const [file] = await readdir(q1(d));
      const bytes = await readFile(path.join(q1(d), file as string));
      await writeFile(path.join(q1(d), 'truncated.parquet'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    });
    await expectRefused(
      'truncated file',
      sources,
      /^seed:smart_meter_consumption_q1$/,
      /truncated\.parquet is not a readable Parquet file/,
    );
  });

  it('refuses an empty file, naming it', async () => {
    const sources = await sourcesWith('empty', (d) => writeFile(path.join(q1(d), 'empty.parquet'), ''));
    await expectRefused('empty file', sources, /^seed:smart_meter_consumption_q1$/, /empty\.parquet is not a readable Parquet file/);
  });

  it('refuses a missing source folder, naming the location', async () => {
    const sources = await sourcesWith('missing-folder', (d) => rm(path.join(d, 'tariff_unit_rates'), { recursive: true }));
    await expectRefused(
      'missing source folder',
      sources,
      /^seed:tariff_unit_rates$/,
      /source tariff_unit_rates: no Parquet files at .*good\/tariff_unit_rates \(no such folder\)$/,
    );
  });

  it('refuses a file without a contract column, naming file and column', async () => {
    const sources = await sourcesWith('missing-column', (d) =>
      writeParquet(
        path.join(q1(d), 'no-consumption.parquet'),
        `select '1' as meter_point_id, timestamp '2023-03-26' as settlement_timestamp_utc`,
      ),
    );
    await expectRefused(
      'missing column',
      sources,
      /^seed:smart_meter_consumption_q1$/,
      /no-consumption\.parquet has no column 'smart_meter_consumption'/,
    );
  });

  it('refuses a column of the wrong type, naming file, column and both types', async () => {
    const sources = await sourcesWith('wrong-type', (d) =>
      writeParquet(
        path.join(q1(d), 'text.parquet'),
        `select '1' as meter_point_id, timestamp '2023-03-26' as settlement_timestamp_utc, '0.5' as smart_meter_consumption`,
      ),
    );
    await expectRefused(
      'column of the wrong type',
      sources,
      /^seed:/,
      /text\.parquet column 'smart_meter_consumption' is VARCHAR, the contract says DOUBLE/,
    );
  });

  it('loads a file with a column the contract does not list, leaving the column out and saying so', async () => {
    // the same readings again (so the answers cannot change) with a column of their own
    const sources = await sourcesWith('extra-column', async (d) => {
      const [file] = await readdir(q1(d));
      const first = path.join(q1(d), file as string).replace(/'/g, "''");
      await writeParquet(path.join(q1(d), 'extra.parquet'), `${READINGS}, 'x' as meter_note from read_parquet('${first}') limit 3`);
    });
    const warehouse = path.join(dir, 'extra-column-warehouse');
    const workers = await startWorkers(temporal, { label: 'extra-column', warehousePath: warehouse });
    try {
      const result = await run(workers, sources);
      const seed = result.nodes.find((n) => n.id === 'seed:smart_meter_consumption_q1');
      expect(seed?.warnings).toEqual([
        expect.stringMatching(
          /extra\.parquet has a column 'meter_note' that source smart_meter_consumption_q1's columns \(each with a data_type\) do not list: not loaded$/,
        ),
      ]);
      // (the quarter's file and the new one, into a warehouse of its own)
      expect(seed?.note).toBe('2 file(s) loaded, 0 removed');
    } finally {
      await workers.stop();
    }
    const columns = await queryFile(
      warehouse,
      `select column_name from information_schema.columns where table_name = 'smart_meter_consumption_q1'`,
    );
    expect(columns.map((c) => c.column_name)).not.toContain('meter_note');
    const after = await warehouseChecksums(warehouse);
    expect(after['main.demand_price_elasticity']).toBe(baseline['main.demand_price_elasticity']);
  });

  it('refuses timestamps with a time zone', async () => {
    const sources = await sourcesWith('time-zone', (d) =>
      writeParquet(
        path.join(q1(d), 'tz.parquet'),
        `select '1' as meter_point_id, timestamptz '2023-03-26 00:00:00+01' as settlement_timestamp_utc, 0.5::double as smart_meter_consumption`,
      ),
    );
    await expectRefused(
      'timestamps with a time zone',
      sources,
      /^seed:/,
      /tz\.parquet column 'settlement_timestamp_utc' is TIMESTAMP WITH TIME ZONE.*without a time zone/,
    );
  });

  it('refuses NULL keys, naming file and column', async () => {
    const sources = await sourcesWith('null-keys', (d) =>
      writeParquet(
        path.join(q1(d), 'null-meter.parquet'),
        `select null::varchar as meter_point_id, timestamp '2023-03-26' as settlement_timestamp_utc, 0.5::double as smart_meter_consumption`,
      ),
    );
    await expectRefused(
      'NULL keys',
      sources,
      /^seed:smart_meter_consumption_q1$/,
      /null-meter\.parquet fails not_null on column 'meter_point_id'/,
    );
  });

  it('refuses duplicate readings that disagree in value across overlapping files', async () => {
    const sources = await sourcesWith('disagreeing', async (d) => {
      const q2 = path.join(d, 'smart_meter_consumption_q2');
      await writeParquet(
        path.join(q2, 'disagrees.parquet'),
        `${READINGS.replace('smart_meter_consumption', 'smart_meter_consumption + 1 as smart_meter_consumption')} from read_parquet('${q1(d)}/*.parquet') where smart_meter_consumption is not null limit 3`,
      );
    });
    await expectRefused(
      'duplicate readings that disagree',
      sources,
      /^test:assert_overlapping_readings_agree$/,
      // the month's test activity failed itself, naming the month its failing rows are in
      /data tests of assert_overlapping_readings_agree for 2023-\d\d failed: .*3 failing rows/,
    );
  });

  it('refuses a model with a SQL error, naming model and file', async () => {
    const broken = await copyOfModels('sql-error');
    await editFile(path.join(broken, 'analytics', 'deviation_by_gsp_group.sql'), (sql) =>
      sql.replace(
        "{{ deviation_distribution('gsp_group_id') }}",
        "select gsp_group_id, count(no_such_column) as half_hours from {{ ref('demand_price_elasticity') }} group by 1",
      ),
    );
    await expectRefused(
      'model with a SQL error',
      goodSources,
      /^analytics:deviation_by_gsp_group$/,
      /analytics model deviation_by_gsp_group: Binder Error: .*no_such_column/,
      broken,
    );
  });

  it('stops at a failing error-severity data test, before the model is published', async () => {
    const broken = await copyOfModels('failing-test');
    await editFile(path.join(broken, 'master', 'demand_price_elasticity.yml'), (yaml) =>
      yaml.replace("expression: 'estimated_half_hour_consumption > 0'", "expression: 'smart_meter_consumption < 0'"),
    );
    await expectRefused(
      'failing data test (error)',
      goodSources,
      /^test:demand_price_elasticity$/,
      /data tests of demand_price_elasticity failed: expression_is_true_demand_price_elasticity/,
      broken,
    );
  });

  it('refuses a ref to nothing before any worker takes work', async () => {
    const broken = await copyOfModels('ref-to-nothing');
    await editFile(path.join(broken, 'analytics', 'meter_anomalies.sql'), (sql) =>
      sql.replace("ref('meter_readings_by_month')", "ref('nothing_here')"),
    );
    await expect(startWorkers(temporal, { label: 'ref-nothing', warehousePath, projectDir: broken })).rejects.toThrow(
      "analytics/meter_anomalies.sql: ref('nothing_here') names no model in the project",
    );
    const after = await warehouseChecksums(warehousePath, { raw: true });
    expect(after).toEqual(baseline);
    await recordChaos({
      category: 'bad input',
      name: 'ref to nothing',
      runsCompleted: '0/0 (workers refuse to start)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: `${Object.keys(after).length}/${Object.keys(baseline).length}`,
      outcome: "analytics/meter_anomalies.sql: ref('nothing_here') names no model",
    });
  });

  /** The writer's seed of smart_meter_consumption_q1 from these sources through this storage: what it threw. */
  async function seedQ1Through(storage: ReturnType<typeof createStorageResolver>, sources: string): Promise<unknown> {
    const warehouse = await Warehouse.open(warehousePath);
    try {
      const project = await loadProject(path.join(PACKAGE_ROOT, 'models'));
      const writer = createWriterActivities({ warehouse, project, storage, logger: createLogger('test', 'silent') });
      const source = project.plan.sources.find((s) => s.name === 'smart_meter_consumption_q1')!;
      return await writer.seedSource({ source, uri: path.join(sources, 'smart_meter_consumption_q1') }).catch((err: unknown) => err);
    } finally {
      warehouse.close();
    }
  }

  it('retries, with the file named, when a source file disappears while it is seeded', async () => {
    const sources = await sourcesWith('vanishing', async (d) => {
      const [file] = await readdir(q1(d));
      await cp(path.join(q1(d), file as string), path.join(q1(d), 'vanishing.parquet'));
    });
    const vanishing = path.join(sources, 'smart_meter_consumption_q1', 'vanishing.parquet');
    // the file is listed, then deleted before it is read, as when a producer replaces it
    const local = new LocalStorage();
    const storage = {
      forUri: () => ({
        ...local,
        list: local.list.bind(local),
        stat: local.stat.bind(local),
        localPath: async (object: Parameters<LocalStorage['localPath']>[0]) => {
          if (object.uri === vanishing) await rm(vanishing, { force: true });
          return local.localPath(object);
        },
      }),
    } as unknown as ReturnType<typeof createStorageResolver>;
    const error = await seedQ1Through(storage, sources);
    expect((error as Error).message).toMatch(/vanishing\.parquet disappeared while it was being seeded; retrying with a fresh listing/);
    expect((error as { nonRetryable?: boolean }).nonRetryable).toBeUndefined();
    const after = await warehouseChecksums(warehousePath, { raw: true });
    expect(after).toEqual(baseline);
    await recordChaos({
      category: 'bad input',
      name: 'a source file that disappears mid-run',
      runsCompleted: 'retried with a fresh listing',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: `${Object.keys(after).length}/${Object.keys(baseline).length}`,
      outcome: 'retryable: file disappeared while it was being seeded',
    });
  });

  it('retries, undoing the load, when a source file is replaced while it is seeded', async () => {
    const sources = await sourcesWith('replaced', async (d) => {
      const [file] = await readdir(q1(d));
      await cp(path.join(q1(d), file as string), path.join(q1(d), 'replaced.parquet'));
    });
    const replaced = path.join(sources, 'smart_meter_consumption_q1', 'replaced.parquet');
    const [other] = await readdir(path.join(sources, 'smart_meter_consumption_q2'));
    // the file is listed and read; then a producer writes another content under its name
    const local = new LocalStorage();
    let rewritten = false;
    const storage = {
      forUri: () => ({
        ...local,
        list: local.list.bind(local),
        localPath: local.localPath.bind(local),
        stat: async (uri: string) => {
          if (uri === replaced && !rewritten) {
            rewritten = true;
            await cp(path.join(sources, 'smart_meter_consumption_q2', other as string), replaced);
          }
          return local.stat(uri);
        },
      }),
    } as unknown as ReturnType<typeof createStorageResolver>;
    const error = await seedQ1Through(storage, sources);
    expect(rewritten).toBe(true);
    expect((error as Error).message).toMatch(/replaced\.parquet changed while it was being seeded; retrying with a fresh listing/);
    expect((error as { nonRetryable?: boolean }).nonRetryable).toBeUndefined();
    expect(await warehouseChecksums(warehousePath, { raw: true })).toEqual(baseline);
  });

  it('reports a failing warn-severity test in the result and completes', async () => {
    const warned = await copyOfModels('warn-test');
    await editFile(path.join(warned, 'analytics', '_analytics.yml'), (yaml) =>
      yaml
        .replace("expression: 'missing_share between 0 and 1'", "expression: 'missing_share < 0'")
        .replace(
          "- expression_is_true: { arguments: { expression: 'missing_share < 0' } }",
          "- expression_is_true: { arguments: { expression: 'missing_share < 0' }, config: { severity: warn } }",
        ),
    );
    const workers = await startWorkers(temporal, { label: 'warn', warehousePath: path.join(dir, 'warn-warehouse'), projectDir: warned });
    try {
      const result = await run(workers, goodSources);
      const warning = result.dataTests.find((t) => t.status === 'warn' && t.target === 'meter_anomalies');
      expect(warning).toMatchObject({ test: 'expression_is_true_meter_anomalies_2', status: 'warn' });
      expect(result.nodes.find((n) => n.id === 'test:meter_anomalies')?.note).toMatch(
        /expression_is_true_meter_anomalies_2 \(\d+ failing rows?, warn\)/,
      );
      expect(result.nodes.find((n) => n.id === 'publish:run')?.state).toBe('succeeded');
    } finally {
      await workers.stop();
    }
  });

  /** Readings dated 1900 and 2200, in a file of their own among the good sources' first quarter. */
  const farReadings = (sources: string) =>
    writeParquet(
      path.join(q1(sources), 'far-readings.parquet'),
      `select '1012000000001' as meter_point_id, t as settlement_timestamp_utc, 0.5::double as smart_meter_consumption
       from (values (timestamp '1900-01-01'), (timestamp '2200-01-01')) v(t)`,
    );

  /** A copy of the project whose readings sources have this event_time_window. */
  async function projectWithWindow(label: string, window: string): Promise<string> {
    const project = await copyOfModels(label);
    await editFile(path.join(project, 'staging', '_sources.yml'), (yaml) =>
      yaml.replace(/event_time_window: &reading_window\n(?: {12}.*\n)+/, `event_time_window: &reading_window ${window}\n`),
    );
    return project;
  }

  it("refuses readings outside their source's event-time window as the file is seeded, naming the file and a reading", async () => {
    const sources = await sourcesWith('far dates', farReadings);
    await expectRefused(
      'readings in 1900 and 2200',
      sources,
      /^seed:smart_meter_consumption_q1$/,
      /^source smart_meter_consumption_q1: \S*far-readings\.parquet fails its event_time_window \(from \d{4}-\S+, before \d{4}-\S+\) on column 'settlement_timestamp_utc' \(2 rows\); e\.g\. meter_point_id=1012000000001, settlement_timestamp_utc=1900-01-01 00:00:00, smart_meter_consumption=0\.5/,
    );
  });

  it('sets readings outside the window aside when its severity is warn, and completes', async () => {
    const sources = path.join(dir, 'far-dates-warn');
    await cp(goodSources, sources, { recursive: true });
    await farReadings(sources);
    const project = await projectWithWindow(
      'window-warn',
      "{ from: 'logical_date - 20 years', to: 'logical_date + 1 year', severity: warn }",
    );
    const warehouse = path.join(dir, 'far-dates-warn-warehouse');
    const workers = await startWorkers(temporal, { label: 'window-warn', warehousePath: warehouse, projectDir: project });
    try {
      const result = await run(workers, sources);
      expect(result.nodes.filter((n) => n.state === 'failed')).toEqual([]);
    } finally {
      await workers.stop();
    }
    const rejected = await queryFile(
      warehouse,
      `select test, uri, json_extract_string("row", '$.settlement_timestamp_utc') as event_time from meterflow.rejected_rows order by event_time`,
    );
    expect(rejected).toEqual(
      ['1900-01-01', '2200-01-01'].map((day) => ({
        test: 'event_time_window_smart_meter_consumption_q1',
        uri: expect.stringMatching(/far-readings\.parquet$/),
        event_time: expect.stringContaining(day),
      })),
    );
  });

  it('with the window opened wide, still refuses to fan out thousands of months, naming the file', async () => {
    // the build's own bound, for a project whose window lets such readings in
    const sources = path.join(dir, 'far-dates');
    await cp(goodSources, sources, { recursive: true });
    await farReadings(sources);
    const project = await projectWithWindow('window-wide', "{ from: '1800-01-01', to: '2300-01-01' }");
    const error = await errorWithWorkers(
      temporal,
      { label: 'far-dates', warehousePath: path.join(dir, 'far-dates-warehouse'), projectDir: project },
      (workers) => run(workers, sources),
    );
    const failure = describeFailure(error);
    expect(failure.node).toBe('model:stg_smart_meter_consumption');
    expect(failure.reason).toMatch(
      /would be built over 3601 months, 1900-01 to 2200-01, more than the 600 a run builds \(METERFLOW_MAX_BUILD_MONTHS\): .*from 1900-01-01 00:00:00 \(\S*far-readings\.parquet\) to 2200-01-01 00:00:00 \(\S*far-readings\.parquet\)/,
    );
  });
});

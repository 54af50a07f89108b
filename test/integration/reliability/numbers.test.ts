// Numbers checked at the door: a source file with NaN, ±Infinity, an absurd value or an off-grid
// timestamp is refused with its file and column named, a negative reading is set aside and counted,
// and a non-finite analytics result stops the run; the published tables are what a clean run leaves.
import { WorkflowFailedError } from '@temporalio/client';
import { cp, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { createWriterActivities } from '../../../src/activities';
import { describeFailure, waitForPipeline } from '../../../src/client';
import { defaultProjectDir } from '../../../src/config';
import { createLogger } from '../../../src/logger';
import { loadProject } from '../../../src/project/load';
import { createStorageResolver } from '../../../src/storage';
import { Warehouse } from '../../../src/warehouse/warehouse';
import { generateSampleData } from '../../../src/generator/generate';
import type { PipelineResult } from '../../../src/contract/run';
import type { DataTestFailure } from '../../../src/contract/activities';
import { recordChaos, warehouseChecksums } from '../../support/chaos';
import { copyOfModels, editFile, queryFile, tempDir, writeParquet } from '../../support/files';
import { openWarehouseFixture } from '../../support/warehouse';
import {
  connectToTestServer,
  errorWithWorkers,
  startRun,
  startWorkers,
  type RunningWorkers,
  type TemporalTestContext,
} from '../../support/temporal';

/** Rows of a query over Parquet files, in a DuckDB of its own. */
const queryParquet = (query: string) => queryFile(':memory:', query);

/** The reading every case spoils: a meter's half hour in the middle of the Q1 file. */
interface Spoiled {
  readonly meterPointId: string;
  readonly settlementTimestamp: string;
}

describe('numbers are checked at the door', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let goodSources: string;
  let warehousePath: string;
  let baseline: Record<string, string>;
  let spoiled: Spoiled;

  const q1 = (sources: string) => path.join(sources, 'smart_meter_consumption_q1');
  const sourceFile = async (folder: string) => path.join(folder, (await readdir(folder)).find((f) => f.endsWith('.parquet')) as string);

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('numbers');
    goodSources = path.join(dir, 'good');
    warehousePath = path.join(dir, 'warehouse-warehouse');
    await generateSampleData({ outDir: goodSources, meters: 10, from: '2023-03-25', to: '2023-04-05', seed: 23 });
    await cp(goodSources, pristine(), { recursive: true, preserveTimestamps: true });
    const [row] = await queryParquet(
      `select meter_point_id, settlement_timestamp_utc::varchar as ts from read_parquet('${await sourceFile(q1(goodSources))}')
       where smart_meter_consumption > 0 order by meter_point_id, settlement_timestamp_utc limit 1 offset 100`,
    );
    spoiled = { meterPointId: String(row?.meter_point_id), settlementTimestamp: String(row?.ts) };
    const workers = await startWorkers(temporal, { label: 'numbers-good', warehousePath });
    try {
      await run(workers, goodSources);
    } finally {
      await workers.stop();
    }
    baseline = await warehouseChecksums(warehousePath, { raw: true });
  });

  afterAll(() => temporal.close());

  const pristine = () => path.join(dir, 'pristine');
  afterEach(async () => {
    await rm(goodSources, { recursive: true, force: true });
    await cp(pristine(), goodSources, { recursive: true, preserveTimestamps: true });
  });

  const run = async (workers: RunningWorkers, sourcesUri: string): Promise<PipelineResult> =>
    waitForPipeline(await startRun(temporal, workers, { sourcesUri, outUri: path.join(dir, 'out') }));

  /**
   * Replace a source's one file with a copy in which the spoiled reading's row has `column` set to
   * `value` (an SQL expression over the row); the file keeps its name, so it counts as replaced.
   */
  async function replaceFile(source: string, column: string, value: string, where: string): Promise<string> {
    const file = await sourceFile(path.join(goodSources, source));
    const spoiledCopy = path.join(dir, `spoiled-${source}.parquet`);
    await writeParquet(
      spoiledCopy,
      `select * replace (case when ${where} then ${value} else ${column} end as ${column}) from read_parquet('${file}')`,
    );
    await rename(spoiledCopy, file);
    return file;
  }

  const spoiledRow = () =>
    `meter_point_id = '${spoiled.meterPointId}' and settlement_timestamp_utc = timestamp '${spoiled.settlementTimestamp}'`;
  const replaceReading = (value: string) => replaceFile('smart_meter_consumption_q1', 'smart_meter_consumption', value, spoiledRow());

  async function expectRefusedAtSeed(name: string, source: string, reason: RegExp): Promise<void> {
    const error = await errorWithWorkers(temporal, { label: name.replace(/\W+/g, '-'), warehousePath }, (workers) =>
      run(workers, goodSources),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = describeFailure(error);
    expect(failure.node).toBe(`seed:${source}`);
    expect(failure.reason).toMatch(reason);
    expect(failure.reason).toContain(`source ${source}: `);
    // the refused file's raw table and every published table are as the clean run left them
    const after = await warehouseChecksums(warehousePath, { raw: true });
    expect(after).toEqual(baseline);
    await recordChaos({
      category: 'bad input',
      name,
      runsCompleted: '0/1 (refused)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: `${Object.keys(after).length}/${Object.keys(baseline).length} (raw and main)`,
      outcome: `${failure.node}: ${failure.reason.split('\n')[0]?.slice(0, 160)}`,
    });
  }

  it('refuses a reading of NaN, naming source, file, column, count and the row', async () => {
    const file = await replaceReading(`'nan'::double`);
    await expectRefusedAtSeed(
      'a NaN reading',
      'smart_meter_consumption_q1',
      new RegExp(
        `source smart_meter_consumption_q1: ${file.replace(/[.]/g, '\\.')} column 'smart_meter_consumption' holds 1 non-finite value .*meter_point_id=${spoiled.meterPointId}.*smart_meter_consumption=nan`,
        'i',
      ),
    );
  });

  it('refuses a reading of +Infinity', async () => {
    const file = await replaceReading(`'infinity'::double`);
    await expectRefusedAtSeed(
      'an infinite reading',
      'smart_meter_consumption_q1',
      new RegExp(`${path.basename(file)} column 'smart_meter_consumption' holds 1 non-finite value .*smart_meter_consumption=inf`, 'i'),
    );
  });

  it('refuses a reading of 1e300 kWh in a half hour, naming the test and its bound', async () => {
    const file = await replaceReading('1e300');
    await expectRefusedAtSeed(
      'a reading of 1e300 kWh',
      'smart_meter_consumption_q1',
      new RegExp(
        `${path.basename(file)} fails accepted_range \\(max_value 1000\\) on column 'smart_meter_consumption' \\(1 row\\).*meter_point_id=${spoiled.meterPointId}.*smart_meter_consumption=1e\\+300`,
      ),
    );
  });

  it('refuses a reading off the half-hour grid', async () => {
    const file = await replaceFile(
      'smart_meter_consumption_q1',
      'settlement_timestamp_utc',
      `settlement_timestamp_utc + interval 10 minute`,
      spoiledRow(),
    );
    await expectRefusedAtSeed(
      'a reading off the half-hour grid',
      'smart_meter_consumption_q1',
      new RegExp(`${path.basename(file)} fails on_time_grid \\(30 minutes\\) on column 'settlement_timestamp_utc' \\(1 row\\)`),
    );
  });

  it('refuses a tariff rate off the half-hour grid, which would price no half hour (a probe found it priced none, silently)', async () => {
    const file = await replaceFile('tariff_unit_rates', 'valid_from', 'valid_from + interval 15 minute', 'is_variable');
    await expectRefusedAtSeed(
      'a tariff rate from 00:15',
      'tariff_unit_rates',
      new RegExp(`${path.basename(file)} fails on_time_grid \\(30 minutes\\) on column 'valid_from' \\(\\d+ rows\\)`),
    );
  });

  it('stops the master on two rates of one product over the same half hour, naming them, and publishes nothing', async () => {
    const folder = path.join(goodSources, 'tariff_unit_rates');
    // a half-hourly rate inside a longer one of a metered product (starting with none of its other rates:
    // stg_tariff_unit_rates' uniqueness test refuses that)
    const [metered] = await queryFile(
      warehousePath,
      `select gsp_group_id, product_category, is_variable, min(settlement_timestamp_utc)::varchar as ts
       from main.demand_price_elasticity where not is_variable and unit_rate_pence_per_kwh is not null group by all order by 1, 2 limit 1`,
    );
    await writeParquet(
      path.join(folder, 'overlapping-rate.parquet'),
      `select '${String(metered?.gsp_group_id)}'::varchar as gsp_group_id, '${String(metered?.product_category)}'::varchar as product_category,
       ${String(metered?.is_variable)} as is_variable, timestamp '${String(metered?.ts)}' + interval 1 hour as valid_from,
       timestamp '${String(metered?.ts)}' + interval 90 minute as valid_to, 12.5::double as unit_rate_pence_per_kwh`,
    );
    expect(metered).toBeDefined();
    const error = await errorWithWorkers(temporal, { label: 'overlapping-tariffs', warehousePath }, (workers) => run(workers, goodSources));
    const failure = describeFailure(error);
    expect(failure.node).toMatch(/demand_price_elasticity/);
    expect(failure.reason).toMatch(
      /tariff_unit_rates: two rates for gsp_group_id \S+, product_category \S+, is_variable false at [\d-]+ [\d:]+: a half-hourly rate and one valid from [\d-]+ [\d:]+ to [\d-]+ [\d:]+; remove one of them/,
    );
    // the master and every other published table as the clean run left them (the new file's rows stay loaded in raw)
    const published = Object.fromEntries(Object.entries(baseline).filter(([table]) => table.startsWith('main.')));
    expect(await warehouseChecksums(warehousePath)).toEqual(published);
    // the file taken away, the next run gives the clean run's tables, raw ones too
    await rm(path.join(folder, 'overlapping-rate.parquet'));
    const workers = await startWorkers(temporal, { label: 'overlapping-tariffs-gone', warehousePath });
    try {
      expect((await run(workers, goodSources)).nodes.filter((n) => n.state === 'failed')).toEqual([]);
    } finally {
      await workers.stop();
    }
    expect(await warehouseChecksums(warehousePath, { raw: true })).toEqual(baseline);
  });

  it('refuses a NaN in estimated annual consumption and a coefficient above 1', async () => {
    const eac = await replaceFile('estimated_annual_consumption_interval', 'estimated_annual_consumption', `'nan'::double`, 'true');
    await expectRefusedAtSeed(
      'a NaN estimated annual consumption',
      'estimated_annual_consumption_interval',
      new RegExp(`${path.basename(eac)} column 'estimated_annual_consumption' holds \\d+ non-finite values?`),
    );
    await rm(goodSources, { recursive: true, force: true });
    await cp(pristine(), goodSources, { recursive: true, preserveTimestamps: true });
    const ppc = await replaceFile(
      'period_profile_coefficients',
      'percentage_of_annual_consumption',
      '1.5',
      `settlement_timestamp_utc = timestamp '${spoiled.settlementTimestamp}'`,
    );
    await expectRefusedAtSeed(
      'a profile coefficient above 1',
      'period_profile_coefficients',
      new RegExp(
        `${path.basename(ppc)} fails accepted_range \\(min_value 0, max_value 1\\) on column 'percentage_of_annual_consumption' \\(\\d+ rows?\\)`,
      ),
    );
  });

  it('sets a negative reading aside, counts it, and publishes what a run without that reading publishes', async () => {
    // its own copy of the clean warehouse, so the refusals above and below compare with the clean run
    const warnWarehouse = path.join(dir, 'warn-warehouse');
    // a copied warehouse folder reads and writes its own data/ (not the original's)
    await cp(warehousePath, warnWarehouse, { recursive: true });
    const key = `meter_point_id = '${spoiled.meterPointId}' and settlement_timestamp_utc = timestamp '${spoiled.settlementTimestamp}'`;
    const master = (where: string) =>
      `select count(*)::varchar || ':' || coalesce(sum(hash(t)::hugeint), 0)::varchar as c from main.demand_price_elasticity t where ${where}`;
    const [inBaseline] = await queryFile(warnWarehouse, `select count(*)::integer as n from main.demand_price_elasticity where ${key}`);
    expect(inBaseline?.n).toBe(1);
    const [cleanWithout] = await queryFile(warnWarehouse, master(`not (${key})`));
    const [rawWithout] = await queryFile(
      warnWarehouse,
      `select count(*)::integer as n from raw.smart_meter_consumption_q1 where not (${key})`,
    );

    const file = await replaceReading('-5');
    const workers = await startWorkers(temporal, { label: 'numbers-warn', warehousePath: warnWarehouse });
    let result: PipelineResult;
    try {
      result = await run(workers, goodSources);
    } finally {
      await workers.stop();
    }
    expect(result.nodes.find((n) => n.id === 'seed:smart_meter_consumption_q1')?.note).toMatch(
      /1 file\(s\) loaded, 0 removed, 1 row set aside by accepted_range_smart_meter_consumption_q1_smart_meter_consumption$/,
    );
    expect(result.nodes.find((n) => n.id === 'publish:run')?.state).toBe('succeeded');

    const rejected = await queryFile(
      warnWarehouse,
      `select source, uri, test, column_name, row::varchar as row, run_at from meterflow.rejected_rows`,
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      source: 'smart_meter_consumption_q1',
      uri: file,
      test: 'accepted_range_smart_meter_consumption_q1_smart_meter_consumption',
      column_name: 'smart_meter_consumption',
    });
    expect(JSON.parse(String(rejected[0]?.row))).toEqual({
      meter_point_id: spoiled.meterPointId,
      settlement_timestamp_utc: spoiled.settlementTimestamp,
      smart_meter_consumption: -5,
    });
    // not kept in raw; the master is the clean run's without that half hour
    const [raw] = await queryFile(
      warnWarehouse,
      `select count(*)::integer as n, count(*) filter (where ${key})::integer as bad from raw.smart_meter_consumption_q1`,
    );
    expect(raw).toEqual({ n: rawWithout?.n, bad: 0 });
    const [after] = await queryFile(warnWarehouse, master('true'));
    expect(after?.c).toBe(cleanWithout?.c);
    const [provenance] = await queryFile(warnWarehouse, `select rows::integer as rows from meterflow.source_files where uri = '${file}'`);
    expect(provenance?.rows).toBe(rawWithout?.n);
    await recordChaos({
      category: 'bad input',
      name: 'a negative reading (warn)',
      runsCompleted: '1/1 (row set aside)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: 'master = clean run without the reading',
      outcome: 'seed:smart_meter_consumption_q1: 1 row set aside in meterflow.rejected_rows',
    });
  });

  it('stops the run when an analytics result is not finite, before anything is published', async () => {
    const broken = await copyOfModels('nan-analytics');
    await editFile(path.join(broken, 'analytics', 'actual_vs_estimated_monthly.sql'), (sql) =>
      sql.replace(
        "{{ actual_vs_estimated('month') }}",
        `with monthly as ({{ actual_vs_estimated('month') }})
         select * replace (case when period_start = (select min(period_start) from monthly) then 'nan'::double else mean_deviation end as mean_deviation)
         from monthly`,
      ),
    );
    const error = await errorWithWorkers(temporal, { label: 'nan-analytics', warehousePath, projectDir: broken }, (workers) =>
      run(workers, goodSources),
    );
    const failure = describeFailure(error);
    expect(failure.node).toBe('test:actual_vs_estimated_monthly');
    expect(failure.reason).toMatch(
      /data tests of actual_vs_estimated_monthly failed: all_finite_actual_vs_estimated_monthly \(1 failing row\)/,
    );
    const main = Object.fromEntries(Object.entries(baseline).filter(([name]) => name.startsWith('main.')));
    expect(await warehouseChecksums(warehousePath)).toEqual(main);
    await recordChaos({
      category: 'bad input',
      name: 'a NaN in an analytics result',
      runsCompleted: '0/1 (refused)',
      rowsLost: 0,
      rowsDuplicated: 0,
      tablesUnchanged: `${Object.keys(main).length}/${Object.keys(main).length} (main)`,
      outcome: `${failure.node}: ${failure.reason.split('\n')[0]?.slice(0, 160)}`,
    });
  });
});

describe('the seed activity and the analytics tests on their own', () => {
  it('returns the rows it set aside, by test, and keeps the rest of the file', async () => {
    const fixture = await openWarehouseFixture('set-aside');
    try {
      const folder = path.join(fixture.dir, 'readings');
      await writeParquet(
        path.join(folder, 'q1.parquet'),
        `select * from (values ('m1', timestamp '2023-01-01 00:00', 0.5::double), ('m1', timestamp '2023-01-01 00:30', -5::double),
           ('m2', timestamp '2023-01-01 00:00', -0.1::double), ('m2', timestamp '2023-01-01 00:30', null::double))
         t(meter_point_id, settlement_timestamp_utc, smart_meter_consumption)`,
      );
      const source = fixture.project.plan.sources.find((s) => s.name === 'smart_meter_consumption_q1')!;
      const result = await fixture.writer.seedSource({ source, uri: folder });
      expect(result.setAside).toEqual([
        { test: 'accepted_range_smart_meter_consumption_q1_smart_meter_consumption', column: 'smart_meter_consumption', rows: 2 },
      ]);
      expect(result.rows).toBe(2);
      expect(
        await fixture.query(`select meter_point_id, smart_meter_consumption from raw.smart_meter_consumption_q1 order by all`),
      ).toEqual([
        { meter_point_id: 'm1', smart_meter_consumption: 0.5 },
        { meter_point_id: 'm2', smart_meter_consumption: null },
      ]);
      // the same file again: nothing new is set aside, and its earlier rejects are still there once
      const again = await fixture.writer.seedSource({ source, uri: folder, fullRefresh: true });
      expect(again.setAside).toEqual(result.setAside);
      expect(await fixture.query(`select count(*)::integer as n from meterflow.rejected_rows`)).toEqual([{ n: 2 }]);
    } finally {
      fixture.close();
    }
  });

  it('checks the files already loaded again when a bound changes', async () => {
    const dir = await tempDir('bound-change');
    const folder = path.join(dir, 'readings');
    await writeParquet(
      path.join(folder, 'q1.parquet'),
      `select * from (values ('m1', timestamp '2023-01-01 00:00', 0.5::double), ('m1', timestamp '2023-01-01 00:30', 1500::double))
       t(meter_point_id, settlement_timestamp_utc, smart_meter_consumption)`,
    );
    const generous = await copyOfModels('generous-ceiling');
    await editFile(path.join(generous, 'staging', '_sources.yml'), (yaml) => yaml.replace('max_value: 1000 }', 'max_value: 2000 }'));
    const seedWith = async (projectDir: string) => {
      const warehouse = await Warehouse.open(path.join(dir, 'warehouse-warehouse'));
      try {
        const project = await loadProject(projectDir);
        const writer = createWriterActivities({
          warehouse,
          project,
          storage: createStorageResolver(),
          logger: createLogger('test', 'silent'),
        });
        const source = project.plan.sources.find((s) => s.name === 'smart_meter_consumption_q1')!;
        return await writer.seedSource({ source, uri: folder });
      } finally {
        warehouse.close();
      }
    };
    expect((await seedWith(generous)).rows).toBe(2);
    const before = await warehouseChecksums(path.join(dir, 'warehouse-warehouse'), { raw: true });
    // the same file, unchanged, under the shipped ceiling of 1,000 kWh: refused, raw as it was
    await expect(seedWith(defaultProjectDir())).rejects.toThrow(
      /q1\.parquet fails accepted_range \(max_value 1000\) on column 'smart_meter_consumption' \(1 row\)/,
    );
    expect(await warehouseChecksums(path.join(dir, 'warehouse-warehouse'), { raw: true })).toEqual(before);
  });

  it('fails the finite test of an analytics result holding a NaN', async () => {
    const fixture = await openWarehouseFixture('nan-result');
    try {
      const file = path.join(fixture.dir, 'meter_anomalies.parquet');
      await writeParquet(
        file,
        `select 'm1' as meter_point_id, '_A' as gsp_group_id, 1 as profile_class_id, 10::bigint as half_hours,
                'nan'::double as mean_abs_deviation, 0.0::double as missing_share, true as is_deviation_anomaly, false as is_missing_anomaly,
                0.5::double as mean_abs_deviation_threshold, 0.2::double as missing_share_threshold`,
      );
      // the test activity fails itself, not retried, with the failing row in its details
      const attempt = fixture.analytics.testAnalyticsResult({ model: 'meter_anomalies', outputUri: file });
      await expect(attempt).rejects.toMatchObject({ type: 'DataTestFailed', nonRetryable: true });
      const failure = (await attempt.catch((err: { details?: unknown[] }) => err.details?.[0])) as DataTestFailure;
      const result = failure.results.find((r) => r.id === 'all_finite_meter_anomalies');
      expect(result).toMatchObject({ status: 'fail', failures: 1 });
      expect(result?.samples?.[0]).toMatchObject({ meter_point_id: 'm1' });
    } finally {
      fixture.close();
    }
  });
});

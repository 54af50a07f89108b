// Analytics after an incremental run equal a full run's, on the real dev server: a new day (in a week
// that straddles two months), a replaced file, a removed file, and a change in a non-readings source
// that rebuilds everything. Each time every analytics table is compared with a clean run's over the
// same files, and the run's notes say which models recomputed only their changed periods.
import { runsOnOf } from '../../src/project/types';
import { copyFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { waitForPipeline } from '../../src/client';
import { defaultProjectDir } from '../../src/config';
import { generateSampleData } from '../../src/generator/generate';
import { loadProject } from '../../src/project/load';
import type { PipelineResult } from '../../src/contract/run';
import { queryFile, tempDir, writeParquet } from '../support/files';
import { differencesFromReference } from '../support/reference-master';
import { connectToTestServer, startRun, startWorkers, type RunningWorkers, type TemporalTestContext } from '../support/temporal';

/** Analytics kept per period: recomputed over the periods holding a changed window only. */
const PER_PERIOD = [
  'actual_vs_estimated_daily',
  'actual_vs_estimated_weekly',
  'actual_vs_estimated_monthly',
  'half_hourly_load_profile_by_month',
  'meter_readings_by_month',
  'deviation_histogram_by_month',
  'price_response_by_month',
];
/** Analytics recomputed whole (from the master, or from the per-month partials they merge). */
const WHOLE = [
  'deviation_by_profile_class',
  'deviation_by_gsp_group',
  'price_response_variable_tariff',
  'half_hourly_load_profile',
  'meter_anomalies',
];

/** A low threshold, so that a few meters of the twelve are anomalous and the table has rows to compare. */
const ANOMALY_VARS = { anomaly_mean_abs_deviation_threshold: 0.1 };

describe('analytics after an incremental run equal a full run’s', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let sources: string;
  let warehouse: string;
  let workers: RunningWorkers;
  let analyticsTables: string[];
  let cleanRuns = 0;
  const q4Dir = () => path.join(sources, 'smart_meter_consumption_q4');
  const lateDay = () => path.join(dir, 'late-2023-10-01.parquet');
  const landed = () => path.join(q4Dir(), 'late_2023_10_01.parquet');

  const run = async (target: RunningWorkers, extra: { fullRefresh?: boolean; outUri?: string } = {}): Promise<PipelineResult> =>
    waitForPipeline(await startRun(temporal, target, { sourcesUri: sources, outUri: path.join(dir, 'out'), vars: ANOMALY_VARS, ...extra }));
  const noteOf = (result: PipelineResult, id: string) => result.nodes.find((n) => n.id === id)?.note ?? '';

  /** Every analytics table of a warehouse, its rows in a stable order. */
  const tablesOf = async (warehousePath: string) =>
    Object.fromEntries(
      await Promise.all(
        analyticsTables.map(async (table) => [table, await queryFile(warehousePath, `select * from main.${table} order by all`)] as const),
      ),
    );

  /**
   * The warehouse's analytics equal those of a clean run over the same files, to the bit: the same
   * rows, every number the same double (sums are exact, see models/macros/exact_sum.sql).
   */
  async function expectEqualToCleanRun(): Promise<void> {
    cleanRuns += 1;
    const cleanWarehouse = path.join(dir, `clean-${cleanRuns}-warehouse`);
    const clean = await startWorkers(temporal, { label: `clean-${cleanRuns}`, warehousePath: cleanWarehouse });
    try {
      await run(clean, { outUri: path.join(dir, `clean-out-${cleanRuns}`) });
    } finally {
      await clean.stop();
    }
    expect(await differencesFromReference(warehouse, sources)).toEqual({ missing: 0, extra: 0 });
    const [got, want] = [await tablesOf(warehouse), await tablesOf(cleanWarehouse)];
    for (const table of analyticsTables) {
      const [rows, expected] = [got[table] ?? [], want[table] ?? []];
      expect({ table, empty: rows.length === 0 }).toEqual({ table, empty: false });
      expect({ table, rows }).toEqual({ table, rows: expected });
    }
  }

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('analytics-incremental');
    sources = path.join(dir, 'sources');
    warehouse = path.join(dir, 'incremental-warehouse');
    analyticsTables = (await loadProject(defaultProjectDir())).plan.models.filter((m) => runsOnOf(m) === 'analytics').map((m) => m.name);
    await generateSampleData({ outDir: sources, meters: 12, from: '2023-09-18', to: '2023-10-09', seed: 7 });
    // two of the twelve meters are on the variable tariff, so the price response has points to fit;
    // Sunday 1 October arrives late: its ISO week began on Monday 25 September
    const q4 = path.join(q4Dir(), 'smart_meter_consumption_2023_q4.parquet');
    const sunday = `settlement_timestamp_utc >= timestamp '2023-10-01' and settlement_timestamp_utc < timestamp '2023-10-02'`;
    await writeParquet(lateDay(), `select * from read_parquet('${q4}') where ${sunday}`);
    await writeParquet(`${q4}.tmp`, `select * from read_parquet('${q4}') where not (${sunday})`);
    await rename(`${q4}.tmp`, q4);
    workers = await startWorkers(temporal, { label: 'analytics-incremental', warehousePath: warehouse });
    await run(workers);
  });

  afterAll(async () => {
    await workers.stop();
    await temporal.close();
  });

  it('a new day: the per-period models recompute its periods only (its week reaches into September), the rest whole', async () => {
    await copyFile(lateDay(), landed());
    const result = await run(workers);
    expect(noteOf(result, 'model:demand_price_elasticity')).toMatch(/^incremental: /);
    for (const model of PER_PERIOD) {
      expect({ model, note: noteOf(result, `analytics:${model}`) }).toEqual({
        model,
        note: expect.stringMatching(/^incremental: \d+ rows of the periods from 2023-10-01 00:00:00 to 2023-10-0[12] /),
      });
    }
    for (const model of WHOLE) expect(noteOf(result, `analytics:${model}`)).not.toMatch(/incremental/);
    // the week's one row, recomputed from its Monday in September
    const [week] = await queryFile(
      warehouse,
      `select half_hours::integer as n from main.actual_vs_estimated_weekly where period_start = timestamp '2023-09-25'`,
    );
    const [master] = await queryFile(
      warehouse,
      `select count(*)::integer as n from main.demand_price_elasticity where settlement_timestamp_utc >= timestamp '2023-09-25' and settlement_timestamp_utc < timestamp '2023-10-02'`,
    );
    expect(week?.n).toBe(master?.n);
    await expectEqualToCleanRun();
  });

  it('a replaced file: its periods are recomputed from the new rows', async () => {
    await writeParquet(`${landed()}.tmp`, `select * from read_parquet('${lateDay()}') where hour(settlement_timestamp_utc) < 6`);
    await rename(`${landed()}.tmp`, landed());
    const result = await run(workers);
    expect(noteOf(result, 'analytics:actual_vs_estimated_daily')).toMatch(/^incremental: 1 rows/);
    await expectEqualToCleanRun();
  });

  it('a removed file: its periods are recomputed without its rows', async () => {
    await rm(landed());
    const result = await run(workers);
    expect(noteOf(result, 'seed:smart_meter_consumption_q4')).toBe('0 file(s) loaded, 1 removed');
    // Sunday has no readings left: its day is gone, not kept from before
    expect(noteOf(result, 'analytics:actual_vs_estimated_daily')).toMatch(/^incremental: 0 rows/);
    const [sunday] = await queryFile(
      warehouse,
      `select count(*)::integer as n from main.actual_vs_estimated_daily where period_start = timestamp '2023-10-01'`,
    );
    expect(sunday?.n).toBe(0);
    await expectEqualToCleanRun();
  });

  it('a change in a non-readings source: the master and every analytics model are rebuilt whole', async () => {
    const tariffs = path.join(sources, 'tariff_unit_rates');
    const [file] = (await import('node:fs')).readdirSync(tariffs).filter((name) => name.endsWith('.parquet'));
    const tariffFile = path.join(tariffs, file as string);
    await writeParquet(
      `${tariffFile}.tmp`,
      `select * replace (unit_rate_pence_per_kwh * 1.25 as unit_rate_pence_per_kwh) from read_parquet('${tariffFile}')`,
    );
    await rename(`${tariffFile}.tmp`, tariffFile);
    const result = await run(workers);
    expect(noteOf(result, 'model:demand_price_elasticity')).toMatch(/^rebuilt: /);
    for (const model of [...PER_PERIOD, ...WHOLE]) {
      expect(result.nodes.find((n) => n.id === `analytics:${model}`)?.state).toBe('succeeded');
      expect(noteOf(result, `analytics:${model}`)).not.toMatch(/incremental/);
    }
    await expectEqualToCleanRun();
  });
});

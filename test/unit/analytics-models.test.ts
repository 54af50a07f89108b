// The analytics models, each run as the analytics worker runs it: over a pinned lake version of a
// small hand-made master table, results written as Parquet and compared with hand-computed values.
import { runsOnOf } from '../../src/project/types';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { AnalyticsOutput, DataTestResults, PinnedSnapshot } from '../../src/contract/activities';
import { openWarehouseFixture, type WarehouseFixture } from '../support/warehouse';

// Two meters over two days (a Sunday and a Monday): meter A on a variable tariff whose consumption
// relative to the estimate follows rate^-0.3 exactly; meter B 100% over its estimate every half hour.
const MASTER = `
  with slots as (
    select range as ts from range(timestamp '2023-01-01', timestamp '2023-01-03', interval 30 minute)
  ),
  a as (
    select 'A' as meter_point_id, ts, '_A' as gsp_group_id, 1 as profile_class_id, true as is_variable,
           10.0 + (epoch(ts)::bigint / 1800) % 7 as rate, 0.5 as estimate
    from slots
  ),
  b as (
    select 'B' as meter_point_id, ts, '_B' as gsp_group_id, 3 as profile_class_id, false as is_variable, 20.0 as rate, 1.0 as estimate
    from slots
  ),
  both_meters as (
    select *, estimate * pow(rate, -0.3) * 2 as actual from a
    union all
    select *, estimate * 2 as actual from b
  )
  select meter_point_id, ts as settlement_timestamp_utc, gsp_group_id, profile_class_id::integer as profile_class_id,
         '0393' as standard_settlement_configuration_id, 'p' as product_category, is_variable, false as is_export,
         false as is_charged_half_hourly, actual as smart_meter_consumption, estimate / 1000 as percentage_of_annual_consumption,
         1000.0 as estimated_annual_consumption, estimate as estimated_half_hour_consumption,
         (actual - estimate) / estimate as demand_price_elasticity, rate as unit_rate_pence_per_kwh
  from both_meters`;

async function readResult(file: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(`select * from read_parquet('${file}')`)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('analytics models over a snapshot', () => {
  let fixture: WarehouseFixture;
  let snapshot: PinnedSnapshot;
  const results = new Map<string, Record<string, unknown>[]>();
  const tests = new Map<string, DataTestResults | undefined>();

  beforeAll(async () => {
    fixture = await openWarehouseFixture('analytics');
    await fixture.warehouse.withConnection((connection) => connection.run(`create table main.demand_price_elasticity as ${MASTER}`));
    snapshot = await fixture.writer.pinSnapshot({ tables: ['demand_price_elasticity'] });
    // the writer goes on after the pin: analytics still read the version pinned
    await fixture.warehouse.withConnection((connection) =>
      connection.run(`delete from main.demand_price_elasticity where meter_point_id = 'A'`),
    );
    // in DAG order: a model merging another's per-month partial aggregates reads that one's result
    const outputs: AnalyticsOutput[] = [];
    for (const model of fixture.project.plan.models.filter((m) => runsOnOf(m) === 'analytics')) {
      const outputUri = path.join(fixture.dir, 'out', `${model.name}.parquet`);
      const result = await fixture.analytics.runAnalyticsModel({
        model: model.name,
        snapshot,
        outputUri,
        vars: { anomaly_missing_share_threshold: 0.01 },
        upstream: outputs.filter((output) => model.refs.includes(output.model)),
        test: true,
      });
      tests.set(model.name, result.tests);
      outputs.push({ model: model.name, outputUri });
      results.set(model.name, await readResult(outputUri));
    }
  });

  afterAll(() => fixture.close());

  it('pins a lake version that names the master and counts its rows', () => {
    expect(snapshot).toMatchObject({
      warehouse: fixture.warehouse.path,
      relations: { demand_price_elasticity: 'demand_price_elasticity' },
      tables: [{ name: 'demand_price_elasticity', rows: 192 }],
    });
    expect(snapshot.version).toBeGreaterThan(0);
  });

  it('refuses to pin a table the warehouse does not hold, naming it', async () => {
    await expect(fixture.writer.pinSnapshot({ tables: ['no_such_model'] })).rejects.toThrow(/has no main\.no_such_model/);
  });

  it('tests every result before it is uploaded, and every test passes on these', () => {
    expect([...tests.keys()].sort()).toEqual(
      fixture.project.plan.models
        .filter((m) => runsOnOf(m) === 'analytics')
        .map((m) => m.name)
        .sort(),
    );
    for (const [model, outcome] of tests) {
      expect({ model, failing: outcome?.results.filter((r) => r.status !== 'pass') }).toEqual({ model, failing: [] });
      expect(outcome?.results.length).toBeGreaterThan(0);
    }
  });

  it('keeps per-month partial aggregates: sums and counts per settlement period, per meter', () => {
    const byMonth = results.get('half_hourly_load_profile_by_month') ?? [];
    expect(byMonth).toHaveLength(96);
    // the Monday's first half hour: meter B's 2 kWh and meter A's reading
    const monday = byMonth.find((row) => row.day_type === 'weekday' && row.settlement_period === 1);
    expect(monday).toMatchObject({ half_hours: 2n });
    expect(monday?.sum_estimated_consumption).toBeCloseTo(1.5, 10);
    const meters = results.get('meter_readings_by_month') ?? [];
    expect(meters.map((row) => row.meter_point_id).sort()).toEqual(['A', 'B']);
    expect(meters.find((row) => row.meter_point_id === 'B')).toMatchObject({ half_hours: 96n, gsp_group_id: '_B', profile_class_id: 3 });
    expect(meters.find((row) => row.meter_point_id === 'B')?.sum_abs_deviation).toBeCloseTo(96, 9);
  });

  it('refuses to merge partials that neither the lake nor this run holds, naming them', async () => {
    const attempt = fixture.analytics.runAnalyticsModel({
      model: 'meter_anomalies',
      snapshot,
      outputUri: path.join(fixture.dir, 'out', 'alone.parquet'),
    });
    await expect(attempt).rejects.toThrow(/meter_anomalies merges meter_readings_by_month, which is not in .* not computed by this run/);
  });

  it('averages actual and estimated consumption per day, week and month', () => {
    const daily = results.get('actual_vs_estimated_daily') ?? [];
    expect(daily).toHaveLength(2);
    expect(daily[0]).toMatchObject({ half_hours: 96n, meters: 2n });
    expect(daily[0]?.mean_estimated_consumption).toBeCloseTo(0.75, 10);
    expect(results.get('actual_vs_estimated_weekly')).toHaveLength(2); // Sunday closes one ISO week, Monday opens the next
    expect(results.get('actual_vs_estimated_monthly')).toHaveLength(1);
  });

  it('summarises the deviation per profile class with its quantiles', () => {
    const byClass = results.get('deviation_by_profile_class') ?? [];
    const classB = byClass.find((row) => row.profile_class_id === 3);
    expect(classB).toMatchObject({ half_hours: 96n });
    for (const column of ['mean_deviation', 'median_deviation', 'p10_deviation', 'p90_deviation']) {
      expect(classB?.[column]).toBeCloseTo(1.0, 10);
    }
    expect(results.get('deviation_by_gsp_group')?.map((row) => row.gsp_group_id)).toEqual(['_A', '_B']);
  });

  it('profiles the 48 settlement periods for weekdays and weekends apart', () => {
    const profile = results.get('half_hourly_load_profile') ?? [];
    expect(profile).toHaveLength(96);
    expect(new Set(profile.map((row) => row.settlement_period))).toEqual(new Set(Array.from({ length: 48 }, (_, i) => i + 1)));
    expect(profile.filter((row) => row.day_type === 'weekend').every((row) => row.half_hours === 2n)).toBe(true);
  });

  it('finds the price elasticity built into the variable-tariff meter', () => {
    const response = results.get('price_response_variable_tariff') ?? [];
    expect(response).toHaveLength(1);
    expect(response[0]).toMatchObject({ profile_class_id: 1, points: 96n });
    expect(response[0]?.price_elasticity).toBeCloseTo(-0.3, 8);
    expect(response[0]?.r_squared).toBeCloseTo(1, 8);
  });

  it('flags meters beyond the deviation threshold, and states the threshold', () => {
    const anomalies = results.get('meter_anomalies') ?? [];
    const meterB = anomalies.find((row) => row.meter_point_id === 'B');
    expect(meterB).toMatchObject({ is_deviation_anomaly: true, half_hours: 96n });
    expect(meterB?.mean_abs_deviation).toBeCloseTo(1, 10);
    expect(meterB?.mean_abs_deviation_threshold).toBeCloseTo(0.5, 10);
    expect(meterB?.missing_share).toBeCloseTo(0, 10);
  });
});

// The report's headline totals on a small hand-written master in an in-memory DuckDB: scanned from
// the master, and merged from per-month partials only when they were computed from its version.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { totalsFromPartials, totalsOfMaster } from '../../src/report/master-totals';
import { keyedTable } from '../../src/project/types';
import { MODEL_STATE_TABLE, STATE_MIGRATIONS, STATE_SCHEMA } from '../../src/warehouse/state-schema';

/** Three half hours of two meters; B's deviation is missing at 01:00. */
const MASTER = `select * from (values
    ('A', '2023-01-01 00:00'::timestamp, 1.0, 0.5, 1.0),
    ('A', '2023-02-01 00:30'::timestamp, 2.0, 1.0, -0.5),
    ('B', '2023-01-01 01:00'::timestamp, 0.5, 1.0, null)
  ) t(meter_point_id, settlement_timestamp_utc, smart_meter_consumption, estimated_half_hour_consumption, demand_price_elasticity)`;

/** The totals of MASTER, worked out by hand. */
const EXPECTED = {
  halfHours: 3,
  meters: 2,
  from: '2023-01-01T00:00:00Z',
  to: '2023-02-01T00:30:00Z',
  actualKwh: 3.5,
  estimatedKwh: 2.5,
  meanDeviation: 0.25, // (1.0 - 0.5) / 2: the missing one is left out
};

/** The per-month partial aggregates of MASTER, as the analytics models would have written them. */
const PARTIALS = [
  `create table deviation_histogram_by_month as select * from (values (2, 1.0, 1), (1, -0.5, 1)) t(half_hours, sum_deviation, deviations)`,
  `create table meter_readings_by_month as select * from (values
     ('A', '2023-01-01 00:00'::timestamp, '2023-01-01 00:00'::timestamp),
     ('A', '2023-02-01 00:30'::timestamp, '2023-02-01 00:30'::timestamp),
     ('B', '2023-01-01 01:00'::timestamp, '2023-01-01 01:00'::timestamp)) t(meter_point_id, first_reading, last_reading)`,
  `create table half_hourly_load_profile_by_month as select * from (values (1.5, 1.5), (2.0, 1.0)) t(sum_actual_consumption, sum_estimated_consumption)`,
];
const PARTIAL_NAMES = ['deviation_histogram_by_month', 'meter_readings_by_month', 'half_hourly_load_profile_by_month'];

describe("the report's headline totals of the master", () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run(`create schema ${STATE_SCHEMA}`);
    for (const migration of STATE_MIGRATIONS) for (const statement of migration.statements) await connection.run(statement);
    await connection.run(`create table master as ${MASTER}`);
    for (const statement of PARTIALS) await connection.run(statement);
  });

  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  /** Records each partial as computed from the master's version `inputVersion`, the master at 'v2'. */
  async function recordStates(inputVersion: string): Promise<void> {
    await connection.run(`delete from ${MODEL_STATE_TABLE}`);
    await connection.run(`insert into ${MODEL_STATE_TABLE} (model, version) values ('master', 'v2')`);
    for (const name of PARTIAL_NAMES) {
      await connection.run(`insert into ${MODEL_STATE_TABLE} (model, version, inputs) values ($name, 'p', $inputs)`, {
        name,
        inputs: JSON.stringify({ 'model:master': inputVersion }),
      });
    }
  }

  const held = new Map(PARTIAL_NAMES.map((name) => [name, 'table']));

  it('scans the master: half hours, meters, first and last half hour, kWh and the mean deviation', async () => {
    const { actualKwh, estimatedKwh, meanDeviation, ...exact } = await totalsOfMaster(connection, 'master');
    expect(exact).toEqual({ halfHours: 3, meters: 2, from: EXPECTED.from, to: EXPECTED.to });
    expect(actualKwh).toBeCloseTo(EXPECTED.actualKwh, 12);
    expect(estimatedKwh).toBeCloseTo(EXPECTED.estimatedKwh, 12);
    expect(meanDeviation).toBeCloseTo(EXPECTED.meanDeviation, 12);
  });

  it('gives zeros and no half hours for an empty master', async () => {
    await connection.run(`create or replace table empty_master as select * from master where false`);
    expect(await totalsOfMaster(connection, 'empty_master')).toEqual({
      halfHours: 0,
      meters: 0,
      from: '',
      to: '',
      actualKwh: 0,
      estimatedKwh: 0,
      meanDeviation: 0,
    });
  });

  it("merges the partials computed from the master's version into the same totals as the scan", async () => {
    await recordStates('v2');
    const merged = await totalsFromPartials(connection, 'master', held, keyedTable);
    const scanned = await totalsOfMaster(connection, 'master');
    expect(merged).toBeDefined();
    const { actualKwh, estimatedKwh, meanDeviation, ...exact } = merged ?? EXPECTED;
    expect(exact).toEqual({ halfHours: scanned.halfHours, meters: scanned.meters, from: scanned.from, to: scanned.to });
    expect(actualKwh).toBeCloseTo(scanned.actualKwh, 12);
    expect(estimatedKwh).toBeCloseTo(scanned.estimatedKwh, 12);
    expect(meanDeviation).toBeCloseTo(scanned.meanDeviation, 12);
  });

  it('reads the master instead when a partial was computed from an older version of it', async () => {
    await recordStates('v1');
    expect(await totalsFromPartials(connection, 'master', held, keyedTable)).toBeUndefined();
  });

  it('reads each partial where the project publishes it, not a table of its name left in main', async () => {
    await recordStates('v2');
    await connection.run('create schema if not exists main_reports');
    for (const name of PARTIAL_NAMES) await connection.run(`create or replace table main_reports.${name} as select * from main.${name}`);
    // a stale copy in main, with other figures: never read
    await connection.run('create or replace table stale_load as select * from half_hourly_load_profile_by_month');
    await connection.run('update half_hourly_load_profile_by_month set sum_actual_consumption = 9.9');
    const inReports = (model: string) => ({ schema: 'main_reports', name: model });
    const inSchema = new Map(PARTIAL_NAMES.map((name) => [`main_reports.${name}`, 'table']));
    try {
      expect((await totalsFromPartials(connection, 'master', inSchema, inReports))?.actualKwh).toBeCloseTo(EXPECTED.actualKwh, 12);
      // held only in main: not where the project publishes them, so the master is read instead
      expect(await totalsFromPartials(connection, 'master', held, inReports)).toBeUndefined();
    } finally {
      await connection.run('create or replace table half_hourly_load_profile_by_month as select * from stale_load');
      await connection.run('drop table stale_load');
    }
  });

  it('reads the master instead when the lake does not hold every partial', async () => {
    await recordStates('v2');
    const partial = new Map([...held].filter(([name]) => name !== 'meter_readings_by_month'));
    expect(await totalsFromPartials(connection, 'master', partial, keyedTable)).toBeUndefined();
  });
});

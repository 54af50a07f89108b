// The staging and master models on small hand-written sources, against hand-computed expected rows
// (like dbt unit tests), covering every quirk of DATA.md.
import path from 'node:path';
import { tempDir, writeParquet } from '../support/files';
import { openWarehouseFixture, seedAndBuild, type WarehouseFixture } from '../support/warehouse';

const READINGS = (rows: string) =>
  `select meter_point_id::varchar as meter_point_id, settlement_timestamp_utc::timestamp as settlement_timestamp_utc,
          smart_meter_consumption::double as smart_meter_consumption
   from (values ${rows}) t(meter_point_id, settlement_timestamp_utc, smart_meter_consumption)`;

async function writeQuirkySources(dir: string): Promise<void> {
  const day = '2023-01-01';
  // q1 and q2 overlap: M1 at 00:30 is in both; M4 at 00:30 is NULL; M1 at 01:00 is missing
  await writeParquet(
    path.join(dir, 'smart_meter_consumption_q1', 'q1.parquet'),
    READINGS(`('M1', '${day} 00:00', 0.5), ('M1', '${day} 00:30', 0.6), ('M2', '${day} 00:00', 0.9), ('M2', '${day} 00:30', 0.8),
              ('M2', '${day} 07:00', 0.5), ('M3', '${day} 00:00', 0.4), ('M3', '${day} 01:00', 0.6), ('M4', '${day} 00:00', 0.7),
              ('M4', '${day} 00:30', null), ('M5', '${day} 00:00', 0.8)`),
  );
  await writeParquet(
    path.join(dir, 'smart_meter_consumption_q2', 'q2.parquet'),
    READINGS(`('M1', '${day} 00:30', 0.6), ('M1', '${day} 12:00', 1.0), ('M2', '${day} 12:00', 1.1), ('M2', '${day} 01:00', 0.7),
              ('M4', '${day} 01:00', 0.5)`),
  );
  // a reading with no coefficient at its half hour: no positive estimate, so no master row
  await writeParquet(path.join(dir, 'smart_meter_consumption_q3', 'q3.parquet'), READINGS(`('M1', '2023-07-01 00:00', 2.0)`));
  await writeParquet(
    path.join(dir, 'smart_meter_consumption_q4', 'q4.parquet'),
    `${READINGS(`('M1', '2023-10-01 00:00', 1.0)`)} where false`,
  );

  // M3 changes from single rate to Economy 7 at 01:00; M5's first register has no product and no
  // variable flag, so its half hours take those of its second (the first register with each one)
  await writeParquet(
    path.join(dir, 'meter_register_agreement_configuration_interval', 'config.parquet'),
    `select meter_point_id::varchar as meter_point_id, register_id::varchar as register_id, product_category::varchar as product_category,
            false as is_export, false as is_charged_half_hourly, is_variable::boolean as is_variable, gsp_group_id::varchar as gsp_group_id,
            profile_class_id::integer as profile_class_id, ssc::varchar as standard_settlement_configuration_id,
            tpr::varchar as time_pattern_regime_id, interval_start::timestamp as interval_start, interval_end::timestamp as interval_end
     from (values
       ('M1', '1', 'standard', false, '_A', 1, '0393', '00001', '2022-01-01', null),
       ('M2', '1', 'economy7', false, '_B', 2, '0151', '00206', '2022-01-01', null),
       ('M2', '2', 'economy7', false, '_B', 2, '0151', '00210', '2022-01-01', null),
       ('M3', '1', 'standard', false, '_A', 1, '0393', '00001', '2022-01-01', '${day} 01:00'),
       ('M3', '1', 'economy7', false, '_A', 2, '0151', '00206', '${day} 01:00', null),
       ('M3', '2', 'economy7', false, '_A', 2, '0151', '00210', '${day} 01:00', null),
       ('M4', '1', 'agile', true, '_A', 1, '0393', '00001', '2022-01-01', null),
       ('M5', '1', null, null, '_A', 1, '0393', '00001', '2022-01-01', null),
       ('M5', '2', 'standard', false, '_A', 1, '0393', '00002', '2022-01-01', null)
     ) t(meter_point_id, register_id, product_category, is_variable, gsp_group_id, profile_class_id, ssc, tpr, interval_start, interval_end)`,
  );
  await writeParquet(
    path.join(dir, 'period_profile_coefficients', 'ppc.parquet'),
    `select gsp::varchar as gsp_group_id, pc::integer as profile_class_id, ssc::varchar as standard_settlement_configuration_id,
            tpr::varchar as time_pattern_regime_id, ts::timestamp as settlement_timestamp_utc, ppc::double as percentage_of_annual_consumption
     from (values
       ('_A', 1, '0393', '00001', '${day} 00:00', 0.0001), ('_A', 1, '0393', '00001', '${day} 00:30', 0.0002),
       ('_A', 1, '0393', '00001', '${day} 01:00', 0.0003), ('_A', 1, '0393', '00001', '${day} 12:00', 0.0004),
       ('_B', 2, '0151', '00206', '${day} 00:00', 0.0005), ('_B', 2, '0151', '00206', '${day} 00:30', 0.0),
       ('_B', 2, '0151', '00206', '${day} 01:00', 0.0), ('_B', 2, '0151', '00206', '${day} 12:00', 0.0006),
       ('_B', 2, '0151', '00206', '${day} 07:00', 0.0002),
       ('_B', 2, '0151', '00210', '${day} 00:00', 0.0), ('_B', 2, '0151', '00210', '${day} 00:30', 0.0007),
       ('_B', 2, '0151', '00210', '${day} 01:00', 0.0008), ('_B', 2, '0151', '00210', '${day} 12:00', 0.0),
       ('_B', 2, '0151', '00210', '${day} 07:00', 0.0004),
       ('_A', 2, '0151', '00206', '${day} 01:00', 0.0), ('_A', 2, '0151', '00210', '${day} 01:00', 0.001),
       ('_A', 1, '0393', '00002', '${day} 00:00', 0.0003)
     ) t(gsp, pc, ssc, tpr, ts, ppc)`,
  );
  // M1's estimate is revised at 12:00
  await writeParquet(
    path.join(dir, 'estimated_annual_consumption_interval', 'eac.parquet'),
    `select meter_point_id::varchar as meter_point_id, tpr::varchar as time_pattern_regime_id, f::timestamp as effective_from,
            t::timestamp as effective_to, eac::double as estimated_annual_consumption
     from (values
       ('M1', '00001', '2022-01-01', '${day} 12:00', 3650.0), ('M1', '00001', '${day} 12:00', null, 7300.0),
       ('M2', '00206', '2022-01-01', null, 2000.0), ('M2', '00210', '2022-01-01', null, 1000.0),
       ('M3', '00001', '2022-01-01', null, 4000.0), ('M3', '00206', '2022-01-01', null, 3000.0), ('M3', '00210', '2022-01-01', null, 1500.0),
       ('M4', '00001', '2022-01-01', null, 5000.0),
       ('M5', '00001', '2022-01-01', null, 2000.0), ('M5', '00002', '2022-01-01', null, 4000.0)
     ) v(meter_point_id, tpr, f, t, eac)`,
  );
  // no economy7 rate in _A, and the agile rate stops at 01:00: those half hours get a NULL rate
  await writeParquet(
    path.join(dir, 'tariff_unit_rates', 'tariffs.parquet'),
    `select gsp::varchar as gsp_group_id, product::varchar as product_category, variable::boolean as is_variable,
            f::timestamp as valid_from, t::timestamp as valid_to, rate::double as unit_rate_pence_per_kwh
     from (values
       ('_A', 'standard', false, '2022-01-01', '${day} 06:00', 20.0), ('_A', 'standard', false, '${day} 06:00', null, 25.0),
       ('_B', 'economy7', false, '2022-01-01', null, 18.0),
       ('_A', 'agile', true, '${day} 00:00', '${day} 00:30', 10.0), ('_A', 'agile', true, '${day} 00:30', '${day} 01:00', 30.0)
     ) v(gsp, product, variable, f, t, rate)`,
  );
}

interface Expected {
  meter: string;
  time: string;
  actual: number;
  ppc: number;
  eac: number;
  rate: number | null;
  gsp: string;
  pc: number;
  ssc: string;
  product: string;
}

// hand-computed: estimate = eac x ppc; deviation = (actual - estimate) / estimate
const EXPECTED: Expected[] = [
  { meter: 'M1', time: '00:00', actual: 0.5, ppc: 0.0001, eac: 3650, rate: 20, gsp: '_A', pc: 1, ssc: '0393', product: 'standard' },
  { meter: 'M1', time: '00:30', actual: 0.6, ppc: 0.0002, eac: 3650, rate: 20, gsp: '_A', pc: 1, ssc: '0393', product: 'standard' },
  { meter: 'M1', time: '12:00', actual: 1.0, ppc: 0.0004, eac: 7300, rate: 25, gsp: '_A', pc: 1, ssc: '0393', product: 'standard' },
  { meter: 'M2', time: '00:00', actual: 0.9, ppc: 0.0005, eac: 2000, rate: 18, gsp: '_B', pc: 2, ssc: '0151', product: 'economy7' },
  { meter: 'M2', time: '00:30', actual: 0.8, ppc: 0.0007, eac: 1000, rate: 18, gsp: '_B', pc: 2, ssc: '0151', product: 'economy7' },
  { meter: 'M2', time: '01:00', actual: 0.7, ppc: 0.0008, eac: 1000, rate: 18, gsp: '_B', pc: 2, ssc: '0151', product: 'economy7' },
  // both registers qualify at 07:00: their average coefficient and average EAC
  { meter: 'M2', time: '07:00', actual: 0.5, ppc: 0.0003, eac: 1500, rate: 18, gsp: '_B', pc: 2, ssc: '0151', product: 'economy7' },
  { meter: 'M2', time: '12:00', actual: 1.1, ppc: 0.0006, eac: 2000, rate: 18, gsp: '_B', pc: 2, ssc: '0151', product: 'economy7' },
  { meter: 'M3', time: '00:00', actual: 0.4, ppc: 0.0001, eac: 4000, rate: 20, gsp: '_A', pc: 1, ssc: '0393', product: 'standard' },
  { meter: 'M3', time: '01:00', actual: 0.6, ppc: 0.001, eac: 1500, rate: null, gsp: '_A', pc: 2, ssc: '0151', product: 'economy7' },
  { meter: 'M4', time: '00:00', actual: 0.7, ppc: 0.0001, eac: 5000, rate: 10, gsp: '_A', pc: 1, ssc: '0393', product: 'agile' },
  { meter: 'M4', time: '01:00', actual: 0.5, ppc: 0.0003, eac: 5000, rate: null, gsp: '_A', pc: 1, ssc: '0393', product: 'agile' },
  // both registers qualify; the product and variable flag are the second's, the first has none
  { meter: 'M5', time: '00:00', actual: 0.8, ppc: 0.0002, eac: 3000, rate: 20, gsp: '_A', pc: 1, ssc: '0393', product: 'standard' },
];

describe('the master model on hand-written sources', () => {
  let fixture: WarehouseFixture;
  let rows: Record<string, unknown>[];

  beforeAll(async () => {
    const sources = await tempDir('quirky-sources');
    await writeQuirkySources(sources);
    fixture = await openWarehouseFixture('master-model');
    await seedAndBuild(fixture, sources);
    rows = await fixture.query(
      `select *, strftime(settlement_timestamp_utc, '%H:%M') as time from demand_price_elasticity order by meter_point_id, settlement_timestamp_utc`,
    );
  });

  afterAll(() => fixture.close());

  it('has exactly one row per meter and half hour with a reading and a positive estimate', () => {
    expect(rows.map((row) => `${row.meter_point_id} ${row.time}`)).toEqual(EXPECTED.map((e) => `${e.meter} ${e.time}`));
  });

  it('computes estimate, deviation and attributes as hand-computed', () => {
    for (const [index, expected] of EXPECTED.entries()) {
      const row = rows[index] as Record<string, unknown>;
      const estimate = expected.eac * expected.ppc;
      expect(row).toMatchObject({
        gsp_group_id: expected.gsp,
        profile_class_id: expected.pc,
        standard_settlement_configuration_id: expected.ssc,
        product_category: expected.product,
        is_variable: expected.product === 'agile',
        is_export: false,
        is_charged_half_hourly: false,
      });
      expect(row.smart_meter_consumption).toBeCloseTo(expected.actual, 10);
      expect(row.percentage_of_annual_consumption).toBeCloseTo(expected.ppc, 12);
      expect(row.estimated_annual_consumption).toBeCloseTo(expected.eac, 8);
      expect(row.estimated_half_hour_consumption).toBeCloseTo(estimate, 10);
      expect(row.demand_price_elasticity).toBeCloseTo((expected.actual - estimate) / estimate, 8);
      if (expected.rate === null) expect(row.unit_rate_pence_per_kwh).toBeNull();
      else expect(row.unit_rate_pence_per_kwh).toBeCloseTo(expected.rate, 10);
    }
  });

  it('counts a reading repeated by overlapping quarterly files once', async () => {
    const [staged] = await fixture.query(
      `select count(*)::integer as n from stg_smart_meter_consumption where meter_point_id = 'M1' and settlement_timestamp_utc = '2023-01-01 00:30'`,
    );
    expect(staged?.n).toBe(1);
  });

  it('keeps a NULL reading as missing in staging and leaves it out of the master table', async () => {
    const [staged] = await fixture.query(
      `select smart_meter_consumption from stg_smart_meter_consumption where meter_point_id = 'M4' and settlement_timestamp_utc = '2023-01-01 00:30'`,
    );
    expect(staged).toEqual({ smart_meter_consumption: null });
  });

  it('records the identity of every seeded file', async () => {
    const files = await fixture.query(`select source, uri, size, rows from meterflow.source_files order by source`);
    expect(files).toHaveLength(8);
    expect(files.find((f) => f.source === 'smart_meter_consumption_q1')).toMatchObject({ rows: 10n });
  });
});

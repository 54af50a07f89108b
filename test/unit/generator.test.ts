// The sample-data generator: the contract's files and types, the domain's quirks, determinism.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultProjectDir } from '../../src/config';
import { generateSampleData, SOURCE_NAMES, type GenerateResult } from '../../src/generator/generate';
import { loadProject } from '../../src/project/load';
import { tempDir } from '../support/files';

const OPTIONS = { meters: 40, from: '2023-03-20', to: '2023-04-10', seed: 7 };

async function digestOf(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const source of SOURCE_NAMES) {
    for (const file of (await readdir(path.join(dir, source))).sort()) hash.update(await readFile(path.join(dir, source, file)));
  }
  return hash.digest('hex');
}

describe('the sample-data generator', () => {
  let result: GenerateResult;
  let connection: DuckDBConnection;
  let instance: DuckDBInstance;
  const source = (name: string) => `read_parquet('${path.join(result.outDir, name, '*.parquet')}')`;
  const one = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS()[0] as Record<string, unknown>;

  beforeAll(async () => {
    result = await generateSampleData({ outDir: await tempDir('generated'), ...OPTIONS });
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });

  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  it('writes the eight sources, one folder each, with the exact columns and types of the contract', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    for (const declared of plan.sources) {
      const files = (await readdir(path.join(result.outDir, declared.name))).filter((f) => f.endsWith('.parquet'));
      expect({ source: declared.name, files: files.length > 0 }).toEqual({ source: declared.name, files: true });
      const described = (await connection.runAndReadAll(`describe select * from ${source(declared.name)}`)).getRowObjectsJS();
      expect(described.map((c) => [c.column_name, String(c.column_type).toLowerCase()])).toEqual(
        declared.columns.map((c) => [c.name, c.dataType]),
      );
    }
  });

  it('writes quarterly reading files that overlap at their edges', async () => {
    const overlap = await one(
      `select count(*)::integer as n from ${source('smart_meter_consumption_q1')} q1
       join ${source('smart_meter_consumption_q2')} q2 using (meter_point_id, settlement_timestamp_utc)`,
    );
    expect(overlap.n).toBeGreaterThan(0);
    const q2Start = await one(`select min(settlement_timestamp_utc)::varchar as t from ${source('smart_meter_consumption_q2')}`);
    expect(q2Start.t).toBe('2023-03-31 23:00:00');
  });

  it('leaves about 1% of readings missing and a few NULL', async () => {
    const counts = await one(
      `select count(*)::integer as rows, count(smart_meter_consumption)::integer as non_null,
              count(distinct (meter_point_id, settlement_timestamp_utc))::integer as distinct_slots
       from (select * from ${source('smart_meter_consumption_q1')} union all select * from ${source('smart_meter_consumption_q2')})`,
    );
    const expectedSlots = OPTIONS.meters * 21 * 48;
    const missingShare = 1 - (counts.distinct_slots as number) / expectedSlots;
    expect(missingShare).toBeGreaterThan(0.005);
    expect(missingShare).toBeLessThan(0.02);
    expect(counts.rows).toBeGreaterThan(counts.non_null as number);
  });

  it('makes coefficients that sum to the window share of a year per combination, and zero outside a TPR window', async () => {
    const sums = (
      await connection.runAndReadAll(
        `select sum(percentage_of_annual_consumption) as total from ${source('period_profile_coefficients')}
         group by gsp_group_id, profile_class_id, standard_settlement_configuration_id, time_pattern_regime_id`,
      )
    ).getRowObjectsJS();
    for (const row of sums) expect(row.total).toBeCloseTo((21 * 48) / (365.25 * 48), 9);
    const economy7 = await one(
      `select count(*)::integer as slots, count(*) filter (where positive <> 1)::integer as wrong from (
         select gsp_group_id, settlement_timestamp_utc, count(*) filter (where percentage_of_annual_consumption > 0) as positive
         from ${source('period_profile_coefficients')} where standard_settlement_configuration_id = '0151' group by all)`,
    );
    expect(economy7.slots).toBeGreaterThan(0);
    expect(economy7.wrong).toBe(0);
  });

  it('has configuration changes mid-period, Economy 7 meters and EAC revisions', async () => {
    const config = await one(
      `select count(distinct meter_point_id) filter (where time_pattern_regime_id = '00210')::integer as economy7,
              (select count(*)::integer from (select meter_point_id from ${source('meter_register_agreement_configuration_interval')}
                 group by all having count(distinct interval_start) > 1)) as changed
       from ${source('meter_register_agreement_configuration_interval')}`,
    );
    expect(config.economy7).toBeGreaterThan(0);
    expect(config.changed).toBeGreaterThan(0);
    const revisions = await one(
      `select count(*)::integer as n from (select meter_point_id, time_pattern_regime_id from ${source('estimated_annual_consumption_interval')}
       group by all having count(*) > 1)`,
    );
    expect(revisions.n).toBeGreaterThan(0);
  });

  it('prices the variable tariff half-hourly', async () => {
    const variable = await one(
      `select count(distinct unit_rate_pence_per_kwh)::integer as rates, max(valid_to - valid_from)::varchar as longest
       from ${source('tariff_unit_rates')} where is_variable`,
    );
    expect(variable.rates).toBeGreaterThan(100);
    expect(variable.longest).toBe('00:30:00');
  });

  it('is deterministic for a seed, and differs for another seed', async () => {
    const again = await generateSampleData({ outDir: await tempDir('generated-again'), ...OPTIONS });
    expect(await digestOf(again.outDir)).toBe(await digestOf(result.outDir));
    const other = await generateSampleData({ outDir: await tempDir('generated-other'), ...OPTIONS, seed: 8 });
    expect(await digestOf(other.outDir)).not.toBe(await digestOf(result.outDir));
  });

  it('refuses bad options with a message naming the option', async () => {
    await expect(generateSampleData({ outDir: '/tmp/x', meters: 0 })).rejects.toThrow('--meters must be a positive whole number');
    await expect(generateSampleData({ outDir: '/tmp/x', from: '2023-02-01', to: '2023-01-01' })).rejects.toThrow(
      '--to (2023-01-01) must be after --from',
    );
  });
});

// The analytics models give the same table to the bit every time they run on the same master: each
// rendered as the pipeline renders it and run three times on in-memory DuckDB with two threads over
// a master large enough to be summed in parallel (several row groups), its rows hashed bit for bit.
// A plain sum() of doubles fails this: the order its threads' partial sums are added in varies.
import { runsOnOf } from '../../src/project/types';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { defaultProjectDir } from '../../src/config';
import { loadProject, type LoadedProject } from '../../src/project/load';
import { renderModel } from '../../src/project/render';

const resolver = { ref: (model: string) => `"main"."${model}"`, source: (source: string, table: string) => `"${source}"."${table}"` };

/** 120 meters over four months of half hours (about 700,000 rows), values with many digits. */
const MASTER = `
  select 'M' || lpad(meter::varchar, 4, '0') as meter_point_id, ts as settlement_timestamp_utc,
         '_' || chr((65 + meter % 3)::integer) as gsp_group_id, (1 + meter % 4)::integer as profile_class_id,
         '0393' as standard_settlement_configuration_id, 'p' as product_category, meter % 5 = 0 as is_variable,
         false as is_export, false as is_charged_half_hourly,
         actual as smart_meter_consumption, estimate / 3100.7 as percentage_of_annual_consumption,
         3100.7 as estimated_annual_consumption, estimate as estimated_half_hour_consumption,
         (actual - estimate) / estimate as demand_price_elasticity, 13.3 + random() * 20 as unit_rate_pence_per_kwh
  from (
    select meter, ts, 0.1 + random() as estimate, 0.05 + random() * 2 as actual
    from range(120) m(meter), range(timestamp '2023-01-01', timestamp '2023-05-01', interval 30 minute) t(ts)
  )`;

/** Every row of a table, hashed bit for bit, summed: equal only if the tables are. */
const checksum = async (connection: DuckDBConnection, table: string) =>
  String((await connection.runAndReadAll(`select count(*) || ':' || sum(hash(t)::hugeint) from ${table} t`)).getRows()[0]?.[0]);

describe('analytics are the same to the bit on every run', () => {
  let project: LoadedProject;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    project = await loadProject(defaultProjectDir());
    instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    connection = await instance.connect();
    await connection.run('select setseed(0.42)');
    await connection.run(`create table main.demand_price_elasticity as ${MASTER}`);
  });

  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  const sql = (name: string) =>
    renderModel({ file: name, template: project.templates.get(name) ?? '', resolver, vars: project.plan.vars, self: `"main"."${name}"` })
      .sql;

  it('gives each analytics model one checksum over three runs', async () => {
    // in DAG order (the plan's): the merging models read the per-month partials built before them
    const ordered = project.plan.models.filter((model) => runsOnOf(model) === 'analytics');
    const differing: string[] = [];
    for (const model of ordered) {
      const seen = new Set<string>();
      for (let run = 0; run < 3; run += 1) {
        await connection.run(`create or replace table main.${model.name} as ${sql(model.name)}`);
        seen.add(await checksum(connection, `main.${model.name}`));
      }
      if (seen.size > 1) differing.push(`${model.name}: ${seen.size} different tables`);
    }
    expect(ordered.length).toBeGreaterThanOrEqual(12);
    expect(differing).toEqual([]);
  });
});

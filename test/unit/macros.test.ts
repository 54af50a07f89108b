// The project's macros (models/macros/): loaded as dbt loads them, rendered into the models that call
// them and run on in-memory DuckDB against hand-computed rows, and errors that name the file.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultProjectDir } from '../../src/config';
import { ProjectError } from '../../src/errors';
import { loadProject, type LoadedProject } from '../../src/project/load';
import { renderModel } from '../../src/project/render';
import { copyOfModels, editFile } from '../support/files';

const resolver = { ref: (model: string) => `"main"."${model}"`, source: (source: string, table: string) => `"${source}"."${table}"` };

function renderedSql(project: LoadedProject, name: string): string {
  const template = project.templates.get(name);
  if (template === undefined) throw new Error(`no template ${name}`);
  return renderModel({ file: name, template, resolver, vars: project.plan.vars, self: `"main"."${name}"` }).sql;
}

async function withDuckDB<T>(run: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await run(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const rows = async (connection: DuckDBConnection, sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJS();

describe('the shipped macros', () => {
  let project: LoadedProject;
  beforeAll(async () => {
    project = await loadProject(defaultProjectDir());
  });

  it('loads every macro of models/macros, by file', () => {
    expect(project.macros.map(({ file, names }) => ({ file, names }))).toEqual([
      { file: 'macros/actual_vs_estimated.sql', names: ['actual_vs_estimated'] },
      { file: 'macros/deviation_bucket.sql', names: ['deviation_bucket'] },
      { file: 'macros/deviation_distribution.sql', names: ['deviation_distribution'] },
      { file: 'macros/exact_sum.sql', names: ['exact_sum', 'exact_avg'] },
      { file: 'macros/per_meter_half_hour_config.sql', names: ['per_meter_half_hour_config'] },
      { file: 'macros/per_period.sql', names: ['per_period_config', 'master_since_latest_period'] },
      { file: 'macros/readings_of_all_quarters.sql', names: ['readings_of_all_quarters'] },
      { file: 'macros/validity_intervals.sql', names: ['validity_intervals'] },
    ]);
  });

  it('keeps a model that calls no macro as written, and bundles a model with the macro files it calls only', async () => {
    const profile = await readFile(path.join(project.dir, 'staging', 'stg_period_profile_coefficients.sql'), 'utf8');
    expect(project.templates.get('stg_period_profile_coefficients')).toBe(profile);
    expect(project.templates.get('meter_anomalies')).toContain('macros/exact_sum.sql');
    const daily = project.templates.get('actual_vs_estimated_daily') ?? '';
    expect(daily).toContain('macros/actual_vs_estimated.sql');
    expect(daily).not.toContain('macros/deviation_distribution.sql');
    expect(project.templates.get('stg_smart_meter_consumption')).toContain('macros/readings_of_all_quarters.sql');
    // the test reads the staged readings, which keep the lowest value beside the kept one
    expect(project.templates.get('test:assert_overlapping_readings_agree')).not.toContain('macros/readings_of_all_quarters.sql');
  });

  it('renders refs and sources called inside macros into the plan', () => {
    const daily = project.plan.models.find((model) => model.name === 'actual_vs_estimated_daily');
    expect(daily?.refs).toEqual(['demand_price_elasticity']);
    const readings = project.plan.models.find((model) => model.name === 'stg_smart_meter_consumption');
    expect([...(readings?.sources ?? [])].sort()).toEqual([1, 2, 3, 4].map((q) => `smart_meter_consumption_q${q}`));
    // the test that overlapping files agree reads the staged readings, not the four sources again
    expect(project.plan.singularTests[0]?.sources).toHaveLength(0);
    expect(project.plan.singularTests[0]?.refs).toEqual(['stg_smart_meter_consumption']);
  });

  it('averages per day, ISO week and month, the date_trunc unit being the only difference', async () => {
    const result = await withDuckDB(async (connection) => {
      // a Sunday's two half hours (two meters) and the next Monday's one
      await connection.run(`create table main.demand_price_elasticity as
        select * from (values
          ('m1', timestamp '2023-10-01 00:00', 1.0, 2.0, -0.5),
          ('m2', timestamp '2023-10-01 00:30', 3.0, 2.0, 0.5),
          ('m1', timestamp '2023-10-02 00:00', 2.0, 4.0, -0.5)
        ) as t(meter_point_id, settlement_timestamp_utc, smart_meter_consumption, estimated_half_hour_consumption, demand_price_elasticity)`);
      const grains: Record<string, unknown[]> = {};
      for (const grain of ['daily', 'weekly', 'monthly']) {
        grains[grain] = (await rows(connection, renderedSql(project, `actual_vs_estimated_${grain}`))).map((row) => ({
          ...row,
          period_start: (row.period_start as Date).toISOString().slice(0, 10),
          half_hours: Number(row.half_hours),
          meters: Number(row.meters),
        }));
      }
      return grains;
    });
    const row = (start: string, halfHours: number, meters: number, actual: number, estimated: number, deviation: number) => ({
      period_start: start,
      half_hours: halfHours,
      meters,
      mean_actual_consumption: actual,
      mean_estimated_consumption: estimated,
      mean_deviation: deviation,
    });
    expect(result.daily).toEqual([row('2023-10-01', 2, 2, 2, 2, 0), row('2023-10-02', 1, 1, 2, 4, -0.5)]);
    expect(result.weekly).toEqual([row('2023-09-25', 2, 2, 2, 2, 0), row('2023-10-02', 1, 1, 2, 4, -0.5)]);
    expect(result.monthly).toEqual([row('2023-10-01', 3, 2, 2, 2.666666667, -0.166666667)]);
  });

  it('unions the four quarters for the readings model (each half hour once), and the test that overlaps agree reads it', async () => {
    const result = await withDuckDB(async (connection) => {
      await connection.run('create schema raw');
      const quarters: Record<number, string> = {
        1: "('m1', '00:00', 1.0), ('m1', '00:30', 2.0)",
        2: "('m1', '00:30', 2.0), ('m1', '01:00', null)", // agrees with q1; a NULL that q3 fills
        3: "('m1', '01:00', 3.0), ('m1', '01:30', 4.0)",
        4: "('m1', '01:30', 5.0)", // disagrees with q3
      };
      for (const [quarter, values] of Object.entries(quarters)) {
        await connection.run(`create table raw.smart_meter_consumption_q${quarter} as
          select meter_point_id, timestamp '2023-10-01' + cast(hh as interval) as settlement_timestamp_utc, value::double as smart_meter_consumption
          from (values ${values}) as t(meter_point_id, hh, value)`);
      }
      await connection.run(`create table main.stg_smart_meter_consumption as ${renderedSql(project, 'stg_smart_meter_consumption')}`);
      const staged = await rows(
        connection,
        `select strftime(settlement_timestamp_utc, '%H:%M') as at, smart_meter_consumption from main.stg_smart_meter_consumption order by 1`,
      );
      const disagreements = await rows(
        connection,
        `select strftime(settlement_timestamp_utc, '%H:%M') as at, lowest, highest from (${renderedSql(project, 'test:assert_overlapping_readings_agree')})`,
      );
      return { staged, disagreements };
    });
    expect(result.staged).toEqual([
      { at: '00:00', smart_meter_consumption: 1 },
      { at: '00:30', smart_meter_consumption: 2 },
      { at: '01:00', smart_meter_consumption: 3 },
      { at: '01:30', smart_meter_consumption: 5 },
    ]);
    expect(result.disagreements).toEqual([{ at: '01:30', lowest: 4, highest: 5 }]);
  });
  it('gives the mean and exactly the quantile_cont of each group, in two passes over the master', async () => {
    // awkward on purpose: ties, NULL deviations, a NULL group, values far apart (up to ±1e12, the bounds the master's tests allow), groups
    // of one and two values, a group whose deviations are all NULL, large groups whose quantiles fall
    // between two buckets, all over a year's months (the histogram is counted per month, then merged)
    const master = `
      select timestamp '2023-01-01' + to_minutes(30 * (random() * 17520)::bigint) as settlement_timestamp_utc,
             '_' || chr(65 + (random() * 2)::integer) as gsp_group_id, *
      from (
        select (i % 5)::integer as profile_class_id, (random() * 40 - 20) as demand_price_elasticity from range(20000) t(i)
        union all select 5, round(random() * 4, 1) from range(3001)
        union all select 5, null from range(17)
        union all select null, random() from range(99)
        union all select 6, 0.25
        union all select 7, -3.0 union all select 7, 5.0
        union all select 8, null union all select 8, null
        union all select 9, 1e12 union all select 9, -1e12 union all select 9, 1e11 union all select 9, 0.5
      )`;
    const sorted = (list: Record<string, unknown>[]) => JSON.stringify(list, (_k, v) => (typeof v === 'bigint' ? Number(v) : v));
    for (const seed of [0.1, 0.7]) {
      await withDuckDB(async (connection) => {
        await connection.run(`select setseed(${seed})`);
        await connection.run(`create table main.demand_price_elasticity as ${master}`);
        await connection.run(`create table main.deviation_histogram_by_month as ${renderedSql(project, 'deviation_histogram_by_month')}`);
        const model = await rows(connection, renderedSql(project, 'deviation_by_profile_class'));
        const expected = await rows(
          connection,
          `select profile_class_id, count(*) as half_hours, round(avg(demand_price_elasticity), 9) as mean_deviation,
                  quantile_cont(demand_price_elasticity, 0.5) as median_deviation,
                  quantile_cont(demand_price_elasticity, 0.1) as p10_deviation,
                  quantile_cont(demand_price_elasticity, 0.9) as p90_deviation
           from main.demand_price_elasticity group by all order by profile_class_id`,
        );
        expect(model).toHaveLength(11);
        // every digit: the quantiles are the same doubles, not merely close; the means are exact sums
        // (see exact_sum), each value taken into DECIMAL within a bit of its own, so they agree with
        // avg's to 1e-15 of their size
        const withoutMean = (list: Record<string, unknown>[]) => list.map(({ mean_deviation: _mean, ...rest }) => rest);
        expect(sorted(withoutMean(model))).toEqual(sorted(withoutMean(expected)));
        model.forEach((row, i) => {
          const [mean, avg] = [row.mean_deviation, expected[i]?.mean_deviation].map((v) => (v === null ? null : Number(v)));
          if (avg === null || avg === undefined) expect(mean).toBe(avg);
          else expect(Math.abs(Number(mean) - avg)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(avg)));
        });
      });
    }
  });
  it("fits the price response from per-month sums as DuckDB's regr_slope, regr_intercept and regr_r2 do", async () => {
    // class 1: a noisy response over a year; class 2: one rate only (no slope); class 3: consumption
    // exactly at its estimate (r squared 1); points that are not variable or not positive are left out
    const master = `
      select timestamp '2023-01-01' + to_minutes(30 * (random() * 17520)::bigint) as settlement_timestamp_utc, *
      from (
        select 1 as profile_class_id, true as is_variable, 5 + random() * 30 as unit_rate_pence_per_kwh, 0.4 as estimated_half_hour_consumption,
               0.4 * (1 + random()) as smart_meter_consumption from range(5000)
        union all select 2, true, 12.5, 0.5, 0.1 + random() from range(300)
        union all select 3, true, 1 + random() * 40, 0.25, 0.25 from range(300)
        union all select 1, false, 20, 0.4, 9 from range(50)
        union all select 1, true, 0, 0.4, 9 from range(50)
      )`;
    await withDuckDB(async (connection) => {
      await connection.run(`create table main.demand_price_elasticity as ${master}`);
      await connection.run(`create table main.price_response_by_month as ${renderedSql(project, 'price_response_by_month')}`);
      const fitted = await rows(connection, renderedSql(project, 'price_response_variable_tariff'));
      const expected = await rows(
        connection,
        `with points as (
           select profile_class_id, ln(unit_rate_pence_per_kwh) as x, ln(smart_meter_consumption / estimated_half_hour_consumption) as y
           from main.demand_price_elasticity where is_variable and smart_meter_consumption > 0 and unit_rate_pence_per_kwh > 0
         )
         select profile_class_id, count(*) as points, round(regr_slope(y, x), 9) as price_elasticity,
                round(regr_intercept(y, x), 9) as intercept, round(regr_r2(y, x), 9) as r_squared
         from points group by all order by profile_class_id`,
      );
      // one rate only: DuckDB's slope is 0/0, NaN (which the all_finite test would stop the run on)
      // and its intercept and r squared NULL; the model leaves all three NULL
      expect(expected.map((row) => [row.profile_class_id, row.r_squared])).toEqual([
        [1, expect.any(Number)],
        [2, null],
        [3, 1],
      ]);
      expect(Number.isNaN(expected[1]?.price_elasticity)).toBe(true);
      expected[1] = { ...expected[1], price_elasticity: null };
      expect(fitted).toHaveLength(3);
      fitted.forEach((row, i) => {
        const want = expected[i] as Record<string, unknown>;
        expect(row.profile_class_id).toBe(want.profile_class_id);
        expect(row.points).toBe(want.points);
        for (const column of ['price_elasticity', 'intercept', 'r_squared']) {
          // rounded to 9 decimals both ways: equal but for a last-digit rounding tie
          if (want[column] === null) expect(row[column]).toBeNull();
          else expect(row[column] as number).toBeCloseTo(want[column] as number, 8);
        }
      });
    });
  });
});

describe('macro errors, each naming the file', () => {
  const refusal = async (dir: string) => {
    const error = await loadProject(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProjectError);
    return error as ProjectError;
  };

  it('refuses a macro file with a syntax error', async () => {
    const dir = await copyOfModels('bad-macro');
    await writeFile(path.join(dir, 'macros', 'broken.sql'), '{% macro broken( %}select 1{% endmacro %}\n');
    const error = await refusal(dir);
    expect(error.message).toMatch(/^macros\/broken\.sql: macro file error: .*unexpected token/s);
    expect(error.file).toBe('macros/broken.sql');
  });

  it('refuses a call to a macro no file defines, naming the model', async () => {
    const dir = await copyOfModels('unknown-macro');
    await editFile(path.join(dir, 'analytics', 'actual_vs_estimated_daily.sql'), (sql) =>
      sql.replace('actual_vs_estimated(', 'actual_vs_estimate('),
    );
    expect((await refusal(dir)).message).toBe(
      "analytics/actual_vs_estimated_daily.sql: 'actual_vs_estimate' is neither a macro of the project (macro-paths) nor a dbt function (line 2)",
    );
  });

  it('refuses a macro defined twice, a macro named like a dbt function, and text outside macros but SQL comments', async () => {
    const twice = await copyOfModels('macro-twice');
    await writeFile(path.join(twice, 'macros', 'again.sql'), '{% macro actual_vs_estimated(unit) %}select 1{% endmacro %}\n');
    expect((await refusal(twice)).message).toBe(
      "macros/again.sql: macro 'actual_vs_estimated' is already defined in macros/actual_vs_estimated.sql",
    );

    const named = await copyOfModels('macro-named-ref');
    await writeFile(path.join(named, 'macros', 'ref.sql'), "{% macro ref(name) %}'{{ name }}'{% endmacro %}\n");
    expect((await refusal(named)).message).toBe("macros/ref.sql: a macro may not be named 'ref', a dbt function");

    const loose = await copyOfModels('macro-loose-text');
    // a SQL comment between macros is fine, as in dbt; other text is named
    await writeFile(path.join(loose, 'macros', 'loose.sql'), '-- a note\n{% macro one() %}1{% endmacro %}\n');
    await expect(loadProject(loose)).resolves.toBeDefined();
    await writeFile(path.join(loose, 'macros', 'loose.sql'), 'select 1\n{% macro one() %}1{% endmacro %}\n');
    expect((await refusal(loose)).message).toMatch(/^macros\/loose\.sql: text outside \{% macro %\} blocks \('select 1'\)/);
  });

  it('names the macro file and line of a call to nothing inside a macro', async () => {
    const dir = await copyOfModels('unknown-inside-macro');
    await editFile(path.join(dir, 'macros', 'deviation_distribution.sql'), (sql) =>
      sql.replace('{{ grouping_column }},', '{{ grouping_column }}, {{ quantiles() }}'),
    );
    expect((await refusal(dir)).message).toBe(
      "analytics/deviation_by_gsp_group.sql: 'quantiles' is neither a macro of the project (macro-paths) nor a dbt function (line 2, in macros/deviation_distribution.sql)",
    );
  });

  it('reads macro-paths from dbt_project.yml; a folder there that does not exist holds no macros, as in dbt', async () => {
    const moved = await copyOfModels('macro-paths');
    await rename(path.join(moved, 'macros'), path.join(moved, 'shared_macros'));
    await editFile(path.join(moved, 'dbt_project.yml'), (yaml) => `${yaml}\nmacro-paths: ['shared_macros']\n`);
    expect((await loadProject(moved)).macros.map((macro) => macro.file)).toContain('shared_macros/actual_vs_estimated.sql');

    await editFile(path.join(moved, 'dbt_project.yml'), (yaml) => yaml.replace("['shared_macros']", "['nowhere']"));
    // the models that call the project's macros are refused, naming the macro
    expect((await refusal(moved)).message).toMatch(/is neither a macro of the project \(macro-paths\) nor a dbt function/);
  });
});

describe("dbt's own generic tests, changed by the project's default__ or duckdb__ definition", () => {
  it('runs the project’s definition of unique and accepted_values, as dbt dispatches to it, and meterflow’s own where it defines none', async () => {
    const { cp, mkdir } = await import('node:fs/promises');
    const dir = await (await import('../support/files')).tempDir('builtin-override');
    await cp(path.join(__dirname, '..', 'fixtures', 'jaffle_shop'), dir, { recursive: true });
    await mkdir(path.join(dir, 'macros'), { recursive: true });
    await writeFile(
      path.join(dir, 'macros', 'tests.sql'),
      [
        '{% macro default__test_unique(model, column_name) %}',
        'select {{ column_name }} from {{ model }} where {{ column_name }} <> 1 group by 1 having count(*) > 1',
        '{% endmacro %}',
        '{% macro duckdb__test_accepted_values(model, column_name, values, quote=True) %}',
        "select * from {{ model }} where lower({{ column_name }}) not in ({% for v in values %}'{{ v }}'{{ ',' if not loop.last }}{% endfor %})",
        '{% endmacro %}',
      ].join('\n'),
    );
    const { plan } = await loadProject(dir);
    const tests = [...plan.models.flatMap((m) => m.tests), ...plan.sources.flatMap((s) => s.tests)];
    const unique = tests.find((t) => t.id === 'unique_raw_customers_id');
    expect(unique).toMatchObject({ kind: 'generic', macro: 'unique', column: 'id' });
    expect(unique?.sql).toBe('select id from __METERFLOW_MODEL__ where id <> 1 group by 1 having count(*) > 1');
    const accepted = tests.find((t) => t.id.startsWith('accepted_values_orders_status'));
    expect(accepted).toMatchObject({ kind: 'generic', macro: 'accepted_values' });
    expect(accepted?.sql).toContain("where lower(status) not in ('placed','shipped','completed','return_pending','returned')");
    // not_null and relationships: the project defines neither, so meterflow's own run
    expect(tests.find((t) => t.id === 'not_null_raw_customers_id')?.kind).toBe('not_null');
    expect(tests.find((t) => t.id.startsWith('relationships_orders_customer_id'))?.kind).toBe('relationships');
  });
});

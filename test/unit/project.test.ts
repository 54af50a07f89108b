// The models project: loading, rendering dbt functions, DAG order, and errors that name the file.
import { DuckDBInstance } from '@duckdb/node-api';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultProjectDir } from '../../src/config';
import { ProjectError } from '../../src/errors';
import { runDataTests } from '../../src/warehouse/data-tests';
import { downstreamOf, topologicalOrder } from '../../src/project/dag';
import { failingRowCondition, parseTests } from '../../src/project/data-tests';
import { boundAt, DEFAULT_EVENT_TIME_WINDOW, eventTimeWindowTest, parseEventTimeWindow } from '../../src/project/event-window';
import type { DataTest } from '../../src/project/types';
import { loadProject } from '../../src/project/load';
import { renderModel } from '../../src/project/render';
import { selectModels } from '../../src/project/select';
import { copyOfModels, editFile } from '../support/files';

const resolver = { ref: (model: string) => `"main"."${model}"`, source: (source: string, table: string) => `"${source}"."${table}"` };

describe('the shipped models project', () => {
  it('declares the eight sources of the data contract with their columns and types', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    expect(plan.sources.map((s) => s.name).sort()).toEqual(
      [
        'estimated_annual_consumption_interval',
        'meter_register_agreement_configuration_interval',
        'period_profile_coefficients',
        'smart_meter_consumption_q1',
        'smart_meter_consumption_q2',
        'smart_meter_consumption_q3',
        'smart_meter_consumption_q4',
        'tariff_unit_rates',
      ].sort(),
    );
    const readings = plan.sources.find((s) => s.name === 'smart_meter_consumption_q1');
    expect(readings?.columns).toEqual([
      expect.objectContaining({ name: 'meter_point_id', dataType: 'varchar' }),
      expect.objectContaining({ name: 'settlement_timestamp_utc', dataType: 'timestamp' }),
      expect.objectContaining({ name: 'smart_meter_consumption', dataType: 'double' }),
    ]);
  });

  it('has a staging model per source, the master model and every analytics model of DATA.md, in build order', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    // where each runs is its config, not its folder: the readings' staging and the master by month
    const byRunsOn = (runsOn: string) =>
      plan.models
        .filter((m) => m.runsOn === runsOn)
        .map((m) => m.name)
        .sort();
    expect(byRunsOn('build')).toEqual(['demand_price_elasticity', 'stg_smart_meter_consumption']);
    // the staging views, and the tables of meters' segments and layouts the master reads, built once a run
    expect(byRunsOn('writer')).toEqual([
      'layout_half_hour_coefficients',
      'meter_segment_estimates',
      'meter_segment_layouts',
      'stg_estimated_annual_consumption_interval',
      'stg_meter_register_agreement_configuration_interval',
      'stg_period_profile_coefficients',
      'stg_tariff_unit_rates',
    ]);
    expect(byRunsOn('analytics')).toEqual([
      'actual_vs_estimated_daily',
      'actual_vs_estimated_monthly',
      'actual_vs_estimated_weekly',
      'deviation_by_gsp_group',
      'deviation_by_profile_class',
      'deviation_histogram_by_month',
      'half_hourly_load_profile',
      'half_hourly_load_profile_by_month',
      'meter_anomalies',
      'meter_readings_by_month',
      'price_response_by_month',
      'price_response_variable_tariff',
    ]);
    expect(plan.models.filter((m) => m.file.startsWith('staging/'))).toHaveLength(5);
    const position = new Map(plan.models.map((m, index) => [m.name, index]));
    for (const model of plan.models) {
      for (const ref of model.refs) expect(position.get(ref)).toBeLessThan(position.get(model.name) as number);
    }
    const master = plan.models.find((m) => m.name === 'demand_price_elasticity');
    expect(master?.materialized).toBe('incremental');
    expect(master?.eventTime).toBe('settlement_timestamp_utc');
    expect(plan.sources.filter((s) => s.eventTime === 'settlement_timestamp_utc').map((s) => s.name)).toEqual([
      'smart_meter_consumption_q1',
      'smart_meter_consumption_q2',
      'smart_meter_consumption_q3',
      'smart_meter_consumption_q4',
      'period_profile_coefficients',
    ]);
    // a month of the master reads a month of coefficients (built once a run, from the year's)
    expect(plan.models.find((m) => m.name === 'stg_period_profile_coefficients')?.eventTime).toBe('settlement_timestamp_utc');
    expect(plan.models.find((m) => m.name === 'layout_half_hour_coefficients')?.eventTime).toBe('settlement_timestamp_utc');
    expect([...(master?.refs ?? [])].sort()).toEqual([
      'layout_half_hour_coefficients',
      'meter_segment_estimates',
      'stg_smart_meter_consumption',
      'stg_tariff_unit_rates',
    ]);
    expect(plan.models.find((m) => m.name === 'stg_smart_meter_consumption')?.sources).toHaveLength(4);
  });

  it('gives every model a description and documented columns in YAML', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    for (const model of plan.models) {
      expect({ model: model.name, description: Boolean(model.description) }).toEqual({ model: model.name, description: true });
      expect(model.columns.length).toBeGreaterThan(0);
    }
  });
});

describe('numbers checked by tests', () => {
  it('declares plausible ranges and the half-hour grid on the sources, with severities', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    const testsOf = (source: string) =>
      plan.sources
        .find((s) => s.name === source)
        ?.tests.filter((t) => t.kind !== 'not_null')
        .map((t) => ({ id: t.id, column: t.column, severity: t.severity, args: t.args, ...(t.where ? { where: t.where } : {}) }));
    for (const q of [1, 2, 3, 4]) {
      const source = `smart_meter_consumption_q${q}`;
      expect(testsOf(source)).toEqual([
        {
          id: `on_time_grid_${source}_settlement_timestamp_utc`,
          column: 'settlement_timestamp_utc',
          severity: 'error',
          args: { interval_minutes: 30 },
        },
        {
          id: `accepted_range_${source}_smart_meter_consumption`,
          column: 'smart_meter_consumption',
          severity: 'warn',
          args: { min_value: 0 },
        },
        {
          id: `accepted_range_${source}_smart_meter_consumption_2`,
          column: 'smart_meter_consumption',
          severity: 'error',
          args: { max_value: 1000 },
        },
      ]);
    }
    expect(testsOf('period_profile_coefficients')).toEqual([
      expect.objectContaining({ column: 'settlement_timestamp_utc', severity: 'error', args: { interval_minutes: 30 } }),
      expect.objectContaining({ column: 'percentage_of_annual_consumption', severity: 'error', args: { min_value: 0, max_value: 1 } }),
    ]);
    expect(testsOf('estimated_annual_consumption_interval')).toEqual([
      expect.objectContaining({ column: 'estimated_annual_consumption', severity: 'error', args: { min_value: 0, max_value: 17520000 } }),
    ]);
    expect(testsOf('tariff_unit_rates')).toEqual([
      // rates change at settlement half hours (a rate from 00:15 priced no half hour until 2026-12-08)
      expect.objectContaining({ column: 'valid_from', args: { interval_minutes: 30 }, severity: 'error' }),
      expect.objectContaining({ column: 'valid_to', args: { interval_minutes: 30 }, severity: 'error' }),
      expect.objectContaining({ column: 'unit_rate_pence_per_kwh', args: { min_value: -100, max_value: 1000 } }),
      expect.objectContaining({ column: 'unit_rate_pence_per_kwh', args: { min_value: 0 }, where: 'not is_variable' }),
    ]);
  });

  it('tests every analytics model and the master for finite numbers', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    // (meter_segment_layouts holds its EACs in a list, which all_finite does not look into; the
    // source's range test has them finite already)
    for (const model of plan.models.filter((m) => !m.file.startsWith('staging/') && m.name !== 'meter_segment_layouts')) {
      expect({ model: model.name, finite: model.tests.some((t) => t.kind === 'all_finite') }).toEqual({ model: model.name, finite: true });
    }
  });

  it('ships a dbt macro for each of its own generic tests, so dbt runs the same YAML', async () => {
    const macros = await readdir(path.join(defaultProjectDir(), 'tests', 'generic'));
    for (const kind of [
      'expression_is_true',
      'row_count_between',
      'unique_combination_of_columns',
      'accepted_range',
      'on_time_grid',
      'all_finite',
    ]) {
      expect(macros).toContain(`${kind}.sql`);
    }
  });

  it('counts the rows that fail accepted_range, on_time_grid and all_finite, as dbt would', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(
        `create table t as select * from (values
           (timestamp '2023-01-01 00:00', 0.0::double, true, 1),
           (timestamp '2023-01-01 00:30', 1.0::double, false, 2),
           (timestamp '2023-01-01 00:10', -5.0::double, true, 3),
           (timestamp '2023-01-01 01:00', null::double, false, 4),
           (timestamp '2023-01-01 01:30', 'nan'::double, false, 5),
           (timestamp '2023-01-01 02:00', '-infinity'::double, false, 6)
         ) v(ts, x, is_variable, n)`,
      );
      const yaml = [
        { accepted_range: { arguments: { min_value: 0, max_value: 1 } } },
        { accepted_range: { arguments: { min_value: 0, max_value: 1, inclusive: false } } },
        { accepted_range: { arguments: { min_value: 0 }, config: { severity: 'warn', where: 'not is_variable' } } },
        { on_time_grid: { arguments: { interval_minutes: 30 } } },
        { on_time_grid: { arguments: { interval_minutes: 60 } } },
      ];
      const columns = ['x', 'x', 'x', 'ts', 'ts'];
      const tests = [
        ...yaml.map((entry, index) => parseTests([entry], 't', 'test.yml', columns[index])[0]!),
        ...parseTests(['all_finite', { all_finite: { arguments: { columns: ['n'] } } }], 't', 'test.yml'),
      ];
      const { results } = await runDataTests(connection, tests, 't', (m) => m);
      expect(results.map((r) => [r.id, r.failures, r.status])).toEqual([
        // -5, NaN (above every number in DuckDB) and -Infinity; NULL passes
        ['accepted_range_t_x', 3, 'fail'],
        ['accepted_range_t_x', 5, 'fail'],
        // only where not is_variable: -Infinity (NaN is not below 0)
        ['accepted_range_t_x', 1, 'warn'],
        ['on_time_grid_t_ts', 1, 'fail'],
        ['on_time_grid_t_ts', 3, 'fail'],
        // every DOUBLE column found by itself: the NaN and the -Infinity; an INTEGER column is always finite
        ['all_finite_t', 2, 'fail'],
        ['all_finite_t', 0, 'pass'],
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('counts the values accepted_values refuses, not their rows, as dbt does, alone and among other row tests', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      // 'x' twice and 'y' once are not accepted: two failures, as dbt's grouped test SQL gives
      await connection.run(`create table t as select * from (values ('a'), ('x'), ('x'), ('y'), (null)) v(status)`);
      const accepted = { accepted_values: { arguments: { values: ['a'] }, config: { warn_if: '> 1', error_if: '> 2' } } };
      const [alone] = parseTests([accepted], 't', 'test.yml', 'status');
      const among = parseTests([accepted, 'not_null'], 't', 'test.yml', 'status');
      expect((await runDataTests(connection, [alone!], 't', (m) => m)).results.map((r) => [r.failures, r.status])).toEqual([[2, 'warn']]);
      const { results } = await runDataTests(connection, among, 't', (m) => m);
      expect(results.map((r) => [r.id, r.failures, r.status])).toEqual([
        ['accepted_values_t_status', 2, 'warn'],
        ['not_null_t_status', 1, 'fail'],
      ]);
      expect([...(results[0]?.samples ?? [])].sort((a, b) => String(a.status).localeCompare(String(b.status)))).toEqual([
        { status: 'x', n_records: '2' },
        { status: 'y', n_records: '1' },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('refuses an accepted_range without bounds and a where that is not a condition', async () => {
    expect(() => parseTests([{ accepted_range: { config: { where: 42 } } }], 't', 'x.yml', 'c')).toThrow(
      'x.yml: config.where of accepted_range on t must be an SQL condition',
    );
    const [test] = parseTests(['accepted_range'], 't', 'x.yml', 'c');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(`create table t (c double)`);
      await expect(runDataTests(connection, [test!], 't', (m) => m)).rejects.toThrow(
        'data test accepted_range_t_c needs min_value or max_value',
      );
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe('rendering dbt functions', () => {
  it('resolves ref, source, config keyword arguments, var defaults and project vars', () => {
    const rendered = renderModel({
      file: 'm.sql',
      template:
        "{{ config(materialized='view', tags=['x']) }}select * from {{ ref('a') }} join {{ source('raw', 'b') }} where v > {{ var('t', 3) }} and w = {{ var('w') }}",
      resolver,
      vars: { w: 7 },
      self: '"main"."m"',
    });
    expect(rendered.sql).toBe('select * from "main"."a" join "raw"."b" where v > 3 and w = 7');
    expect(rendered.config).toEqual({ materialized: 'view', tags: ['x'] });
  });

  it('names the file of a template syntax error', () => {
    expect(() => renderModel({ file: 'staging/bad.sql', template: 'select {{ ref( }}', resolver, vars: {}, self: 'x' })).toThrow(
      /staging\/bad\.sql: template error/,
    );
  });

  it("reads a relation whole with dbt's .render(), in a model or a macro, and keeps ref() a string", () => {
    const whole = { ref: (model: string) => `whole.${model}`, source: (_source: string, table: string) => `whole.${table}` };
    const render = (template: string) =>
      renderModel({ file: 'a.sql', template, resolver: { ...resolver, whole }, vars: {}, self: 'x' }).sql;
    expect(render("{{ ref('orders').render() }} {{ source('raw', 'payments').render() }} {{ ref(\"orders\") }}")).toBe(
      `whole.orders whole.payments ${resolver.ref('orders')}`,
    );
    expect(render("{% macro all_of(name) %}{{ ref(name).render() }}{% endmacro %}{{ all_of('orders') }}")).toBe('whole.orders');
    expect(render("{% if ref('orders') is string %}{{ ref('orders') | replace('orders', 'o') }}{% endif %}")).toBe(
      resolver.ref('orders').replace('orders', 'o'),
    );
    // without a whole resolver (a plan's), .render() reads what ref() reads
    expect(renderModel({ file: 'a.sql', template: "{{ ref('orders').render() }}", resolver, vars: {}, self: 'x' }).sql).toBe(
      resolver.ref('orders'),
    );
  });

  it('names the file and var of an undefined var without a default', () => {
    expect(() => renderModel({ file: 'a.sql', template: "{{ var('nope') }}", resolver, vars: {}, self: 'x' })).toThrow(
      "a.sql: var('nope') is not defined in dbt_project.yml vars and has no default",
    );
  });
});

describe('the DAG', () => {
  const node = (name: string, refs: string[] = []) => ({ name, file: `${name}.sql`, refs });

  it('orders every model after the models it refs', () => {
    const ordered = topologicalOrder([node('c', ['b']), node('b', ['a']), node('a'), node('d', ['a'])]);
    expect(ordered.map((n) => n.name)).toEqual(['a', 'b', 'd', 'c']);
  });

  it('names every file of a cycle', () => {
    expect(() => topologicalOrder([node('a', ['c']), node('b', ['a']), node('c', ['b']), node('d')])).toThrow(
      /cycle in model refs: .*\(a\.sql\).*\(c\.sql\).*\(b\.sql\)/,
    );
  });

  it('names the file whose ref names no model', () => {
    expect(() => topologicalOrder([node('a', ['ghost'])])).toThrow("a.sql: ref('ghost') names no model in the project");
  });

  it('finds what is downstream of a model', () => {
    const ordered = topologicalOrder([node('a'), node('b', ['a']), node('c', ['b']), node('d')]);
    expect(downstreamOf(ordered, new Set(['a'])).map((n) => n.name)).toEqual(['b', 'c']);
  });
});

describe('loading a broken project', () => {
  it('refuses a ref to nothing, naming the model file', async () => {
    const dir = await copyOfModels('unknown-ref');
    await editFile(path.join(dir, 'analytics', 'meter_anomalies.sql'), (sql) =>
      sql.replace("ref('meter_readings_by_month')", "ref('no_such_model')"),
    );
    await expect(loadProject(dir)).rejects.toThrow("analytics/meter_anomalies.sql: ref('no_such_model') names no model in the project");
  });

  it('refuses a source that no sources YAML declares, naming the model file', async () => {
    const dir = await copyOfModels('unknown-source');
    await editFile(path.join(dir, 'staging', 'stg_tariff_unit_rates.sql'), (sql) => sql.replace("'tariff_unit_rates',", "'tariffs',"));
    await expect(loadProject(dir)).rejects.toThrow(
      "staging/stg_tariff_unit_rates.sql: source('raw', 'tariffs') is not declared in any sources YAML",
    );
  });

  it('refuses a cycle, naming the files in it', async () => {
    const dir = await copyOfModels('cycle');
    // the tariffs' staging model (a macro call) made to read the master, which reads it
    await editFile(
      path.join(dir, 'staging', 'stg_tariff_unit_rates.sql'),
      (sql) => `${sql}{% set master = ref('demand_price_elasticity') %}\n`,
    );
    const error = await loadProject(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProjectError);
    expect((error as Error).message).toMatch(
      /cycle in model refs: .*master\/demand_price_elasticity\.sql.*staging\/stg_tariff_unit_rates\.sql/,
    );
  });

  it('refuses a microbatch batch_size other than a month, and a begin it cannot read, naming the file; takes a begin as a time', async () => {
    const dir = await copyOfModels('microbatch');
    const staging = path.join(dir, 'staging', 'stg_smart_meter_consumption.sql');
    const asMicrobatch = (config: string) =>
      editFile(staging, (sql) =>
        sql.replace(
          '{{ per_meter_half_hour_config() }}',
          `{{ per_meter_half_hour_config() }}{{ config(incremental_strategy='microbatch', ${config}) }}`,
        ),
      );
    const original = await readFile(staging, 'utf8');
    await asMicrobatch("batch_size='day', begin='2023-01-01'");
    await expect(loadProject(dir)).rejects.toThrow(
      "staging/stg_smart_meter_consumption.sql: 'stg_smart_meter_consumption' has batch_size='day', but meterflow builds a microbatch model a month at a time",
    );
    await writeFile(staging, original);
    await asMicrobatch("batch_size='month', begin='the first of January'");
    await expect(loadProject(dir)).rejects.toThrow(
      "staging/stg_smart_meter_consumption.sql: begin of 'stg_smart_meter_consumption' must be a date or a time (YYYY-MM-DD[ HH:MM:SS]), not 'the first of January'",
    );
    await writeFile(staging, original);
    const anomalies = path.join(dir, 'analytics', 'meter_anomalies.sql');
    await editFile(anomalies, (sql) => `{{ config(materialized='incremental', unique_key='meter_point_id') }}\n${sql}`);
    await expect(loadProject(dir)).rejects.toThrow(
      "analytics/meter_anomalies.sql: 'meter_anomalies' is incremental without an event_time and runs_on: analytics, which computes a model whole",
    );
    await editFile(anomalies, (sql) => sql.replace("{{ config(materialized='incremental', unique_key='meter_point_id') }}\n", ''));
    await asMicrobatch("batch_size='month', begin='2023-01-15T06:30'");
    const project = await loadProject(dir);
    expect(project.plan.models.find((m) => m.name === 'stg_smart_meter_consumption')?.begin).toBe('2023-01-15 06:30:00');
  });

  it('refuses a project folder without dbt_project.yml', async () => {
    const dir = await copyOfModels('no-project-file');
    await rm(path.join(dir, 'dbt_project.yml'));
    await expect(loadProject(dir)).rejects.toThrow(/no dbt_project.yml in/);
  });

  it('refuses invalid YAML, naming the file', async () => {
    const dir = await copyOfModels('bad-yaml');
    await writeFile(path.join(dir, 'analytics', 'broken.yml'), 'models: [\n  - name: x\n');
    await expect(loadProject(dir)).rejects.toThrow(/analytics\/broken\.yml: invalid YAML/);
  });
});

describe('selecting models with dbt syntax', () => {
  let models: Awaited<ReturnType<typeof loadProject>>['selection'];
  let count: number;
  beforeAll(async () => {
    const loaded = await loadProject(defaultProjectDir());
    models = loaded.selection;
    count = loaded.plan.models.length;
  });

  it('selects a model and what is downstream of it with name+', () => {
    const selected = selectModels(models, { select: ['demand_price_elasticity+'] });
    expect(selected).toContain('demand_price_elasticity');
    expect(selected).toContain('meter_anomalies');
    expect(selected.filter((name) => name.startsWith('stg_'))).toEqual([]);
    expect(selected).toHaveLength(13); // the master and twelve analytics models
  });

  it('selects a model and what it is built from with +name', () => {
    expect(selectModels(models, { select: ['+meter_anomalies'] }).sort()).toEqual(
      [
        'meter_anomalies',
        'meter_readings_by_month',
        'demand_price_elasticity',
        'meter_segment_estimates',
        'layout_half_hour_coefficients',
        'meter_segment_layouts',
        'stg_smart_meter_consumption',
        'stg_meter_register_agreement_configuration_interval',
        'stg_period_profile_coefficients',
        'stg_estimated_annual_consumption_interval',
        'stg_tariff_unit_rates',
      ].sort(),
    );
  });

  it('selects by folder, by tag, and leaves out what --exclude names', () => {
    expect(selectModels(models, { select: ['path:staging'] })).toHaveLength(5);
    expect(selectModels(models, { select: ['tag:weekly'] }).sort()).toEqual([
      'actual_vs_estimated_weekly',
      'price_response_by_month',
      'price_response_variable_tariff',
    ]);
    expect(selectModels(models, { select: ['path:analytics'], exclude: ['meter_anomalies', 'tag:weekly'] })).toHaveLength(8);
    // a model's per-month partial aggregates carry its tags, so a tag selects both
    expect(selectModels(models, { select: ['tag:daily'] })).toEqual(expect.arrayContaining(['meter_anomalies', 'meter_readings_by_month']));
    expect(selectModels(models)).toHaveLength(count);
  });

  it('reads a comma as dbt does, the models both parts select, and spaces as either', () => {
    // the weekly models among the analytics, not the analytics and the weekly ones
    expect(selectModels(models, { select: ['path:analytics,tag:weekly'] }).sort()).toEqual([
      'actual_vs_estimated_weekly',
      'price_response_by_month',
      'price_response_variable_tariff',
    ]);
    expect(selectModels(models, { select: ['path:staging,tag:weekly'] })).toEqual([]);
    expect(selectModels(models, { select: ['tag:weekly meter_anomalies'] })).toHaveLength(4);
    // excluded: only what both parts select
    expect(selectModels(models, { select: ['path:analytics'], exclude: ['tag:weekly,price_response_by_month'] })).toHaveLength(11);
  });

  it('refuses a selector that matches nothing, naming it', () => {
    expect(() => selectModels(models, { select: ['tag:nope'] })).toThrow("selector 'tag:nope' matches no model, seed, snapshot or source");
  });
});

describe('connecting to a remote Temporal cluster', () => {
  it('takes TLS files and an API key from the environment, never from a run', async () => {
    const { temporalConnectionSettings } = await import('../../src/temporal/connection');
    const { writeFile } = await import('node:fs/promises');
    const dir = await (await import('../support/files')).tempDir('tls');
    await writeFile(path.join(dir, 'client.pem'), 'CERT');
    await writeFile(path.join(dir, 'client.key'), 'KEY');
    const settings = temporalConnectionSettings('ns.tmprl.cloud:7233', {
      TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
      TEMPORAL_TLS_SERVER_NAME: 'ns.tmprl.cloud',
    });
    expect(settings.tls?.clientCertPair?.crt.toString()).toBe('CERT');
    expect(settings.tls?.serverNameOverride).toBe('ns.tmprl.cloud');
    expect(temporalConnectionSettings('a:1', { TEMPORAL_API_KEY: 'secret' })).toEqual({ address: 'a:1', tls: {}, apiKey: 'secret' });
    expect(temporalConnectionSettings('a:1', {})).toEqual({ address: 'a:1' });
    expect(() => temporalConnectionSettings('a:1', { TEMPORAL_TLS_CERT: path.join(dir, 'client.pem') })).toThrow(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together',
    );
  });

  it('refuses a source location that is relative or climbs out of its folder', async () => {
    const dir = await copyOfModels('escaping-location');
    await editFile(path.join(dir, 'staging', '_sources.yml'), (yaml) =>
      yaml.replace(
        '      - name: tariff_unit_rates\n',
        "      - name: tariff_unit_rates\n        meta:\n          location: '../../etc/secrets'\n",
      ),
    );
    await expect(loadProject(dir)).rejects.toThrow(
      "meta.location of source tariff_unit_rates must be an absolute path, file:// or s3:// URI without '..', not '../../etc/secrets'",
    );
  });
});

describe("a source's event-time window", () => {
  const at = new Date('2026-12-05T02:00:00Z');
  it('is declared on every timed source of the shipped project, as offsets from the logical date', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    const timed = plan.sources.filter((source) => source.eventTime);
    expect(timed.map((source) => source.name).sort()).toEqual([
      'period_profile_coefficients',
      ...[1, 2, 3, 4].map((q) => `smart_meter_consumption_q${q}`),
    ]);
    for (const source of timed) {
      expect(source.eventTimeWindow).toEqual({
        from: { offset: { amount: -20, unit: 'year' } },
        to: { offset: { amount: 1, unit: 'year' } },
        severity: 'error',
      });
      expect(eventTimeWindowTest(source, at)?.args).toEqual({ from: '2006-12-05T02:00:00.000Z', to: '2027-12-05T02:00:00.000Z' });
    }
    expect(plan.sources.filter((source) => !source.eventTime).every((source) => source.eventTimeWindow === undefined)).toBe(true);
  });

  it('takes dates and offsets, defaults what is left out, and counts the rows outside as a test does', async () => {
    const window = parseEventTimeWindow({ from: '2015-01-01', severity: 'warn' }, 'ts', 'x.yml: source s');
    expect(window).toEqual({ from: { at: '2015-01-01' }, to: DEFAULT_EVENT_TIME_WINDOW.to, severity: 'warn' });
    expect(parseEventTimeWindow(undefined, 'ts', 'x.yml')).toBe(DEFAULT_EVENT_TIME_WINDOW);
    expect(boundAt({ offset: { amount: -3, unit: 'month' } }, at)).toBe('2026-09-05T02:00:00.000Z');
    expect(boundAt({ at: '2015-01-01 06:30' }, at)).toBe('2015-01-01T06:30:00.000Z');
    const test = eventTimeWindowTest({ name: 's', eventTime: 'ts', eventTimeWindow: window }, at);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const failing = failingRowCondition(test as DataTest);
      const rows = await connection.runAndReadAll(
        `select count(*) filter (where ${failing})::integer from (values (timestamp '2014-12-31 23:30'), (timestamp '2015-01-01'), (null::timestamp), (timestamp '2031-12-05 02:00')) v(ts)`,
      );
      expect(rows.getRows()).toEqual([[2]]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('refuses a bound that is neither a date nor an offset, a window without an event_time, and unknown keys, naming the source', () => {
    expect(() => parseEventTimeWindow({ from: 'last tuesday' }, 'ts', 'x.yml: source s')).toThrow(
      `x.yml: source s: event_time_window.from must be a date (2015-01-01) or an offset from the run's logical date (logical_date - 20 years), not "last tuesday"`,
    );
    expect(() => parseEventTimeWindow({ to: '2030-01-01' }, undefined, 'x.yml: source s')).toThrow(
      "x.yml: source s: event_time_window needs the source's config.event_time (the column it bounds)",
    );
    expect(() => parseEventTimeWindow({ until: '2030-01-01' }, 'ts', 'x.yml: source s')).toThrow(
      'x.yml: source s: event_time_window takes from, to and severity, not until',
    );
    expect(() => parseEventTimeWindow({ severity: 'fatal' }, 'ts', 'x.yml: source s')).toThrow(ProjectError);
  });
});

describe("a column's quote: true, as dbt passes the column to its tests", () => {
  it('quotes the column in the test and names the test as dbt does', async () => {
    const { mkdir } = await import('node:fs/promises');
    const dir = await (await import('../support/files')).tempDir('quoted-column');
    await mkdir(path.join(dir, 'seeds'));
    await writeFile(path.join(dir, 'dbt_project.yml'), "name: q\nversion: '1.0'\nconfig-version: 2\n");
    await writeFile(path.join(dir, 'seeds', 's.csv'), '"order id",v\n1,a\n');
    await writeFile(
      path.join(dir, 'seeds', 's.yml'),
      'seeds:\n  - name: s\n    columns:\n      - name: order id\n        quote: true\n        data_tests: [not_null, unique]\n      - name: v\n        data_tests: [not_null]\n',
    );
    const { plan } = await loadProject(dir);
    const tests = plan.sources.find((s) => s.name === 's')?.tests ?? [];
    // dbt 1.10.15 names them not_null_s__order_id_ and unique_s__order_id_ (its run_results.json)
    expect(tests.map((t) => [t.id, t.column])).toEqual([
      ['not_null_s__order_id_', '"order id"'],
      ['unique_s__order_id_', '"order id"'],
      ['not_null_s_v', 'v'],
    ]);
    expect(failingRowCondition(tests[0] as DataTest)).toBe('("order id") is null');
  });
});

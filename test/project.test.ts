// The models project: loading, rendering dbt functions, DAG order, and errors that name the file.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultProjectDir } from '../src/config';
import { ProjectError } from '../src/errors';
import { downstreamOf, topologicalOrder } from '../src/project/dag';
import { loadProject } from '../src/project/load';
import { renderModel } from '../src/project/render';
import { selectModels } from '../src/project/select';
import { copyOfModels, editFile } from './support/files';

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
    const byLayer = (layer: string) =>
      plan.models
        .filter((m) => m.layer === layer)
        .map((m) => m.name)
        .sort();
    expect(byLayer('master')).toEqual(['demand_price_elasticity']);
    expect(byLayer('analytics')).toEqual([
      'actual_vs_estimated_daily',
      'actual_vs_estimated_monthly',
      'actual_vs_estimated_weekly',
      'deviation_by_gsp_group',
      'deviation_by_profile_class',
      'half_hourly_load_profile',
      'meter_anomalies',
      'price_response_variable_tariff',
    ]);
    expect(byLayer('staging')).toHaveLength(5);
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
    ]);
    expect(master?.refs).toHaveLength(5);
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
      sql.replace("ref('demand_price_elasticity')", "ref('no_such_model')"),
    );
    await expect(loadProject(dir)).rejects.toThrow("analytics/meter_anomalies.sql: ref('no_such_model') names no model in the project");
  });

  it('refuses a source that no sources YAML declares, naming the model file', async () => {
    const dir = await copyOfModels('unknown-source');
    await editFile(path.join(dir, 'staging', 'stg_tariff_unit_rates.sql'), (sql) =>
      sql.replace("source('raw', 'tariff_unit_rates')", "source('raw', 'tariffs')"),
    );
    await expect(loadProject(dir)).rejects.toThrow(
      "staging/stg_tariff_unit_rates.sql: source('raw', 'tariffs') is not declared in any sources YAML",
    );
  });

  it('refuses a cycle, naming the files in it', async () => {
    const dir = await copyOfModels('cycle');
    await editFile(path.join(dir, 'staging', 'stg_tariff_unit_rates.sql'), (sql) =>
      sql.replace(
        "select * from {{ source('raw', 'tariff_unit_rates') }}",
        "select * from {{ source('raw', 'tariff_unit_rates') }}, {{ ref('demand_price_elasticity') }}",
      ),
    );
    const error = await loadProject(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProjectError);
    expect((error as Error).message).toMatch(
      /cycle in model refs: .*master\/demand_price_elasticity\.sql.*staging\/stg_tariff_unit_rates\.sql/,
    );
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
  let models: Awaited<ReturnType<typeof loadProject>>['plan']['models'];
  beforeAll(async () => {
    models = (await loadProject(defaultProjectDir())).plan.models;
  });

  it('selects a model and what is downstream of it with name+', () => {
    const selected = selectModels(models, ['demand_price_elasticity+']);
    expect(selected).toContain('demand_price_elasticity');
    expect(selected).toContain('meter_anomalies');
    expect(selected.filter((name) => name.startsWith('stg_'))).toEqual([]);
    expect(selected).toHaveLength(9);
  });

  it('selects a model and what it is built from with +name', () => {
    expect(selectModels(models, ['+meter_anomalies']).sort()).toEqual(
      [
        'meter_anomalies',
        'demand_price_elasticity',
        'stg_smart_meter_consumption',
        'stg_meter_register_agreement_configuration_interval',
        'stg_period_profile_coefficients',
        'stg_estimated_annual_consumption_interval',
        'stg_tariff_unit_rates',
      ].sort(),
    );
  });

  it('selects by folder, by tag, and leaves out what --exclude names', () => {
    expect(selectModels(models, ['staging.*'])).toHaveLength(5);
    expect(selectModels(models, ['tag:weekly']).sort()).toEqual(['actual_vs_estimated_weekly', 'price_response_variable_tariff']);
    expect(selectModels(models, ['analytics.*'], ['meter_anomalies', 'tag:weekly'])).toHaveLength(5);
    expect(selectModels(models)).toHaveLength(models.length);
  });

  it('refuses a selector that matches nothing, naming it', () => {
    expect(() => selectModels(models, ['tag:nope'])).toThrow("selector 'tag:nope' matches no model");
  });
});

describe('connecting to a remote Temporal cluster', () => {
  it('takes TLS files and an API key from the environment, never from a run', async () => {
    const { temporalConnectionSettings } = await import('../src/temporal/connection');
    const { writeFile } = await import('node:fs/promises');
    const dir = await (await import('./support/files')).tempDir('tls');
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

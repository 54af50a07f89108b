// A dbt project laid out as its team has it: the DAG from ref() and source(), where a model runs from
// its config (dbt's keys, and meta.meterflow.runs_on), optional folders optional, and what meterflow
// does not run refused before any work, naming the file and the feature.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderGenericTests } from '../../src/project/generic-tests';
import { loadProject } from '../../src/project/load';
import { fingerprintProject } from '../../src/project/fingerprint';
import { renderModelSql, warehouseResolver } from '../../src/build/model-sql';
import { renderAnswered } from '../../src/build/render-answered';
import { runDataTests } from '../../src/warehouse/data-tests';
import { renderModel } from '../../src/project/render';
import { INVOCATION_ID_VAR, RUN_STARTED_AT_VAR, TARGET_NAME_VAR, tableOf, type ModelNode, type SourceTable } from '../../src/project/types';
import { readFileSql } from '../../src/seed/source-files';
import { DuckDBInstance } from '@duckdb/node-api';
import { mayPrintFloats, plannedReads, stateHashesOf } from '../../src/build/plan';
import { planGraph } from '../../src/workflows/run-graph';
import { selectModels } from '../../src/project/select';
import { ProjectError, RunValueMissingError } from '../../src/errors';
import { parseTests, testStatus } from '../../src/project/data-tests';
import { PACKAGE_ROOT, defaultProjectDir } from '../../src/config';
import { copyOfModels, energyTeamLayout } from '../support/files';

/** A small project written file by file under a temp folder. */
async function projectOf(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'meterflow-layout-'));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

const PROJECT = "name: shop\nconfig-version: 2\nprofile: shop\nmodel-paths: ['models']\n";

async function refusal(dir: string): Promise<ProjectError> {
  const err = await loadProject(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProjectError);
  return err as ProjectError;
}

describe('a dbt project laid out its own way', () => {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  const made_ = (dir: string) => (made.push(dir), dir);

  it('reads exactly the files its fingerprint counts: a folder named logs inside models is read and counted, hidden ones neither', async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': 'select 1 as id\n',
        'models/staging/logs/from_logs.sql': 'select 2 as id\n',
        'models/.drafts/hidden.sql': 'select 3 as id\n',
        'models/node_modules/tool.sql': 'select 4 as id\n',
        'target/compiled.sql': 'select 5 as id\n',
        'logs/dbt.log': 'a log\n',
      }),
    );
    const project = await loadProject(dir);
    expect(project.plan.models.map((m) => m.name).sort()).toEqual(['from_logs', 'orders']);
    const { files } = await fingerprintProject(dir);
    expect(Object.keys(files).sort()).toEqual(['dbt_project.yml', 'models/orders.sql', 'models/staging/logs/from_logs.sql']);
  });

  it("dispatches as dbt-duckdb does: a copied dbt_utils-style macro finds duckdb__x, else default__x, in the project's macros", async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'macros/utils.sql': [
          "{% macro star(cols) %}{{ return(adapter.dispatch('star', 'dbt_utils')(cols)) }}{% endmacro %}",
          "{% macro default__star(cols) %}{{ cols | join(', ') }}{% endmacro %}",
          "{% macro safe_divide(a, b) %}{{ adapter.dispatch('safe_divide', 'dbt_utils')(a, b) }}{% endmacro %}",
          '{% macro default__safe_divide(a, b) %}( {{ a }} / nullif({{ b }}, 0) ){% endmacro %}',
          '{% macro duckdb__safe_divide(a, b) %}({{ a }} / nullif({{ b }}, 0))::double{% endmacro %}',
        ].join('\n'),
        'models/orders.sql':
          "select {{ star(['id', 'amount']) }}, {{ safe_divide('amount', 'id') }} as r from (select 1 as id, 2 as amount)\n",
        'models/columns.sql': 'select {{ adapter.quote(\'my col\') }} from (select 1 as "my col")\n',
      }),
    );
    const project = await loadProject(dir);
    const sql = (name: string) =>
      renderModelSql(
        project,
        project.plan.models.find((m) => m.name === name)!,
        warehouseResolver(project),
      );
    expect(sql('orders')).toContain('select id, amount, (amount / nullif(id, 0))::double as r');
    expect(sql('columns')).toContain('select "my col" from');
    const missing = made_(
      await projectOf({ 'dbt_project.yml': PROJECT, 'models/orders.sql': "select {{ adapter.dispatch('star', 'dbt_utils')(['id']) }}\n" }),
    );
    expect((await refusal(missing)).message).toContain(
      "adapter.dispatch('star') (namespace dbt_utils) found no macro duckdb__star or default__star",
    );
    const introspecting = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': "{% set found = adapter.get_relation(database=none, schema='main', identifier='x') %}select 1\n",
      }),
    );
    expect((await refusal(introspecting)).message).toContain('adapter.get_relation is not available in meterflow');
  });

  it("renders the Jinja in a test's arguments and its where, as dbt does when it parses the test", async () => {
    const yaml =
      'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: status\n        data_tests:\n' +
      '          - accepted_values: {values: ["{{ var(\'first\') }}", b]}\n' +
      "          - not_null: {config: {where: \"day > '{{ var('start') }}'\"}}\n" +
      '          - has_no_value: {value: \'{{ var("bad") ~ "!" }}\', other: "{{ ref(\'customers\') }}"}\n';
    const own = made_(
      await projectOf({
        'dbt_project.yml': `${PROJECT}vars:\n  first: a\n  start: '2024-01-01'\n  bad: zz\n`,
        'models/orders.sql': "select 'a' as status, date '2024-01-02' as day\n",
        'models/customers.sql': 'select 1 as id\n',
        'models/_orders.yml': yaml,
        'macros/has_no_value.sql':
          "{% test has_no_value(model, column_name, value, other) %}select * from {{ model }}, {{ other }} where {{ column_name }} = '{{ value }}'{% endtest %}\n",
      }),
    );
    const tests = (await loadProject(own)).plan.models.find((m) => m.name === 'orders')!.tests;
    expect(tests.map((test) => [test.kind, test.args.values ?? null, test.where ?? null])).toEqual([
      ['accepted_values', ['a', 'b'], null],
      ['not_null', null, "day > '2024-01-01'"],
      ['generic', null, null],
    ]);
    expect(tests[2]?.sql).toBe("select * from __METERFLOW_MODEL__, __METERFLOW_REF_customers__ where status = 'zz!'");
  });

  it("runs a project's own expression_is_true (dbt_utils'), as dbt would; meterflow's own definition copied runs natively", async () => {
    const yaml =
      'version: 2\nmodels:\n  - name: orders\n    data_tests:\n      - expression_is_true:\n          expression: "amount > 0"\n';
    const utils = '{% test expression_is_true(model, expression) %}select * from {{ model }} where not({{ expression }}){% endtest %}\n';
    const own = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': 'select 1 as amount\n',
        'models/_orders.yml': yaml,
        'macros/generic_tests/expression_is_true.sql': utils,
      }),
    );
    const [ownTest] = (await loadProject(own)).plan.models.find((m) => m.name === 'orders')!.tests;
    expect(ownTest?.kind).toBe('generic');
    expect(ownTest?.sql).toContain('where not(amount > 0)');
    const shippedDefinition = await readFile(path.join(PACKAGE_ROOT, 'models', 'tests', 'generic', 'expression_is_true.sql'), 'utf8');
    const copied = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': 'select 1 as amount\n',
        'models/_orders.yml': yaml,
        'tests/generic/expression_is_true.sql': shippedDefinition,
      }),
    );
    expect((await loadProject(copied)).plan.models.find((m) => m.name === 'orders')!.tests[0]?.kind).toBe('expression_is_true');
  });

  it("counts a test's failures with its fail_calc, from its YAML or its macro's config(), as dbt does", async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': 'select 1 as id\n',
        'models/_orders.yml': [
          'version: 2',
          'models:',
          '  - name: orders',
          '    data_tests:',
          '      - short_by: {config: {warn_if: ">2", error_if: ">10"}}',
          '      - short_by: {config: {fail_calc: "count(*)", warn_if: ">2", error_if: ">10"}}',
        ].join('\n'),
        'macros/short_by.sql':
          "{% test short_by(model) %}{{ config(fail_calc='sum(n)') }}select n from (values (1), (2)) t(n){% endtest %}\n",
      }),
    );
    const tests = (await loadProject(dir)).plan.models.find((m) => m.name === 'orders')!.tests;
    expect(tests.map((t) => t.failCalc)).toEqual(['sum(n)', 'count(*)']);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run('create table orders as select 1 as id');
      const { results } = await runDataTests(connection, tests, 'orders', (m) => m);
      // three failures by sum(n) warn (> 2); two rows by count(*) pass
      expect(results.map((r) => [r.failures, r.status])).toEqual([
        [3, 'warn'],
        [2, 'pass'],
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it("runs the shipped project moved under models/ with the energy team's folder names, model for model", async () => {
    const shipped = await loadProject(made_(await copyOfModels('layout-shipped')));
    const moved = await loadProject(made_(await energyTeamLayout('layout-moved')));
    const strip = (plan: typeof shipped.plan) => plan.models.map(({ file: _file, ...model }) => model);
    expect(strip(moved.plan)).toEqual(strip(shipped.plan));
    expect(moved.plan.models.find((m) => m.name === 'meter_anomalies')?.file).toBe('models/analytics_tables/meter_anomalies.sql');
    expect(moved.plan.singularTests).toEqual(shipped.plan.singularTests);
    expect(new Map([...moved.templates].sort())).toEqual(new Map([...shipped.templates].sort()));
    // folders select as dbt selects them
    expect(selectModels(moved.selection, { select: ['analytics_tables.*'] })).toHaveLength(12);
    expect(selectModels(moved.selection, { select: ['path:models/master_table'] }).sort()).toEqual([
      'demand_price_elasticity',
      'layout_half_hour_coefficients',
      'meter_segment_estimates',
      'meter_segment_layouts',
    ]);
    expect(selectModels(moved.selection, { select: ['config.runs_on:build'] })).toEqual([
      'stg_smart_meter_consumption',
      'demand_price_elasticity',
    ]);
  });

  it('takes where a model runs from dbt_project.yml folder config, laid over by YAML and SQL config', async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': `${PROJECT}models:\n  shop:\n    +materialized: table\n    staging:\n      +materialized: view\n    marts:\n      +meta: { meterflow: { runs_on: analytics } }\n      +tags: ['marts']\n`,
        'models/staging/stg_orders.sql': "select * from {{ source('raw', 'orders') }}\n",
        'models/staging/_sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n',
        'models/marts/orders.sql': "{{ config(tags=['daily']) }}\nselect * from {{ ref('stg_orders') }}\n",
        'models/marts/big_orders.sql': "select * from {{ ref('orders') }} where amount > 100\n",
        'models/marts/_marts.yml':
          'version: 2\nmodels:\n  - name: big_orders\n    config:\n      meta: { meterflow: { runs_on: writer } }\n      materialized: view\n',
        'models/order_count.sql': "select count(*) as n from {{ ref('stg_orders') }}\n",
      }),
    );
    await expect(loadProject(dir)).rejects.toThrow(
      "models/marts/big_orders.sql: 'big_orders' (runs_on: writer) refs 'orders', which runs read-only (runs_on: analytics) after every build",
    );
    await rm(path.join(dir, 'models/marts/_marts.yml'));
    const { plan } = await loadProject(dir);
    const model = (name: string) => plan.models.find((m) => m.name === name);
    expect(model('stg_orders')).toMatchObject({ materialized: 'view', runsOn: 'writer', sources: ['orders'] });
    expect(model('orders')).toMatchObject({ materialized: 'table', runsOn: 'analytics', tags: ['marts', 'daily'] });
    expect(model('big_orders')).toMatchObject({ materialized: 'table', runsOn: 'analytics', refs: ['orders'] });
    expect(model('order_count')).toMatchObject({ materialized: 'table', runsOn: 'writer' });
  });

  it('runs a model with no runs_on of its own that reads a read-only model read-only too, through an ephemeral model as well, a view too', async () => {
    const files = {
      'dbt_project.yml': `${PROJECT}models:\n  shop:\n    +materialized: table\n`,
      'models/_sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n',
      'models/orders.sql': "select * from {{ source('raw', 'orders') }}\n",
      'models/daily.sql':
        "{{ config(meta={'meterflow': {'runs_on': 'analytics'} }) }}\nselect 1 as day, count(*) as n from {{ ref('orders') }}\n",
      'models/busy_days.sql': "select * from {{ ref('daily') }} where n > 10\n",
      'models/recent.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('busy_days') }}\n",
      'models/report_days.sql': "select count(*) as days from {{ ref('recent') }}\n",
      'models/by_writer.sql': "select * from {{ ref('orders') }}\n",
    };
    const dir = made_(await projectOf(files));
    const { plan } = await loadProject(dir);
    expect(plan.models.map((m) => [m.name, m.runsOn])).toEqual([
      ['orders', 'writer'],
      ['by_writer', 'writer'],
      ['daily', 'analytics'],
      ['busy_days', 'analytics'],
      ['report_days', 'analytics'],
    ]);
    // a view there is read-only too: computed and tested on the analytics queue, published as a view
    const viewDir = made_(
      await projectOf({ ...files, 'models/busy_days.sql': "{{ config(materialized='view') }}\nselect * from {{ ref('daily') }}\n" }),
    );
    const viewPlan = (await loadProject(viewDir)).plan;
    expect(viewPlan.models.find((m) => m.name === 'busy_days')).toMatchObject({ materialized: 'view', runsOn: 'analytics' });
    expect(viewPlan.models.find((m) => m.name === 'report_days')).toMatchObject({ materialized: 'table', runsOn: 'analytics' });
  });

  it("lets a read-only model's tests read another read-only model, not one that reads it back, nor a built model's tests", async () => {
    const readOnly = "{{ config(meta={'meterflow': {'runs_on': 'analytics'} }) }}\n";
    const files = {
      'dbt_project.yml': `${PROJECT}models:\n  shop:\n    +materialized: table\n`,
      'models/_sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n',
      'models/orders.sql': "select * from {{ source('raw', 'orders') }}\n",
      'models/customers.sql': `${readOnly}select distinct customer_id from {{ ref('orders') }}\n`,
      'models/big_spenders.sql': `${readOnly}select customer_id from {{ ref('orders') }} where amount > 100\n`,
      'models/_tests.yml':
        "version: 2\nmodels:\n  - name: big_spenders\n    columns:\n      - name: customer_id\n        data_tests:\n          - relationships: {to: ref('customers'), field: customer_id}\n",
    };
    const { plan } = await loadProject(made_(await projectOf(files)));
    expect(plan.models.find((m) => m.name === 'big_spenders')).toMatchObject({
      runsOn: 'analytics',
      refs: ['orders'],
      testRefs: ['customers'],
    });
    // customers reads big_spenders back: big_spenders would be tested before customers is computed
    const loop = { ...files, 'models/customers.sql': `${readOnly}select distinct customer_id from {{ ref('big_spenders') }}\n` };
    await expect(loadProject(made_(await projectOf(loop)))).rejects.toThrow(
      "models/big_spenders.sql: a relationships test of read-only 'big_spenders' reads 'customers', which reads 'big_spenders'",
    );
    // each tested against the other: neither could be tested first
    const tests = (model: string, to: string) =>
      `  - name: ${model}\n    columns:\n      - name: customer_id\n        data_tests:\n          - relationships: {to: ref('${to}'), field: customer_id}\n`;
    const both = {
      ...files,
      'models/_tests.yml': `version: 2\nmodels:\n${tests('big_spenders', 'customers')}${tests('customers', 'big_spenders')}`,
    };
    await expect(loadProject(made_(await projectOf(both)))).rejects.toThrow(
      /reads '(customers|big_spenders)', which reads '(big_spenders|customers)' \(or is tested against it\)/,
    );
    // a model the writer builds is tested as it is built, before a read-only model exists
    const built = { ...files, 'models/big_spenders.sql': "select customer_id from {{ ref('orders') }} where amount > 100\n" };
    await expect(loadProject(made_(await projectOf(built)))).rejects.toThrow(
      "models/big_spenders.sql: 'big_spenders' (runs_on: writer) has a test that reads 'customers', which runs read-only (runs_on: analytics) after every build: a writer model is tested as it is built",
    );
  });

  it('loads a project with no macros, tests, seeds, analyses or snapshots folder, models at the root of models/', async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': `${PROJECT}macro-paths: ['macros']\ntest-paths: ['tests']\nseed-paths: ['seeds']\nsnapshot-paths: ['snapshots']\nanalysis-paths: ['analyses']\n`,
        'models/one.sql': 'select 1 as id\n',
        'models/two.sql':
          "{% set ids = [1, 2, 3] %}\n{% for id in ids %}select {{ id }} as id from {{ ref('one') }}{% if not loop.last %} union all {% endif %}{% endfor %}\n",
      }),
    );
    const { plan } = await loadProject(dir);
    expect(plan.models.map((m) => [m.name, m.materialized, m.runsOn])).toEqual([
      ['one', 'view', 'writer'],
      ['two', 'view', 'writer'],
    ]);
  });

  it('inlines ephemeral models: their readers read what they read, and they are no node of their own', async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/_sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n',
        'models/base_orders.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ source('raw', 'orders') }}\n",
        'models/paid_orders.sql': "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('base_orders') }} where paid\n",
        'models/revenue.sql': "{{ config(materialized='table') }}\nselect sum(amount) as revenue from {{ ref('paid_orders') }}\n",
      }),
    );
    const { plan } = await loadProject(dir);
    expect(plan.models.map((m) => m.name)).toEqual(['revenue']);
    expect(plan.models[0]).toMatchObject({ refs: [], sources: ['orders'], inlines: ['paid_orders', 'base_orders'] });
    expect(plan.ephemerals?.map((e) => e.name).sort()).toEqual(['base_orders', 'paid_orders']);
  });

  it("loads dbt snapshots, from SQL blocks and from YAML, as incremental models merged on dbt_scd_id, where dbt's configs put them", async () => {
    const dir = made_(
      await projectOf({
        // (a config without its `+`, as dbt reads any value that is not a mapping; a snapshot's fqn holds its file's name)
        'dbt_project.yml': `${PROJECT}snapshots:\n  shop:\n    legacy:\n      orders:\n        target_schema: history\n`,
        'models/_sources.yml': 'version: 2\nsources:\n  - name: raw\n    tables:\n      - name: orders\n',
        'models/open_orders.sql': "select * from {{ ref('orders_by_time') }} where dbt_valid_to is null\n",
        'snapshots/legacy/orders.sql':
          "{% snapshot orders_by_time %}\n{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ source('raw', 'orders') }}\n{% endsnapshot %}\n",
        'snapshots/_snapshots.yml':
          'snapshots:\n  - name: orders_checked\n    relation: source("raw", "orders")\n    config: {schema: audit, unique_key: [id], strategy: check, check_cols: all}\n' +
          '    columns:\n      - {name: id, data_tests: [not_null]}\n',
      }),
    );
    const { plan, templates } = await loadProject(dir);
    const byName = new Map(plan.models.map((m) => [m.name, m]));
    expect(byName.get('orders_by_time')).toMatchObject({
      resourceType: 'snapshot',
      table: { schema: 'history', name: 'orders_by_time' },
      materialized: 'incremental',
      incremental: { uniqueKey: ['dbt_scd_id'], fullRefresh: false },
      sources: ['orders'],
      file: 'snapshots/legacy/orders.sql',
    });
    expect(byName.get('orders_checked')).toMatchObject({
      resourceType: 'snapshot',
      table: { schema: 'main_audit', name: 'orders_checked' },
      tests: [expect.objectContaining({ kind: 'not_null', column: 'id' })],
      file: 'snapshots/_snapshots.yml',
    });
    // the model reading a snapshot comes after it
    expect(plan.models.map((m) => m.name).indexOf('open_orders')).toBeGreaterThan(plan.models.map((m) => m.name).indexOf('orders_by_time'));
    expect(templates.get('orders_by_time')).toContain(
      "md5(coalesce(cast(id as varchar), '') || '|' || coalesce(cast(updated_at as varchar), ''))",
    );
  });

  it.each([
    [
      'a Python model',
      { 'models/py_model.py': 'def model(dbt, session):\n    return None\n' },
      'models/py_model.py: Python models are not supported',
    ],
    [
      'a snapshot block among the models',
      { 'models/orders_snapshot.sql': '{% snapshot orders_snapshot %}\nselect 1\n{% endsnapshot %}\n' },
      'models/orders_snapshot.sql: a {% snapshot %} block under model-paths: dbt reads snapshots under snapshot-paths (snapshots)',
    ],
    [
      'a snapshot without a unique_key',
      {
        'snapshots/orders.sql':
          "{% snapshot orders_snapshot %}\n{{ config(strategy='check', check_cols='all') }}\nselect 1 as id\n{% endsnapshot %}\n",
      },
      "snapshots/orders.sql: snapshot 'orders_snapshot' has no unique_key (dbt needs one)",
    ],
    [
      'a snapshot whose strategy lacks its column',
      {
        'snapshots/orders.sql':
          "{% snapshot orders_snapshot %}\n{{ config(unique_key='id', strategy='timestamp') }}\nselect 1 as id\n{% endsnapshot %}\n",
      },
      "snapshots/orders.sql: snapshot 'orders_snapshot' has strategy='timestamp' but no updated_at",
    ],
    [
      "a snapshot's hard_deletes='new_record'",
      {
        'snapshots/orders.sql':
          "{% snapshot orders_snapshot %}\n{{ config(unique_key='id', strategy='check', check_cols='all', hard_deletes='new_record') }}\nselect 1 as id\n{% endsnapshot %}\n",
      },
      "snapshots/orders.sql: snapshot 'orders_snapshot' has hard_deletes='new_record': meterflow applies 'ignore' and 'invalidate'",
    ],
    [
      'a unit test that leaves out an input its model reads',
      {
        'models/totals.sql': "select sum(id) as total from {{ ref('ok') }}\n",
        'models/_unit.yml': 'unit_tests:\n  - name: sums\n    model: totals\n    given: []\n    expect: {rows: [{total: 1}]}\n',
      },
      "models/_unit.yml: unit test 'sums' of 'totals' does not give ref('ok'), which the model reads: give every input but seeds",
    ],
    [
      "an incremental model's unit test that does not say is_incremental",
      {
        'models/grows.sql': "{{ config(materialized='incremental') }}\nselect id from {{ ref('ok') }}\n",
        'models/_unit.yml':
          "unit_tests:\n  - name: grows\n    model: grows\n    given: [{input: ref('ok'), rows: []}]\n    expect: {rows: []}\n",
      },
      "models/_unit.yml: unit test 'grows' of 'grows' is of an incremental model and does not set is_incremental",
    ],
    [
      'a unit test setting is_incremental without this',
      {
        'models/grows.sql': "{{ config(materialized='incremental') }}\nselect id from {{ ref('ok') }}\n",
        'models/_unit.yml':
          "unit_tests:\n  - name: grows\n    model: grows\n    overrides: {macros: {is_incremental: true}}\n    given: [{input: ref('ok'), rows: []}]\n    expect: {rows: []}\n",
      },
      "models/_unit.yml: unit test 'grows' of 'grows' sets is_incremental: true and gives no this",
    ],
    [
      'a unit test giving a model no rows',
      {
        'models/totals.sql': "select sum(id) as total from {{ ref('ok') }}\n",
        'models/_unit.yml': "unit_tests:\n  - name: sums\n    model: totals\n    given: [{input: ref('ok')}]\n    expect: {rows: []}\n",
      },
      "models/_unit.yml: unit test 'sums' of 'totals' gives ref('ok') no rows (only a seed is read as it is)",
    ],
    [
      'a unit test overriding a macro other than is_incremental',
      {
        'models/_unit.yml':
          'unit_tests:\n  - name: clock\n    model: ok\n    overrides: {macros: {current_timestamp: "\'2024-01-01\'"}}\n    given: []\n    expect: {rows: []}\n',
      },
      "models/_unit.yml: unit test 'clock' overrides the macro 'current_timestamp', which meterflow does not apply (is_incremental only)",
    ],
    [
      'a unit test naming a fixture that is not there',
      {
        'models/_unit.yml': 'unit_tests:\n  - name: fixed\n    model: ok\n    given: []\n    expect: {format: csv, fixture: nowhere}\n',
      },
      "models/_unit.yml: unit test 'fixed' names fixture 'nowhere', but no nowhere.csv is under the fixtures/ folder of a test path",
    ],
    [
      "a test's store_failures, from dbt_project.yml's data_tests: block",
      {
        'dbt_project.yml': `${PROJECT}data_tests:\n  +store_failures: true\n`,
        'models/_tests.yml': 'version: 2\nmodels:\n  - name: ok\n    columns:\n      - {name: id, data_tests: [unique]}\n',
      },
      'models/_tests.yml: unique on ok has store_failures, which meterflow does not apply: it keeps no audit tables',
    ],
    [
      "a singular test's store_failures_as",
      { 'tests/no_negative.sql': "{{ config(store_failures_as='view') }}\nselect * from {{ ref('ok') }} where id < 0\n" },
      "tests/no_negative.sql: singular test 'no_negative' has store_failures_as: view, which meterflow does not apply",
    ],
    [
      "a snapshot's hard_deletes and invalidate_hard_deletes both",
      {
        'snapshots/orders.sql':
          "{% snapshot orders_snapshot %}\n{{ config(unique_key='id', strategy='check', check_cols='all', hard_deletes='ignore', invalidate_hard_deletes=true) }}\nselect 1 as id\n{% endsnapshot %}\n",
      },
      "snapshots/orders.sql: snapshot 'orders_snapshot' has both hard_deletes and invalidate_hard_deletes",
    ],
    [
      'a snapshot named as a model',
      {
        'snapshots/orders.sql':
          "{% snapshot ok %}\n{{ config(unique_key='id', strategy='check', check_cols='all') }}\nselect 1 as id\n{% endsnapshot %}\n",
      },
      "snapshots/orders.sql: a snapshot named 'ok', as another model or snapshot is",
    ],
    [
      'a package not installed',
      { 'packages.yml': 'packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n' },
      "packages.yml: package 'dbt-labs/dbt_utils' is not installed in dbt_packages/",
    ],
    [
      'a package with models',
      {
        'packages.yml': 'packages:\n  - package: acme/audit\n    version: 1.0.0\n',
        'dbt_packages/audit/dbt_project.yml': "name: 'audit'\nconfig-version: 2\n",
        'dbt_packages/audit/models/audit_log.sql': 'select 1 as id\n',
      },
      "dbt_packages/audit/models/audit_log.sql: package 'audit' has models; meterflow runs a package's macros and generic tests, not its models",
    ],
    [
      'a dispatch search order',
      { 'dbt_project.yml': `${PROJECT}dispatch:\n  - macro_namespace: dbt_utils\n    search_order: ['spark_utils', 'dbt_utils']\n` },
      "dbt_project.yml: dispatch for 'dbt_utils' with search_order [spark_utils, dbt_utils] is not supported by meterflow",
    ],
    [
      'a hook',
      { 'models/hooked.sql': "{{ config(post_hook='grant select on {{ this }} to reader') }}\nselect 1 as id\n" },
      "models/hooked.sql: 'hooked' has a post_hook; hooks are not supported",
    ],
    [
      "a seed's hook (a differential probe found it ignored)",
      {
        'dbt_project.yml': `${PROJECT}seeds:\n  shop:\n    +post-hook: 'create table main.hooked as select 1 as x'\n`,
        'seeds/codes.csv': 'code\nA\n',
      },
      "seeds/codes.csv: 'codes' has a post-hook; hooks are not supported",
    ],
    [
      'a sql_header (a differential probe found it ignored)',
      { 'models/ordered.sql': `{{ config(materialized='table', sql_header="set default_null_order='nulls_first';") }}\nselect 1 as id\n` },
      "models/ordered.sql: 'ordered' has sql_header, which meterflow does not apply: the model's SQL runs without it",
    ],
    [
      'a materialization it does not know',
      { 'models/mv.sql': "{{ config(materialized='materialized_view') }}\nselect 1 as id\n" },
      "models/mv.sql: materialized='materialized_view' is not supported",
    ],
    [
      'runs_on that cannot be honoured',
      { 'models/monthly.sql': "{{ config(materialized='table', meta={'meterflow': {'runs_on': 'build'} }) }}\nselect 1 as id\n" },
      "models/monthly.sql: 'monthly' has meta.meterflow.runs_on: build, which builds a month at a time: it needs materialized='incremental' and an event_time",
    ],
  ])('refuses %s before any work, naming the file', async (_what, files, message) => {
    const dir = made_(await projectOf({ 'dbt_project.yml': PROJECT, 'models/ok.sql': 'select 1 as id\n', ...files }));
    expect((await refusal(dir)).message).toContain(message);
    expect(await readdir(dir)).not.toContain('target');
  });

  it("dispatches dbt's cross-database macros to the project's duckdb__ or default__ versions, as dbt does", async () => {
    // a differential probe's project: dbt-duckdb 1.9.6 gives OVERRIDDEN, OVERRIDDEN, HASHOVR, 424242 and 1; then OVERRIDDEN and 2
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'macros/o.sql':
          "{% macro duckdb__concat(fields) %}'OVERRIDDEN'{% endmacro %}\n{% macro default__hash(field) %}'HASHOVR'{% endmacro %}\n" +
          '{% macro duckdb__datediff(first_date, second_date, datepart) %}424242{% endmacro %}\n',
        'models/m.sql':
          `select {{ dbt.concat(["'a'", "'b'"]) }} as c1, {{ concat(["'a'", "'b'"]) }} as c2, {{ dbt.hash("'x'") }} as h, ` +
          `{{ dbt.datediff("date '2024-01-01'", "date '2024-01-05'", 'day') }} as d, {{ dbt.safe_cast("'1'", 'integer') }} as s\n`,
        'models/n.sql': `select {{ adapter.dispatch('concat', 'dbt')(["'x'", "'y'"]) }} as c, {{ adapter.dispatch('safe_cast', 'dbt')("'2'", 'integer') }} as s\n`,
      }),
    );
    const project = await loadProject(dir);
    const sqlOf = (name: string) =>
      renderModelSql(project, project.plan.models.find((m) => m.name === name) as ModelNode, warehouseResolver(project)).trim();
    expect(sqlOf('m')).toBe("select 'OVERRIDDEN' as c1, 'OVERRIDDEN' as c2, 'HASHOVR' as h, 424242 as d, cast('1' as integer) as s");
    expect(sqlOf('n')).toBe("select 'OVERRIDDEN' as c, cast('2' as integer) as s");
  });

  it("names a test by its own name, in its body or beside dbt 1.10's test_name, as dbt does", () => {
    // a differential probe's project: dbt-core 1.10.15 runs dup_err, my_nn and v_present
    const tests = parseTests(
      [{ unique: { name: 'dup_err', config: { severity: 'warn' } } }, { name: 'my_nn', test_name: 'not_null' }, 'not_null'],
      'm',
      'models/m.yml',
      'id',
    );
    expect(tests.map((t) => [t.id, t.kind, t.severity])).toEqual([
      ['dup_err', 'unique', 'warn'],
      ['my_nn', 'not_null', 'error'],
      ['not_null_m_id', 'not_null', 'error'],
    ]);
    // (its name is no argument of the test)
    expect(tests[0]?.args).toEqual({});
    expect(() => parseTests([{ name: 'bad name', test_name: 'unique' }], 'm', 'models/m.yml', 'id')).toThrow(
      "models/m.yml: the name of test unique on m must be a plain name, not 'bad name'",
    );
  });

  it('refuses one test name given to two tests, as dbt does', async () => {
    const yaml = (model: string) => `  - name: ${model}\n    columns:\n      - name: id\n        data_tests: [{unique: {name: dup_ids}}]\n`;
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/a.sql': 'select 1 as id\n',
        'models/b.sql': 'select 1 as id\n',
        'models/schema.yml': `version: 2\nmodels:\n${yaml('a')}${yaml('b')}`,
      }),
    );
    expect((await refusal(dir)).message).toBe(
      "two tests are named 'dup_ids' (on a.id and b.id): dbt refuses it; give each test a name of its own",
    );
  });

  it('reads past a custom materialization no model uses, and refuses a model that uses one, naming it', async () => {
    const materialization =
      "{% materialization insert_only, default %}{{ return({'relations': []}) }}{% endmaterialization %}\n{% macro shout(x) %}upper({{ x }}){% endmacro %}\n";
    const files = { 'dbt_project.yml': PROJECT, 'macros/mat.sql': materialization, 'models/ok.sql': 'select {{ shout("\'a\'") }} as a\n' };
    const project = await loadProject(made_(await projectOf(files)));
    expect(project.macros.find((m) => m.file === 'macros/mat.sql')?.names).toEqual(['shout']);
    const using = { ...files, 'models/custom.sql': "{{ config(materialized='insert_only') }}select 1 as id\n" };
    expect((await refusal(made_(await projectOf(using)))).message).toBe(
      "models/custom.sql: materialized='insert_only' is not supported (table, view, incremental or ephemeral; meterflow runs no custom materialization)",
    );
  });

  it('takes on-run-start and on-run-end hooks that are empty lists, as `dbt init` writes them', async () => {
    const dir = made_(
      await projectOf({ 'dbt_project.yml': `${PROJECT}on-run-start: []\non-run-end: []\n`, 'models/ok.sql': 'select 1 as id\n' }),
    );
    expect((await loadProject(dir)).plan.models.map((m) => m.name)).toEqual(['ok']);
  });

  it("reads a source that is a seed's table as the seed, and refuses one that is another table of the seed's name", async () => {
    const files = {
      'dbt_project.yml': `${PROJECT}seed-paths: ['seeds']\nseeds:\n  shop:\n    +schema: raw\n`,
      'macros/schemas.sql':
        '{% macro generate_schema_name(custom, node) %}{{ custom | trim if custom else target.schema }}{% endmacro %}\n',
      'seeds/raw_customers.csv': 'id,name\n1,Ann\n',
      'models/_sources.yml': 'version: 2\nsources:\n  - name: ecom\n    schema: raw\n    tables:\n      - name: raw_customers\n',
      'models/customers.sql': "select * from {{ source('ecom', 'raw_customers') }}\n",
    };
    const { plan } = await loadProject(made_(await projectOf(files)));
    // one table, the seed's: the model waits for the seed and reads its table
    expect(plan.sources.map((s) => [s.name, s.seed !== undefined])).toEqual([['raw_customers', true]]);
    expect(plan.seedSources).toEqual({ 'ecom.raw_customers': 'raw_customers' });
    expect(plan.models[0]).toMatchObject({ name: 'customers', sources: ['raw_customers'] });
    // in another schema it is another table of the same name
    const elsewhere = made_(await projectOf({ ...files, 'dbt_project.yml': `${PROJECT}seed-paths: ['seeds']\n` }));
    expect((await refusal(elsewhere)).message).toContain(
      "two source tables named 'raw_customers' (seed raw_customers and ecom.raw_customers): the seed's table is main.raw_customers, the source's raw.raw_customers",
    );
    // with tests of its own, which the seed's loading would not run
    const tested = made_(
      await projectOf({
        ...files,
        'models/_sources.yml': `${files['models/_sources.yml']}        columns:\n          - name: id\n            data_tests: [not_null]\n`,
      }),
    );
    expect((await refusal(tested)).message).toContain("the source is the seed's table, but has tests of its own (give them to the seed)");
  });

  it("finds a git package where dbt deps installs it, under its project's name, and refuses one that is not there", async () => {
    const files = {
      'dbt_project.yml': PROJECT,
      'packages.yml': 'packages:\n  - git: "https://github.com/acme/dbt-audit-kit.git"\n    revision: main\n',
      'dbt_packages/audit_kit/dbt_project.yml': "name: 'audit_kit'\nconfig-version: 2\n",
      'dbt_packages/audit_kit/macros/one.sql': '{% macro one() %}1{% endmacro %}\n',
      'models/uses.sql': 'select {{ audit_kit.one() }} as id\n',
    };
    const { plan } = await loadProject(made_(await projectOf(files)));
    expect(plan.models.map((m) => m.name)).toEqual(['uses']);
    const second = 'packages:\n  - git: "https://github.com/acme/dbt-audit-kit.git"\n  - git: "https://github.com/acme/other.git"\n';
    const missing = made_(await projectOf({ ...files, 'packages.yml': second }));
    expect((await refusal(missing)).message).toContain("packages.yml: package 'https://github.com/acme/other.git' is not installed");
  });

  it("renders dbt_project.yml's Jinja as dbt does: the run's vars or each var's default, env_var(), natively", async () => {
    process.env.METERFLOW_TEST_SCHEMA = 'marts';
    try {
      const dir = made_(
        await projectOf({
          'dbt_project.yml':
            `${PROJECT}seed-paths: ['seeds']\nseeds:\n  shop:\n    raw:\n      +enabled: "{{ var('load_raw', false) }}"\n` +
            'models:\n  shop:\n    +schema: "{{ env_var(\'METERFLOW_TEST_SCHEMA\') }}"\n    +materialized: "{{ \'table\' }}"\n',
          'seeds/raw/orders.csv': 'id\n1\n',
          'seeds/kept.csv': 'id\n2\n',
          'models/m.sql': 'select 1 as id\n',
        }),
      );
      const project = await loadProject(dir);
      const { plan } = project;
      expect(plan.sources.map((s) => s.name)).toEqual(['kept']);
      // a run setting the var: its value, as dbt reads it there (`dbt build --vars '{load_raw: true}'`)
      const withRaw = await loadProject(dir, { vars: { load_raw: true, other: 1 } });
      expect(withRaw.plan.sources.map((s) => s.name).sort()).toEqual(['kept', 'orders']);
      expect(withRaw.plan.projectFileVars).toEqual(['load_raw']);
      expect((await loadProject(dir, { vars: { other: 1 } })).plan.sources.map((s) => s.name)).toEqual(['kept']);
      expect(plan.models[0]).toMatchObject({ table: { schema: 'main_marts', name: 'm' }, materialized: 'table' });
      expect(plan.projectFileVars).toEqual(['load_raw']);
      expect(plan.namingEnv).toContain('METERFLOW_TEST_SCHEMA');
    } finally {
      delete process.env.METERFLOW_TEST_SCHEMA;
    }
    const noDefault = made_(
      await projectOf({ 'dbt_project.yml': `${PROJECT}models:\n  +enabled: "{{ var('on') }}"\n`, 'models/m.sql': 'select 1\n' }),
    );
    expect((await refusal(noDefault)).message).toContain("dbt_project.yml: var('on') has no default and the run does not set it (--vars)");
    expect((await loadProject(noDefault, { vars: { on: false } })).plan.models).toEqual([]);
  });

  it("runs an installed package's macros and generic tests under its name, as dbt does, and counts its files in the project's fingerprint", async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'packages.yml': 'packages:\n  - package: dbt-labs/dbt_utils\n    version: [">=1.0.0", "<2.0.0"]\n',
        'models/orders.sql': "select 1 as id, 'a' as code, 2.5 as amount\n",
        'models/keyed.sql':
          "select {{ dbt_utils.generate_surrogate_key(['id', 'code']) }} as order_key, {{ dbt_utils.star(ref('orders'), except=['amount']) }} from {{ ref('orders') }}\n",
        'models/_tests.yml':
          'version: 2\nmodels:\n  - name: orders\n    data_tests:\n      - dbt_utils.expression_is_true:\n          arguments: {expression: "amount > 5"}\n' +
          '    columns:\n      - name: amount\n        data_tests: [dbt_utils.not_constant, {dbt_utils.accepted_range: {min_value: 0}}]\n' +
          // a package test taking a relation (_is_relation) and a ref()
          '  - name: keyed\n    data_tests:\n      - dbt_utils.equality: {compare_model: "ref(\'orders\')", compare_columns: [id, code]}\n' +
          '    columns:\n      - name: id\n        data_tests: [dbt_utils.not_empty_string]\n',
        // the project's own implementation of a package macro: dispatch finds it first, as dbt does
        'macros/divide.sql':
          '{% macro default__safe_divide(numerator, denominator) %}my_divide({{ numerator }}, {{ denominator }}){% endmacro %}\n',
        'models/ratio.sql': "select {{ dbt_utils.safe_divide('a', 'b') }} as r\n",
      }),
    );
    await cp(path.join(PACKAGE_ROOT, 'test', 'fixtures', 'packages', 'dbt_utils'), path.join(dir, 'dbt_packages', 'dbt_utils'), {
      recursive: true,
    });
    const project = await loadProject(dir);
    const keyed = project.plan.models.find((m) => m.name === 'keyed') as ModelNode;
    const columns = (key: string) =>
      key === 'ref:orders' ? ['id', 'code', 'amount'].map((name) => ({ name, dataType: 'INTEGER' })) : undefined;
    expect(renderModelSql(project, keyed, warehouseResolver(project), {}, { columns }).replace(/\s+/g, ' ').trim()).toBe(
      "select md5(cast(coalesce(cast(id as TEXT), '_dbt_utils_surrogate_key_null_') || '-' || coalesce(cast(code as TEXT), " +
        '\'_dbt_utils_surrogate_key_null_\') as TEXT)) as order_key, "id", "code" from "main"."orders"',
    );
    const ratio = project.plan.models.find((m) => m.name === 'ratio') as ModelNode;
    expect(renderModelSql(project, ratio, warehouseResolver(project)).trim()).toBe('select my_divide(a, b) as r');
    const keyedTests = project.plan.models.find((m) => m.name === 'keyed') as ModelNode;
    expect(keyedTests.tests.map((t) => [t.id, t.macro])).toEqual([
      ['dbt_utils_equality_keyed', 'dbt_utils.equality'],
      ['dbt_utils_not_empty_string_keyed_id', 'dbt_utils.not_empty_string'],
    ]);
    expect(keyedTests.testRefs).toEqual(['orders']);
    expect(keyedTests.tests[0]?.sql).toContain('select * from __METERFLOW_REF_orders__');
    const tests = (project.plan.models.find((m) => m.name === 'orders') as ModelNode).tests;
    expect(tests.map((t) => t.id)).toEqual([
      'dbt_utils_expression_is_true_orders',
      'dbt_utils_not_constant_orders_amount',
      'dbt_utils_accepted_range_orders_amount',
    ]);
    // the package's own SQL, as dbt runs it: amount 2.5 fails `amount > 5`, and one row is constant
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run("create table orders as select 1 as id, 'a' as code, 2.5 as amount");
      const { results } = await runDataTests(connection, tests, 'orders', (m) => m);
      expect(results.map((r) => [r.id, r.status, r.failures])).toEqual([
        ['dbt_utils_expression_is_true_orders', 'fail', 1],
        ['dbt_utils_not_constant_orders_amount', 'fail', 1],
        ['dbt_utils_accepted_range_orders_amount', 'pass', 0],
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    // the package's macro files are the project's as far as a run is concerned: a changed one is seen
    const before = await fingerprintProject(dir);
    expect(Object.keys(before.files)).toEqual(
      expect.arrayContaining(['dbt_packages/dbt_utils/dbt_project.yml', 'dbt_packages/dbt_utils/macros/sql/star.sql']),
    );
    await writeFile(path.join(dir, 'dbt_packages', 'dbt_utils', 'macros', 'sql', 'star.sql'), '{% macro star(from) %}*{% endmacro %}\n');
    expect((await fingerprintProject(dir)).hash).not.toBe(before.hash);
    // a package's test named without its package is not found, as in dbt (which looks in the project and dbt alone)
    const tests_ = path.join(dir, 'models', '_tests.yml');
    const yaml = await readFile(tests_, 'utf8');
    await writeFile(tests_, yaml.replace('dbt_utils.not_empty_string', 'not_empty_string'));
    expect((await refusal(dir)).message).toContain("unknown data test 'not_empty_string' on keyed");
    await writeFile(tests_, yaml);
    // a local package, which dbt deps installs as a link to its folder
    const local = made_(
      await projectOf({
        'dbt_project.yml': "name: 'helpers'\nconfig-version: 2\n",
        'macros/shout.sql': '{% macro shout(x) %}upper({{ x }}){% endmacro %}\n',
      }),
    );
    await symlink(local, path.join(dir, 'dbt_packages', 'helpers'));
    await writeFile(
      path.join(dir, 'packages.yml'),
      `packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n  - local: ${local}\n`,
    );
    await writeFile(path.join(dir, 'models', 'loud.sql'), 'select {{ helpers.shout("\'a\'") }} as a\n');
    const withLocal = await loadProject(dir);
    expect(
      renderModelSql(withLocal, withLocal.plan.models.find((m) => m.name === 'loud') as ModelNode, warehouseResolver(withLocal)).trim(),
    ).toBe("select upper('a') as a");
    // a package macro that queries the warehouse while rendering: it loads (no rows at load, as at
    // dbt's parse), and its SQL to run is rendered in passes, each pass's queries answered
    await writeFile(
      path.join(dir, 'models', 'spine.sql'),
      "{{ dbt_utils.date_spine('day', \"'2024-01-01'::date\", \"'2024-01-05'::date\") }}\n",
    );
    await writeFile(
      path.join(dir, 'models', 'kinds.sql'),
      "{% set kinds = dbt_utils.get_column_values(ref('loud'), 'a') %}select {{ kinds | length }} as n, '{{ kinds | join(',') }}' as kinds\n",
    );
    await writeFile(
      path.join(dir, 'models', 'counted.sql'),
      "select {{ run_query('select count(*) as n from ' ~ ref('loud') ~ ';').rows[0]['n'] if execute else 0 }} as n\n",
    );
    const querying = await loadProject(dir);
    // what the warehouse answers is no input's state: a model that queries is built again on every run
    const hashesOf = (run: string) => stateHashesOf(querying, { [INVOCATION_ID_VAR]: run });
    expect(hashesOf('run-1').spine).not.toEqual(hashesOf('run-2').spine);
    expect(hashesOf('run-1').counted).not.toEqual(hashesOf('run-2').counted);
    expect(hashesOf('run-1').loud).toEqual(hashesOf('run-2').loud);
    const database = await DuckDBInstance.create(':memory:');
    const querier = await database.connect();
    try {
      await querier.run("create table main.loud as select 'a' as a union all select 'b'");
      const answered = async (name: string) => {
        const model = querying.plan.models.find((m) => m.name === name) as ModelNode;
        const resolver = warehouseResolver(querying);
        const sql = await renderAnswered(querier, model.file, (queries) => renderModelSql(querying, model, resolver, {}, { queries }));
        return (await querier.runAndReadAll(`select * from (${sql}) order by all`)).getRowObjectsJson();
      };
      expect((await answered('spine')).map((row) => row.date_day)).toEqual([
        '2024-01-01 00:00:00',
        '2024-01-02 00:00:00',
        '2024-01-03 00:00:00',
        '2024-01-04 00:00:00',
      ]);
      expect(await answered('kinds')).toEqual([{ n: 2, kinds: 'a,b' }]);
      // a template that reads a row only its answer has: no row at load (read again with execute
      // false, as dbt's parse reads it), and its first pass fails before the answer comes
      expect(await answered('counted')).toEqual([{ n: 2 }]);
      // rendered without answers (a render whose SQL is kept to run later): refused, naming the call
      const spine = querying.plan.models.find((m) => m.name === 'spine') as ModelNode;
      expect(() => renderModelSql(querying, spine, warehouseResolver(querying))).toThrow(
        'models/spine.sql: statement() would query the warehouse while this template renders',
      );
      // only a query that reads runs
      await writeFile(path.join(dir, 'models', 'writes.sql'), "{% set r = run_query('drop table main.loud') %}select 1 as x\n");
      const writes = await loadProject(dir);
      const model = writes.plan.models.find((m) => m.name === 'writes') as ModelNode;
      await expect(
        renderAnswered(querier, model.file, (queries) => renderModelSql(writes, model, warehouseResolver(writes), {}, { queries })),
      ).rejects.toThrow('models/writes.sql: a query it runs while rendering failed (only a query that reads may run)');
      expect((await querier.runAndReadAll('select count(*)::int as n from main.loud')).getRowObjectsJson()).toEqual([{ n: 2 }]);
    } finally {
      querier.closeSync();
      database.closeSync();
    }
  });

  it("configures tests from dbt_project.yml's data_tests: block by their YAML file's folder, under each test's own config", async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': `${PROJECT}data_tests:\n  shop:\n    +severity: warn\n    marts:\n      +severity: error\n      +where: "id > 0"\n    legacy:\n      +enabled: false\n`,
        'models/orders.sql': 'select 1 as id\n',
        'models/marts/customers.sql': 'select 1 as id\n',
        'models/legacy/old.sql': 'select 1 as id\n',
        'models/schema.yml':
          'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [not_null, {unique: {config: {severity: error}}}]\n',
        'models/marts/schema.yml':
          'version: 2\nmodels:\n  - name: customers\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
        'models/legacy/schema.yml': 'version: 2\nmodels:\n  - name: old\n    columns:\n      - name: id\n        data_tests: [not_null]\n',
      }),
    );
    const { plan } = await loadProject(dir);
    const tests = (name: string) => (plan.models.find((m) => m.name === name) as ModelNode).tests.map((t) => [t.id, t.severity, t.where]);
    expect(tests('orders')).toEqual([
      ['not_null_orders_id', 'warn', undefined],
      ['unique_orders_id', 'error', undefined],
    ]);
    expect(tests('customers')).toEqual([['not_null_customers_id', 'error', 'id > 0']]);
    expect(tests('old')).toEqual([]);
  });

  it("takes the config a custom generic test's macro sets, under the test's own YAML", async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': "select 'a' as status\n",
        'macros/has_value.sql':
          "{% test has_value(model, column_name, value) %}{{ config(severity='warn', error_if='>5') }}select * from {{ model }} where {{ column_name }} = '{{ value }}'{% endtest %}\n",
        'models/_orders.yml':
          'version: 2\nmodels:\n  - name: orders\n    columns:\n      - name: status\n        data_tests:\n' +
          '          - has_value: {value: a}\n          - has_value: {value: b, config: {severity: error}}\n',
      }),
    );
    const tests = (await loadProject(dir)).plan.models.find((m) => m.name === 'orders')!.tests;
    expect(tests.map((test) => [test.severity, test.errorIf, 'ownConfig' in test])).toEqual([
      ['warn', '>5', false],
      ['error', '>5', false],
    ]);
  });

  it("configures a singular test as dbt does: dbt_project.yml's data_tests: block, its properties YAML, then its config() call", async () => {
    const dir = made_(
      await projectOf({
        'dbt_project.yml': `${PROJECT}data_tests:\n  shop:\n    lenient:\n      +severity: warn\n`,
        'models/orders.sql': 'select 1 as id\n',
        'tests/judged.sql': "{{ config(error_if='>5', warn_if='>1', limit=3, fail_calc='sum(id)') }}\nselect * from {{ ref('orders') }}\n",
        'tests/off.sql': "{{ config(enabled=false) }}\nselect * from {{ ref('orders') }}\n",
        'tests/shouted.sql': "{{ config(severity='WARN') }}\nselect * from {{ ref('orders') }}\n",
        'tests/lenient/folder.sql': "select * from {{ ref('orders') }}\n",
        // (its properties YAML, as dbt reads them: data_tests entries by name)
        'tests/described.sql': "select * from {{ ref('orders') }}\n",
        'tests/_tests.yml': 'version: 2\ndata_tests:\n  - name: described\n    config: {severity: warn}\n',
      }),
    );
    const tests = (await loadProject(dir)).plan.singularTests.map(({ name, severity, warnIf, errorIf, limit, failCalc }) => ({
      name,
      severity,
      ...(warnIf ? { warnIf, errorIf, limit, failCalc } : {}),
    }));
    expect(tests.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'described', severity: 'warn' },
      { name: 'folder', severity: 'warn' },
      { name: 'judged', severity: 'error', warnIf: '>1', errorIf: '>5', limit: 3, failCalc: 'sum(id)' },
      { name: 'shouted', severity: 'warn' },
    ]);
  });

  it('takes config written beside the arguments, as dbt still does, and refuses a key given there and under config', () => {
    const [unique, notNull, values] = parseTests(
      [
        { unique: { severity: 'warn' } },
        { not_null: { where: 'id > 1', enabled: true } },
        { accepted_values: { values: ['a'], warn_if: '> 5', quote: true } },
      ],
      'orders',
      'models/schema.yml',
      'id',
    );
    expect([unique?.severity, notNull?.where, values?.warnIf]).toEqual(['warn', 'id > 1', '> 5']);
    expect([unique?.args, notNull?.args, values?.args]).toEqual([{}, {}, { values: ['a'], quote: true }]);
    expect(parseTests([{ unique: { enabled: false } }], 'orders', 'models/schema.yml', 'id')).toEqual([]);
    // a relationships test to a source, which dbt allows, is refused when the project loads, naming it
    expect(() =>
      renderGenericTests(
        parseTests([{ relationships: { to: "source('raw', 'custs')", field: 'id' } }], 'orders', 'models/schema.yml', 'cust'),
        {
          file: 'models/schema.yml',
          macros: [],
          vars: {},
          sources: new Map(),
        },
      ),
    ).toThrow("models/schema.yml: test relationships_orders_cust checks against source('raw', 'custs'), which meterflow does not run");
    expect(() =>
      parseTests([{ unique: { severity: 'warn', config: { severity: 'error' } } }], 'orders', 'models/schema.yml', 'id'),
    ).toThrow("models/schema.yml: unique on orders gives 'severity' both beside its arguments and under config:, as dbt refuses");
  });

  it("judges a test's failing rows by its warn_if and error_if, as dbt does, and refuses a malformed one", () => {
    const [test] = parseTests(
      [{ not_null: { config: { warn_if: '> 0', error_if: '>= 5', limit: 100 } } }],
      'orders',
      'models/schema.yml',
      'amount',
    );
    expect(test).toMatchObject({ warnIf: '> 0', errorIf: '>= 5', limit: 100, severity: 'error' });
    expect([0, 1, 4, 5, 6].map((failures) => testStatus(test!, failures))).toEqual(['pass', 'warn', 'warn', 'fail', 'fail']);
    expect(testStatus({ severity: 'warn', errorIf: '>= 5' }, 9)).toBe('warn');
    expect(testStatus({ severity: 'error' }, 1)).toBe('fail');
    // a test its config disables is not run, as in dbt
    expect(
      parseTests(['unique', { not_null: { config: { enabled: false } } }], 'orders', 'models/schema.yml', 'id').map((t) => t.kind),
    ).toEqual(['unique']);
    expect(() => parseTests([{ unique: { config: { error_if: 'lots' } } }], 'orders', 'models/schema.yml', 'id')).toThrow(
      "models/schema.yml: unique on orders: config.error_if must compare the failing rows with a number, as '> 10' or '!= 0', not \"lots\"",
    );
  });

  it("renders a project's own generic tests, from tests/generic and from macros, with ref() arguments as dbt does", async () => {
    const { plan } = await loadProject(path.join(PACKAGE_ROOT, 'test', 'fixtures', 'jaffle_shop'));
    const customers = plan.models.find((m) => m.name === 'customers');
    const test = customers?.tests.find((t) => t.id === 'has_orders_customers_customer_id');
    expect(test).toMatchObject({ kind: 'generic', macro: 'has_orders', severity: 'warn', column: 'customer_id' });
    expect(test?.sql).toContain('from __METERFLOW_MODEL__ as customer');
    expect(test?.sql).toContain('select 1 from __METERFLOW_REF_orders__ as placed where placed.customer_id = customer.customer_id');
    // the test reads orders: the run builds orders before it runs it
    expect(customers?.testRefs).toEqual(['orders']);
    expect(plan.models.find((m) => m.name === 'orders')?.tests.find((t) => t.macro === 'non_negative')?.sql).toMatch(
      /select amount\s+from __METERFLOW_MODEL__\s+where amount < 0/,
    );
    // the shipped project's tests/generic, which meterflow runs natively, is left to dbt
    const shipped = await loadProject(defaultProjectDir());
    expect(shipped.macros.some((m) => m.file.includes('generic'))).toBe(false);
  });
});

describe("a project's YAML and config, read as dbt reads them", () => {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  const projectOf_ = async (files: Record<string, string>) => {
    const dir = await projectOf(files);
    made.push(dir);
    return dir;
  };
  const MODEL = 'select 1 as id\n';

  it("takes YAML 1.1's yes and no as booleans and applies merge keys, as PyYAML does, and keeps y and n as text", async () => {
    const dir = await projectOf_({
      'dbt_project.yml': `${PROJECT}vars:\n  include_cancelled: no\n  strict: yes\n  axis: y\nmodels:\n  shop:\n    legacy:\n      +enabled: no\n`,
      'models/orders.sql': MODEL,
      'models/legacy/old_orders.sql': MODEL,
      'models/schema.yml': 'x-ids: &ids\n  name: id\n  data_tests: [not_null]\nmodels:\n  - name: orders\n    columns:\n      - <<: *ids\n',
    });
    const { plan } = await loadProject(dir);
    expect(plan.vars).toEqual({ include_cancelled: false, strict: true, axis: 'y' });
    expect(plan.models.map((m) => m.name)).toEqual(['orders']);
    expect(plan.models[0]?.tests.map((t) => t.id)).toEqual(['not_null_orders_id']);
  });

  it("lets vars under the project's name override the global ones, as dbt scopes them", async () => {
    const dir = await projectOf_({
      'dbt_project.yml': `${PROJECT}vars:\n  min_amount: 1\n  region: eu\n  shop:\n    min_amount: 10\n`,
      'models/orders.sql': MODEL,
    });
    expect((await loadProject(dir)).plan.vars).toEqual({ min_amount: 10, region: 'eu' });
  });

  it('refuses two YAML entries for one model, naming both files, as dbt does', async () => {
    const dir = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/orders.sql': MODEL,
      'models/a.yml': 'models:\n  - name: orders\n    columns:\n      - name: id\n        data_tests: [unique]\n',
      'models/b.yml': 'models:\n  - name: orders\n    description: the orders\n',
    });
    expect((await refusal(dir)).message).toBe("models/b.yml: model 'orders' has properties in models/a.yml too: give it one entry");
  });

  it("checks an enforced contract's columns, types and constraints as error tests, and refuses what it cannot check", async () => {
    const TABLE = `{{ config(materialized='table') }}\n${MODEL}`;
    const yaml =
      'models:\n  - name: orders\n    config:\n      contract: {enforced: true}\n    constraints:\n      - {type: check, expression: "amount >= 0"}\n' +
      '    columns:\n      - name: id\n        data_type: integer\n        constraints: [{type: primary_key}]\n' +
      '      - name: amount\n        data_type: numeric(10, 2)\n      - name: code\n        data_type: text\n        constraints: [{type: not_null}]\n';
    const contract = await loadProject(
      await projectOf_({ 'dbt_project.yml': PROJECT, 'models/orders.sql': TABLE, 'models/schema.yml': yaml }),
    );
    const tests = (contract.plan.models.find((m) => m.name === 'orders') as ModelNode).tests;
    expect(tests.map((t) => [t.id, t.kind, t.severity])).toEqual([
      ['contract_orders', 'contract', 'error'],
      ['contract_not_null_orders_id', 'not_null', 'error'],
      ['contract_unique_orders_id', 'unique', 'error'],
      ['contract_not_null_orders_code', 'not_null', 'error'],
      ['contract_check_orders', 'expression_is_true', 'error'],
    ]);
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const run = async (select: string) => {
        await connection.run(`create or replace table orders as ${select}`);
        return (await runDataTests(connection, tests, 'orders', (m) => m)).results.filter((r) => r.status !== 'pass');
      };
      // as the YAML says: every check passes
      expect(await run("select 1::int as id, 2.5::decimal(10, 2) as amount, 'a' as code")).toEqual([]);
      // a type that differs, a column the YAML lacks, a duplicate key and a negative amount: each named
      const failed = await run(
        "select * from (values (1::bigint, -2.5::decimal(10, 2), 'a', 1), (1::bigint, 1.0::decimal(10, 2), 'b', 2)) t(id, amount, code, extra)",
      );
      expect(failed.map((r) => [r.id, r.failures])).toEqual([
        ['contract_orders', 2],
        ['contract_unique_orders_id', 1],
        ['contract_check_orders', 1],
      ]);
      expect(failed[0]?.samples).toEqual([
        { column_name: 'id', definition_type: 'BIGINT', contract_type: 'integer', mismatch_reason: 'data type mismatch' },
        { column_name: 'extra', definition_type: 'INTEGER', contract_type: null, mismatch_reason: 'missing in contract' },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    // what it cannot check: refused, naming the file
    const refused = async (replace: [string, string]) =>
      (
        await refusal(
          await projectOf_({ 'dbt_project.yml': PROJECT, 'models/orders.sql': TABLE, 'models/schema.yml': yaml.replace(...replace) }),
        )
      ).message;
    expect(await refused(['        data_type: text\n', ''])).toBe(
      "models/schema.yml: column 'code' of 'orders' has no data_type, which its enforced contract needs",
    );
    expect(await refused(['{type: not_null}', '{type: foreign_key, expression: "x (id)"}'])).toBe(
      "models/schema.yml: 'orders' has a foreign_key constraint, which meterflow does not check (it checks not_null, unique, primary_key and check)",
    );
    expect(await refused(['data_type: text', 'data_type: "text); drop table x; --"'])).toContain('which is no type');
  });

  it("reads descriptions through dbt's docs blocks, and refuses a doc() naming none", async () => {
    const files = {
      'dbt_project.yml': PROJECT,
      'models/orders.sql': MODEL,
      'models/docs.md':
        '# notes\n{% docs orders %}\nOne row per **order**.\n{% enddocs %}\n\n{%- docs order_id -%}The key.{%- enddocs -%}\n',
      'models/schema.yml':
        'models:\n  - name: orders\n    description: \'{{ doc("orders") }}\'\n    columns:\n      - name: id\n        description: "{{ doc(\'order_id\') }} Never null."\n',
    };
    const project = await loadProject(await projectOf_(files));
    const orders = project.plan.models.find((m) => m.name === 'orders') as ModelNode;
    expect(orders.description).toBe('One row per **order**.');
    expect(orders.columns).toEqual([{ name: 'id', description: 'The key. Never null.' }]);
    const unknown = { ...files, 'models/schema.yml': files['models/schema.yml'].replace('doc("orders")', 'doc("order")') };
    expect((await refusal(await projectOf_(unknown))).message).toBe(
      "models/schema.yml: doc('order') names no docs block in the project's .md files",
    );
    const twice = { ...files, 'models/more.md': '{% docs orders %}again{% enddocs %}' };
    expect((await refusal(await projectOf_(twice))).message).toBe("models/more.md: docs block 'orders' is defined in models/docs.md too");
  });

  it('builds on every run what dbt builds on every run: an incremental model without an event_time, SQL reading the clock', async () => {
    const dir = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/orders.sql': MODEL,
      'models/appended.sql': `{{ config(materialized='incremental', incremental_strategy='append') }}\nselect * from {{ ref('orders') }}\n`,
      'models/stamped.sql': `select id, now() as loaded_at from {{ ref('orders') }}\n`,
      'models/today.sql': `select id from {{ ref('orders') }} where current_date > date '2000-01-01'\n`,
      'models/cts.sql': `select id, {{ dbt.current_timestamp() }} as at from {{ ref('orders') }}\n`,
    });
    const project = await loadProject(dir);
    // (a differential probe found these left as they were, NO-OP, where dbt added a day's rows or stamped them again)
    const hashesOf = (started: string) => stateHashesOf(project, { [RUN_STARTED_AT_VAR]: started });
    const [first, second] = [hashesOf('2026-12-07T00:00:00Z'), hashesOf('2026-12-08T00:00:00Z')];
    for (const model of ['appended', 'stamped', 'today', 'cts'])
      expect({ model, changed: first[model] !== second[model] }).toEqual({ model, changed: true });
    expect(first.orders).toEqual(second.orders);
  });

  it('refuses incremental_predicates, which meterflow does not apply, naming the file', async () => {
    const predicates = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/orders.sql': `{{ config(materialized='incremental', unique_key='id', incremental_predicates=["id > 0"]) }}\n${MODEL}`,
    });
    expect((await refusal(predicates)).message).toMatch(
      /^models\/orders\.sql: 'orders' has incremental_predicates, which meterflow does not apply/,
    );
    // dbt-duckdb's other name for them, and a merge's column lists (a differential probe found them ignored)
    for (const [config, message] of [
      [`predicates=["id >= 2"]`, /has predicates, which meterflow does not apply/],
      [`incremental_strategy='merge', merge_update_columns=['status']`, /has merge_update_columns, which meterflow does not apply/],
      [`incremental_strategy='merge', merge_exclude_columns=['status']`, /has merge_exclude_columns, which meterflow does not apply/],
    ] as const) {
      const dir = await projectOf_({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': `{{ config(materialized='incremental', unique_key='id', ${config}) }}\n${MODEL}`,
      });
      expect((await refusal(dir)).message).toMatch(message);
    }
  });

  it("takes an incremental model's full_refresh and on_schema_change configs, and refuses values dbt has none of", async () => {
    const dir = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/kept.sql': `{{ config(materialized='incremental', full_refresh=false, on_schema_change='append_new_columns') }}\n${MODEL}`,
      'models/whole.sql': `{{ config(materialized='incremental', unique_key='id', full_refresh=true, on_schema_change='sync_all_columns') }}\n${MODEL}`,
      'models/plain.sql': `{{ config(materialized='incremental') }}\n${MODEL}`,
      // dbt-core's delete+insert without a key inserts; a string key is SQL on each side of its delete
      'models/unkeyed.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert') }}\n${MODEL}`,
      'models/keyed.sql': `{{ config(materialized='incremental', unique_key="id || '-' || status") }}\n${MODEL}`,
    });
    const { plan } = await loadProject(dir);
    expect(Object.fromEntries(plan.models.map((m) => [m.name, m.incremental]))).toEqual({
      kept: { uniqueKey: [], fullRefresh: false, onSchemaChange: 'append_new_columns' },
      plain: { uniqueKey: [], onSchemaChange: 'ignore' },
      whole: { uniqueKey: ['id'], fullRefresh: true, onSchemaChange: 'sync_all_columns' },
      unkeyed: { uniqueKey: [], onSchemaChange: 'ignore' },
      keyed: { uniqueKey: ["id || '-' || status"], uniqueKeyIsExpression: true, onSchemaChange: 'ignore' },
    });
    const listed = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/kept.sql': `{{ config(materialized='incremental', unique_key=['id', 'lower(status)']) }}\n${MODEL}`,
    });
    expect((await refusal(listed)).message).toBe(
      "models/kept.sql: unique_key of 'kept' is a list, whose items must be column names, not 'lower(status)'",
    );
    const unknown = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/kept.sql': `{{ config(materialized='incremental', on_schema_change='append') }}\n${MODEL}`,
    });
    expect((await refusal(unknown)).message).toBe(
      "models/kept.sql: on_schema_change of 'kept' must be one of ignore, fail, append_new_columns, sync_all_columns, not 'append'",
    );
    const bad = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/kept.sql': `{{ config(materialized='incremental', full_refresh='never') }}\n${MODEL}`,
    });
    expect((await refusal(bad)).message).toBe("models/kept.sql: full_refresh of 'kept' must be true or false, not 'never'");
  });

  it("refuses target, flags and graph, which meterflow has no value for, naming the file, and renders execute as true and target.type as dbt-duckdb's", async () => {
    for (const [use, what] of [
      ["{% if target.name == 'prod' %}select 2 as id{% else %}select 1 as id{% endif %}", 'target.name'],
      ['select {{ target.threads }} as id', 'target.threads'],
      ['{% if flags.FULL_REFRESH %}select 2 as id{% else %}select 1 as id{% endif %}', 'flags.FULL_REFRESH'],
      ['select {{ target }} as id', 'target'],
    ] as const) {
      const dir = await projectOf_({ 'dbt_project.yml': PROJECT, 'models/orders.sql': `${use}\n` });
      expect((await refusal(dir)).message).toMatch(
        new RegExp(`^models/orders\\.sql: ${what.replace('.', '\\.')} has no value in meterflow: `),
      );
    }
    const rendered = renderModel({
      file: 'models/orders.sql',
      template: "{% if execute %}select 2 as id{% else %}select 1 as id{% endif %}, '{{ target.type }}' as adapter",
      resolver: { ref: (m) => m, source: (_s, t) => t },
      vars: {},
      self: 'orders',
    });
    expect(rendered.sql).toBe("select 2 as id, 'duckdb' as adapter");
    // the flags meterflow knows: no --empty, and every run builds
    const flags = renderModel({
      file: 'models/orders.sql',
      template: '{% if flags.EMPTY %}select 0{% else %}select 1{% endif %} -- {{ flags.WHICH }}',
      resolver: { ref: (m) => m, source: (_s, t) => t },
      vars: {},
      self: 'orders',
    });
    expect(flags.sql).toBe('select 1 -- build');
  });

  it("gives target.name the target a run names (--target), counting it in the model's state, and refuses other lookups of target", async () => {
    const render = (vars: Record<string, unknown>, template = "select '{{ target.name }}' as t") =>
      renderModel({ file: 'models/orders.sql', template, resolver: { ref: (m) => m, source: (_s, t) => t }, vars, self: 'orders' });
    const prod = render({ [TARGET_NAME_VAR]: 'prod' });
    expect(prod.sql).toBe("select 'prod' as t");
    // (a model that reads it is rebuilt when a run names another target)
    expect(prod.usedVars).toEqual({ [TARGET_NAME_VAR]: 'prod' });
    expect(render({ [TARGET_NAME_VAR]: 'prod' }, 'select 1').usedVars).toEqual({});
    expect(() => render({})).toThrow(
      new RunValueMissingError(
        'models/orders.sql: target.name has no value in meterflow: the run names no target; give it one with --target ' +
          "(as dbt's --target), the same on every run that should build the same tables",
      ),
    );
    expect(() => render({ [TARGET_NAME_VAR]: 'prod' }, '{{ target.profile_name }}')).toThrow(
      /^models\/orders\.sql: target\.profile_name has no value in meterflow: it reads no profiles\.yml/,
    );
    // loaded with a target, the project's workers load it with the same (projectFileVars)
    const dir = await projectOf_({
      'dbt_project.yml': PROJECT,
      'macros/naming.sql':
        "{% macro generate_schema_name(custom, node) %}{{ 'analytics' if target.name == 'prod' else target.schema }}{% endmacro %}",
      'models/orders.sql': MODEL,
    });
    const { plan } = await loadProject(dir, { vars: { [TARGET_NAME_VAR]: 'prod' } });
    expect(plan.models.find((m) => m.name === 'orders')?.table).toEqual({ schema: 'analytics', name: 'orders' });
    expect(plan.projectFileVars).toEqual([TARGET_NAME_VAR]);
    expect((await loadProject(dir, { vars: { [TARGET_NAME_VAR]: 'dev' } })).plan.models.find((m) => m.name === 'orders')?.table).toBe(
      undefined,
    );
    await expect(loadProject(dir)).rejects.toBeInstanceOf(RunValueMissingError);
  });

  it('counts the values env_var() gave a model in its state, so that a changed one rebuilds it, and only it', async () => {
    const dir = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/regional.sql': "select '{{ env_var('METERFLOW_TEST_REGION', 'eu') }}' as region\n",
      'models/orders.sql': MODEL,
    });
    const project = await loadProject(dir);
    const hashes = () => stateHashesOf(project, {});
    const before = hashes();
    process.env.METERFLOW_TEST_REGION = 'us';
    try {
      const after = hashes();
      expect(after.regional).not.toBe(before.regional);
      expect(after.orders).toBe(before.orders);
    } finally {
      delete process.env.METERFLOW_TEST_REGION;
    }
    expect(hashes()).toEqual(before);
  });

  it('counts what an inlined ephemeral model, an is_incremental() branch and a singular test read in their state', async () => {
    const dir = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/base.sql':
        "{{ config(materialized='ephemeral') }}select * from {{ ref('orders') }} where region = '{{ env_var('METERFLOW_TEST_BASE', 'eu') }}'\n",
      'models/regional.sql': "select * from {{ ref('base') }} where id > {{ var('min_id', 0) }}\n",
      'models/added.sql':
        "{{ config(materialized='incremental') }}select * from {{ ref('orders') }}\n" +
        "{% if is_incremental() %}where id > {{ var('last_id', 0) }} and '{{ env_var('METERFLOW_TEST_LATE', '') }}' = ''{% endif %}\n",
      'models/orders.sql': MODEL,
      'tests/enough.sql':
        "select * from {{ ref('orders') }} where id < {{ var('min_orders', 1) }} and '{{ env_var('METERFLOW_TEST_CHECK', 'x') }}' = 'x'\n",
      // a branch only later runs can render (its var given then): the plan goes on without its reads
      'models/late.sql':
        "{{ config(materialized='incremental') }}select 1 as id{% if is_incremental() %} where id > {{ var('since') }}{% endif %}\n",
      // a test over a seed no model reads, run when every model is (as every seed is seeded then)
      'seeds/codes.csv': 'code\nA\n',
      'tests/codes_known.sql': "select * from {{ ref('codes') }} where code = '{{ env_var('METERFLOW_TEST_CODE', 'Z') }}'\n",
    });
    const project = await loadProject(dir);
    const read: Record<string, string[]> = {};
    const hashes = (vars: Record<string, unknown> = {}) => stateHashesOf(project, vars, (node, names) => (read[node] = names));
    const before = hashes();
    expect(read).toMatchObject({
      regional: ['METERFLOW_TEST_BASE'],
      added: ['METERFLOW_TEST_LATE'],
      'test:enough': ['METERFLOW_TEST_CHECK'],
    });
    // a run's digest: what the selected models and the tests over them alone read
    const digestOf = (selected: string[]) => Object.keys(plannedReads(project, selected, {}, {}).env ?? {});
    expect(digestOf(['orders'])).toEqual(['METERFLOW_TEST_CHECK']);
    expect(digestOf(['orders', 'regional', 'added'])).toEqual(['METERFLOW_TEST_BASE', 'METERFLOW_TEST_CHECK', 'METERFLOW_TEST_LATE']);
    expect(digestOf(['orders', 'regional', 'added', 'late'])).toEqual([
      'METERFLOW_TEST_BASE',
      'METERFLOW_TEST_CHECK',
      'METERFLOW_TEST_CODE',
      'METERFLOW_TEST_LATE',
    ]);
    // a var read in the ephemeral model's reader, the incremental branch and the test: each moves its own hash alone
    expect(hashes({ last_id: 5 })).toEqual({ ...before, added: expect.not.stringMatching(before.added as string) });
    expect(hashes({ min_orders: 5 })).toEqual({ ...before, 'test:enough': expect.not.stringMatching(before['test:enough'] as string) });
    process.env.METERFLOW_TEST_BASE = 'us';
    try {
      expect(hashes()).toEqual({ ...before, regional: expect.not.stringMatching(before.regional as string) });
    } finally {
      delete process.env.METERFLOW_TEST_BASE;
    }
  });

  it("finds where a seed's relationships test reads its seed, runs one reading a model after the model, and refuses one naming neither", async () => {
    const files = {
      'dbt_project.yml': `${PROJECT}seeds:\n  shop:\n    +schema: ref_data\n`,
      'models/orders.sql': "{{ config(schema='marts', alias='fct_orders') }}select 1 as id\n",
      'seeds/countries.csv': 'code\nGB\n',
      'seeds/shops.csv': 'country,order_id\nGB,1\n',
      'seeds/_seeds.yml':
        'version: 2\nseeds:\n  - name: shops\n    columns:\n      - name: country\n' +
        '        data_tests: [{ relationships: { to: "ref(\'countries\')", field: code } }]\n' +
        '      - name: order_id\n        data_tests: [{ relationships: { to: "ref(\'orders\')", field: id } }]\n',
    };
    const project = await loadProject(await projectOf_(files));
    const shops = project.plan.sources.find((source) => source.name === 'shops');
    expect(shops?.testTables).toEqual({ countries: 'main_ref_data.countries' });
    // the test reading a model runs as a test of its own once the run has built the model
    const afterOrders = 'relationships_shops_order_id';
    expect(shops?.afterModels).toEqual([afterOrders]);
    expect(project.plan.singularTests).toEqual([
      {
        name: afterOrders,
        // the YAML that declares it
        file: 'seeds/_seeds.yml',
        refs: ['orders'],
        sources: ['shops'],
        severity: 'error',
        of: { source: 'shops', test: afterOrders },
      },
    ]);
    const graph = planGraph(project.plan, new Set(project.plan.models.map((m) => m.name)), { seedTestOrder: true });
    expect(graph.nodes.find((n) => n.id === `test:${afterOrders}`)?.dependsOn).toEqual(['seed:shops', 'model:orders']);
    expect(graph.nodes.find((n) => n.id === 'publish:run')?.dependsOn).toContain(`test:${afterOrders}`);
    // its state: the YAML test it stands for
    const whereConfigured = (where: string): typeof project => ({
      ...project,
      plan: {
        ...project.plan,
        sources: project.plan.sources.map((source) =>
          source.name !== 'shops' ? source : { ...source, tests: source.tests.map((t) => (t.id === afterOrders ? { ...t, where } : t)) },
        ),
      },
    });
    const testHash = (of: typeof project) => stateHashesOf(of, {})[`test:${afterOrders}`];
    expect(testHash(whereConfigured('id > 0'))).not.toEqual(testHash(project));
    expect(testHash(whereConfigured('id > 0'))).toEqual(testHash(whereConfigured('id > 0')));
    expect(project.plan.sources.find((source) => source.name === 'countries')?.testTables).toBeUndefined();
    // the seed is seeded after the seed its test reads (in runs that take the patch)
    const all = new Set(project.plan.models.map((m) => m.name));
    const seedNode = (order: boolean) => planGraph(project.plan, all, { seedTestOrder: order }).nodes.find((n) => n.id === 'seed:shops');
    expect(seedNode(true)?.dependsOn).toEqual(['seed:countries']);
    expect(seedNode(false)?.dependsOn).toEqual([]);
    // two seeds whose tests read each other could never be checked: refused
    const circle = {
      ...files,
      'seeds/_more.yml':
        'version: 2\nseeds:\n  - name: countries\n    columns:\n      - name: code\n        data_tests: [{ relationships: { to: "ref(\'shops\')", field: country } }]\n',
    };
    expect((await refusal(await projectOf_(circle))).message).toContain(
      'the relationships tests of seeds countries → shops → countries read each other in a circle',
    );
    const unknown = { ...files, 'seeds/_seeds.yml': files['seeds/_seeds.yml'].replace("ref('orders')", "ref('sales')") };
    expect((await refusal(await projectOf_(unknown))).message).toContain(
      "a relationships test of source 'shops' reads ref('sales'), which names no model or seed",
    );
    // an analytics model is published after every test of the run: refused, naming the test
    const analytics = {
      ...files,
      'models/orders.sql': "{{ config(meta={ 'meterflow': { 'runs_on': 'analytics' } }) }}select 1 as id\n",
    };
    expect((await refusal(await projectOf_(analytics))).message).toContain(
      "seeds/_seeds.yml: the relationships test relationships_shops_order_id of source 'shops' reads analytics model 'orders'",
    );
  });

  it("names each model's table as dbt does: main_<schema> for a schema config, its alias, and a project's own generate_schema_name", async () => {
    const files = {
      'dbt_project.yml': `${PROJECT}models:\n  shop:\n    marts:\n      +schema: marts\nseeds:\n  shop:\n    +schema: ref_data\n`,
      'models/staging/stg_orders.sql': MODEL,
      'models/marts/orders.sql': "{{ config(alias='fct_orders') }}select * from {{ ref('stg_orders') }}\n",
      'models/marts/customers.sql': "{{ config(schema='  people ') }}select 1 as id\n",
      'seeds/countries.csv': 'code\nGB\n',
    };
    const project = await loadProject(await projectOf_(files));
    const tables = Object.fromEntries(project.plan.models.map((m) => [m.name, tableOf(m)]));
    expect(tables).toEqual({
      stg_orders: { schema: 'main', name: 'stg_orders' },
      orders: { schema: 'main_marts', name: 'fct_orders' },
      customers: { schema: 'main_people', name: 'customers' },
    });
    // main.<name> is recorded as no table at all, as plans did before
    expect(project.plan.models.find((m) => m.name === 'stg_orders')).not.toHaveProperty('table');
    expect(project.plan.sources.find((s) => s.name === 'countries')?.schema).toBe('main_ref_data');
    // a ref reads the table where it is
    const sql = renderModelSql(project, project.plan.models.find((m) => m.name === 'orders') as ModelNode, warehouseResolver(project));
    expect(sql.trim()).toBe('select * from "main"."stg_orders"');

    // the project's own generate_schema_name (here: the custom schema as it is, as many teams write it)
    const own = await loadProject(
      await projectOf_({
        ...files,
        'macros/naming.sql':
          '{% macro generate_schema_name(custom_schema_name, node) -%}\n' +
          "{%- if node.resource_type == 'seed' -%}seeds_{{ custom_schema_name | trim }}" +
          '{%- elif custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n' +
          '{%- endmacro %}\n',
      }),
    );
    expect(own.plan.models.map((m) => tableOf(m))).toEqual(
      expect.arrayContaining([
        { schema: 'main', name: 'stg_orders' },
        { schema: 'marts', name: 'fct_orders' },
        { schema: 'people', name: 'customers' },
      ]),
    );
    // a seed is given to it as one (resource_type 'seed')
    expect(own.plan.sources.find((s) => s.name === 'countries')?.schema).toBe('seeds_ref_data');
    expect(own.plan.namingEnv).toBeUndefined();

    // one reading an environment variable: the plan names it, for every worker to be checked against
    const fromEnv = await loadProject(
      await projectOf_({
        ...files,
        'macros/naming.sql':
          "{% macro generate_schema_name(custom_schema_name, node) -%}{{ env_var('METERFLOW_TEST_PREFIX', 'dev') }}_{{ custom_schema_name or 'main' }}{%- endmacro %}\n",
      }),
    );
    expect(fromEnv.plan.namingEnv).toEqual(['METERFLOW_TEST_PREFIX']);
    expect(Object.keys(plannedReads(fromEnv, ['stg_orders'], {}, {}).env ?? {})).toEqual(['METERFLOW_TEST_PREFIX']);
    expect(tableOf(fromEnv.plan.models.find((m) => m.name === 'orders') as ModelNode)).toEqual({ schema: 'dev_marts', name: 'fct_orders' });
  });

  it("gives naming macros what dbt gives them: the vars, the project's other macros and dbt's own, and dbt's node", async () => {
    // a differential probe's project: each name below is dbt-core 1.10.15's
    const files = {
      'dbt_project.yml': `${PROJECT}vars:\n  suffix: prod\n`,
      'macros/n.sql':
        '{% macro generate_schema_name(custom_schema_name, node) -%}\n' +
        "{%- if node.resource_type == 'seed' -%}{{ default__generate_schema_name(custom_schema_name, node) }}\n" +
        "{%- elif custom_schema_name -%}{{ custom_schema_name }}_{{ var('suffix', 'dflt') }}\n" +
        '{%- else -%}{{ schema_helper(node) }}{%- endif -%}\n{%- endmacro %}\n',
      'macros/h.sql': "{% macro schema_helper(node) -%}{{ node.path.split('/')[0] }}{%- endmacro %}\n",
      'macros/a.sql':
        '{% macro generate_alias_name(custom_alias_name=none, node=none) -%}\n' +
        "{%- if node.resource_type == 'seed' -%}{{ node.name }}\n" +
        "{%- else -%}{{ node.name }}_{{ node.package_name }}_{{ node.tags|join('_') }}_{{ node.original_file_path|length }}_{{ node.unique_id.split('.')[0] }}{%- endif -%}\n" +
        '{%- endmacro %}\n',
      'seeds/s.csv': 'id,v\n1,a\n',
      'models/staging/crm/stg_a.sql': "select * from {{ ref('s') }}\n",
      'models/marts/fct.sql': "{{ config(tags=['t1', 't2']) }} select * from {{ ref('stg_a') }}\n",
      'models/m.sql': "{{ config(schema='x') }} select * from {{ ref('s') }}\n",
    };
    const dir = await projectOf_(files);
    const tables = async (vars: Record<string, unknown>) =>
      Object.fromEntries((await loadProject(dir, { vars })).plan.models.map((m) => [m.name, tableOf(m)]));
    expect(await tables({})).toEqual({
      stg_a: { schema: 'staging', name: 'stg_a_shop__28_model' },
      fct: { schema: 'marts', name: 'fct_shop_t1_t2_20_model' },
      m: { schema: 'x_prod', name: 'm_shop__12_model' },
    });
    // a run's var over dbt_project.yml's, and the workers told to load the project with it
    const withVar = await loadProject(dir, { vars: { suffix: 'cli' } });
    expect(tableOf(withVar.plan.models.find((m) => m.name === 'm') as ModelNode).schema).toBe('x_cli');
    expect(withVar.plan.projectFileVars).toEqual(['suffix']);
    // a seed the alias macro names otherwise: refused, not left under its own name without a word
    const renamed = {
      ...files,
      'macros/a.sql':
        "{% macro generate_alias_name(custom_alias_name=none, node=none) -%}{{ 'raw_' ~ node.name if node.resource_type == 'seed' else node.name }}{%- endmacro %}\n",
    };
    expect((await refusal(await projectOf_(renamed))).message).toBe(
      "seeds/s.csv: the project's generate_alias_name (macros/a.sql) names seed 's' 'raw_s', which meterflow does not apply: " +
        "a seed's table is named after its file; leave seeds their names there (node.resource_type == 'seed')",
    );
  });

  it('refuses a database config, two models built as one table, and a naming macro reading what meterflow has no value for', async () => {
    const database = await refusal(
      await projectOf_({ 'dbt_project.yml': PROJECT, 'models/orders.sql': "{{ config(database='other') }}select 1 as id\n" }),
    );
    expect(database.message).toContain("models/orders.sql: 'orders' has database='other': a meterflow run builds one warehouse");
    const shared = await refusal(
      await projectOf_({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': MODEL,
        'models/orders_v2.sql': "{{ config(alias='orders') }}select 2 as id\n",
      }),
    );
    expect(shared.message).toContain(
      "model 'orders' (models/orders.sql) and model 'orders_v2' (models/orders_v2.sql) would both be built as main.orders",
    );
    const target = await refusal(
      await projectOf_({
        'dbt_project.yml': PROJECT,
        'models/orders.sql': "{{ config(schema='marts') }}select 1 as id\n",
        'macros/naming.sql':
          "{% macro generate_schema_name(custom_schema_name, node) %}{% if target.name == 'prod' %}{{ custom_schema_name }}{% else %}dev{% endif %}{% endmacro %}\n",
      }),
    );
    expect(target.message).toContain('target.name has no value in meterflow');
  });

  it("keeps a var's whole float a float, as PyYAML reads it: rate: 1.0 prints 1.0", async () => {
    const dir = await projectOf_({
      'dbt_project.yml': `${PROJECT}vars:\n  rate: 1.0\n  count: 3\n  label: '2.0'\n`,
      'models/priced.sql':
        "select {{ var('rate') }} as rate, {{ var('count') }} as n, {{ var('rate') * var('count') }} as total, '{{ var('label') }}' as label\n",
    });
    const project = await loadProject(dir);
    const model = project.plan.models.find((m) => m.name === 'priced') as ModelNode;
    expect(renderModelSql(project, model, warehouseResolver(project)).trim()).toBe(
      "select 1.0 as rate, 3 as n, 3.0 as total, '2.0' as label",
    );
    // as plain data (a plan in a run's history): the number
    expect(JSON.parse(JSON.stringify(project.plan.vars))).toEqual({ rate: 1, count: 3, label: '2.0' });
    // a model whose Jinja may print a whole float is marked in its state, so it is rebuilt once after the upgrade
    expect(mayPrintFloats(project.templates.get('priced') ?? '', project.plan.vars)).toBe(true);
    expect(mayPrintFloats("select a / b, {{ var('count') }} as n", project.plan.vars)).toBe(false);
    expect(mayPrintFloats('select {{ x / 2 }}', {})).toBe(true);
    expect(mayPrintFloats("select {{ var('p') | round(2) }}", {})).toBe(true);
  });

  it('tells the plan which env_var() names the models read, and refuses a secret in a model as dbt does', async () => {
    const dir = await projectOf_({
      'dbt_project.yml': PROJECT,
      'models/regional.sql':
        "select '{{ env_var('METERFLOW_TEST_REGION', 'eu') }}' as region, '{{ env_var('METERFLOW_TEST_TIER', 'a') }}' as tier\n",
      'models/orders.sql': MODEL,
    });
    const read: string[] = [];
    stateHashesOf(await loadProject(dir), {}, (model, names) => read.push(...names.map((name) => `${model}: ${name}`)));
    expect(read.sort()).toEqual(['regional: METERFLOW_TEST_REGION', 'regional: METERFLOW_TEST_TIER']);

    const secret = () =>
      renderModel({
        file: 'models/s.sql',
        template: "select '{{ env_var('DBT_ENV_SECRET_TOKEN', 'x') }}'",
        resolver: { ref: (m) => m, source: (_s, t) => t },
        vars: {},
        self: 's',
      });
    expect(secret).toThrow(ProjectError);
    expect(secret).toThrow(
      "models/s.sql: env_var('DBT_ENV_SECRET_TOKEN') is a secret (DBT_ENV_SECRET_…), which dbt allows in profiles.yml and packages.yml only",
    );
  });

  it("runs a project's own definition of one of dbt's tests, as dbt runs it, and meterflow's where it has none", async () => {
    const files = {
      'dbt_project.yml': PROJECT,
      'models/orders.sql': "select 1 as id, ' ' as name\n",
      'models/schema.yml': 'models:\n  - name: orders\n    columns:\n      - name: name\n        data_tests: [not_null, unique]\n',
    };
    const strict =
      "{% test not_null(model, column_name) %}\nselect * from {{ model }} where {{ column_name }} is null or trim({{ column_name }}) = ''\n{% endtest %}\n";
    const own = await loadProject(await projectOf_({ ...files, 'tests/generic/not_null.sql': strict }));
    const [notNull, unique] = own.plan.models[0]?.tests ?? [];
    expect(notNull).toMatchObject({ kind: 'generic', macro: 'not_null', column: 'name' });
    expect(notNull?.sql).toContain("trim(name) = ''");
    expect(unique?.kind).toBe('unique');
    const plain = await loadProject(await projectOf_(files));
    expect(plain.plan.models[0]?.tests.map((t) => t.kind)).toEqual(['not_null', 'unique']);
  });

  it("reads a seed's dates in ISO form only, as dbt's agate does: 01/02/2024 stays text, not 1 February", async () => {
    const dir = await projectOf_({ 'seeds/days.csv': 'uk_day,iso_day\n01/02/2024,2024-01-31\n03/04/2024,2024-02-01\n' });
    const seed: SourceTable = {
      name: 'days',
      sourceName: 'seed',
      schema: 'main',
      columns: [],
      tests: [],
      seed: { file: 'seeds/days.csv', delimiter: ',' },
    };
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(
        `select uk_day, iso_day::varchar as iso_day, typeof(iso_day) as type from ${await readFileSql(seed, path.join(dir, 'seeds/days.csv'))}`,
      );
      expect(reader.getRowObjectsJS()).toEqual([
        { uk_day: '01/02/2024', iso_day: '2024-01-31', type: 'DATE' },
        { uk_day: '03/04/2024', iso_day: '2024-02-01', type: 'DATE' },
      ]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

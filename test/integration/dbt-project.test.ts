// A team's own dbt project, as it is: test/fixtures/jaffle_shop is laid out as dbt's starter project
// (models at the root of models/, CSV seeds, an ephemeral model, no meterflow config), run end to end
// by a real run and checked against figures computed from its CSVs alone. Then the seeds: reloaded
// only when their file changes, and a malformed one refused naming the file and line, with nothing
// published changed. And the shipped project under the energy team's folder names builds the same master.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitForPipeline } from '../../src/client';
import { summaryTable } from '../../src/cli/summary';
import type { PipelineInput, PipelineResult } from '../../src/contract/run';
import { generateSampleData } from '../../src/generator/generate';
import { PACKAGE_ROOT } from '../../src/config';
import { BUILT_NOT_PUBLISHED, BUILT_TESTS_FAILED } from '../../src/report/dbt-artifacts';
import { withWarehouseReader } from '../../src/warehouse/warehouse';
import { editFile, energyTeamLayout, queryFile, tableChecksumSql, tempDir } from '../support/files';
import { differencesFromReference } from '../support/reference-master';
import { connectToTestServer, errorWithWorkers, startRun, withWorkers, type TemporalTestContext } from '../support/temporal';

const FIXTURE = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'jaffle_shop');
const METHODS = ['credit_card', 'coupon', 'bank_transfer', 'gift_card'];

/** A CSV of the fixture (no quoted fields), as rows of strings by header. */
async function csv(project: string, name: string): Promise<Record<string, string>[]> {
  const [header, ...lines] = (await readFile(path.join(project, 'seeds', `${name}.csv`), 'utf8')).trim().split('\n');
  const columns = (header as string).split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i] as string, value])));
}

/** The shop's orders and customers, computed in plain TypeScript from the seeds' CSVs. */
async function expectedFigures(project: string) {
  const [customers, orders, payments] = await Promise.all(['raw_customers', 'raw_orders', 'raw_payments'].map((n) => csv(project, n)));
  const paid = (order: string, method?: string) =>
    (payments as Record<string, string>[])
      .filter((p) => p.order_id === order && (!method || p.payment_method === method))
      .reduce((sum, p) => sum + Number(p.amount) / 100, 0);
  const orderRows = (orders as Record<string, string>[]).map((o) => ({
    order_id: Number(o.id),
    customer_id: Number(o.user_id),
    status: o.status,
    ...Object.fromEntries(METHODS.map((m) => [`${m}_amount`, paid(o.id as string, m)])),
    amount: paid(o.id as string),
  }));
  const customerRows = (customers as Record<string, string>[]).map((c) => {
    const own = (orders as Record<string, string>[]).filter((o) => o.user_id === c.id);
    const dates = own.map((o) => o.order_date as string).sort();
    const value = own.reduce((sum, o) => sum + paid(o.id as string), 0);
    return {
      customer_id: Number(c.id),
      first_name: c.first_name,
      number_of_orders: own.length > 0 ? own.length : null,
      first_order: dates[0] ?? null,
      most_recent_order: dates[dates.length - 1] ?? null,
      customer_lifetime_value: own.length > 0 ? value : null,
    };
  });
  return { orders: orderRows, customers: customerRows };
}

/** The warehouse's orders and customers, in the shape expectedFigures gives. */
async function builtFigures(warehouse: string) {
  const orders = await queryFile(
    warehouse,
    `select order_id::int as order_id, customer_id::int as customer_id, status, ${METHODS.map((m) => `${m}_amount::double as ${m}_amount`).join(', ')}, amount::double as amount from main.orders order by order_id`,
  );
  const customers = await queryFile(
    warehouse,
    `select customer_id::int as customer_id, first_name, number_of_orders::int as number_of_orders, first_order::varchar as first_order,
            most_recent_order::varchar as most_recent_order, customer_lifetime_value::double as customer_lifetime_value
     from main.customers order by customer_id`,
  );
  return { orders, customers };
}

const stateOf = (result: PipelineResult, id: string) => result.nodes.find((node) => node.id === id)?.state;

/**
 * A run's manifest.json and run_results.json, parsed by dbt-artifacts-parser (PyPI, pinned in
 * .ci/run), which picks each file's schema version: the classes it parsed them into and each result.
 */
function parsedArtifacts(
  out: string,
  workflowId: string,
): { manifest: string; runResults: string; results: Record<string, [string, number | null]> } {
  const script = `
import json, sys
from dbt_artifacts_parser.parser import parse_manifest, parse_run_results
folder = sys.argv[1]
manifest = parse_manifest(json.load(open(folder + '/manifest.json')))
results = parse_run_results(json.load(open(folder + '/run_results.json')))
print(json.dumps({'manifest': type(manifest).__name__, 'runResults': type(results).__name__,
                  'results': {r.unique_id: [r.status.value, r.failures] for r in results.results}}))`;
  return JSON.parse(execFileSync('python3', ['-c', script, path.join(out, 'runs', workflowId)], { encoding: 'utf8' })) as ReturnType<
    typeof parsedArtifacts
  >;
}

/** One node's result in the run_results.json of the one run under `out`. */
async function runResultOf(out: string, uniqueId: string): Promise<Record<string, unknown> | undefined> {
  const [run] = await readdir(path.join(out, 'runs'));
  const { results } = JSON.parse(await readFile(path.join(out, 'runs', run as string, 'run_results.json'), 'utf8')) as {
    results: Record<string, unknown>[];
  };
  return results.find((result) => result.unique_id === uniqueId);
}

const READINGS_SOURCE =
  'version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: readings\n        config: { event_time: ts }\n' +
  '        columns:\n          - { name: meter_id, data_type: bigint }\n          - { name: ts, data_type: timestamp }\n' +
  '          - { name: kwh, data_type: double }\n';

/**
 * A small project of a team's own in `dir`: a `readings` source (meter_id, ts its event_time, kwh),
 * its file the rows `readings` selects; further sources (`more`: their tables' YAML, and each one's
 * select); and the models given (file name to SQL). Returns its folders and warehouse.
 */
async function readingsProject(
  dir: string,
  name: string,
  readings: string,
  models: Record<string, string>,
  more: { yaml: string; files: Record<string, string> } = { yaml: '', files: {} },
): Promise<{ project: string; sources: string; warehouse: string }> {
  const project = path.join(dir, name);
  const sources = path.join(dir, `${name}-sources`);
  await mkdir(path.join(project, 'models'), { recursive: true });
  for (const [source, select] of Object.entries({ readings, ...more.files })) {
    await mkdir(path.join(sources, source), { recursive: true });
    await queryFile(':memory:', `copy (${select}) to '${path.join(sources, source, `${source}.parquet`)}' (format parquet)`);
  }
  await writeFile(
    path.join(project, 'dbt_project.yml'),
    `name: '${name}'\nversion: '1.0.0'\nconfig-version: 2\nprofile: '${name}'\nmodel-paths: ['models']\n`,
  );
  await writeFile(path.join(project, 'models', '_sources.yml'), READINGS_SOURCE + more.yaml);
  for (const [file, sql] of Object.entries(models)) await writeFile(path.join(project, 'models', file), sql);
  return { project, sources, warehouse: path.join(dir, `${name}-warehouse`) };
}

/** A day of half-hourly readings of meters 0 and 1, 1 kWh each. */
const TWO_METERS_ONE_DAY = `select (i % 2)::bigint as meter_id, timestamp '2024-01-01' + to_minutes((i // 2) * 30) as ts, 1.0::double as kwh from range(2 * 48) t(i)`;

/** The readings source's meter_id given a relationships test to `model`, of severity warn. */
async function warnReadingsNotIn(project: string, model: string): Promise<void> {
  await writeFile(
    path.join(project, 'models', '_sources.yml'),
    READINGS_SOURCE.replace(
      '{ name: meter_id, data_type: bigint }',
      `{ name: meter_id, data_type: bigint, data_tests: [{ relationships: { to: "ref('${model}')", field: meter_id, config: { severity: warn } } }] }`,
    ),
  );
}

describe('a dbt project of its own', () => {
  let temporal: TemporalTestContext;
  let dir: string;
  let project: string;
  let warehouse: string;
  let emptySources: string;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('dbt-project');
    project = path.join(dir, 'jaffle_shop');
    await cp(FIXTURE, project, { recursive: true });
    warehouse = path.join(dir, 'warehouse');
    emptySources = path.join(dir, 'no-sources');
  });

  afterAll(() => temporal.close());

  const run = (label: string, extra: { fullRefresh?: boolean } = {}) =>
    withWorkers(temporal, { label, warehousePath: warehouse, projectDir: project }, async (workers) =>
      waitForPipeline(await startRun(temporal, workers, { sourcesUri: emptySources, outUri: path.join(dir, `out-${label}`), ...extra })),
    );

  /** A run of a project readingsProject made, through workers of its own; the error of one that fails. */
  type OwnProject = Awaited<ReturnType<typeof readingsProject>>;
  type RunExtra = Partial<Pick<PipelineInput, 'fullRefresh' | 'vars' | 'select' | 'target'>>;
  const ownRun =
    (own: OwnProject, label: string, extra: RunExtra = {}) =>
    async (workers: Parameters<Parameters<typeof withWorkers>[2]>[0]) =>
      waitForPipeline(await startRun(temporal, workers, { sourcesUri: own.sources, outUri: path.join(dir, `out-${label}`), ...extra }));
  const runOwn = (own: OwnProject, label: string, extra: RunExtra = {}) =>
    withWorkers(temporal, { label, warehousePath: own.warehouse, projectDir: own.project }, ownRun(own, label, extra));
  const failOwn = async (own: OwnProject, label: string, extra: RunExtra = {}) => {
    const err = await errorWithWorkers(
      temporal,
      { label, warehousePath: own.warehouse, projectDir: own.project },
      ownRun(own, label, extra),
    );
    return String((err as Error)?.message) + JSON.stringify((err as { cause?: unknown }).cause ?? '');
  };

  it('runs the starter-shaped project end to end: seeds, views, tables, an ephemeral model, every test', async () => {
    const result = await run('jaffle-first');
    // seeds, models and tests are nodes of their own; the ephemeral model is none
    for (const id of [
      'seed:raw_customers',
      'seed:raw_orders',
      'seed:raw_payments',
      'model:stg_orders',
      'model:customers',
      'model:orders',
    ]) {
      expect({ id, state: stateOf(result, id) }).toEqual({ id, state: 'succeeded' });
    }
    expect(result.nodes.some((node) => node.name === 'customer_orders')).toBe(false);
    // the relationships test of orders read customers as this run built it, unpublished still
    expect(result.dataTests).toContainEqual(
      expect.objectContaining({ target: 'orders', test: 'relationships_orders_customer_id', status: 'pass', failures: 0 }),
    );
    expect(result.dataTests).toContainEqual(expect.objectContaining({ test: 'assert_total_payment_amount_is_positive', status: 'pass' }));
    // warn_if and error_if: one customer without orders is a warning, not an error
    expect(result.dataTests).toContainEqual(
      expect.objectContaining({ test: 'not_null_customers_customer_lifetime_value', status: 'warn', failures: 1 }),
    );
    expect(await builtFigures(warehouse)).toEqual(await expectedFigures(project));
    // dbt's artifacts, beside the run's record: one result per seed, model and test
    const artifacts = parsedArtifacts(path.join(dir, 'out-jaffle-first'), result.workflowId);
    expect(artifacts).toMatchObject({ manifest: 'ManifestV12', runResults: 'RunResultsV6' });
    expect(artifacts.results).toMatchObject({
      'seed.jaffle_shop.raw_customers': ['success', null],
      'model.jaffle_shop.stg_orders': ['success', null],
      'model.jaffle_shop.orders': ['success', null],
      'test.jaffle_shop.relationships_orders_customer_id': ['pass', 0],
      'test.jaffle_shop.not_null_customers_customer_lifetime_value': ['warn', 1],
      'test.jaffle_shop.assert_total_payment_amount_is_positive': ['pass', 0],
      // the project's own generic tests: one in tests/generic, one among the macros with a ref argument
      'test.jaffle_shop.non_negative_orders_amount': ['pass', 0],
      'test.jaffle_shop.has_orders_customers_customer_id': ['warn', 1],
    });
    // as `dbt build` counts them on this project: 3 seeds, 5 models (the ephemeral one is none), 24 tests
    expect(Object.keys(artifacts.results)).toHaveLength(3 + 5 + 24);
    // seeds are nodes as any other: in the report, the lineage (named by their file) and status's table
    const report = await readFile(result.reportUri, 'utf8');
    for (const seed of ['raw_customers', 'raw_orders', 'raw_payments']) expect(report).toContain(`seed:${seed}`);
    expect(report).toContain('dbt seed (seeds/raw_customers.csv)');
    expect(summaryTable(result.nodes)).toMatch(/^seed raw_customers\s+succeeded\s/m);
    // models read a seed's own columns only
    const columns = await queryFile(warehouse, "select column_name from information_schema.columns where table_name = 'stg_customers'");
    expect(columns.map((c) => c.column_name)).toEqual(['customer_id', 'first_name', 'last_name']);
    // a seed's ISO dates are dates, as dbt's agate reads them (DuckDB's sniffer alone made them timestamps)
    const [orderDate] = await queryFile(
      warehouse,
      "select data_type from information_schema.columns where table_name = 'raw_orders' and column_name = 'order_date'",
    );
    expect(orderDate?.data_type).toBe('DATE');
  });

  it('reloads a seed only when its file changes, and rebuilds what reads it', async () => {
    const again = await run('jaffle-again');
    expect(['seed:raw_orders', 'model:orders', 'model:customers'].map((id) => stateOf(again, id))).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect(parsedArtifacts(path.join(dir, 'out-jaffle-again'), again.workflowId).results).toMatchObject({
      'model.jaffle_shop.orders': ['reused', null],
      'test.jaffle_shop.unique_orders_order_id': ['skipped', null],
    });

    // a new customer: customers is rebuilt, and orders too, whose relationships test reads customers
    const customers = path.join(project, 'seeds', 'raw_customers.csv');
    await writeFile(customers, `${(await readFile(customers, 'utf8')).trim()}\n9,Ann,B.\n`);
    const changed = await run('jaffle-changed');
    expect(['seed:raw_customers', 'seed:raw_orders', 'model:customers', 'model:orders'].map((id) => stateOf(changed, id))).toEqual([
      'succeeded',
      'unchanged',
      'succeeded',
      'succeeded',
    ]);
    expect(changed.dataTests).toContainEqual(expect.objectContaining({ test: 'relationships_orders_customer_id', status: 'pass' }));
    expect(await builtFigures(warehouse)).toEqual(await expectedFigures(project));

    // a seed's column_types changed, its file not: it is reloaded with them, the other seeds are not
    await editFile(
      path.join(project, 'dbt_project.yml'),
      (yaml) => `${yaml}    raw_customers:\n      +column_types:\n        last_name: varchar(2)\n`,
    );
    const retyped = await run('jaffle-retyped');
    expect(['seed:raw_customers', 'seed:raw_orders'].map((id) => stateOf(retyped, id))).toEqual(['succeeded', 'unchanged']);
    expect(await builtFigures(warehouse)).toEqual(await expectedFigures(project));
  });

  it('refuses a malformed CSV naming the file and line, and leaves every published table as it was', async () => {
    const before = await queryFile(warehouse, tableChecksumSql('main.orders'));
    const payments = path.join(project, 'seeds', 'raw_payments.csv');
    const good = await readFile(payments, 'utf8');
    await writeFile(payments, `${good.trim()}\n16,13,credit_card,twelve\n`);
    try {
      const err = await errorWithWorkers(
        temporal,
        { label: 'jaffle-bad', warehousePath: warehouse, projectDir: project },
        async (workers) =>
          waitForPipeline(await startRun(temporal, workers, { sourcesUri: emptySources, outUri: path.join(dir, 'out-bad') })),
      );
      const message = String((err as Error)?.message) + JSON.stringify((err as { cause?: unknown }).cause ?? '');
      expect(message).toContain('seeds/raw_payments.csv');
      expect(message).toContain(
        'seed raw_payments: seeds/raw_payments.csv: Conversion Error: CSV Error on Line: 17 Original Line: 16,13,credit_card,twelve',
      );
      expect(message).not.toContain('Auto-Detected');
      expect(await queryFile(warehouse, tableChecksumSql('main.orders'))).toEqual(before);
    } finally {
      await writeFile(payments, good);
    }
  });

  it("builds the shipped project's master under the energy team's folder names as under today's", async () => {
    const sources = path.join(dir, 'sources');
    await generateSampleData({ outDir: sources, meters: 6, from: '2023-09-25', to: '2023-10-06', seed: 41 });
    const moved = await energyTeamLayout('dbt-project-moved');
    // models of the team's own, no meterflow config, reading a read-only model: they run read-only after
    // it, a view too (computed and tested on the analytics queue, published as a view), and a table over that view
    await mkdir(path.join(moved, 'models', 'marts'), { recursive: true });
    await writeFile(
      path.join(moved, 'models', 'marts', 'anomalous_meters.sql'),
      "{{ config(materialized='view') }}\nselect meter_point_id from {{ ref('meter_anomalies') }}\n",
    );
    await writeFile(
      path.join(moved, 'models', 'marts', '_marts.yml'),
      'version: 2\nmodels:\n  - name: anomalous_meters\n    columns:\n      - name: meter_point_id\n        data_tests: [not_null, unique]\n' +
        // a read-only model tested against another read-only model of the run, which it does not read:
        // it runs after that one, and its test reads that one's result, unpublished still
        '  - name: metered_points\n    columns:\n      - name: meter_point_id\n        data_tests:\n' +
        "          - relationships: {to: ref('anomalous_meters'), field: meter_point_id, config: {severity: warn}}\n",
    );
    await writeFile(
      path.join(moved, 'models', 'marts', 'metered_points.sql'),
      "{{ config(materialized='table', meta={'meterflow': {'runs_on': 'analytics'} }) }}\nselect distinct meter_point_id from {{ ref('demand_price_elasticity') }}\n",
    );
    await writeFile(
      path.join(moved, 'models', 'marts', 'anomaly_count.sql'),
      "{{ config(materialized='table') }}\nselect count(*) as anomalies from {{ ref('anomalous_meters') }}\n",
    );
    const movedWarehouse = path.join(dir, 'moved-warehouse');
    const result = await withWorkers(
      temporal,
      { label: 'moved-layout', warehousePath: movedWarehouse, projectDir: moved },
      async (workers) => waitForPipeline(await startRun(temporal, workers, { sourcesUri: sources, outUri: path.join(dir, 'out-moved') })),
    );
    expect(stateOf(result, 'analytics:meter_anomalies')).toBe('succeeded');
    expect(await differencesFromReference(movedWarehouse, sources)).toEqual({ missing: 0, extra: 0 });
    expect(stateOf(result, 'analytics:anomalous_meters')).toBe('succeeded');
    expect(stateOf(result, 'test:anomalous_meters')).toBe('succeeded');
    expect(stateOf(result, 'analytics:anomaly_count')).toBe('succeeded');
    const [kind] = await queryFile(
      movedWarehouse,
      "select table_type from information_schema.tables where table_name = 'anomalous_meters'",
    );
    expect(kind?.table_type).toBe('VIEW');
    const [counted] = await queryFile(
      movedWarehouse,
      'select (select anomalies from main.anomaly_count) as counted, (select count(*) from main.meter_anomalies) as actual, (select count(*) from main.anomalous_meters) as viewed',
    );
    expect(Number(counted?.counted)).toBe(Number(counted?.actual));
    expect(Number(counted?.viewed)).toBe(Number(counted?.actual));
    // metered points with no anomaly: the relationships test's failures, counted apart
    const [unmatched] = await queryFile(
      movedWarehouse,
      'select count(*) as n from (select distinct meter_point_id from main.demand_price_elasticity) where meter_point_id not in (select meter_point_id from main.meter_anomalies)',
    );
    const failures = Number(unmatched?.n);
    expect(stateOf(result, 'analytics:metered_points')).toBe('succeeded');
    expect(stateOf(result, 'test:metered_points')).toBe('succeeded');
    expect(result.dataTests?.find((test) => test.target === 'metered_points' && test.test.startsWith('relationships'))).toMatchObject({
      status: failures > 0 ? 'warn' : 'pass',
      failures,
    });
  });
  it('splits a model by a numeric key whose order as text differs, and one whose key a left join leaves NULL, and holds every reading once', async () => {
    // 150 meters numbered 1 to 150 (7 < 75 < 112 as numbers, not as text), a reading each half hour
    // of a day; parts of 10 kB so that a month is cut into several by meter. Meters 1 to 140 are on a
    // site (sites 1 to 14): a model of readings by site, split by site, gives the other ten's readings a
    // NULL site, from inputs where no site is NULL.
    const own = await readingsProject(
      dir,
      'numeric_keys',
      `select (i % 150 + 1)::bigint as meter_id, timestamp '2024-03-01' + to_minutes((i // 150) * 30) as ts, (i % 7)::double as kwh
         from range(150 * 48) t(i)`,
      {
        'meter_readings.sql':
          "{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['meter_id', 'ts'], event_time='ts', " +
          "meta={'meterflow': {'split_by': 'meter_id', 'part_mb': 0.01} }) }}\nselect meter_id, ts, kwh from {{ source('raw', 'readings') }}\n",
        'site_readings.sql':
          "{{ config(materialized='incremental', incremental_strategy='delete+insert', event_time='ts', " +
          "meta={'meterflow': {'split_by': 'site_id', 'part_mb': 0.01} }) }}\n" +
          "select sites.site_id, readings.meter_id, readings.ts, readings.kwh from {{ source('raw', 'readings') }} as readings\n" +
          "left join {{ source('raw', 'sites') }} as sites on sites.meter_id = readings.meter_id\n",
      },
      {
        yaml: '      - name: sites\n        columns:\n          - { name: meter_id, data_type: bigint }\n          - { name: site_id, data_type: bigint }\n',
        files: { sites: 'select i::bigint as meter_id, ((i - 1) // 10 + 1)::bigint as site_id from range(1, 141) t(i)' },
      },
    );
    const result = await runOwn(own, 'numeric-keys');
    expect(stateOf(result, 'model:meter_readings')).toBe('succeeded');
    // built in parts, each a range of meters
    const files = await withWarehouseReader(own.warehouse, {}, (reader) => reader.listFiles('meter_readings'));
    expect(files.length).toBeGreaterThan(2);
    expect(files.every((file) => /-part\d+of\d+\.parquet$/.test(file.dataFile))).toBe(true);
    // every reading once: as many rows as the file, and as many keys
    const [held] = await queryFile(
      own.warehouse,
      'select count(*) as n, count(distinct (meter_id, ts)) as keys, count(distinct meter_id) as meters from main.meter_readings',
    );
    expect([Number(held?.n), Number(held?.keys), Number(held?.meters)]).toEqual([150 * 48, 150 * 48, 150]);
    // by site, in parts too: the ten meters without a site are kept, with a NULL site, once each
    expect((await withWarehouseReader(own.warehouse, {}, (reader) => reader.listFiles('site_readings'))).length).toBeGreaterThan(2);
    const [bySite] = await queryFile(
      own.warehouse,
      'select count(*) as n, count(distinct (meter_id, ts)) as keys, count(*) filter (where site_id is null) as without from main.site_readings',
    );
    expect([Number(bySite?.n), Number(bySite?.keys), Number(bySite?.without)]).toEqual([150 * 48, 150 * 48, 10 * 48]);
  });

  it("reads an input whole where a model built a month at a time asks with dbt's .render(), and builds from its begin", async () => {
    // two meters, a reading each half hour from 25 January to 7 February, each day's value its day's
    // number (0 to 13): the mean of all is 6.5, of February's days 10; the model begins on 29 January
    // (day 4), so January's month reads days 4 to 6 (mean 5). Each reading against its meter's mean over
    // every month (.render()), and over its own month.
    const own = await readingsProject(
      dir,
      'rendered',
      `select (i % 2)::bigint as meter_id, timestamp '2024-01-25' + to_minutes((i // 2) * 30) as ts, (i // 96)::double as kwh
         from range(2 * 48 * 14) t(i)`,
      {
        'deviations.sql':
          "{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='ts', batch_size='month', begin='2024-01-29') }}\n" +
          'select r.meter_id, r.ts, r.kwh - whole.mean_kwh as from_mean, r.kwh - month.mean_kwh as from_month_mean\n' +
          "from {{ source('raw', 'readings') }} as r\n" +
          "join (select meter_id, avg(kwh) as mean_kwh from {{ source('raw', 'readings').render() }} group by 1) as whole using (meter_id)\n" +
          "join (select meter_id, avg(kwh) as mean_kwh from {{ source('raw', 'readings') }} group by 1) as month using (meter_id)\n",
      },
    );
    const result = await runOwn(own, 'rendered');
    expect(stateOf(result, 'model:deviations')).toBe('succeeded');
    const rows = await queryFile(
      own.warehouse,
      `select month(ts) as month, count(*) as n, min(from_mean) as least, max(from_mean) as greatest,
              min(from_month_mean) as least_in_month, max(from_month_mean) as greatest_in_month
         from main.deviations group by 1 order by 1`,
    );
    expect(rows.map((row) => Object.values(row).map(Number))).toEqual([
      [1, 2 * 48 * 3, -2.5, -0.5, -1, 1],
      [2, 2 * 48 * 7, 0.5, 6.5, -3, 3],
    ]);
  });

  it('adds to an incremental model without an event_time as dbt does, keeping rows whose source file is gone, its new columns as on_schema_change says', async () => {
    // a log of readings (append) and each meter's latest reading (delete+insert on the meter), both
    // filtered by is_incremental() to readings newer than the table's; meters 0 to 2 on 1 and 2
    // January, then a file of 3 January for meters 0 and 1 while the first file is removed
    const isNew = '{% if is_incremental() %} where ts > (select max(ts) from {{ this }}) {% endif %}';
    const own = await readingsProject(
      dir,
      'appended',
      `select (i % 3)::bigint as meter_id, timestamp '2024-01-01' + to_minutes((i // 3) * 30) as ts, (i % 5)::double as kwh
         from range(3 * 48 * 2) t(i)`,
      {
        'reading_log.sql': `{{ config(materialized='incremental') }}\nselect meter_id, ts, kwh from {{ source('raw', 'readings') }} ${isNew}\n`,
        // a source's columns, as dbt gives them: not the file each row came from
        'all_columns.sql': "{{ config(materialized='table') }}\nselect distinct * from {{ source('raw', 'readings') }}\n",
        // the same log, kept through a full refresh as dbt keeps a model configured so
        'kept_log.sql': `{{ config(materialized='incremental', full_refresh=false) }}\nselect meter_id, ts, kwh from {{ source('raw', 'readings') }} ${isNew}\n`,
        'latest_reading.sql':
          "{{ config(materialized='incremental', unique_key='meter_id') }}\n" +
          `select meter_id, max(ts) as ts, arg_max(kwh, ts) as kwh from {{ source('raw', 'readings') }} ${isNew} group by 1\n`,
      },
    );
    const tables = async () =>
      queryFile(
        own.warehouse,
        `select 'log' as t, count(*)::int as n, min(ts)::varchar as first, max(ts)::varchar as last from main.reading_log
         union all select 'latest', count(*)::int, min(ts)::varchar, max(ts)::varchar from main.latest_reading
         union all select 'kept', count(*)::int, min(ts)::varchar, max(ts)::varchar from main.kept_log order by t`,
      );
    expect(stateOf(await runOwn(own, 'appended-1'), 'model:reading_log')).toBe('succeeded');
    expect(
      await queryFile(own.warehouse, "select column_name from duckdb_columns() where table_name = 'all_columns' order by column_index"),
    ).toEqual([{ column_name: 'meter_id' }, { column_name: 'ts' }, { column_name: 'kwh' }]);
    expect(await tables()).toEqual([
      { t: 'kept', n: 3 * 48 * 2, first: '2024-01-01 00:00:00', last: '2024-01-02 23:30:00' },
      { t: 'latest', n: 3, first: '2024-01-02 23:30:00', last: '2024-01-02 23:30:00' },
      { t: 'log', n: 3 * 48 * 2, first: '2024-01-01 00:00:00', last: '2024-01-02 23:30:00' },
    ]);
    await rm(path.join(own.sources, 'readings', 'readings.parquet'));
    await queryFile(
      ':memory:',
      `copy (select (i % 2)::bigint as meter_id, timestamp '2024-01-03' + to_minutes((i // 2) * 30) as ts, 1.0::double as kwh
             from range(2 * 48) t(i)) to '${path.join(own.sources, 'readings', 'readings-0103.parquet')}' (format parquet)`,
    );
    // the latest readings gain a column, added to the table as on_schema_change says; but first a test
    // of the new version fails (the kept rows have no note): the table keeps its columns and rows
    await writeFile(
      path.join(own.project, 'models', 'latest_reading.sql'),
      "{{ config(materialized='incremental', unique_key='meter_id', on_schema_change='append_new_columns') }}\n" +
        `select meter_id, max(ts) as ts, arg_max(kwh, ts) as kwh, 'v2' as note from {{ source('raw', 'readings') }} ${isNew} group by 1\n`,
    );
    const noteTest = path.join(own.project, 'models', '_latest.yml');
    await writeFile(
      noteTest,
      'version: 2\nmodels:\n  - name: latest_reading\n    columns:\n      - name: note\n        data_tests: [not_null]\n',
    );
    const latestColumns = async () =>
      (
        await queryFile(own.warehouse, "select column_name from duckdb_columns() where table_name = 'latest_reading' order by column_index")
      ).map((row) => row.column_name);
    expect(await failOwn(own, 'appended-2-failing')).toContain('not_null');
    expect(await latestColumns()).toEqual(['meter_id', 'ts', 'kwh']);
    await rm(noteTest);
    const second = await runOwn(own, 'appended-2');
    expect([stateOf(second, 'model:reading_log'), stateOf(second, 'model:latest_reading')]).toEqual(['succeeded', 'succeeded']);
    expect(await latestColumns()).toEqual(['meter_id', 'ts', 'kwh', 'note']);
    expect(await queryFile(own.warehouse, 'select meter_id::int as m, note from main.latest_reading order by 1')).toEqual([
      { m: 0, note: 'v2' },
      { m: 1, note: 'v2' },
      { m: 2, note: null },
    ]);
    // the log keeps the removed file's readings and adds the new; meter 2 keeps its latest reading
    expect(await tables()).toEqual([
      { t: 'kept', n: 3 * 48 * 2 + 2 * 48, first: '2024-01-01 00:00:00', last: '2024-01-03 23:30:00' },
      { t: 'latest', n: 3, first: '2024-01-02 23:30:00', last: '2024-01-03 23:30:00' },
      { t: 'log', n: 3 * 48 * 2 + 2 * 48, first: '2024-01-01 00:00:00', last: '2024-01-03 23:30:00' },
    ]);
    // a full refresh builds them whole, from the files there are; but for the one configured
    // full_refresh: false, which keeps its rows (nothing newer to add)
    await runOwn(own, 'appended-3', { fullRefresh: true });
    expect(await tables()).toEqual([
      { t: 'kept', n: 3 * 48 * 2 + 2 * 48, first: '2024-01-01 00:00:00', last: '2024-01-03 23:30:00' },
      { t: 'latest', n: 2, first: '2024-01-03 23:30:00', last: '2024-01-03 23:30:00' },
      { t: 'log', n: 2 * 48, first: '2024-01-03 00:00:00', last: '2024-01-03 23:30:00' },
    ]);
  });

  it("builds each model where its schema and alias configs put it, as dbt does, through new days and a team's own naming macro", async () => {
    // two meters, a reading each half hour of 1 to 3 January; one model of each kind, each in a schema of its own
    const day = (first: string) =>
      `select (i % 2)::bigint as meter_id, timestamp '${first}' + to_minutes((i // 2) * 30) as ts, 1.0::double as kwh from range(2 * 48) t(i)`;
    const own = await readingsProject(dir, 'named', day('2024-01-01'), {
      // built a month at a time by the build workers, committed by the writer
      'readings_by_month.sql':
        "{{ config(materialized='incremental', event_time='ts', schema='lake', alias='readings') }}\n" +
        "select meter_id, ts, kwh from {{ source('raw', 'readings') }}\n",
      // a table and a view on the writer
      'daily.sql':
        "{{ config(materialized='table', schema='marts', alias='daily_kwh') }}\n" +
        "select meter_id, ts::date as day, sum(kwh) as kwh from {{ ref('readings_by_month') }} group by all\n",
      'meters.sql': "{{ config(materialized='view', schema='marts') }}\nselect distinct meter_id from {{ ref('daily') }}\n",
      // read-only, published by the writer
      'totals.sql':
        "{{ config(materialized='table', schema='reports', meta={'meterflow': {'runs_on': 'analytics'} }) }}\n" +
        "select count(*) as readings, sum(kwh) as kwh from {{ ref('readings_by_month') }}\n",
      '_tests.yml': 'version: 2\nmodels:\n  - name: daily\n    columns:\n      - name: kwh\n        data_tests: [not_null]\n',
    });
    const where = () =>
      queryFile(
        own.warehouse,
        `select table_schema, table_name, table_type from information_schema.tables
          where table_schema like 'main%' and table_name not like '\\_\\_%' escape '\\' order by all`,
      );
    const figures = () =>
      queryFile(
        own.warehouse,
        `select (select count(*)::int from main_lake.readings) as readings, (select count(*)::int from main_marts.daily_kwh) as days,
                (select count(*)::int from main_marts.meters) as meters, (select readings::int from main_reports.totals) as counted`,
      );
    const first = await runOwn(own, 'named-1');
    for (const id of ['model:readings_by_month', 'model:daily', 'model:meters', 'analytics:totals', 'test:daily'])
      expect({ id, state: stateOf(first, id) }).toEqual({ id, state: 'succeeded' });
    expect(await where()).toEqual([
      { table_schema: 'main_lake', table_name: 'readings', table_type: 'BASE TABLE' },
      { table_schema: 'main_marts', table_name: 'daily_kwh', table_type: 'BASE TABLE' },
      { table_schema: 'main_marts', table_name: 'meters', table_type: 'VIEW' },
      { table_schema: 'main_reports', table_name: 'totals', table_type: 'BASE TABLE' },
    ]);
    expect(await figures()).toEqual([{ readings: 96, days: 2, meters: 2, counted: 96 }]);
    // the run's result names each table where it is
    expect(first.tables.map((t) => t.table)).toEqual(
      expect.arrayContaining(['main_lake.readings', 'main_marts.daily_kwh', 'main_reports.totals']),
    );
    // a new day: the month is rebuilt over its window, in place, where the model is
    await queryFile(
      ':memory:',
      `copy (${day('2024-01-02')}) to '${path.join(own.sources, 'readings', 'readings-0102.parquet')}' (format parquet)`,
    );
    const second = await runOwn(own, 'named-2');
    expect(stateOf(second, 'model:readings_by_month')).toBe('succeeded');
    expect(await figures()).toEqual([{ readings: 192, days: 4, meters: 2, counted: 192 }]);
    // nothing new: nothing rebuilt, nothing left behind
    const third = await runOwn(own, 'named-3');
    expect(stateOf(third, 'model:daily')).toBe('unchanged');
    expect(await where()).toHaveLength(4);
    const leftovers = await queryFile(
      own.warehouse,
      "select table_name from information_schema.tables where table_name like '\\_\\_meterflow%' escape '\\'",
    );
    expect(leftovers).toEqual([]);
    // dbt's artifacts name the relations where they are
    const manifest = JSON.parse(await readFile(path.join(dir, 'out-named-1', 'runs', first.workflowId, 'manifest.json'), 'utf8')) as {
      nodes: Record<string, { schema: string; alias: string; relation_name: string }>;
    };
    expect(manifest.nodes['model.named.daily']).toMatchObject({ schema: 'main_marts', alias: 'daily_kwh' });
    expect(manifest.nodes['model.named.daily']?.relation_name).toMatch(/\."main_marts"\."daily_kwh"$/);

    // the team's own generate_schema_name, which uses the custom schema as it is: a new warehouse, built there
    await mkdir(path.join(own.project, 'macros'), { recursive: true });
    await writeFile(
      path.join(own.project, 'macros', 'naming.sql'),
      '{% macro generate_schema_name(custom_schema_name, node) -%}\n' +
        '{%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n' +
        '{%- endmacro %}\n',
    );
    const renamed = { ...own, warehouse: path.join(dir, 'named-own-macro-warehouse') };
    expect(stateOf(await runOwn(renamed, 'named-own'), 'analytics:totals')).toBe('succeeded');
    expect(
      await queryFile(
        renamed.warehouse,
        'select (select count(*)::int from lake.readings) as readings, (select readings::int from reports.totals) as counted',
      ),
    ).toEqual([{ readings: 192, counted: 192 }]);
  });

  it("gives the project's templates the target a run names as target.name, as dbt's --target: in dbt_project.yml, a naming macro and models on every queue", async () => {
    const own = await readingsProject(dir, 'targeted', TWO_METERS_ONE_DAY, {
      // built a month at a time by the build workers: dev keeps meter 0 only
      'readings_by_month.sql':
        "{{ config(materialized='incremental', event_time='ts', schema='lake') }}\n" +
        "select meter_id, ts, kwh from {{ source('raw', 'readings') }}{% if target.name == 'dev' %} where meter_id = 0{% endif %}\n",
      // on the writer; its materialization is dbt_project.yml's, by target
      'daily.sql': "{{ config(schema='marts') }}\nselect meter_id, sum(kwh) as kwh from {{ ref('readings_by_month') }} group by all\n",
      // read-only, on the analytics queue
      'totals.sql':
        "{{ config(materialized='table', meta={'meterflow': {'runs_on': 'analytics'} }) }}\n" +
        "select '{{ target.name }}' as target, count(*)::int as readings from {{ ref('readings_by_month') }}\n",
    });
    await writeFile(
      path.join(own.project, 'dbt_project.yml'),
      (await readFile(path.join(own.project, 'dbt_project.yml'), 'utf8')) +
        `models:\n  targeted:\n    +materialized: "{{ 'table' if target.name == 'prod' else 'view' }}"\n`,
    );
    // the naming macro of dbt's docs: custom schemas in prod, the target's schema elsewhere
    await mkdir(path.join(own.project, 'macros'), { recursive: true });
    await writeFile(
      path.join(own.project, 'macros', 'naming.sql'),
      '{% macro generate_schema_name(custom_schema_name, node) -%}\n' +
        "{%- if target.name == 'prod' and custom_schema_name is not none -%}{{ custom_schema_name | trim }}" +
        '{%- else -%}{{ target.schema }}{%- endif -%}\n{%- endmacro %}\n',
    );
    const tables = (warehousePath: string) =>
      queryFile(
        warehousePath,
        `select table_schema, table_name, table_type from information_schema.tables
          where table_schema not in ('raw', 'meterflow') and table_name not like '\\_\\_%' escape '\\' order by all`,
      );
    const prod = await runOwn(own, 'targeted-prod', { target: 'prod' });
    expect(stateOf(prod, 'analytics:totals')).toBe('succeeded');
    expect(await tables(own.warehouse)).toEqual([
      { table_schema: 'lake', table_name: 'readings_by_month', table_type: 'BASE TABLE' },
      { table_schema: 'main', table_name: 'totals', table_type: 'BASE TABLE' },
      { table_schema: 'marts', table_name: 'daily', table_type: 'BASE TABLE' },
    ]);
    expect(await queryFile(own.warehouse, 'select target, readings from totals')).toEqual([{ target: 'prod', readings: 96 }]);

    const dev = { ...own, warehouse: path.join(dir, 'targeted-dev-warehouse') };
    await runOwn(dev, 'targeted-dev', { target: 'dev' });
    expect(await tables(dev.warehouse)).toEqual([
      { table_schema: 'main', table_name: 'daily', table_type: 'VIEW' },
      { table_schema: 'main', table_name: 'readings_by_month', table_type: 'BASE TABLE' },
      { table_schema: 'main', table_name: 'totals', table_type: 'BASE TABLE' },
    ]);
    expect(await queryFile(dev.warehouse, 'select target, readings from totals')).toEqual([{ target: 'dev', readings: 48 }]);

    // a run naming no target is refused, naming the file that reads it, and changes nothing
    const before = await tables(dev.warehouse);
    expect(await failOwn(dev, 'targeted-none')).toMatch(
      /dbt_project\.yml: target\.name has no value in meterflow: the run names no target; give it one with --target/,
    );
    expect(await tables(dev.warehouse)).toEqual(before);
  });

  it("gives a model its inputs' columns while rendering, as dbt_utils' star asks for them, and the run's start and id, alike on every queue", async () => {
    const own = await readingsProject(dir, 'starred', TWO_METERS_ONE_DAY, {
      'base.sql': "{{ config(materialized='table') }}\nselect *, 'x' as note from {{ source('raw', 'readings') }}\n",
      // dbt's run values, the same on the writer and on every build worker
      'loads.sql': "{{ config(materialized='table') }}\nselect '{{ run_started_at }}' as started, '{{ invocation_id }}' as run_id\n",
      'loads_by_month.sql':
        "{{ config(materialized='incremental', event_time='ts') }}\n" +
        "select ts, '{{ run_started_at }}' as started, '{{ invocation_id }}' as run_id from {{ source('raw', 'readings') }}\n",
      // on the writer, on the build queue (a month at a time) and on the analytics queue
      'narrow.sql': "{{ config(materialized='table') }}\nselect {{ star(ref('base'), except=['KWH']) }} from {{ ref('base') }}\n",
      'by_month.sql':
        "{{ config(materialized='incremental', event_time='ts') }}\nselect {{ star(source('raw', 'readings')) }} from {{ source('raw', 'readings') }}\n",
      'report.sql':
        "{{ config(materialized='table', meta={'meterflow': {'runs_on': 'analytics'} }) }}\nselect {{ star(ref('narrow')) }} from {{ ref('narrow') }}\n",
    });
    await mkdir(path.join(own.project, 'macros'), { recursive: true });
    // and a dbt seed, read with ref()
    await mkdir(path.join(own.project, 'seeds'), { recursive: true });
    await writeFile(path.join(own.project, 'seeds', 'regions.csv'), 'code,name\nN,North\n');
    await writeFile(
      path.join(own.project, 'models', 'from_seed.sql'),
      "{{ config(materialized='table') }}\nselect {{ star(ref('regions'), except=['code']) }} from {{ ref('regions') }}\n",
    );
    // a star as dbt_utils writes one: a Relation check, the columns asked of the adapter, each quoted
    await writeFile(
      path.join(own.project, 'macros', 'star.sql'),
      '{% macro star(from, except=[]) -%}\n' +
        "{%- if not (from is mapping and from.get('metadata', {}).get('type', '').endswith('Relation')) -%}" +
        "{%- do exceptions.raise_compiler_error('star expected a Relation') -%}{%- endif -%}\n" +
        "{%- if not execute -%}{{ return('*') }}{%- endif -%}\n" +
        '{%- set except = except | map("lower") | list -%}{%- set cols = [] -%}\n' +
        '{%- for col in adapter.get_columns_in_relation(from) if col.column | lower not in except -%}{%- do cols.append(adapter.quote(col.column)) -%}{%- endfor -%}\n' +
        "{{ cols | join(', ') }}\n" +
        '{%- endmacro %}\n',
    );
    const result = await runOwn(own, 'starred');
    for (const id of ['model:narrow', 'model:by_month', 'analytics:report'])
      expect({ id, state: stateOf(result, id) }).toEqual({ id, state: 'succeeded' });
    const columnsOf = async (table: string) =>
      (await queryFile(own.warehouse, `select column_name from duckdb_columns() where table_name = '${table}' order by column_index`)).map(
        (row) => row.column_name,
      );
    expect(await columnsOf('narrow')).toEqual(['meter_id', 'ts', 'note']);
    expect(await columnsOf('by_month')).toEqual(['meter_id', 'ts', 'kwh']);
    expect(await columnsOf('report')).toEqual(['meter_id', 'ts', 'note']);
    expect(await columnsOf('from_seed')).toEqual(['name']);
    expect(await queryFile(own.warehouse, 'select count(*)::int as n from main.report')).toEqual([{ n: 96 }]);
    const runValues = await queryFile(
      own.warehouse,
      'select distinct started, run_id from (select started, run_id from main.loads union all select started, run_id from main.loads_by_month)',
    );
    expect(runValues).toHaveLength(1);
    expect(String(runValues[0]?.started)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    expect(String(runValues[0]?.run_id)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives singular tests the run's vars and start, ephemeral models' vars their readers' state, ref() its alias and this its columns, as dbt does", async () => {
    const own = await readingsProject(
      dir,
      'varied',
      TWO_METERS_ONE_DAY,
      {
        // a var read only by an ephemeral model: part of what the model that inlines it was built from
        'limited.sql':
          "{{ config(materialized='ephemeral') }}\nselect * from {{ source('raw', 'readings') }} where meter_id < {{ var('meters', 2) }}\n",
        'counted.sql': "{{ config(materialized='table', alias='counted_rows') }}\nselect count(*)::int as n from {{ ref('limited') }}\n",
        // its own table's columns: none before it exists, as dbt answers
        'knows_itself.sql':
          "{{ config(materialized='table') }}\nselect {{ adapter.get_columns_in_relation(this) | length }} as own_columns, {{ var('meters', 2) }} as meters\n",
        'named.sql':
          "{{ config(materialized='table') }}\nselect '{{ ref('counted').identifier }}' as identifier, '{{ ref('counted').schema }}' as schema\n",
        '_seeds.yml':
          'version: 2\nseeds:\n  - name: meters\n    columns:\n      - name: region\n' +
          '        data_tests:\n          - relationships: { to: "ref(\'regions\')", field: code }\n',
        // a test whose argument reads a var the run may give (rendered as dbt renders it, with the run's value)
        '_counted.yml':
          'version: 2\nmodels:\n  - name: counted\n    columns:\n      - name: n\n        data_tests:\n          - accepted_values: {values: ["{{ var(\'expected_n\', 96) }}"], quote: false}\n',
        // a source that is a seed's table (jaffle-shop's ecom.raw_customers in raw): it reads the seed
        'region_names.sql': "{{ config(materialized='table') }}\nselect name from {{ source('reference', 'regions') }}\n",
      },
      { yaml: '  - name: reference\n    schema: main_ref_data\n    tables:\n      - name: regions\n', files: {} },
    );
    // seeds in a schema of their own; one seed's relationships test reads the other there
    await writeFile(
      path.join(own.project, 'dbt_project.yml'),
      `${await readFile(path.join(own.project, 'dbt_project.yml'), 'utf8')}seeds:\n  varied:\n    +schema: ref_data\n` +
        // and models enabled by a var only a run sets (`dbt build --vars '{with_extra: true}'`)
        'models:\n  varied:\n    extra:\n      +enabled: "{{ var(\'with_extra\', false) }}"\n',
    );
    await mkdir(path.join(own.project, 'models', 'extra'), { recursive: true });
    await writeFile(
      path.join(own.project, 'models', 'extra', 'extra_count.sql'),
      "{{ config(materialized='table') }}\nselect n * 2 as twice from {{ ref('counted') }}\n",
    );
    await mkdir(path.join(own.project, 'seeds'), { recursive: true });
    await writeFile(path.join(own.project, 'seeds', 'regions.csv'), 'code,name\nN,North\n');
    await writeFile(path.join(own.project, 'seeds', 'meters.csv'), 'meter_id,region\n0,N\n1,N\n');
    // singular tests reading a var the run gives, and the run's start
    await mkdir(path.join(own.project, 'tests'), { recursive: true });
    await writeFile(
      path.join(own.project, 'tests', 'enough_rows.sql'),
      "select * from {{ ref('counted') }} where n < {{ var('min_rows', 0) }}\n",
    );
    await writeFile(path.join(own.project, 'tests', 'started_lately.sql'), "select 1 as early where '{{ run_started_at }}' < '2020'\n");

    const first = await runOwn(own, 'varied-1');
    for (const id of ['seed:meters', 'model:counted', 'test:enough_rows', 'test:started_lately'])
      expect({ id, state: stateOf(first, id) }).toEqual({ id, state: 'succeeded' });
    expect(await queryFile(own.warehouse, 'select n from main.counted_rows')).toEqual([{ n: 96 }]);
    expect(await queryFile(own.warehouse, 'select * from main.named')).toEqual([{ identifier: 'counted_rows', schema: 'main' }]);
    expect(await queryFile(own.warehouse, 'select own_columns from main.knows_itself')).toEqual([{ own_columns: 0 }]);
    expect(await queryFile(own.warehouse, 'select count(*)::int as n from main_ref_data.meters')).toEqual([{ n: 2 }]);
    expect(await queryFile(own.warehouse, 'select name from main.region_names')).toEqual([{ name: 'North' }]);

    // the ephemeral model's var changed: the model that inlines it is rebuilt, and its test takes the run's expected_n
    const second = await runOwn(own, 'varied-2', { vars: { meters: 1, expected_n: 48 } });
    expect(stateOf(second, 'model:counted')).toBe('succeeded');
    expect(await queryFile(own.warehouse, 'select n from main.counted_rows')).toEqual([{ n: 48 }]);
    expect(await queryFile(own.warehouse, 'select own_columns from main.knows_itself')).toEqual([{ own_columns: 2 }]);

    // the singular test's var given by the run: it runs again, with it, and fails
    const message = await failOwn(own, 'varied-3', { vars: { meters: 1, min_rows: 1000, expected_n: 48 } });
    expect(message).toContain('enough_rows');
    expect(message).not.toContain('accepted_values');
    // and passes again under a var it passes with
    const fourth = await runOwn(own, 'varied-4', { vars: { meters: 1, min_rows: 10, expected_n: 48 } });
    expect(stateOf(fourth, 'test:enough_rows')).toBe('succeeded');
    expect(fourth.nodes.some((node) => node.id === 'model:extra_count')).toBe(false);

    // dbt_project.yml read with the run's vars, by the plan and every activity after it: the model it enables runs
    const fifth = await runOwn(own, 'varied-5', { vars: { meters: 1, min_rows: 10, with_extra: true, expected_n: 48 } });
    expect(stateOf(fifth, 'model:extra_count')).toBe('succeeded');
    expect(await queryFile(own.warehouse, 'select twice from main.extra_count')).toEqual([{ twice: 96 }]);
  });

  it("runs a seed's and a source's relationships tests that read a model once the run has built it, on its new version", async () => {
    const own = await readingsProject(dir, 'checked', TWO_METERS_ONE_DAY, {
      'known_meters.sql':
        "{{ config(materialized='table') }}\nselect distinct meter_id from {{ source('raw', 'readings') }} where meter_id < {{ var('meters', 2) }}\n",
    });
    // the source's own test warns; the seed's refuses the run
    await warnReadingsNotIn(own.project, 'known_meters');
    await mkdir(path.join(own.project, 'seeds'), { recursive: true });
    await writeFile(path.join(own.project, 'seeds', 'meters.csv'), 'meter_id,region\n0,N\n1,N\n');
    await writeFile(
      path.join(own.project, 'seeds', '_seeds.yml'),
      'version: 2\nseeds:\n  - name: meters\n    columns:\n      - name: meter_id\n' +
        '        data_tests:\n          - relationships: { to: "ref(\'known_meters\')", field: meter_id }\n',
    );

    // a first run: the model does not exist before it, yet both tests run after it is built, and pass
    const first = await runOwn(own, 'checked-1');
    // (each a node of its own, `test:<its id>`)
    const seedTest = first.dataTests?.find((test) => test.test.startsWith('relationships_meters_'));
    const sourceTest = first.dataTests?.find((test) => test.test.startsWith('relationships_readings_'));
    expect(seedTest).toMatchObject({ status: 'pass', failures: 0 });
    expect(sourceTest).toMatchObject({ status: 'pass', failures: 0 });
    for (const id of [`test:${seedTest?.test}`, `test:${sourceTest?.test}`])
      expect({ id, state: stateOf(first, id) }).toEqual({ id, state: 'succeeded' });
    expect(parsedArtifacts(path.join(dir, 'out-checked-1'), first.workflowId).results).toMatchObject({
      [`test.checked.${seedTest?.test}`]: ['pass', 0],
      [`test.checked.${sourceTest?.test}`]: ['pass', 0],
    });

    // the model rebuilt without meter 1: the seed's test reads that new version (not the published
    // one, which still has it), fails, and the run publishes nothing
    const message = await failOwn(own, 'checked-2', { vars: { meters: 1 } });
    expect(message).toContain(seedTest?.test);
    expect(await queryFile(own.warehouse, 'select count(*)::int as n from main.known_meters')).toEqual([{ n: 2 }]);

    // as it was: the model and both tests are up to date
    const third = await runOwn(own, 'checked-3');
    expect(stateOf(third, 'model:known_meters')).toBe('unchanged');
    expect(stateOf(third, `test:${seedTest?.test}`)).toBe('unchanged');
  });

  it("checks a source's relationships test on a new day's rows alone where the run left its model as it was, in a run not building the model too", async () => {
    const readings = (from: number, meters: string) =>
      `select m::bigint as meter_id, timestamp '2024-01-01' + to_minutes((${from} + i) * 30) as ts, 1.0::double as kwh from range(48) t(i), (values ${meters}) v(m)`;
    const own = await readingsProject(dir, 'windowed', readings(0, '(0), (1), (7)'), {
      'known_meters.sql': "{{ config(materialized='table') }}\nselect meter_id from {{ ref('meters') }}\n",
      // (a run seeds the sources its models read)
      'daily.sql':
        "{{ config(materialized='table') }}\nselect meter_id, sum(kwh) as kwh from {{ source('raw', 'readings') }} group by all\n",
    });
    // a warn test: its failures are counted, and the runs go on
    await warnReadingsNotIn(own.project, 'known_meters');
    await mkdir(path.join(own.project, 'seeds'), { recursive: true });
    await writeFile(path.join(own.project, 'seeds', 'meters.csv'), 'meter_id\n0\n1\n');
    const failures = (result: PipelineResult) => result.dataTests.find((t) => t.test.startsWith('relationships_readings_'))?.failures;
    // meter 7 is no known meter: its 48 readings of the first day
    expect(failures(await runOwn(own, 'windowed-1'))).toBe(48);
    // a second day: meter 9 unknown too. The model is as it was, so the day's rows alone are checked
    await queryFile(
      ':memory:',
      `copy (${readings(48, '(0), (9)')}) to '${path.join(own.sources, 'readings', 'day-2.parquet')}' (format parquet)`,
    );
    const second = await runOwn(own, 'windowed-2');
    expect(stateOf(second, 'model:known_meters')).toBe('unchanged');
    expect(failures(second)).toBe(48);
    // a meter added to the seed: the model is rebuilt, and every reading is checked again (meters 7 and 9)
    await writeFile(path.join(own.project, 'seeds', 'meters.csv'), 'meter_id\n0\n1\n2\n');
    const third = await runOwn(own, 'windowed-3');
    expect(stateOf(third, 'model:known_meters')).toBe('succeeded');
    expect(failures(third)).toBe(96);
    // a run of the model that reads the source alone still checks its new rows, against the model as published
    await queryFile(
      ':memory:',
      `copy (${readings(96, '(2), (11)')}) to '${path.join(own.sources, 'readings', 'day-3.parquet')}' (format parquet)`,
    );
    const selected = await runOwn(own, 'windowed-4', { select: ['daily'] });
    expect(stateOf(selected, 'model:known_meters')).toBeUndefined();
    expect(failures(selected)).toBe(48);
  });

  it("enforces a model's contract on the writer and in a build worker's months, a broken one failing the run and publishing nothing", async () => {
    const own = await readingsProject(dir, 'contracted', TWO_METERS_ONE_DAY, {
      'meter_totals.sql':
        "{{ config(materialized='table') }}\nselect meter_id, sum(kwh) as kwh from {{ source('raw', 'readings') }} group by all\n",
      'per_month.sql':
        "{{ config(materialized='incremental', event_time='ts') }}\nselect meter_id, ts, kwh from {{ source('raw', 'readings') }}\n",
      '_models.yml':
        'version: 2\nmodels:\n  - name: meter_totals\n    config: {contract: {enforced: true}}\n    columns:\n' +
        '      - {name: meter_id, data_type: bigint, constraints: [{type: primary_key}]}\n      - {name: kwh, data_type: double}\n' +
        '  - name: per_month\n    config: {contract: {enforced: true}}\n    columns:\n      - {name: meter_id, data_type: bigint}\n' +
        '      - {name: ts, data_type: timestamp, constraints: [{type: not_null}]}\n      - {name: kwh, data_type: double}\n',
    });
    const first = await runOwn(own, 'contracted-1');
    for (const test of [
      'contract_meter_totals',
      'contract_unique_meter_totals_meter_id',
      'contract_per_month',
      'contract_not_null_per_month_ts',
    ])
      expect({ test, status: first.dataTests.find((t) => t.test === test)?.status }).toEqual({ test, status: 'pass' });
    const before = await queryFile(own.warehouse, tableChecksumSql('main.meter_totals'));
    // the model's SQL drifts from its contract: the run fails naming it, and the table stays as it was
    await writeFile(
      path.join(own.project, 'models', 'meter_totals.sql'),
      "{{ config(materialized='table') }}\nselect meter_id, sum(kwh)::decimal(10, 2) as kwh from {{ source('raw', 'readings') }} group by all\n",
    );
    expect(await failOwn(own, 'contracted-2')).toContain('contract_meter_totals');
    expect(await queryFile(own.warehouse, tableChecksumSql('main.meter_totals'))).toEqual(before);
  });

  it("ends a run whose model is tested against a model that reads it, as jaffle-shop's order_items against orders, rebuilt or not", async () => {
    // meters' days, and each meter's total over them; every day's meter must have a total (a
    // relationships test whose `to` reads the tested model): until 2026-12-07 such a run never ended
    const own = await readingsProject(dir, 'downstream', TWO_METERS_ONE_DAY, {
      'meter_days.sql':
        "{{ config(materialized='table') }}\nselect meter_id, ts::date as day, sum(kwh) as kwh from {{ source('raw', 'readings') }} group by all\n",
      'meter_totals.sql':
        "{{ config(materialized='table') }}\nselect meter_id, sum(kwh) as kwh from {{ ref('meter_days') }} group by all\n",
      '_models.yml':
        'version: 2\nmodels:\n  - name: meter_days\n    columns:\n' +
        '      - {name: meter_id, data_tests: [{relationships: {to: "ref(\'meter_totals\')", field: meter_id}}]}\n',
    });
    const first = await runOwn(own, 'downstream-1');
    expect([stateOf(first, 'model:meter_days'), stateOf(first, 'test:meter_days'), stateOf(first, 'model:meter_totals')]).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    // nothing new: both up to date
    const second = await runOwn(own, 'downstream-2');
    expect([stateOf(second, 'model:meter_days'), stateOf(second, 'model:meter_totals')]).toEqual(['unchanged', 'unchanged']);
    // a new meter's day: both rebuilt, the test reading the new totals
    await queryFile(
      ':memory:',
      `copy (select 5::bigint as meter_id, timestamp '2024-01-02' as ts, 2.0::double as kwh) to '${path.join(own.sources, 'readings', 'readings-0102.parquet')}' (format parquet)`,
    );
    const third = await runOwn(own, 'downstream-3');
    expect(third.dataTests.find((t) => t.test === 'relationships_meter_days_meter_id')?.status).toBe('pass');
    expect(await queryFile(own.warehouse, 'select meter_id::int as meter_id, kwh from main.meter_totals order by meter_id')).toEqual([
      { meter_id: 0, kwh: 48 },
      { meter_id: 1, kwh: 48 },
      { meter_id: 5, kwh: 2 },
    ]);
  });

  it('fails a run on a singular test that reads no model and no source, as dbt does (it passed unrun until 2026-12-07)', async () => {
    const own = await readingsProject(dir, 'inputless', TWO_METERS_ONE_DAY, {
      'days.sql': "select 1 as id from {{ source('raw', 'readings') }}\n",
    });
    await mkdir(path.join(own.project, 'tests'));
    await writeFile(path.join(own.project, 'tests', 'always_one_row.sql'), 'select 1 as x\n');
    expect(await failOwn(own, 'inputless-1')).toContain('always_one_row');
  });

  it("keeps a dbt snapshot's history as dbt does: new versions, closed ones, vanished rows; through a full refresh, a failing test keeping it as it was, a new column and a retyped one", async () => {
    // meters' configurations, each with the time it last changed: snapshotted by that time (closing
    // the rows that vanish) and by a check of the profile column, and read by a model
    const configs = (rows: string) => `select * from (values ${rows}) t(meter_id, profile, updated_at)`;
    const configFile = (own: { sources: string }) => path.join(own.sources, 'meter_config', 'meter_config.parquet');
    const own = await readingsProject(
      dir,
      'snapshotted',
      TWO_METERS_ONE_DAY,
      { 'current_profiles.sql': "select meter_id, profile from {{ ref('config_history') }} where dbt_valid_to is null\n" },
      {
        yaml: '      - name: meter_config\n',
        files: {
          meter_config: configs("(1, 'A', timestamp '2024-01-01'), (2, 'B', timestamp '2024-01-01'), (3, 'A', timestamp '2024-01-01')"),
        },
      },
    );
    await mkdir(path.join(own.project, 'snapshots'));
    await writeFile(
      path.join(own.project, 'snapshots', 'meter_config.sql'),
      "{% snapshot config_history %}\n{{ config(target_schema='history', unique_key='meter_id', strategy='timestamp', updated_at='updated_at', hard_deletes='invalidate') }}\n" +
        "select * from {{ source('raw', 'meter_config') }}\n{% endsnapshot %}\n\n" +
        "{% snapshot profile_checks %}\n{{ config(unique_key='meter_id', strategy='check', check_cols=['profile']) }}\n" +
        "select meter_id, profile from {{ source('raw', 'meter_config') }}\n{% endsnapshot %}\n\n" +
        // (every column checked, and one whose type a var picks: a DECIMAL of more digits than a DOUBLE holds)
        "{% snapshot weighted %}\n{{ config(unique_key='meter_id', strategy='check', check_cols='all') }}\n" +
        "select *, cast('1.123456789012345678' as {{ var('weight_type', 'decimal(38,18)') }}) as weight from {{ source('raw', 'meter_config') }}\n{% endsnapshot %}\n",
    );
    await writeFile(
      path.join(own.project, 'snapshots', '_snapshots.yml'),
      'snapshots:\n  - name: profile_checks\n    columns:\n      - {name: profile, data_tests: [not_null]}\n',
    );
    const history = () =>
      queryFile(
        own.warehouse,
        `select 'ts' as s, meter_id, profile, dbt_valid_from::varchar as valid_from, dbt_valid_to::varchar as valid_to from history.config_history
         union all select 'check', meter_id, profile, dbt_valid_from::varchar, dbt_valid_to::varchar from main.profile_checks order by all`,
      );
    const first = await runOwn(own, 'snapshotted-1');
    expect(stateOf(first, 'model:config_history')).toBe('succeeded');
    const [start1] = (await history()).filter((row) => row.s === 'check').map((row) => row.valid_from);
    await queryFile(
      ':memory:',
      `copy (${configs("(1, 'A', timestamp '2024-01-01'), (2, 'C', timestamp '2024-02-01'), (4, 'B', timestamp '2024-02-01')")}) to '${configFile(own)}' (format parquet)`,
    );
    await runOwn(own, 'snapshotted-2');
    const rows = await history();
    // the check snapshot's times are the runs' starts: the second run's closes what vanished in the other
    const start2 = rows.find((row) => row.s === 'check' && row.meter_id === 4)?.valid_from;
    expect(start2).not.toEqual(start1);
    const jan = '2024-01-01 00:00:00';
    const feb = '2024-02-01 00:00:00';
    const expected = [
      { s: 'check', meter_id: 1, profile: 'A', valid_from: start1, valid_to: null },
      { s: 'check', meter_id: 2, profile: 'B', valid_from: start1, valid_to: start2 },
      { s: 'check', meter_id: 2, profile: 'C', valid_from: start2, valid_to: null },
      { s: 'check', meter_id: 3, profile: 'A', valid_from: start1, valid_to: null },
      { s: 'check', meter_id: 4, profile: 'B', valid_from: start2, valid_to: null },
      { s: 'ts', meter_id: 1, profile: 'A', valid_from: jan, valid_to: null },
      { s: 'ts', meter_id: 2, profile: 'B', valid_from: jan, valid_to: feb },
      { s: 'ts', meter_id: 2, profile: 'C', valid_from: feb, valid_to: null },
      { s: 'ts', meter_id: 3, profile: 'A', valid_from: jan, valid_to: start2 },
      { s: 'ts', meter_id: 4, profile: 'B', valid_from: feb, valid_to: null },
    ];
    expect(rows).toEqual(expected);
    expect(await queryFile(own.warehouse, 'select * from main.current_profiles order by all')).toEqual([
      { meter_id: 1, profile: 'A' },
      { meter_id: 2, profile: 'C' },
      { meter_id: 4, profile: 'B' },
    ]);
    // dbt never rebuilds a snapshot: a full refresh leaves its history
    const third = await runOwn(own, 'snapshotted-3', { fullRefresh: true });
    expect(await history()).toEqual(expected);
    // a NULL profile fails the check snapshot's test: the run fails, both snapshots stay as they were
    await queryFile(
      ':memory:',
      `copy (${configs("(1, NULL, timestamp '2024-03-01'), (2, 'C', timestamp '2024-02-01')")}) to '${configFile(own)}' (format parquet)`,
    );
    expect(await failOwn(own, 'snapshotted-4')).toContain('not_null_profile_checks_profile');
    expect(await history()).toEqual(expected);
    // its run_results: the snapshot that built says its table did not change
    expect(await runResultOf(path.join(dir, 'out-snapshotted-4'), 'snapshot.snapshotted.config_history')).toMatchObject({
      status: 'success',
      message: BUILT_NOT_PUBLISHED,
    });
    // and the one whose test failed built too, as dbt says it: success of it, fail of its test
    expect(await runResultOf(path.join(dir, 'out-snapshotted-4'), 'snapshot.snapshotted.profile_checks')).toMatchObject({
      status: 'success',
      message: BUILT_TESTS_FAILED,
    });
    expect(await runResultOf(path.join(dir, 'out-snapshotted-4'), 'test.snapshotted.not_null_profile_checks_profile')).toMatchObject({
      status: 'fail',
      failures: 1,
    });
    // the source gains a column: added to the snapshot that selects *, its rows before NULL there, as
    // dbt adds it; meter 1 changed (a new version), meter 4 vanished (closed)
    await queryFile(
      ':memory:',
      `copy (select *, ['N', 'S'][meter_id] as region from (${configs("(1, 'A', timestamp '2024-03-01'), (2, 'C', timestamp '2024-02-01')")})) to '${configFile(own)}' (format parquet)`,
    );
    // (a source's new column is loaded by a full refresh, which keeps a snapshot's history; the weight's
    // query a DOUBLE now)
    await runOwn(own, 'snapshotted-5', { fullRefresh: true, vars: { weight_type: 'double' } });
    expect(
      await queryFile(
        own.warehouse,
        'select meter_id, profile, region, dbt_valid_from::varchar as valid_from, dbt_valid_to is null as current from history.config_history order by all',
      ),
    ).toEqual([
      { meter_id: 1, profile: 'A', region: 'N', valid_from: '2024-03-01 00:00:00', current: true },
      { meter_id: 1, profile: 'A', region: null, valid_from: jan, current: false },
      { meter_id: 2, profile: 'B', region: null, valid_from: jan, current: false },
      { meter_id: 2, profile: 'C', region: null, valid_from: feb, current: true },
      { meter_id: 3, profile: 'A', region: null, valid_from: jan, current: false },
      { meter_id: 4, profile: 'B', region: null, valid_from: feb, current: false },
    ]);
    expect(
      (
        await queryFile(own.warehouse, "select column_name from duckdb_columns() where table_name = 'config_history' order by column_index")
      ).map((row) => row.column_name),
    ).toEqual(['meter_id', 'profile', 'updated_at', 'dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to', 'region']);
    // every column checked: the new column is a change of every current row the query gives, as dbt's
    // column_added; the rows the run closed keep their DECIMAL's every digit, the new versions hold the
    // DOUBLE's in the table's DECIMAL (dbt's snapshot updates and inserts alike)
    const [exact, viaDouble] = ['1.123456789012345678', '1.123456789012345728'];
    expect(
      await queryFile(
        own.warehouse,
        'select meter_id, profile, region, weight::varchar as weight, dbt_valid_to is null as current from main.weighted order by all',
      ),
    ).toEqual([
      { meter_id: 1, profile: 'A', region: 'N', weight: viaDouble, current: true },
      { meter_id: 1, profile: 'A', region: null, weight: exact, current: false },
      { meter_id: 2, profile: 'B', region: null, weight: exact, current: false },
      { meter_id: 2, profile: 'C', region: 'S', weight: viaDouble, current: true },
      { meter_id: 2, profile: 'C', region: null, weight: exact, current: false },
      { meter_id: 3, profile: 'A', region: null, weight: exact, current: true },
      { meter_id: 4, profile: 'B', region: null, weight: exact, current: true },
    ]);
    const manifest = JSON.parse(await readFile(path.join(dir, 'out-snapshotted-3', 'runs', third.workflowId, 'manifest.json'), 'utf8'));
    expect(manifest.nodes['snapshot.snapshotted.config_history']).toMatchObject({ resource_type: 'snapshot', schema: 'history' });
  });

  it("runs a model's dbt unit tests on their fixtures as dbt build does: dict, CSV and SQL inputs, vars and is_incremental overrides, a failing one refusing the run", async () => {
    // a meter's energy and cost per day from the readings and a tariff seed; the seed's rows and the
    // readings are mocked, and the expected rows hold only some of the model's columns
    const own = await readingsProject(dir, 'unit', TWO_METERS_ONE_DAY, {
      'daily_cost.sql':
        "{{ config(materialized='incremental', unique_key=['meter_id', 'day']) }}\n" +
        'select r.meter_id, r.ts::date as day, sum(r.kwh) as kwh, round(sum(r.kwh) * max(t.rate), 2) as cost\n' +
        "from {{ source('raw', 'readings') }} as r cross join {{ ref('tariff') }} as t\n" +
        "where r.kwh >= {{ var('min_kwh', 0) }}\n" +
        '{% if is_incremental() %} and r.ts > (select max(day) from {{ this }}) {% endif %}\n' +
        'group by all\n',
    });
    await mkdir(path.join(own.project, 'seeds'));
    await writeFile(path.join(own.project, 'seeds', 'tariff.csv'), 'rate\n0.30\n');
    await mkdir(path.join(own.project, 'tests', 'fixtures'), { recursive: true });
    await writeFile(path.join(own.project, 'tests', 'fixtures', 'daily_cost_expected.csv'), 'meter_id,day,cost\n7,2024-01-01,0.9\n');
    const unitTests = (expectedCost: number) =>
      'unit_tests:\n' +
      '  - name: daily_cost_sums_a_day\n    model: daily_cost\n    overrides: {macros: {is_incremental: false}}\n    given:\n' +
      "      - input: source('raw', 'readings')\n        rows:\n" +
      "          - {meter_id: 7, ts: '2024-01-01 00:30:00', kwh: 1.5}\n          - {meter_id: 7, ts: '2024-01-01 12:00:00', kwh: 1.5}\n" +
      "          - {meter_id: 7, ts: '2024-01-02 00:00:00', kwh: 2}\n" +
      "      - input: ref('tariff')\n        format: csv\n        rows: |\n          rate\n          0.5\n" +
      `    expect:\n      rows:\n        - {meter_id: 7, day: 2024-01-01, kwh: 3.0, cost: ${expectedCost}}\n        - {meter_id: 7, day: 2024-01-02, kwh: 2.0, cost: 1.0}\n` +
      // the seed read as it is (0.30), a var overridden, the expect from a fixture file
      '  - name: daily_cost_skips_small_readings\n    model: daily_cost\n    overrides: {vars: {min_kwh: 1}, macros: {is_incremental: false}}\n    given:\n' +
      "      - input: source('raw', 'readings')\n        format: sql\n        rows: |\n" +
      "          select 7::bigint as meter_id, timestamp '2024-01-01 01:00' as ts, 3.0::double as kwh\n" +
      "          union all select 7, timestamp '2024-01-01 02:00', 0.5\n" +
      '    expect: {format: csv, fixture: daily_cost_expected}\n' +
      // an incremental run: only readings after the table's last day
      '  - name: daily_cost_adds_new_days\n    model: daily_cost\n    overrides: {macros: {is_incremental: true}}\n    given:\n' +
      "      - input: source('raw', 'readings')\n        rows: [{meter_id: 7, ts: '2024-01-01 10:00:00', kwh: 1}, {meter_id: 7, ts: '2024-01-03 10:00:00', kwh: 1}]\n" +
      "      - input: ref('tariff')\n        rows: [{rate: 1}]\n" +
      "      - input: this\n        rows: [{meter_id: 7, day: '2024-01-02'}]\n" +
      "    expect:\n      rows: [{meter_id: 7, day: '2024-01-03', cost: 1}]\n";
    await writeFile(path.join(own.project, 'models', '_unit_tests.yml'), unitTests(1.5));
    const first = await runOwn(own, 'unit-1');
    for (const test of ['daily_cost_sums_a_day', 'daily_cost_skips_small_readings', 'daily_cost_adds_new_days'])
      expect({ test, status: first.dataTests.find((t) => t.test === test)?.status }).toEqual({ test, status: 'pass' });
    const artifacts = parsedArtifacts(path.join(dir, 'out-unit-1'), first.workflowId);
    expect(artifacts.results['unit_test.unit.daily_cost.daily_cost_sums_a_day']).toEqual(['pass', 0]);
    const manifest = JSON.parse(await readFile(path.join(dir, 'out-unit-1', 'runs', first.workflowId, 'manifest.json'), 'utf8'));
    expect(manifest.unit_tests['unit_test.unit.daily_cost.daily_cost_adds_new_days']).toMatchObject({ model: 'daily_cost' });
    const before = await queryFile(own.warehouse, tableChecksumSql('main.daily_cost'));
    // an expect that is wrong: the run fails naming the test and the rows, and the table stays as it was
    await writeFile(path.join(own.project, 'models', '_unit_tests.yml'), unitTests(9.99));
    await queryFile(
      ':memory:',
      `copy (select 0::bigint as meter_id, timestamp '2024-01-02' as ts, 5.0::double as kwh) to '${path.join(own.sources, 'readings', 'readings-0102.parquet')}' (format parquet)`,
    );
    const failure = await failOwn(own, 'unit-2');
    expect(failure).toContain('daily_cost_sums_a_day');
    expect(await queryFile(own.warehouse, tableChecksumSql('main.daily_cost'))).toEqual(before);
    // its run_results: the model skipped, as dbt skips a model whose unit test fails
    expect(await runResultOf(path.join(dir, 'out-unit-2'), 'model.unit.daily_cost')).toMatchObject({ status: 'skipped' });
  });

  it('runs dbt_utils as dbt deps installs it: its macros on every queue, its queries while rendering and its generic tests, a failing one refusing the run', async () => {
    const own = await readingsProject(dir, 'utils', TWO_METERS_ONE_DAY, {
      // built a month at a time by the build workers
      'keyed_readings.sql':
        "{{ config(materialized='incremental', event_time='ts') }}\n" +
        "select {{ dbt_utils.generate_surrogate_key(['meter_id', 'ts']) }} as reading_key, {{ dbt_utils.star(source('raw', 'readings')) }}\n" +
        "from {{ source('raw', 'readings') }}\n",
      'daily.sql':
        "{{ config(materialized='table') }}\nselect meter_id, ts::date as day, sum(kwh) as kwh from {{ ref('keyed_readings') }} group by all\n",
      'report.sql':
        "{{ config(materialized='table', meta={'meterflow': {'runs_on': 'analytics'} }) }}\nselect {{ dbt_utils.star(ref('daily'), except=['meter_id']) }} from {{ ref('daily') }}\n",
      // macros that query the warehouse while rendering: on the writer, a build worker's month, and analytics
      'calendar.sql':
        "{{ config(materialized='table') }}\n{{ dbt_utils.date_spine('day', \"'2024-01-01'::date\", \"'2024-01-04'::date\") }}\n",
      'meters_seen.sql':
        "{{ config(materialized='incremental', event_time='ts') }}\n" +
        "{% set meters = dbt_utils.get_column_values(ref('keyed_readings'), 'meter_id', order_by='meter_id') %}\n" +
        "select ts, {{ meters | length }} as meters, '{{ meters | join('-') }}' as ids from {{ ref('keyed_readings') }} group by ts\n",
      'stacked.sql': "{{ config(materialized='table') }}\n{{ dbt_utils.union_relations(relations=[ref('daily'), ref('calendar')]) }}\n",
      'top_day.sql':
        "{{ config(materialized='table', meta={'meterflow': {'runs_on': 'analytics'} }) }}\n" +
        'select {{ dbt_utils.get_single_value("select max(kwh) from " ~ ref(\'daily\')) }} as top_kwh\n',
      '_tests.yml':
        'version: 2\nmodels:\n  - name: keyed_readings\n    data_tests:\n      - dbt_utils.unique_combination_of_columns:\n' +
        '          arguments: {combination_of_columns: [meter_id, ts]}\n  - name: daily\n    columns:\n      - name: kwh\n' +
        '        data_tests:\n          - dbt_utils.accepted_range: {arguments: {min_value: 0}}\n',
    });
    await writeFile(
      path.join(own.project, 'packages.yml'),
      'packages:\n  - package: dbt-labs/dbt_utils\n    version: [">=1.0.0", "<2.0.0"]\n',
    );
    await cp(path.join(PACKAGE_ROOT, 'test', 'fixtures', 'packages', 'dbt_utils'), path.join(own.project, 'dbt_packages', 'dbt_utils'), {
      recursive: true,
    });
    const result = await runOwn(own, 'utils-1');
    for (const id of [
      'model:keyed_readings',
      'model:daily',
      'analytics:report',
      'model:calendar',
      'model:meters_seen',
      'analytics:top_day',
    ])
      expect({ id, state: stateOf(result, id) }).toEqual({ id, state: 'succeeded' });
    // each query answered where the model ran: the spine's days, the meters of the month's new version, the top day
    expect(await queryFile(own.warehouse, 'select date_day::date::varchar as day from main.calendar order by all')).toEqual([
      { day: '2024-01-01' },
      { day: '2024-01-02' },
      { day: '2024-01-03' },
    ]);
    expect(await queryFile(own.warehouse, 'select meters, ids, count(*)::int as n from main.meters_seen group by all')).toEqual([
      { meters: 2, ids: '0-1', n: 48 },
    ]);
    expect(await queryFile(own.warehouse, 'select top_kwh::double as top_kwh from main.top_day')).toEqual([{ top_kwh: 48 }]);
    // each row labelled with the table people read, not the run's unpublished version it was read from
    expect(
      await queryFile(
        own.warehouse,
        'select _dbt_source_relation as relation, count(*)::int as n from main.stacked group by all order by all',
      ),
    ).toEqual([
      { relation: '"main"."calendar"', n: 3 },
      { relation: '"main"."daily"', n: 2 },
    ]);
    expect(result.dataTests.map((t) => [t.test, t.status])).toEqual(
      expect.arrayContaining([
        ['dbt_utils_unique_combination_of_columns_keyed_readings', 'pass'],
        ['dbt_utils_accepted_range_daily_kwh', 'pass'],
      ]),
    );
    // the key is dbt_utils' own: md5 of the fields joined by '-'
    expect(
      await queryFile(
        own.warehouse,
        `select count(*)::int as rows, count(*) filter (where reading_key = md5(meter_id::varchar || '-' || ts::varchar))::int as keyed
           from main.keyed_readings`,
      ),
    ).toEqual([{ rows: 96, keyed: 96 }]);
    expect(await queryFile(own.warehouse, 'select day::varchar as day, kwh from main.report order by all')).toEqual([
      { day: '2024-01-01', kwh: 48 },
      { day: '2024-01-01', kwh: 48 },
    ]);
    // a package's test that fails refuses the run, naming it; what people read stays as it was
    const before = await queryFile(own.warehouse, tableChecksumSql('main.daily'));
    const tests = path.join(own.project, 'models', '_tests.yml');
    await writeFile(
      tests,
      (await readFile(tests, 'utf8')).replace(
        '  - name: daily\n',
        '  - name: daily\n    data_tests:\n      - dbt_utils.expression_is_true:\n          arguments: {expression: "kwh > 100"}\n',
      ),
    );
    expect(await failOwn(own, 'utils-2')).toContain('dbt_utils_expression_is_true_daily');
    expect(await queryFile(own.warehouse, tableChecksumSql('main.daily'))).toEqual(before);
  });

  it('reads a source whose YAML lists no columns, or some without a type, whole, as dbt does, and refuses a file whose columns differ', async () => {
    const own = await readingsProject(
      dir,
      'untyped',
      "select (i % 2)::bigint as meter_id, timestamp '2024-01-01' + to_minutes(i * 30) as ts, 1.0::double as kwh from range(4) t(i)",
      {
        'meter_sites.sql': "{{ config(materialized='table') }}\nselect * from {{ source('raw', 'meters') }}\n",
        'tariff_list.sql': "{{ config(materialized='table') }}\nselect * from {{ source('raw', 'tariffs') }}\n",
      },
      {
        // meters lists one column, to test it; tariffs none, as most dbt projects write sources
        yaml: '      - name: meters\n        columns:\n          - name: meter_id\n            data_tests: [not_null]\n      - name: tariffs\n',
        files: {
          meters: "select i::bigint as meter_id, 'site-' || i as site, (i * 1.5)::double as area from range(3) t(i)",
          tariffs: "select 'standard' as tariff, 0.25::double as rate",
        },
      },
    );
    const columns = (table: string) =>
      queryFile(own.warehouse, `select column_name, data_type from duckdb_columns() where table_name = '${table}' order by column_index`);
    await runOwn(own, 'untyped-1');
    expect(await columns('meter_sites')).toEqual([
      { column_name: 'meter_id', data_type: 'BIGINT' },
      { column_name: 'site', data_type: 'VARCHAR' },
      { column_name: 'area', data_type: 'DOUBLE' },
    ]);
    expect(await queryFile(own.warehouse, 'select * from main.tariff_list')).toEqual([{ tariff: 'standard', rate: 0.25 }]);
    // a second file of meters with a column the first lacks: refused, naming it; nothing changes
    const before = await queryFile(own.warehouse, tableChecksumSql('main.meter_sites'));
    await queryFile(
      ':memory:',
      `copy (select 7::bigint as meter_id, 'site-7' as site, 2.5::double as area, 3 as floor) to '${path.join(own.sources, 'meters', 'meters-2.parquet')}' (format parquet)`,
    );
    expect(await failOwn(own, 'untyped-2')).toContain(
      `source meters: ${path.join(own.sources, 'meters', 'meters-2.parquet')} has column(s) 'floor' that its other files lack`,
    );
    expect(await queryFile(own.warehouse, tableChecksumSql('main.meter_sites'))).toEqual(before);
  });

  it('refuses a model built a month at a time whose rows fall outside their month, naming it, and publishes nothing of it', async () => {
    // a week per row, its start the event_time: the week of 29 January runs into February, so
    // February's build gives it a row too (of February's days), which would sit beside January's
    const own = await readingsProject(
      dir,
      'weekly',
      `select (i % 2)::bigint as meter_id, timestamp '2024-01-25' + to_minutes((i // 2) * 30) as ts, 1.0::double as kwh
         from range(2 * 48 * 14) t(i)`,
      {
        'weekly.sql':
          "{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='week_start', event_time='week_start') }}\n" +
          "select date_trunc('week', ts) as week_start, sum(kwh) as kwh from {{ source('raw', 'readings') }} group by 1\n",
      },
    );
    const message = await failOwn(own, 'weekly');
    expect(message).toContain(
      "model weekly (models/weekly.sql), incremental with event_time 'week_start': its rows for 2024-02 " +
        '(2024-02-01 00:00:00 to 2024-02-29 23:59:59.999999) include 1 row(s) whose week_start lies outside it (2024-01-29 00:00:00 to 2024-01-29 00:00:00)',
    );
    const [published] = await queryFile(own.warehouse, "select count(*) as n from duckdb_tables() where table_name = 'weekly'");
    expect(Number(published?.n)).toBe(0);

    // on the writer the first run builds it whole; a second over new readings from 8 February (a
    // Thursday) rebuilds their window, whose week began on the 5th: refused, the table as it was
    const weekly = await readFile(path.join(own.project, 'models', 'weekly.sql'), 'utf8');
    await writeFile(
      path.join(own.project, 'models', 'weekly.sql'),
      weekly.replace("event_time='week_start'", "event_time='week_start', meta={'meterflow': {'runs_on': 'writer'} }"),
    );
    expect(stateOf(await runOwn(own, 'weekly-whole'), 'model:weekly')).toBe('succeeded');
    const before = await queryFile(own.warehouse, tableChecksumSql('main.weekly'));
    await queryFile(
      ':memory:',
      `copy (select (i % 2)::bigint as meter_id, timestamp '2024-02-08' + to_minutes((i // 2) * 30) as ts, 1.0::double as kwh
             from range(2 * 48 * 2) t(i)) to '${path.join(own.sources, 'readings', 'readings-0208.parquet')}' (format parquet)`,
    );
    expect(await failOwn(own, 'weekly-window')).toContain(
      "model weekly (models/weekly.sql), incremental with event_time 'week_start': its rows over the run's window " +
        '(2024-02-08 00:00:00 to 2024-02-09 23:30:00) include 1 row(s) whose week_start lies outside it (2024-02-05 00:00:00 to 2024-02-05 00:00:00)',
    );
    expect(await queryFile(own.warehouse, tableChecksumSql('main.weekly'))).toEqual(before);
  });
});

// What people look at: the run report opened in a real headless Chromium, and the lineage graph.
import { chromium, type Browser } from 'playwright-core';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { startPipeline, waitForPipeline } from '../../src/client';
import { PACKAGE_ROOT, defaultProjectDir } from '../../src/config';
import { generateSampleData } from '../../src/generator/generate';
import { loadProject } from '../../src/project/load';
import { lineageGraph, lineageSvg } from '../../src/report/lineage';
import { renderReportHtml } from '../../src/report/report';
import type { MasterTotals } from '../../src/report/headline';
import { totalsFromPartials, totalsOfMaster } from '../../src/report/master-totals';
import { keyedTable } from '../../src/project/types';
import { existingKinds } from '../../src/build/relations';
import { LAKE_ALIAS, openLake } from '../../src/lake/lake';
import { relation } from '../../src/duckdb/sql';
import type { PipelineResult } from '../../src/contract/run';
import { queryFile, tempDir } from '../support/files';
import { spawnMeterflow } from '../support/processes';
import { connectToTestServer, startWorkers, type TemporalTestContext } from '../support/temporal';

describe('the run report', () => {
  let temporal: TemporalTestContext;
  let result: PipelineResult;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('report');
    await generateSampleData({ outDir: path.join(dir, 'sources'), meters: 20, from: '2023-01-01', to: '2023-03-01', seed: 31 });
    const workers = await startWorkers(temporal, { label: 'report', warehousePath: path.join(dir, 'warehouse-warehouse') });
    try {
      const handle = await startPipeline(
        temporal.client,
        {
          sourcesUri: path.join(dir, 'sources'),
          outUri: path.join(dir, 'out'),
          writerQueue: workers.queues.writer,
          analyticsQueue: workers.queues.analytics,
        },
        { taskQueue: workers.queues.workflows },
      );
      result = await waitForPipeline(handle);
    } finally {
      await workers.stop();
    }
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await temporal.close();
  });

  it('opens offline in Chromium with no console errors, every chart drawn with data, and a screenshot saved', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${result.reportUri}`);
    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith('file://') && !url.startsWith('data:'))).toEqual([]);
    const charts = await page.$$eval('section.chart', (sections) =>
      sections.map((s) => ({
        title: s.getAttribute('data-chart'),
        marks: s.querySelectorAll('svg path, svg circle, svg rect, svg line').length,
      })),
    );
    expect(charts.map((c) => c.title)).toEqual([
      'Deviation over time',
      'Actual vs estimated, daily',
      'Actual vs estimated, weekly',
      'Actual vs estimated, monthly',
      'Deviation by profile class',
      'Deviation by GSP group',
      'Half-hourly load profile',
      'Price response of variable-tariff meters',
      'Run timeline',
    ]);
    for (const chart of charts) expect({ chart: chart.title, drawn: chart.marks > 5 }).toEqual({ chart: chart.title, drawn: true });
    const scatterPoints = await page.$$eval(
      'section[data-chart="Price response of variable-tariff meters"] svg path[aria-roledescription="point"], section[data-chart="Price response of variable-tariff meters"] svg .mark-symbol path',
      (p) => p.length,
    );
    expect(scatterPoints).toBeGreaterThan(50);
    // the points are a sample of the master's newest month (a scan of one month, however long the lake)
    const [{ newest }] = (await queryFile(
      path.join(dir, 'warehouse-warehouse'),
      "select strftime(max(settlement_timestamp_utc), '%Y-%m') as newest from main.demand_price_elasticity",
    )) as [{ newest: string }];
    expect(await page.textContent('section[data-chart="Price response of variable-tariff meters"] .caption')).toContain(
      `in the newest month, ${newest}`,
    );
    expect(await page.textContent('body')).toContain('elasticity');
    const lineageStates = await page.$$eval('svg.lineage g.node', (nodes) => nodes.map((n) => n.getAttribute('data-state')));
    expect(lineageStates.filter((s) => s === 'succeeded').length).toBeGreaterThan(15);
    await mkdir(path.join(PACKAGE_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(PACKAGE_ROOT, 'test-artifacts', 'report.png'), fullPage: true });
  });

  it('lists every node with its time and rows, the data tests and the source files', async () => {
    const page = await browser.newPage();
    await page.goto(`file://${result.reportUri}`);
    const text = (await page.textContent('body')) ?? '';
    expect(text).toContain('model:demand_price_elasticity');
    expect(text).toContain('not_null_demand_price_elasticity_meter_point_id');
    expect(text).toContain('smart_meter_consumption_2023_q1.parquet');
  });

  it("opens on headline figures that are the master table's own sums, and the elasticity per profile class", async () => {
    const [master] = await queryFile(
      path.join(dir, 'warehouse-warehouse'),
      `select sum(smart_meter_consumption) as actual, sum(estimated_half_hour_consumption) as estimated,
              avg(demand_price_elasticity) as mean_deviation
       from main.demand_price_elasticity`,
    );
    const fits = await queryFile(
      path.join(dir, 'warehouse-warehouse'),
      'select profile_class_id, price_elasticity, r_squared from main.price_response_variable_tariff order by profile_class_id',
    );
    const { actual, estimated, mean_deviation: meanDeviation } = master as { actual: number; estimated: number; mean_deviation: number };
    const page = await browser.newPage();
    await page.goto(`file://${result.reportUri}`);
    const figures = Object.fromEntries(
      await page.$$eval('[data-headline]', (nodes) =>
        nodes.map((n) => [n.getAttribute('data-headline'), Number(n.getAttribute('data-value'))]),
      ),
    ) as Record<string, number>;
    expect(figures['actual-kwh']).toBeCloseTo(actual, 6);
    expect(figures['estimated-kwh']).toBeCloseTo(estimated, 6);
    expect(figures['difference-kwh']).toBeCloseTo(actual - estimated, 6);
    expect(figures['difference-percent']).toBeCloseTo(((actual - estimated) / estimated) * 100, 6);
    expect(figures['mean-deviation-percent']).toBeCloseTo(meanDeviation * 100, 6);
    const shown = await page.$$eval('table.elasticity tr[data-profile-class]', (rows) =>
      rows.map((r) => ({
        profile_class_id: Number(r.getAttribute('data-profile-class')),
        price_elasticity: Number(r.getAttribute('data-elasticity')),
        r_squared: Number(r.getAttribute('data-r-squared')),
      })),
    );
    expect(fits.length).toBeGreaterThan(0);
    expect(shown).toEqual(fits.map((fit) => ({ ...fit, profile_class_id: Number(fit.profile_class_id) })));
    // the headline comes before every chart
    const order = await page.$$eval('section.headline, section.chart', (sections) => sections.map((s) => s.className));
    expect(order[0]).toContain('headline');
  });

  it("takes the headline's totals from the partials only when they were computed from the master's version", async () => {
    const lake = await openLake({ catalog: path.join(dir, 'warehouse-warehouse', 'catalog.sqlite') });
    try {
      // in a transaction rolled back at the end: the run's lake is left as it was
      const rolledBack = new Error('rolled back');
      await expect(
        lake.transaction(async (connection) => {
          await connection.run(`use ${LAKE_ALIAS}`);
          const held = await existingKinds(connection);
          const merged = await totalsFromPartials(connection, 'demand_price_elasticity', held, keyedTable);
          const scanned = await totalsOfMaster(connection, relation('main', 'demand_price_elasticity'));
          expect(merged).toBeDefined();
          const { actualKwh, estimatedKwh, meanDeviation, ...exact } = merged as MasterTotals;
          const { actualKwh: actual, estimatedKwh: estimated, meanDeviation: mean, ...scannedExact } = scanned;
          expect(exact).toEqual(scannedExact);
          expect(scanned.halfHours).toBeGreaterThan(0);
          expect(actualKwh).toBeCloseTo(actual, 6);
          expect(estimatedKwh).toBeCloseTo(estimated, 6);
          expect(meanDeviation).toBeCloseTo(mean, 9);
          // a partial left from an older master (a run that selected the master alone): the master is read
          await connection.run(`update meterflow.model_state set inputs = '{}' where model = 'meter_readings_by_month'`);
          expect(await totalsFromPartials(connection, 'demand_price_elasticity', held, keyedTable)).toBeUndefined();
          throw rolledBack;
        }),
      ).rejects.toBe(rolledBack);
    } finally {
      lake.close();
    }
  });

  it('fits a 1280 px window, names GSP groups and timeline nodes, and shows seconds to 0.1 s', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`file://${result.reportUri}`);
    const tooWide = await page.$$eval(
      'body *',
      (elements, width) =>
        elements
          // NOTE: scrollWidth inside an SVG is in the drawing's own units, before the SVG is scaled to
          // fit; there the box on screen is what counts
          .filter(
            (e) => (e.closest('svg') === e || !e.closest('svg') ? e.scrollWidth > width : false) || e.getBoundingClientRect().right > width,
          )
          .map((e) => `${e.tagName}.${e.getAttribute('class') ?? ''} ${e.scrollWidth}`),
      1280,
    );
    expect(tooWide).toEqual([]);
    expect(await page.$eval('html', (html) => html.scrollWidth)).toBeLessThanOrEqual(1280);
    const labels = (chart: string) =>
      page.$$eval(`section[data-chart="${chart}"] svg .role-axis-label text`, (texts) => texts.map((t) => t.textContent ?? ''));
    const gsp = await labels('Deviation by GSP group');
    expect(gsp.filter((l) => /\(_[A-P]\)$/.test(l)).length).toBeGreaterThan(0);
    for (const label of gsp.filter((l) => /_[A-P]/.test(l))) expect(label).toMatch(/^[A-Z][A-Za-z ]+ \(_[A-P]\)$/);
    const timeline = (await labels('Run timeline')).filter((l) => /:/.test(l));
    expect(timeline).toContain('seed:smart_meter_consumption_q1');
    expect(timeline.filter((l) => l.endsWith('…'))).toEqual([]);
    expect(new Set(timeline).size).toBe(timeline.length);
    const axisTitles = await page.$$eval('section.chart svg .role-axis-title text', (texts) => texts.map((t) => t.textContent ?? ''));
    for (const title of ['mean kWh per half hour', 'mean deviation (%)', 'log(unit rate, p/kWh)']) expect(axisTitles).toContain(title);
    const text = (await page.textContent('body')) ?? '';
    expect(text).toContain('90th percentiles');
    expect(text).not.toMatch(/\d\.\d{2,} s\b/);
    expect(text).toMatch(/\d\.\d s/);
  });

  it('prints to PDF through headless Chromium, a page or more', async () => {
    const pdf = path.join(dir, 'report.pdf');
    const child = spawnMeterflow(['report', result.reportUri, '--pdf', pdf], { CHROME_PATH: '/usr/bin/chromium' });
    expect({ code: await child.exited, output: child.output() }).toEqual({ code: 0, output: `pdf: ${pdf}\n` });
    const bytes = await readFile(pdf);
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pages = bytes.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) ?? [];
    expect(pages.length).toBeGreaterThanOrEqual(1);
  });

  it('says so, and exits 1, when no Chromium is found', async () => {
    const child = spawnMeterflow(['report', result.reportUri, '--pdf', path.join(dir, 'never.pdf')], { CHROME_PATH: '/no/such/chromium' });
    expect(await child.exited).toBe(1);
    expect(child.output()).toContain('meterflow: no Chromium found to print the PDF with (looked at /no/such/chromium)');
    expect(child.output()).toContain('CHROME_PATH');
  });
});

describe("a failed run's report", () => {
  it('opens on the failure, above the headline figures', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    const html = await renderReportHtml({
      workflowId: 'w',
      logicalDate: '2023-03-01T00:00:00.000Z',
      plan,
      nodes: [],
      dataTests: [],
      sourceFiles: [],
      analytics: {},
      priceResponsePoints: [],
      masterTotals: {
        halfHours: 2,
        meters: 1,
        from: '2023-01-01T00:00:00Z',
        to: '2023-01-01T00:30:00Z',
        actualKwh: 1.5,
        estimatedKwh: 1,
        meanDeviation: 0.5,
      },
      failure: { node: 'model:demand_price_elasticity', reason: 'Binder Error' },
    });
    expect(html.indexOf('data-failure=')).toBeGreaterThan(0);
    expect(html.indexOf('data-failure=')).toBeLessThan(html.indexOf('data-section="headline"'));
    expect(html).toContain('data-headline="difference-percent" data-value="50"');
  });
});

describe('the lineage graph', () => {
  it('contains every source and model with its tests, with edges along refs and sources', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    const svg = lineageSvg(plan);
    for (const source of plan.sources) expect(svg).toContain(`data-id="source:${source.name}"`);
    for (const model of plan.models) expect(svg).toContain(`data-id="model:${model.name}"`);
    const { edges } = lineageGraph(plan);
    expect(edges).toContainEqual(['model:stg_smart_meter_consumption', 'model:demand_price_elasticity']);
    expect(edges).toContainEqual(['source:tariff_unit_rates', 'model:stg_tariff_unit_rates']);
    expect(edges).toContainEqual(['model:stg_smart_meter_consumption', 'test:assert_overlapping_readings_agree']);
    // a model's tests are named on its own box, not an anonymous box beside it
    expect(svg).toMatch(/data-id="model:demand_price_elasticity"[^]*?data-tests="[^"]*not_null_demand_price_elasticity_meter_point_id/);
  });
});

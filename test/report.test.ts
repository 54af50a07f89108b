// What people look at: the run report opened in a real headless Chromium, the lineage graph, and the
// run's progress lines when output is not a terminal.
import { chromium, type Browser } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startPipeline, waitForPipeline } from '../src/client';
import { plainProgressPrinter, progressScreen } from '../src/cli/progress';
import { PACKAGE_ROOT, defaultProjectDir } from '../src/config';
import { generateSampleData } from '../src/generator/generate';
import { loadProject } from '../src/project/load';
import { lineageGraph, lineageSvg } from '../src/report/lineage';
import type { PipelineResult } from '../src/contract/run';
import { tempDir } from './support/files';
import { connectToTestServer, startWorkers, type TemporalTestContext } from './support/temporal';

describe('the run report', () => {
  let temporal: TemporalTestContext;
  let result: PipelineResult;
  let browser: Browser;

  beforeAll(async () => {
    temporal = await connectToTestServer();
    const dir = await tempDir('report');
    await generateSampleData({ outDir: path.join(dir, 'sources'), meters: 20, from: '2023-01-01', to: '2023-03-01', seed: 31 });
    const workers = await startWorkers(temporal, { label: 'report', warehousePath: path.join(dir, 'warehouse.duckdb') });
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
});

describe('the lineage graph', () => {
  it('contains every source, model and tested model, with edges along refs and sources', async () => {
    const { plan } = await loadProject(defaultProjectDir());
    const svg = lineageSvg(plan);
    for (const source of plan.sources) expect(svg).toContain(`data-id="source:${source.name}"`);
    for (const model of plan.models) expect(svg).toContain(`data-id="model:${model.name}"`);
    const { edges } = lineageGraph(plan);
    expect(edges).toContainEqual(['model:stg_smart_meter_consumption', 'model:demand_price_elasticity']);
    expect(edges).toContainEqual(['source:tariff_unit_rates', 'model:stg_tariff_unit_rates']);
    expect(edges).toContainEqual(['model:demand_price_elasticity', 'test:demand_price_elasticity']);
  });
});

describe('progress output', () => {
  const node = (id: string, state: 'pending' | 'running' | 'succeeded' | 'unchanged' | 'failed', extra = {}) => ({
    id,
    kind: id.split(':')[0] as 'seed',
    name: id.split(':')[1] as string,
    dependsOn: [],
    state,
    ...extra,
  });

  it('writes one line per change when output is not a terminal', () => {
    const lines: string[] = [];
    const print = plainProgressPrinter((line) => lines.push(line));
    const base = { workflowId: 'w', startedAt: 0, logicalDate: '2023-01-01T00:00:00.000Z', done: false };
    print({ ...base, nodes: [node('seed:a', 'running', { startedAt: 0 }), node('model:b', 'pending')] });
    print({
      ...base,
      nodes: [node('seed:a', 'succeeded', { startedAt: 0, finishedAt: 1500, rows: 10 }), node('model:b', 'running', { startedAt: 1500 })],
    });
    print({
      ...base,
      nodes: [
        node('seed:a', 'succeeded', { startedAt: 0, finishedAt: 1500, rows: 10 }),
        node('model:b', 'failed', { startedAt: 1500, finishedAt: 2000, error: 'Binder Error' }),
      ],
    });
    expect(lines).toEqual([
      'started   seed a',
      'finished  seed a in 1.5s, 10 rows',
      'started   model b',
      'FAILED    model b after 0.5s: Binder Error',
    ]);
  });

  it('draws the whole DAG with states and elapsed times for a terminal', () => {
    const screen = progressScreen(
      {
        workflowId: 'w',
        startedAt: 0,
        logicalDate: 'x',
        done: false,
        nodes: [node('seed:a', 'succeeded', { startedAt: 0, finishedAt: 1000, rows: 5 }), node('model:b', 'running', { startedAt: 1000 })],
      },
      3500,
    );
    expect(screen.split('\n')).toEqual([
      '1 succeeded, 1 running · run w',
      '✔ seed:a  succeeded    1.0s  5 rows',
      '▶ model:b running      2.5s',
    ]);
  });
});

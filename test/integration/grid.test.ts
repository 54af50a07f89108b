// The grid of runs, `<out>/index.html`, after real runs: opened in headless Chromium after three runs
// of which one failed, each run's record beside its report, the same files written to S3; and the
// lineage page `meterflow docs` writes, whole and for a selection.
import type { WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/config';
import { generateSampleData } from '../../src/generator/generate';
import { parseRunRecord } from '../../src/report/run-record';
import { createStorageResolver } from '../../src/storage';
import type { pipeline } from '../../src/workflows';
import { tempDir } from '../support/files';
import { spawnMeterflow } from '../support/processes';
import { createBucket } from '../support/s3-server';
import { connectToTestServer, startRun, startWorkers, type RunningWorkers, type TemporalTestContext } from '../support/temporal';

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update'];

describe('the grid of runs', () => {
  let temporal: TemporalTestContext;
  let workers: RunningWorkers;
  let browser: Browser;
  let dir: string;
  let out: string;
  const runs: { handle: WorkflowHandle<typeof pipeline>; runId: string; failed: boolean }[] = [];

  async function run(outUri: string): Promise<(typeof runs)[number]> {
    const handle = await startRun(temporal, workers, { sourcesUri: path.join(dir, 'sources'), outUri });
    const failed = await handle.result().then(
      () => false,
      () => true,
    );
    return { handle, runId: (await handle.describe()).runId, failed };
  }

  beforeAll(async () => {
    temporal = await connectToTestServer();
    dir = await tempDir('grid');
    out = path.join(dir, 'out');
    await generateSampleData({ outDir: path.join(dir, 'sources'), meters: 6, from: '2023-03-28', to: '2023-04-03', seed: 43 });
    workers = await startWorkers(temporal, { label: 'grid', warehousePath: path.join(dir, 'warehouse.duckdb') });
    // three runs: a clean one, one failing at a tariff file that is not Parquet, one after it is removed
    runs.push(await run(out));
    const broken = path.join(dir, 'sources', 'tariff_unit_rates', 'zz_broken.parquet');
    await writeFile(broken, 'not a Parquet file');
    runs.push(await run(out));
    await rm(broken);
    runs.push(await run(out));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    await workers?.stop();
    await temporal.close();
  });

  /** A page that records script errors, console errors and requests that leave the file system. */
  async function open(url: string, width = 1400): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(url);
    return { page, errors, requests };
  }

  it('ran three times, the second failing', () => {
    expect(runs.map((r) => r.failed)).toEqual([false, true, false]);
  });

  it('opens in Chromium with three columns, the failed cell red and opening the failure, and no script errors', async () => {
    const { page, errors, requests } = await open(`file://${path.join(out, 'index.html')}`);
    const columns = await page.$$eval('th.run', (headers) =>
      headers.map((h) => ({ run: h.getAttribute('data-run'), status: h.getAttribute('data-status') })),
    );
    expect(columns).toEqual(runs.map((r) => ({ run: r.handle.workflowId, status: r.failed ? 'failed' : 'succeeded' })));
    // the failed run's column: its tariff seed failed, what depends on it skipped
    const failedCells = await page.$$eval('td.cell[data-state="failed"]', (cells) =>
      cells.map((cell) => ({
        node: cell.closest('tr')?.getAttribute('data-node'),
        column: [...(cell.closest('tr')?.children ?? [])].indexOf(cell),
        background: cell.ownerDocument.defaultView?.getComputedStyle(cell).backgroundColor ?? '',
        href: cell.querySelector('a')?.getAttribute('href'),
      })),
    );
    const failedId = runs[1]?.handle.workflowId as string;
    expect(failedCells).toEqual([
      { node: 'run', column: 2, background: expect.any(String), href: `runs/${failedId}/report.html#failure` },
      { node: 'seed:tariff_unit_rates', column: 2, background: expect.any(String), href: `runs/${failedId}/report.html#failure` },
    ]);
    for (const { background } of failedCells) {
      const [red, green, blue] = (background.match(/\d+/g) ?? []).map(Number) as [number, number, number];
      expect({ background, red: red > 180 && green < 100 && blue < 100 }).toEqual({ background, red: true });
    }
    const skipped = await page.$$eval('tr[data-node="model:demand_price_elasticity"] td.cell', (cells) =>
      cells.map((c) => c.getAttribute('data-state')),
    );
    expect(skipped).toEqual(['succeeded', 'skipped', 'unchanged']);
    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith('file://') && !url.startsWith('data:'))).toEqual([]);
    await mkdir(path.join(PACKAGE_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(PACKAGE_ROOT, 'test-artifacts', 'grid.png'), fullPage: true });

    // the failed cell opens the failed run's report at its failure
    await page.click('tr[data-node="seed:tariff_unit_rates"] td.cell.failed a');
    await page.waitForURL(/report\.html#failure$/);
    expect(decodeURIComponent(page.url())).toBe(`file://${path.join(out, 'runs', failedId, 'report.html')}#failure`);
    const failure = await page.$eval('#failure', (section) => ({
      node: section.getAttribute('data-failure'),
      top: section.getBoundingClientRect().top,
    }));
    expect(failure.node).toBe('seed:tariff_unit_rates');
    expect(failure.top).toBeLessThan(900);
    expect(errors).toEqual([]);
  });

  it("links each column to its run's report, and to its page in the Web UI", async () => {
    const { page } = await open(`file://${path.join(out, 'index.html')}`);
    const links = await page.$$eval('th.run', (headers) =>
      headers.map((h) => ({
        report: h.querySelector('a.report')?.getAttribute('href'),
        ui: h.querySelector('a.ui')?.getAttribute('href'),
      })),
    );
    expect(links).toEqual(
      runs.map((r) => ({
        report: `runs/${r.handle.workflowId}/report.html`,
        ui: `http://127.0.0.1:8233/namespaces/default/workflows/${r.handle.workflowId}/${r.runId}`,
      })),
    );
    for (const link of links) expect(existsSync(path.join(out, link.report as string))).toBe(true);
    // rows and seconds of each model over the runs, as small charts
    const charts = await page.$$eval('tr[data-node="model:demand_price_elasticity"] td.measure svg', (svgs) => svgs.length);
    expect(charts).toBe(2);
  });

  it("keeps each run's record beside its report: status, failure and each node's state", async () => {
    const records = await Promise.all(
      runs.map(async (r) => parseRunRecord(await readFile(path.join(out, 'runs', r.handle.workflowId, 'run.json'), 'utf8'))),
    );
    expect(records.map((r) => [r?.workflowId, r?.runId, r?.status, r?.failure?.node])).toEqual(
      runs.map((r) => [r.handle.workflowId, r.runId, r.failed ? 'failed' : 'succeeded', r.failed ? 'seed:tariff_unit_rates' : undefined]),
    );
    const seeded = records[0]?.nodes.find((n) => n.id === 'seed:smart_meter_consumption_q1');
    expect(seeded).toEqual({
      id: 'seed:smart_meter_consumption_q1',
      kind: 'seed',
      state: 'succeeded',
      seconds: expect.any(Number),
      rows: expect.any(Number),
    });
    expect(records[0]?.nodes.some((n) => n.kind === 'report')).toBe(false);
  });

  it('is written to an out location in S3 as well', async () => {
    await createBucket(process.env.METERFLOW_TEST_S3_ENDPOINT as string, 'meterflow-grid');
    const inS3 = await run('s3://meterflow-grid/out');
    expect(inS3.failed).toBe(false);
    const storage = createStorageResolver();
    const store = storage.forUri('s3://meterflow-grid/out');
    const names = (await store.list('s3://meterflow-grid/out')).map((o) => o.name);
    expect(names).toEqual(
      expect.arrayContaining(['index.html', `runs/${inS3.handle.workflowId}/report.html`, `runs/${inS3.handle.workflowId}/run.json`]),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read('s3://meterflow-grid/out/index.html')) chunks.push(chunk as Buffer);
    const html = Buffer.concat(chunks).toString('utf8');
    expect([...html.matchAll(/<th class="run [a-z]+" data-run="([^"]+)"/g)].map((m) => m[1])).toEqual([inS3.handle.workflowId]);
  });
});

describe('meterflow docs: the lineage page', () => {
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('docs');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(() => browser?.close());

  it('opens at 1400 px with a legend, named tests and boxes that open their SQL, no wider than the window', async () => {
    const child = spawnMeterflow(['docs', '--out', path.join(dir, 'all')]);
    expect({ code: await child.exited, output: child.output() }).toEqual({
      code: 0,
      output: `lineage: ${path.join(dir, 'all', 'lineage.html')}\n`,
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`file://${path.join(dir, 'all', 'lineage.html')}`);
    expect(await page.$eval('html', (html) => html.scrollWidth)).toBeLessThanOrEqual(1400);
    expect(await page.textContent('svg.lineage g.legend')).toContain('read-only model');
    expect(await page.$$eval('svg.lineage text.column-title', (titles) => titles.map((t) => t.textContent))).toEqual([
      'sources',
      'built',
      'read-only',
    ]);
    await mkdir(path.join(PACKAGE_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(PACKAGE_ROOT, 'test-artifacts', 'lineage.png'), fullPage: true });
    // a box opens its row: the description, the tests and the SQL
    await page.click('svg.lineage g.node[data-id="model:demand_price_elasticity"]');
    await page.waitForURL(/#lineage-model-demand_price_elasticity$/);
    const row = await page.$eval(':target', (target) => ({ node: target.getAttribute('data-node'), text: target.textContent ?? '' }));
    expect(row.node).toBe('model:demand_price_elasticity');
    expect(row.text).toContain('not_null_demand_price_elasticity_meter_point_id');
    expect(row.text).toContain("ref('stg_smart_meter_consumption')");
    expect(errors).toEqual([]);
  });

  it('draws part of the graph with --select, and refuses a selector that matches nothing', async () => {
    const child = spawnMeterflow(['docs', '--out', path.join(dir, 'part'), '--select', '+stg_tariff_unit_rates']);
    expect(await child.exited).toBe(0);
    const svg = await readFile(path.join(dir, 'part', 'lineage.svg'), 'utf8');
    expect([...svg.matchAll(/<g class="node [a-z]+" data-id="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'source:tariff_unit_rates',
      'model:stg_tariff_unit_rates',
    ]);
    // the SVG on its own links each box to its row in the page beside it
    expect(svg).toContain('<a href="lineage.html#lineage-model-stg_tariff_unit_rates">');
    const wrong = spawnMeterflow(['docs', '--out', path.join(dir, 'none'), '--select', 'no_such_model']);
    expect(await wrong.exited).toBe(1);
    expect(wrong.output()).toContain("selector 'no_such_model' matches no model");
  });

  it('draws the models a run with --vars has, where dbt_project.yml enables them by a var', async () => {
    const project = path.join(dir, 'optional');
    await mkdir(path.join(project, 'models', 'extra'), { recursive: true });
    await writeFile(
      path.join(project, 'dbt_project.yml'),
      'name: optional\nversion: "1.0"\nprofile: optional\nmodels:\n  optional:\n    extra:\n      +enabled: "{{ var(\'with_extra\', false) }}"\n',
    );
    await writeFile(path.join(project, 'models', 'base.sql'), 'select 1 as id\n');
    await writeFile(path.join(project, 'models', 'extra', 'more.sql'), "select * from {{ ref('base') }}\n");
    const drawn = async (out: string, ...vars: string[]) => {
      const child = spawnMeterflow(['docs', '--project', project, '--out', path.join(dir, out), ...vars]);
      expect({ code: await child.exited, output: child.output() }).toEqual({ code: 0, output: expect.stringContaining('lineage: ') });
      const svg = await readFile(path.join(dir, out, 'lineage.svg'), 'utf8');
      return [...svg.matchAll(/<g class="node [a-z]+" data-id="([^"]+)"/g)].map((m) => m[1]);
    };
    expect(await drawn('optional-off')).toEqual(['model:base']);
    expect(await drawn('optional-on', '--vars', '{with_extra: true}')).toEqual(['model:base', 'model:more']);
  });
});

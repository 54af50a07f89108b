// The grid of runs and the lineage graph as pure code: a run's record from its nodes, the grid's
// columns, rows, cells and links from records, and the lineage's columns, named tests and crossings.
import { defaultProjectDir } from '../../src/config';
import type { NodeProgress } from '../../src/contract/run';
import { loadProject } from '../../src/project/load';
import type { ProjectPlan } from '../../src/project/types';
import { gridRows, gridRuns, renderGridHtml, webUiLink } from '../../src/report/grid';
import { lineageGraph, lineageLayout, lineageSvg, lineageTable, nodeAnchor, readNodeSql } from '../../src/report/lineage';
import { outLocationOf } from '../../src/report/run-history';
import { parseRunRecord, runRecord, type RunRecord } from '../../src/report/run-record';

const node = (id: string, state: NodeProgress['state'], extra: Partial<NodeProgress> = {}): NodeProgress => ({
  id,
  kind: id.split(':')[0] as NodeProgress['kind'],
  name: id.split(':')[1] as string,
  dependsOn: [],
  state,
  ...extra,
});

/** A record as runRecord makes it, started `minute` minutes after 02:00 on 1 March 2024. */
function record(workflowId: string, minute: number, nodes: NodeProgress[], failure?: { node: string; reason: string }): RunRecord {
  const start = Date.parse('2024-03-01T02:00:00Z') + minute * 60_000;
  return runRecord({
    workflowId,
    runId: `run-${workflowId}`,
    namespace: 'default',
    logicalDate: new Date(start).toISOString(),
    nodes: nodes.map((n) => ({
      ...n,
      ...(n.startedAt !== undefined ? { startedAt: start + n.startedAt, finishedAt: start + (n.finishedAt ?? 0) } : {}),
    })),
    ...(failure ? { failure } : {}),
    now: new Date(start + 30_000),
  });
}

const succeededRun = (id: string, minute: number) =>
  record(id, minute, [
    node('seed:tariffs', 'succeeded', { startedAt: 0, finishedAt: 1234, rows: 40 }),
    node('model:stg_tariffs', 'succeeded', { startedAt: 1300, finishedAt: 2000, rows: 40 }),
    node('report:run', 'running', { startedAt: 2100 }),
  ]);

describe("a run's record", () => {
  it('keeps each node with its state, seconds to 0.1 s and rows, leaves the report out, and says how the run ended', () => {
    const failed = record(
      'pipeline-b',
      5,
      [
        node('seed:tariffs', 'failed', { startedAt: 0, finishedAt: 1260, error: 'not a Parquet file' }),
        node('model:stg_tariffs', 'skipped'),
        node('report:run', 'running'),
      ],
      { node: 'seed:tariffs', reason: 'source tariffs: x.parquet is not a readable Parquet file' },
    );
    expect(failed).toEqual({
      format: 1,
      workflowId: 'pipeline-b',
      runId: 'run-pipeline-b',
      namespace: 'default',
      logicalDate: '2024-03-01T02:05:00.000Z',
      startedAt: '2024-03-01T02:05:00.000Z',
      endedAt: '2024-03-01T02:05:30.000Z',
      status: 'failed',
      failure: { node: 'seed:tariffs', reason: 'source tariffs: x.parquet is not a readable Parquet file' },
      nodes: [
        { id: 'seed:tariffs', kind: 'seed', state: 'failed', seconds: 1.3 },
        { id: 'model:stg_tariffs', kind: 'model', state: 'skipped' },
      ],
    });
    expect(succeededRun('pipeline-a', 0).status).toBe('succeeded');
  });

  it('is read back as written, and anything else (not JSON, a newer format, no nodes) is not a record', () => {
    const written = succeededRun('pipeline-a', 0);
    expect(parseRunRecord(JSON.stringify(written))).toEqual(written);
    expect(parseRunRecord('{"format": 1, "workflowId": "x"')).toBeUndefined();
    expect(parseRunRecord(JSON.stringify({ ...written, format: 2 }))).toBeUndefined();
    expect(parseRunRecord(JSON.stringify({ ...written, nodes: 'none' }))).toBeUndefined();
    expect(parseRunRecord(JSON.stringify({ ...written, status: 'cancelled' }))).toBeUndefined();
  });

  it('lies in the out location of its report, local or S3; a report elsewhere has none', () => {
    expect(outLocationOf('/data/out/runs/pipeline-a/report.html', 'pipeline-a')).toBe('/data/out');
    expect(outLocationOf('s3://bucket/meterflow/runs/pipeline-a/report.html', 'pipeline-a')).toBe('s3://bucket/meterflow');
    expect(outLocationOf('/data/out/reports/pipeline-a.html', 'pipeline-a')).toBeUndefined();
  });
});

describe('the grid of runs', () => {
  it('shows the last 30 runs, oldest on the left, whatever order the records come in', () => {
    const records = Array.from({ length: 32 }, (_, i) => succeededRun(`pipeline-${String(i).padStart(2, '0')}`, i)).reverse();
    const runs = gridRuns(records);
    expect(runs.map((r) => r.workflowId)).toEqual(Array.from({ length: 30 }, (_, i) => `pipeline-${String(i + 2).padStart(2, '0')}`));
  });

  it("has a row for every node, in the newest run's order, then those only older runs had", () => {
    const older = record('pipeline-a', 0, [node('seed:old_source', 'succeeded'), node('seed:tariffs', 'succeeded')]);
    const newer = record('pipeline-b', 1, [node('seed:tariffs', 'succeeded'), node('model:stg_tariffs', 'succeeded')]);
    expect(gridRows([older, newer])).toEqual(['seed:tariffs', 'model:stg_tariffs', 'seed:old_source']);
  });

  it("colours each cell by state, links a failed cell to that run's failure, and each column to its report and Web UI page", async () => {
    const failed = record(
      'pipeline-nightly-2024-03-01T02:05:00Z',
      5,
      [node('seed:tariffs', 'failed', { startedAt: 0, finishedAt: 800 }), node('model:stg_tariffs', 'skipped')],
      { node: 'seed:tariffs', reason: 'bad file <script>alert(1)</script>' },
    );
    const selected = record('pipeline-c', 9, [node('seed:tariffs', 'unchanged', { startedAt: 0, finishedAt: 300, rows: 40 })]);
    const html = await renderGridHtml([selected, failed, succeededRun('pipeline-a', 0)], {
      webUiUrl: 'http://temporal.example:8080/',
      now: new Date('2024-03-01T03:00:00Z'),
    });
    expect([...html.matchAll(/<th class="run [a-z]+" data-run="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'pipeline-a',
      'pipeline-nightly-2024-03-01T02:05:00Z',
      'pipeline-c',
    ]);
    const row = (id: string) => html.match(new RegExp(`<tr data-node="${id}">([^]*?)</tr>`))?.[1] ?? '';
    expect([...row('seed:tariffs').matchAll(/data-state="([a-z]+)"/g)].map((m) => m[1])).toEqual(['succeeded', 'failed', 'unchanged']);
    // the model was not in the third run: a cell that says so, not a state
    expect(row('model:stg_tariffs')).toContain('class="cell absent"');
    expect(row('seed:tariffs')).toContain(
      '<td class="cell failed" data-state="failed" title="seed:tariffs · failed · 0.8 s\nrun pipeline-nightly-2024-03-01T02:05:00Z, started 03-01 02:05 UTC\nbad file &lt;script&gt;alert(1)&lt;/script&gt;"><a href="runs/pipeline-nightly-2024-03-01T02-05-00Z/report.html#failure"',
    );
    expect(row('seed:tariffs')).toContain('title="seed:tariffs · succeeded · 1.2 s · 40 rows');
    expect(html).toContain('href="runs/pipeline-a/report.html"');
    expect(html).toContain('href="http://temporal.example:8080/namespaces/default/workflows/pipeline-c/run-pipeline-c"');
    expect(html).not.toContain('<script');
    // the small charts of rows and seconds are drawn as SVG, with the latest value beside them
    expect(row('seed:tariffs')).toMatch(/data-measure="rows"[^>]*><svg[^]*<span class="latest">40<\/span>/);
    expect(row('seed:tariffs')).toMatch(/data-measure="seconds"[^>]*><svg[^]*<span class="latest">0\.3 s<\/span>/);
  });

  it('names the Web UI page of a run by namespace, workflow and run', () => {
    expect(webUiLink('http://127.0.0.1:8233', succeededRun('pipeline-a', 0))).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/pipeline-a/run-pipeline-a',
    );
  });
});

/** How many pairs of edges cross, each edge taken as the straight segments between its points. */
function crossings(edges: readonly { points: { x: number; y: number }[] }[]): number {
  type P = { x: number; y: number };
  const segments = edges.flatMap((e) => e.points.slice(1).map((p, i) => [e.points[i] as P, p] as const));
  const same = (a: P, b: P) => Math.abs(a.x - b.x) < 0.01 && Math.abs(a.y - b.y) < 0.01;
  const side = (a: P, b: P, c: P) => Math.sign((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x));
  let count = 0;
  for (let i = 0; i < segments.length; i++) {
    for (let j = i + 1; j < segments.length; j++) {
      const [a, b] = segments[i] as readonly [P, P];
      const [c, d] = segments[j] as readonly [P, P];
      if (same(a, c) || same(a, d) || same(b, c) || same(b, d)) continue;
      if (side(a, b, c) * side(a, b, d) < 0 && side(c, d, a) * side(c, d, b) < 0) count++;
    }
  }
  return count;
}

describe('the lineage graph', () => {
  let plan: ProjectPlan;
  let graph: Awaited<ReturnType<typeof loadProject>>['selection'];
  beforeAll(async () => {
    ({ plan, selection: graph } = await loadProject(defaultProjectDir()));
  });

  it('stands sources, built models and read-only models in columns left to right, with no edges crossing', () => {
    const layout = lineageLayout(plan);
    const span = (kind: string) => {
      const members = layout.nodes.filter((n) => n.kind === kind);
      return { left: Math.min(...members.map((n) => n.x)), right: Math.max(...members.map((n) => n.x + n.width)) };
    };
    expect(span('source').right).toBeLessThan(span('writer').left);
    expect(span('writer').right).toBeLessThan(span('analytics').left);
    expect(span('build').right).toBeLessThan(span('analytics').left);
    expect(layout.columns.map((c) => c.title)).toEqual(['sources', 'built', 'read-only']);
    // the singular test over the staged readings stands right after them; the master after the
    // tables of meters' segments and layouts it reads (each after the one before)
    const column = (id: string) => layout.nodes.find((n) => n.id === id)?.column;
    expect(column('test:assert_overlapping_readings_agree')).toBe(2);
    expect(column('model:meter_segment_layouts')).toBe(2);
    expect(column('model:layout_half_hour_coefficients')).toBe(3);
    expect(column('model:meter_segment_estimates')).toBe(4);
    expect(column('model:demand_price_elasticity')).toBe(5);
    // no edge into a source or built model crosses another; among the analytics' edges, dagre's order
    // of the deeper graph leaves a few crossings (four, around deviation_by_* and meter_anomalies)
    const kindOf = (id: string) => layout.nodes.find((n) => n.id === id)?.kind;
    expect(crossings(layout.edges.filter((e) => kindOf(e.to) !== 'analytics'))).toBe(0);
    expect(crossings(layout.edges)).toBeLessThanOrEqual(4);
    // the quarters, read by the same two nodes, stand in their own order
    const quarters = layout.nodes.filter((n) => /_q\d$/.test(n.id)).sort((a, b) => a.y - b.y);
    expect(quarters.map((n) => n.label)).toEqual([1, 2, 3, 4].map((q) => `smart_meter_consumption_q${q}`));
  });

  it('names every test on its node, has a legend, and links every node to its row of description, tests and SQL', async () => {
    const svg = lineageSvg(plan);
    for (const test of [...plan.models.flatMap((m) => m.tests), ...plan.sources.flatMap((s) => s.tests)]) {
      expect({ test: test.id, named: new RegExp(`data-tests="[^"]*\\b${test.id}\\b`).test(svg) }).toEqual({ test: test.id, named: true });
    }
    expect(svg).not.toMatch(/\d+ tests</);
    expect(svg).toContain('<g class="legend">');
    const table = lineageTable(plan, { sql: await readNodeSql(defaultProjectDir(), plan) });
    for (const graphNode of lineageGraph(plan).nodes) {
      expect(svg).toContain(`<a href="#${nodeAnchor(graphNode)}"><g class="node ${graphNode.kind}" data-id="${graphNode.id}"`);
      expect(table).toContain(`<tr id="${nodeAnchor(graphNode)}"`);
    }
    expect(table).toContain('SQL: <code>master/demand_price_elasticity.sql</code>');
    expect(table).toContain("select * from {{ ref('stg_smart_meter_consumption') }}");
  });

  it('draws part of the graph for a selection: the models selected and the sources they read', () => {
    const { nodes } = lineageGraph(plan, { graph, select: ['+stg_tariff_unit_rates'] });
    expect(nodes.map((n) => n.id)).toEqual(['source:tariff_unit_rates', 'model:stg_tariff_unit_rates']);
    const downstream = lineageGraph(plan, { graph, select: ['demand_price_elasticity+'], exclude: ['meter_anomalies'] }).nodes.map(
      (n) => n.id,
    );
    expect(downstream).toContain('model:actual_vs_estimated_daily');
    expect(downstream).not.toContain('model:meter_anomalies');
    expect(downstream.filter((id) => id.startsWith('source:'))).toEqual([]);
  });

  it("colours nodes by a run's states and marks each test line by its outcome", () => {
    const svg = lineageSvg(plan, {
      states: new Map([
        ['seed:tariff_unit_rates', 'succeeded'],
        ['model:demand_price_elasticity', 'failed'],
      ]),
      outcomes: new Map([
        ['not_null_demand_price_elasticity_meter_point_id', 'fail'],
        ['all_finite_demand_price_elasticity', 'pass'],
      ]),
    });
    expect(svg).toContain('data-id="source:tariff_unit_rates" data-state="succeeded"');
    expect(svg).toContain('data-id="model:demand_price_elasticity" data-state="failed"');
    expect(svg).toMatch(/data-tests="all_finite_demand_price_elasticity" data-outcome="pass"/);
    expect(svg).toMatch(/data-tests="not_null_demand_price_elasticity_meter_point_id[^"]*" data-outcome="fail"/);
  });
});

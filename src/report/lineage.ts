// The lineage graph: sources -> models built by the writer -> models built by month -> read-only
// models in columns left to right (as far as the DAG allows), each model a
// card naming its tests, laid out by dagre and drawn as SVG with a legend; coloured by each node's
// state (and each test's outcome) when a run's are given. `meterflow docs` and the run report draw it.
import dagre from '@dagrejs/dagre';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { selectModels, type SelectionGraph } from '../project/select';
import { runsOnOf, type DataTest, type ProjectPlan } from '../project/types';
import { escapeHtml } from './html';

export type LineageState = 'pending' | 'running' | 'succeeded' | 'unchanged' | 'failed' | 'skipped';
export type LineageKind = 'source' | 'writer' | 'build' | 'analytics' | 'test';
export type TestOutcome = 'pass' | 'warn' | 'fail';

/**
 * The bands of columns, left to right: a model stands after what it reads, within its band (built
 * models, by the writer or by month, share one: either may read the other); a singular test stands
 * in the column after what it reads.
 */
export const LINEAGE_LAYERS: readonly { kinds: readonly Exclude<LineageKind, 'test'>[]; title: string }[] = [
  { kinds: ['source'], title: 'sources' },
  { kinds: ['writer', 'build'], title: 'built' },
  { kinds: ['analytics'], title: 'read-only' },
];

const FILL: Record<LineageState | 'none', string> = {
  none: '#ffffff',
  pending: '#f4f4f4',
  running: '#fff3c4',
  succeeded: '#d6f5d6',
  unchanged: '#e6e9ee',
  failed: '#f9d0d0',
  // NOTE: hatched, as in the grid of runs: a pale fill alone looked like no state at all
  skipped: 'url(#lineage-skipped)',
};
const STROKE: Record<LineageKind, string> = {
  source: '#6b7c93',
  writer: '#3b7dd8',
  build: '#8e44ad',
  analytics: '#e67e22',
  test: '#7f8c8d',
};
const OUTCOME: Record<TestOutcome | 'none', { glyph: string; colour: string }> = {
  none: { glyph: '·', colour: '#5f6b7a' },
  pass: { glyph: '✓', colour: '#1e8449' },
  warn: { glyph: '!', colour: '#b9770e' },
  fail: { glyph: '✗', colour: '#c0392b' },
};

/** One line of a card's tests: tests of one kind, with what they check. */
export interface LineageTestLine {
  readonly text: string;
  /** The ids (dbt style, shown on hover) of the tests of the line's group. */
  readonly ids: readonly string[];
  /** A line that goes on with the one above: the same group of tests. */
  readonly continued?: boolean;
}

export interface LineageNode {
  /** `source:x`, `model:x` or `test:x` (a singular test). */
  readonly id: string;
  readonly label: string;
  readonly kind: LineageKind;
  readonly description?: string;
  /** `view`, `table` or `incremental` for a model; the file for a singular test. */
  readonly detail?: string;
  readonly columns: readonly string[];
  /** The node's tests, by name: a model's data tests, a source's column tests (checked as files are seeded). */
  readonly tests: readonly DataTest[];
  /** The SQL file, relative to the project folder. */
  readonly file?: string;
}

export interface LineageOptions {
  /** dbt-style selectors (`demand_price_elasticity+`, `path:staging`): draw those models, their sources and the tests within. */
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** The project's selection graph, which `select` and `exclude` are read against (LoadedProject.selection). */
  readonly graph?: SelectionGraph;
}

/** The graph's nodes and edges, from the project: sources, models (each with its tests) and singular tests. */
export function lineageGraph(plan: ProjectPlan, options: LineageOptions = {}): { nodes: LineageNode[]; edges: [string, string][] } {
  const selecting = Boolean(options.select?.length || options.exclude?.length);
  if (selecting && !options.graph) throw new Error("lineageGraph: a selection needs the project's selection graph");
  // (the whole project unless asked: a project's default YAML selector chooses what runs build, not what is drawn)
  const selected = new Set(selecting && options.graph ? selectModels(options.graph, options) : plan.models.map((m) => m.name));
  const models = plan.models.filter((m) => selected.has(m.name));
  const sourcesRead = new Set(models.flatMap((m) => m.sources));
  const sources = plan.sources.filter((s) => (selecting ? sourcesRead.has(s.name) : true));
  const drawnSources = new Set(sources.map((s) => s.name));
  // (a source's test run after its model is on the source's card)
  const singularTests = plan.singularTests.filter(
    (t) => !t.of && t.sources.every((s) => drawnSources.has(s)) && t.refs.every((r) => selected.has(r)),
  );
  const nodes: LineageNode[] = [];
  const edges: [string, string][] = [];
  for (const source of sources) {
    nodes.push({
      id: `source:${source.name}`,
      label: source.name,
      kind: 'source',
      ...(source.description ? { description: source.description } : {}),
      detail: source.seed ? `dbt seed (${source.seed.file})` : `${source.sourceName} source`,
      columns: source.columns.map((c) => c.name),
      tests: source.tests,
    });
  }
  for (const model of models) {
    nodes.push({
      id: `model:${model.name}`,
      label: model.name,
      kind: runsOnOf(model),
      ...(model.description ? { description: model.description } : {}),
      detail: model.materialized,
      columns: model.columns.map((c) => c.name),
      tests: model.tests,
      file: model.file,
    });
    for (const source of model.sources) edges.push([`source:${source}`, `model:${model.name}`]);
    for (const ref of model.refs) if (selected.has(ref)) edges.push([`model:${ref}`, `model:${model.name}`]);
  }
  for (const test of singularTests) {
    nodes.push({
      id: `test:${test.name}`,
      label: test.name,
      kind: 'test',
      description: `Singular test: its rows are failures (severity ${test.severity}).`,
      detail: `singular test`,
      columns: [],
      tests: [],
      file: test.file,
    });
    for (const source of test.sources) edges.push([`source:${source}`, `test:${test.name}`]);
    for (const ref of test.refs) edges.push([`model:${ref}`, `test:${test.name}`]);
  }
  return { nodes, edges };
}

/** What a test checks, briefly: `unique(a, b)`, `accepted_range(x ≥ 0)`, `expression_is_true(x > 0)`. */
function testArgument(test: DataTest): string {
  const args = test.args;
  const range = () =>
    [args.min_value !== undefined ? `≥ ${String(args.min_value)}` : '', args.max_value !== undefined ? `≤ ${String(args.max_value)}` : '']
      .filter(Boolean)
      .join(' ');
  switch (test.kind) {
    case 'unique_combination_of_columns':
      return Array.isArray(args.combination_of_columns) ? `(${args.combination_of_columns.join(', ')})` : '';
    case 'expression_is_true':
      return String(args.expression ?? '');
    case 'row_count_between':
      return `rows ${range()}`;
    case 'accepted_range':
      return `${test.column ?? ''} ${range()}`;
    case 'on_time_grid':
      return `${test.column ?? ''}, ${String(args.interval_minutes ?? 30)} min`;
    default:
      return test.column ?? '';
  }
}

/** A card's test lines: tests of one kind and severity together (`not_null: a, b, c`), wrapped at `width` characters. */
export function testLines(tests: readonly DataTest[], width: number): LineageTestLine[] {
  const groups = new Map<string, DataTest[]>();
  for (const test of tests) {
    const name = test.kind === 'unique_combination_of_columns' ? 'unique' : test.kind;
    const key = `${name}${test.severity === 'warn' ? ' (warn)' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), test]);
  }
  const lines: LineageTestLine[] = [];
  const fit = (text: string) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);
  for (const [name, group] of groups) {
    // every line of a group carries the group's tests: the first shows their worst outcome
    const ids = group.map((t) => t.id);
    let text = name;
    let continued = false;
    let separator = ': ';
    for (const test of group) {
      // an argument breaks at its spaces: `unique: (a, b,` then `c)`
      const words = testArgument(test)
        .split(' ')
        .filter((w) => w.length > 0);
      words.forEach((word, index) => {
        const joint = index === 0 ? separator : ' ';
        // one character kept for the comma that ends a line broken between tests
        if (text.length + joint.length + word.length + 1 > width) {
          const ending = text === name ? ':' : index === 0 ? ',' : '';
          lines.push({ text: fit(`${text}${ending}`), ids, ...(continued ? { continued } : {}) });
          text = `  ${word}`;
          continued = true;
        } else {
          text += `${joint}${word}`;
        }
      });
      if (words.length > 0) separator = ', ';
    }
    lines.push({ text: fit(text), ids, ...(continued ? { continued } : {}) });
  }
  return lines;
}

const LABEL_CHAR = 6.6; // 11px monospace
const TEST_CHAR = 5.7; // 9.5px monospace
const PAD = 8;
const TEST_WIDTH = 40; // characters of a test line
const LABEL_WIDTH = 34; // characters of a name before it wraps (at an underscore)

/** A long name on two lines, broken after an underscore near its middle. */
function labelLines(label: string): string[] {
  if (label.length <= LABEL_WIDTH) return [label];
  const breaks = [...label.matchAll(/_/g)]
    .map((m) => (m.index ?? 0) + 1)
    .filter((i) => i <= LABEL_WIDTH && label.length - i <= LABEL_WIDTH);
  if (breaks.length === 0) return [label];
  const at = breaks.reduce((best, i) => (Math.abs(i - label.length / 2) < Math.abs(best - label.length / 2) ? i : best));
  return [label.slice(0, at), label.slice(at)];
}

export interface PlacedNode extends LineageNode {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** The column, 0 for sources. */
  readonly column: number;
  readonly labelLines: readonly string[];
  readonly testLines: readonly LineageTestLine[];
}

export interface LineageLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly PlacedNode[];
  /** Each edge as points from the right side of its start to the left side of its end. */
  readonly edges: readonly { from: string; to: string; points: { x: number; y: number }[]; junction?: boolean }[];
  /** Each column's title and centre. */
  readonly columns: readonly { title: string; x: number }[];
}

const LEGEND_HEIGHT = 44;
const HEADER_HEIGHT = 22;

/**
 * Nodes of a column that read and feed the same nodes and are the same height could stand in any
 * order; dagre's may be reversed (q4 above q1): give them their places in the project's order.
 */
function inPlanOrder(nodes: { id: string; y: number; height: number; column: number }[], edges: readonly [string, string][]): void {
  const neighbours = (id: string) =>
    edges
      .filter(([from, to]) => from === id || to === id)
      .map(([from, to]) => (from === id ? `>${to}` : `<${from}`))
      .sort()
      .join(' ');
  const groups = new Map<string, typeof nodes>();
  for (const node of nodes) {
    const key = `${node.column}|${node.height}|${neighbours(node.id)}`;
    groups.set(key, [...(groups.get(key) ?? []), node]);
  }
  for (const group of groups.values()) {
    const slots = group.map((n) => n.y).sort((a, b) => a - b);
    group.forEach((node, index) => (node.y = slots[index] as number));
  }
}

type DrawnEdge = LineageLayout['edges'][number];

/**
 * Nodes that all feed the same two or more nodes of the next column (the four quarters of readings,
 * read by the readings model and by the test of their overlaps) have their edges meet at one junction
 * between the columns and part there: the same lineage, without the crossings of drawing every pair.
 */
function bundled(edges: readonly DrawnEdge[]): DrawnEdge[] {
  const direct = edges.filter((e) => e.points.length === 2);
  const targets = new Map<string, DrawnEdge[]>();
  for (const edge of direct) targets.set(edge.from, [...(targets.get(edge.from) ?? []), edge]);
  const bundles = new Map<string, DrawnEdge[]>();
  for (const [, out] of targets) {
    if (out.length < 2 || out.length !== edges.filter((e) => e.from === out[0]?.from).length) continue;
    const key = out
      .map((e) => e.to)
      .sort()
      .join(' ');
    bundles.set(key, [...(bundles.get(key) ?? []), ...out]);
  }
  const rerouted = new Map<DrawnEdge, DrawnEdge>();
  for (const members of bundles.values()) {
    if (new Set(members.map((e) => e.from)).size < 2) continue;
    const starts = members.map((e) => e.points[0] as { x: number; y: number });
    const ends = members.map((e) => e.points[1] as { x: number; y: number });
    const left = Math.max(...starts.map((p) => p.x));
    const right = Math.min(...ends.map((p) => p.x));
    if (right <= left) continue;
    const ys = [...starts, ...ends].map((p) => p.y);
    const junction = { x: (left + right) / 2, y: ys.reduce((a, b) => a + b, 0) / ys.length };
    for (const edge of members)
      rerouted.set(edge, {
        ...edge,
        points: [edge.points[0] as { x: number; y: number }, junction, edge.points[1] as { x: number; y: number }],
        junction: true,
      });
  }
  return edges.map((e) => rerouted.get(e) ?? e);
}

/**
 * The graph laid out left to right. Every node stands after what it reads, and each band (sources,
 * built models, read-only models) right of the bands before it; dagre orders each column to cross as
 * few edges as it can.
 */
export function lineageLayout(plan: ProjectPlan, options: LineageOptions = {}): LineageLayout {
  const { nodes, edges } = lineageGraph(plan, options);
  const inputs = new Map<string, string[]>();
  for (const [from, to] of edges) inputs.set(to, [...(inputs.get(to) ?? []), from]);
  const column = new Map<string, number>();
  let floor = 0;
  for (const kinds of [...LINEAGE_LAYERS.map((l) => l.kinds), ['test'] as const]) {
    const members = nodes.filter((n) => (kinds as readonly LineageKind[]).includes(n.kind));
    // nodes come in dependency order (sources, then models topologically, then singular tests)
    for (const node of members) {
      const after = Math.max(-1, ...(inputs.get(node.id) ?? []).map((id) => column.get(id) ?? 0)) + 1;
      column.set(node.id, node.kind === 'test' ? after : Math.max(floor, after));
    }
    if (kinds[0] !== 'test') floor = Math.max(floor, ...members.map((n) => (column.get(n.id) ?? 0) + 1));
  }
  const sized = nodes.map((node) => {
    const label = labelLines(node.label);
    const tests = testLines(node.tests, TEST_WIDTH);
    const width = Math.ceil(
      Math.max(
        ...label.map((l) => l.length * LABEL_CHAR),
        (node.detail?.length ?? 0) * TEST_CHAR * 0.9,
        ...tests.map((t) => (t.text.length + 3) * TEST_CHAR),
        120,
      ) +
        2 * PAD,
    );
    const height = 8 + label.length * 14 + 12 + tests.length * 12 + 6;
    return { node, label, tests, width, height };
  });
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 12, ranksep: 56, marginx: 6, marginy: 6 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const { node, width, height } of sized) graph.setNode(node.id, { width, height });
  // NOTE: an edge's minimum length is the distance between its ends' columns, which pins every node
  // to its layer's column (dagre's ranker would otherwise pull a source next to a far reader)
  for (const [from, to] of edges) graph.setEdge(from, to, { minlen: Math.max(1, (column.get(to) ?? 1) - (column.get(from) ?? 0)) });
  dagre.layout(graph);
  const top = LEGEND_HEIGHT + HEADER_HEIGHT;
  // cards of a column share their left edge (dagre centres them)
  const left = new Map<number, number>();
  for (const { node, width } of sized) {
    const centre = Math.round(graph.node(node.id).x);
    left.set(centre, Math.min(left.get(centre) ?? Infinity, centre - width / 2));
  }
  const placed: { -readonly [K in keyof PlacedNode]: PlacedNode[K] }[] = sized.map(({ node, label, tests, width, height }) => {
    const box = graph.node(node.id);
    return {
      ...node,
      x: left.get(Math.round(box.x)) ?? box.x - width / 2,
      y: box.y - height / 2 + top,
      width,
      height,
      column: column.get(node.id) ?? 0,
      labelLines: label,
      testLines: tests,
    };
  });
  inPlanOrder(placed, edges);
  const byId = new Map(placed.map((n) => [n.id, n]));
  // dagre's points run at every half rank; those at a column's centre are where a long edge passes a column
  const centres = [...new Set(placed.map((n) => Math.round(graph.node(n.id).x)))];
  const drawnEdges = graph.edges().map((edge) => {
    const from = byId.get(edge.v) as PlacedNode;
    const to = byId.get(edge.w) as PlacedNode;
    const through = (graph.edge(edge).points ?? [])
      .slice(1, -1)
      .filter((p: { x: number }) => p.x > from.x + from.width && p.x < to.x && centres.some((c) => Math.abs(c - p.x) < 1))
      .map((p: { x: number; y: number }) => ({ x: p.x, y: p.y + top }));
    return {
      from: edge.v,
      to: edge.w,
      points: [{ x: from.x + from.width, y: from.y + from.height / 2 }, ...through, { x: to.x, y: to.y + to.height / 2 }],
    };
  });
  const columns = LINEAGE_LAYERS.flatMap(({ kinds, title }) => {
    const members = placed.filter((n) => (kinds as readonly LineageKind[]).includes(n.kind));
    if (members.length === 0) return [];
    const left = Math.min(...members.map((n) => n.x));
    const right = Math.max(...members.map((n) => n.x + n.width));
    return [{ title, x: (left + right) / 2 }];
  });
  const { width = 0, height = 0 } = graph.graph();
  return { width: Math.max(width, 640), height: height + top, nodes: placed, edges: bundled(drawnEdges), columns };
}

/** A smooth path through the points, leaving and entering each horizontally. */
function curve(points: readonly { x: number; y: number }[]): string {
  const [first, ...rest] = points;
  if (!first) return '';
  let d = `M${first.x.toFixed(1)},${first.y.toFixed(1)}`;
  let previous = first;
  for (const point of rest) {
    const dx = (point.x - previous.x) / 2;
    d += ` C${(previous.x + dx).toFixed(1)},${previous.y.toFixed(1)} ${(point.x - dx).toFixed(1)},${point.y.toFixed(1)} ${point.x.toFixed(1)},${point.y.toFixed(1)}`;
    previous = point;
  }
  return d;
}

export interface LineageDrawing extends LineageOptions {
  /** A run's states by node id (`seed:x` for a source, `model:x`, `test:x`): cards filled by them. */
  readonly states?: ReadonlyMap<string, LineageState>;
  /** A run's test outcomes by test id: each test line marked pass, warn or fail. */
  readonly outcomes?: ReadonlyMap<string, TestOutcome>;
  /** Where a card links to: by default `#lineage-<kind>-<name>`, the node's row in the page's table. */
  readonly href?: (node: LineageNode) => string;
}

/** A node's anchor in the table of nodes below the graph. */
export const nodeAnchor = (node: Pick<LineageNode, 'id'>) => `lineage-${node.id.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** The state a run gave a node: sources are seeded (`seed:x`), analytics models run as `analytics:x` but are keyed `model:x`. */
const stateOf = (node: LineageNode, states: ReadonlyMap<string, LineageState>) => states.get(node.id.replace(/^source:/, 'seed:'));

function legend(withStates: boolean): string {
  const swatch = (x: number, y: number, stroke: string, fill: string, label: string) =>
    `<rect x="${x}" y="${y}" width="14" height="11" rx="2" fill="${fill}" stroke="${stroke}" stroke-width="1.5"/><text x="${x + 19}" y="${y + 9.5}" font-size="10.5" font-family="sans-serif" fill="#333">${escapeHtml(label)}</text>`;
  const parts: string[] = [
    `<text x="6" y="15" font-size="10.5" font-family="sans-serif" font-weight="600" fill="#333">border: runs on</text>`,
  ];
  let x = 96;
  for (const [kind, label] of [
    ['source', 'source (Parquet files)'],
    ['writer', 'built by the writer'],
    ['build', 'built by month'],
    ['analytics', 'read-only model'],
    ['test', 'singular test'],
  ] as const) {
    parts.push(swatch(x, 6, STROKE[kind], '#fff', label));
    x += 26 + label.length * 5.9;
  }
  parts.push(
    `<text x="${x + 8}" y="15" font-size="10.5" font-family="monospace" fill="#5f6b7a">not_null: a, b</text><text x="${x + 100}" y="15" font-size="10.5" font-family="sans-serif" fill="#333">the tests on a node, by kind</text>`,
  );
  if (withStates) {
    parts.push(`<text x="6" y="35" font-size="10.5" font-family="sans-serif" font-weight="600" fill="#333">fill: this run</text>`);
    x = 96;
    for (const state of ['succeeded', 'unchanged', 'failed', 'skipped'] as const) {
      parts.push(swatch(x, 26, '#98a2b3', FILL[state], state));
      x += 26 + state.length * 5.9;
    }
    for (const outcome of ['pass', 'warn', 'fail'] as const) {
      parts.push(
        `<text x="${x + 6}" y="35" font-size="11" font-family="monospace" fill="${OUTCOME[outcome].colour}">${OUTCOME[outcome].glyph}</text><text x="${x + 16}" y="35" font-size="10.5" font-family="sans-serif" fill="#333">test ${outcome === 'pass' ? 'passed' : outcome === 'warn' ? 'warned' : 'failed'}</text>`,
      );
      x += 90;
    }
  }
  return `<g class="legend">${parts.join('')}</g>`;
}

/** The graph as an SVG document. */
export function lineageSvg(plan: ProjectPlan, drawing: LineageDrawing = {}): string {
  const layout = lineageLayout(plan, drawing);
  const states = drawing.states;
  const href = drawing.href ?? ((node: LineageNode) => `#${nodeAnchor(node)}`);
  const parts: string[] = [legend(states !== undefined)];
  for (const column of layout.columns) {
    parts.push(
      `<text class="column-title" x="${column.x.toFixed(1)}" y="${LEGEND_HEIGHT + 12}" text-anchor="middle" font-family="sans-serif" font-size="12" font-weight="600" fill="#555">${escapeHtml(column.title)}</text>`,
    );
  }
  const junctions = new Set<string>();
  for (const edge of layout.edges) {
    parts.push(
      `<path class="edge" data-from="${escapeHtml(edge.from)}" data-to="${escapeHtml(edge.to)}" d="${curve(edge.points)}" fill="none" stroke="#98a2b3" stroke-width="1.2" marker-end="url(#arrow)"/>`,
    );
    const junction = edge.junction ? edge.points[1] : undefined;
    if (junction) junctions.add(`${junction.x.toFixed(1)},${junction.y.toFixed(1)}`);
  }
  for (const junction of junctions) {
    const [x, y] = junction.split(',');
    parts.push(`<circle class="junction" cx="${x}" cy="${y}" r="3" fill="#98a2b3"/>`);
  }
  for (const node of layout.nodes) {
    const state = states ? stateOf(node, states) : undefined;
    const title = `${node.kind} ${node.label}${state ? ` (${state})` : ''}${node.description ? `: ${node.description}` : ''}${node.columns.length ? `\ncolumns: ${node.columns.join(', ')}` : ''}`;
    const lines: string[] = [];
    let y = node.y + 8;
    for (const line of node.labelLines) {
      y += 12;
      lines.push(
        `<text x="${(node.x + PAD).toFixed(1)}" y="${y.toFixed(1)}" font-family="monospace" font-size="11" font-weight="600" fill="#1d2733">${escapeHtml(line)}</text>`,
      );
      y += 2;
    }
    y += 11;
    lines.push(
      `<text x="${(node.x + PAD).toFixed(1)}" y="${y.toFixed(1)}" font-family="sans-serif" font-size="9.5" fill="#7a8594">${escapeHtml(node.detail ?? '')}</text>`,
    );
    for (const test of node.testLines) {
      y += 12;
      const outcomes = drawing.outcomes
        ? test.ids.map((id) => drawing.outcomes?.get(id)).filter((o): o is TestOutcome => o !== undefined)
        : [];
      const outcome: TestOutcome | 'none' = outcomes.includes('fail')
        ? 'fail'
        : outcomes.includes('warn')
          ? 'warn'
          : outcomes.length > 0
            ? 'pass'
            : 'none';
      const mark = OUTCOME[outcome];
      const glyph = test.continued ? ' ' : mark.glyph;
      lines.push(
        `<g class="test" data-tests="${escapeHtml(test.ids.join(' '))}"${outcome !== 'none' ? ` data-outcome="${outcome}"` : ''}><title>${escapeHtml(test.ids.join('\n'))}</title>` +
          `<text x="${(node.x + PAD).toFixed(1)}" y="${y.toFixed(1)}" font-family="monospace" font-size="9.5" fill="${mark.colour}" xml:space="preserve">${glyph} ${escapeHtml(test.text)}</text></g>`,
      );
    }
    parts.push(
      `<a href="${escapeHtml(href(node))}"><g class="node ${node.kind}" data-id="${escapeHtml(node.id)}"${state ? ` data-state="${state}"` : ''}><title>${escapeHtml(title)}</title>` +
        `<rect x="${node.x.toFixed(1)}" y="${node.y.toFixed(1)}" width="${node.width}" height="${node.height}" rx="6" fill="${FILL[state ?? 'none']}" stroke="${STROKE[node.kind]}" stroke-width="1.6"${node.kind === 'test' ? ' stroke-dasharray="4 3"' : ''}/>` +
        `${lines.join('')}</g></a>`,
    );
  }
  const width = Math.ceil(layout.width);
  const height = Math.ceil(layout.height);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" class="lineage">` +
    `<defs><pattern id="lineage-skipped" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f3f6"/><rect width="2.5" height="6" fill="#d5dae1"/></pattern><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#98a2b3"/></marker></defs>` +
    parts.join('') +
    `</svg>`
  );
}

/** Each model's and singular test's SQL as written, by node id (`model:x`, `test:x`), read from the project folder. */
export async function readNodeSql(projectDir: string, plan: ProjectPlan): Promise<Map<string, string>> {
  const files: [string, string][] = [
    ...plan.models.map((m) => [`model:${m.name}`, m.file] as [string, string]),
    // (a source's test run after its model has no SQL file)
    ...plan.singularTests.filter((t) => !t.of).map((t) => [`test:${t.name}`, t.file] as [string, string]),
  ];
  const sql = new Map<string, string>();
  for (const [id, file] of files) {
    const text = await readFile(path.join(projectDir, file), 'utf8').catch(() => undefined);
    if (text !== undefined) sql.set(id, text);
  }
  return sql;
}

export const LINEAGE_STYLE = `
table.nodes{border-collapse:collapse;font-size:12px;width:100%;table-layout:fixed}table.nodes td,table.nodes th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}table.nodes th:nth-child(1){width:70px}table.nodes th:nth-child(2){width:24%}table.nodes th:nth-child(4){width:34%}
table.nodes code{font-size:11.5px}table.nodes tr:target{background:#fff8d6;outline:2px solid #e0b000}
table.nodes pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:11px;background:#f7f7f7;padding:8px;margin:4px 0;max-height:480px;overflow:auto}
table.nodes ul{margin:0;padding-left:16px}svg.lineage a:hover rect{stroke-width:3}
`;

/** The nodes as a table, each row the target of its card's link: description, columns, tests and SQL. */
export function lineageTable(plan: ProjectPlan, options: LineageOptions & { readonly sql?: ReadonlyMap<string, string> } = {}): string {
  const { nodes } = lineageGraph(plan, options);
  const rows = nodes.map((node) => {
    const sql = options.sql?.get(node.id);
    const tests = node.tests.length
      ? `<ul>${node.tests.map((t) => `<li><code>${escapeHtml(t.id)}</code>${t.severity === 'warn' ? ' (warn)' : ''}</li>`).join('')}</ul>`
      : '';
    return `<tr id="${nodeAnchor(node)}" data-node="${escapeHtml(node.id)}"><td>${escapeHtml(node.kind)}</td><td><code>${escapeHtml(node.label)}</code><br><span class="muted">${escapeHtml(node.detail ?? '')}</span></td><td>${escapeHtml(node.description ?? '')}${
      node.columns.length ? `<p class="muted">columns: ${node.columns.map((c) => `<code>${escapeHtml(c)}</code>`).join(', ')}</p>` : ''
    }${sql ? `<details><summary>SQL: <code>${escapeHtml(node.file ?? '')}</code></summary><pre>${escapeHtml(sql)}</pre></details>` : ''}</td><td>${tests}</td></tr>`;
  });
  return `<table class="nodes"><thead><tr><th>kind</th><th>name</th><th>description, columns and SQL</th><th>tests</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** A standalone HTML page of the lineage graph with every node's description, columns, tests and SQL (`meterflow docs`). */
export function lineageHtml(plan: ProjectPlan, options: LineageOptions & { readonly sql?: ReadonlyMap<string, string> } = {}): string {
  const selection = options.select?.length || options.exclude?.length;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(plan.projectName)}: lineage</title><style>body{font-family:system-ui,sans-serif;margin:20px;color:#222}.muted{color:#777}svg.lineage{max-width:100%;height:auto}${LINEAGE_STYLE}</style></head><body>
<h1>${escapeHtml(plan.projectName)}: lineage</h1>
<p class="muted">Sources on the left, then staging, the master table and the analytics; each box names its tests. ${
    selection
      ? `Only part of the project: --select ${escapeHtml((options.select ?? []).join(' ') || '(all)')}${options.exclude?.length ? ` --exclude ${escapeHtml(options.exclude.join(' '))}` : ''}.`
      : 'The whole project.'
  } Click a box for its description, columns, tests and SQL.</p>
${lineageSvg(plan, options)}
<h2>Nodes</h2>
${lineageTable(plan, options)}
</body></html>`;
}

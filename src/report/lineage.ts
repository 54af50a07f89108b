// The lineage graph: sources -> staging -> master -> analytics, with tests attached, laid out by dagre
// and drawn as SVG; coloured by each node's state when a run's states are given.
import dagre from '@dagrejs/dagre';
import type { ProjectPlan } from '../project/types';

export type LineageState = 'pending' | 'running' | 'succeeded' | 'unchanged' | 'failed' | 'skipped';

const FILL: Record<LineageState | 'none', string> = {
  none: '#ffffff',
  pending: '#f4f4f4',
  running: '#fff3c4',
  succeeded: '#d6f5d6',
  unchanged: '#e6e9ee',
  failed: '#f9d0d0',
  skipped: '#fafafa',
};
const STROKE: Record<string, string> = { source: '#6b7c93', staging: '#3b7dd8', master: '#8e44ad', analytics: '#e67e22', test: '#7f8c8d' };

export interface LineageNode {
  readonly id: string;
  readonly label: string;
  readonly kind: 'source' | 'staging' | 'master' | 'analytics' | 'test';
  readonly description?: string;
  readonly columns: readonly string[];
}

/** The graph's nodes and edges, from the project: one node per source, model and tested model's tests. */
export function lineageGraph(plan: ProjectPlan): { nodes: LineageNode[]; edges: [string, string][] } {
  const nodes: LineageNode[] = [];
  const edges: [string, string][] = [];
  for (const source of plan.sources) {
    nodes.push({
      id: `source:${source.name}`,
      label: source.name,
      kind: 'source',
      ...(source.description ? { description: source.description } : {}),
      columns: source.columns.map((c) => c.name),
    });
  }
  for (const model of plan.models) {
    nodes.push({
      id: `model:${model.name}`,
      label: model.name,
      kind: model.layer,
      ...(model.description ? { description: model.description } : {}),
      columns: model.columns.map((c) => c.name),
    });
    for (const source of model.sources) edges.push([`source:${source}`, `model:${model.name}`]);
    for (const ref of model.refs) edges.push([`model:${ref}`, `model:${model.name}`]);
    if (model.tests.length > 0) {
      nodes.push({
        id: `test:${model.name}`,
        label: `${model.tests.length} tests`,
        kind: 'test',
        description: model.tests.map((t) => t.id).join(', '),
        columns: [],
      });
      edges.push([`model:${model.name}`, `test:${model.name}`]);
    }
  }
  for (const test of plan.singularTests) {
    nodes.push({ id: `test:${test.name}`, label: test.name, kind: 'test', description: `singular test ${test.file}`, columns: [] });
    for (const source of test.sources) edges.push([`source:${source}`, `test:${test.name}`]);
    for (const ref of test.refs) edges.push([`model:${ref}`, `test:${test.name}`]);
  }
  return { nodes, edges };
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The graph as an SVG document; `states` maps node ids (`model:x`, `test:x`, `source:x`) to a run's states. */
export function lineageSvg(plan: ProjectPlan, states: ReadonlyMap<string, LineageState> = new Map()): string {
  const { nodes, edges } = lineageGraph(plan);
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 60, marginx: 10, marginy: 10 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.id, { width: Math.max(90, node.label.length * 7 + 20), height: 30 });
  for (const [from, to] of edges) graph.setEdge(from, to);
  dagre.layout(graph);
  const { width = 0, height = 0 } = graph.graph();
  const parts: string[] = [];
  for (const edge of graph.edges()) {
    const points = graph.edge(edge).points ?? [];
    parts.push(
      `<polyline points="${points.map((p: { x: number; y: number }) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')}" fill="none" stroke="#98a2b3" stroke-width="1.2" marker-end="url(#arrow)"/>`,
    );
  }
  for (const node of nodes) {
    const box = graph.node(node.id);
    const state = states.get(node.id.replace(/^source:/, 'seed:'));
    const title = `${node.kind} ${node.label}${state ? ` (${state})` : ''}${node.description ? `: ${node.description}` : ''}${node.columns.length ? `\ncolumns: ${node.columns.join(', ')}` : ''}`;
    parts.push(
      `<g class="node ${node.kind}" data-id="${escapeXml(node.id)}"${state ? ` data-state="${state}"` : ''}><title>${escapeXml(title)}</title>` +
        `<rect x="${(box.x - box.width / 2).toFixed(1)}" y="${(box.y - box.height / 2).toFixed(1)}" width="${box.width}" height="${box.height}" rx="6" fill="${FILL[state ?? 'none']}" stroke="${STROKE[node.kind]}" stroke-width="1.5"/>` +
        `<text x="${box.x.toFixed(1)}" y="${(box.y + 4).toFixed(1)}" text-anchor="middle" font-family="sans-serif" font-size="11">${escapeXml(node.label)}</text></g>`,
    );
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}" viewBox="0 0 ${Math.ceil(width)} ${Math.ceil(height)}" class="lineage">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#98a2b3"/></marker></defs>` +
    parts.join('') +
    `</svg>`
  );
}

/** A standalone HTML page of the lineage graph with every node's description and columns (`meterflow docs`). */
export function lineageHtml(plan: ProjectPlan): string {
  const { nodes } = lineageGraph(plan);
  const rows = nodes
    .filter((n) => n.kind !== 'test')
    .map(
      (n) =>
        `<tr><td>${n.kind}</td><td><code>${escapeXml(n.label)}</code></td><td>${escapeXml(n.description ?? '')}</td><td>${n.columns.map((c) => `<code>${escapeXml(c)}</code>`).join(' ')}</td></tr>`,
    );
  return `<!doctype html><html><head><meta charset="utf-8"><title>meterflow lineage</title><style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}code{font-size:12px}</style></head><body><h1>${escapeXml(plan.projectName)}: lineage</h1>${lineageSvg(plan)}<h2>Nodes</h2><table><tr><th>kind</th><th>name</th><th>description</th><th>columns</th></tr>${rows.join('')}</table></body></html>`;
}

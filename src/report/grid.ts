// The grid of runs, `<out>/index.html`: the last runs as columns and every node as a row, each cell
// coloured by the node's state in that run, with small charts of each node's rows and seconds over
// those runs. One self-contained file (styles inline, charts as inline SVG, no script), like the report.
import { runFolderName } from '../contract/uri';
import type { NodeState } from '../contract/run';
import { compactCount, escapeHtml } from './html';
import { runTime, type RunRecord, type RunRecordNode } from './run-record';

/** How many runs the grid shows: the newest. */
export const GRID_RUNS = 30;

export interface GridOptions {
  /** The Temporal Web UI's address (`http://127.0.0.1:8233`); without it, no Web UI links. */
  readonly webUiUrl?: string;
  /** When the grid was written. */
  readonly now: Date;
}

/** The runs to show, oldest first (newest on the right, as in Airflow's grid). */
export function gridRuns(records: readonly RunRecord[], limit = GRID_RUNS): RunRecord[] {
  return [...records].sort((a, b) => runTime(a) - runTime(b) || a.workflowId.localeCompare(b.workflowId)).slice(-limit);
}

/** Every node that appears in the runs, in the newest run's order, then those only older runs had. */
export function gridRows(runs: readonly RunRecord[]): string[] {
  const ids: string[] = [];
  const seen = new Set<string>();
  for (const run of [...runs].reverse()) {
    for (const node of run.nodes) {
      if (!seen.has(node.id)) {
        seen.add(node.id);
        ids.push(node.id);
      }
    }
  }
  return ids;
}

/** A run's folder and files, relative to index.html. */
export const runLink = (run: RunRecord, file = 'report.html') => `runs/${encodeURIComponent(runFolderName(run.workflowId))}/${file}`;

/** A run's page in the Temporal Web UI. */
export function webUiLink(base: string, run: RunRecord): string {
  const execution = run.runId ? `/${encodeURIComponent(run.runId)}` : '';
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(run.namespace ?? 'default')}/workflows/${encodeURIComponent(run.workflowId)}${execution}`;
}

const STATE_LABEL: Record<NodeState, string> = {
  succeeded: 'succeeded',
  failed: 'failed',
  unchanged: 'unchanged (up to date, not run)',
  skipped: 'skipped (an earlier node failed)',
  pending: 'pending',
  running: 'running',
};

/** `11-27 16:52` in UTC. */
const shortTime = (iso: string) => iso.slice(5, 16).replace('T', ' ');
const seconds = (value: number) => `${value.toFixed(1)} s`;
const runSeconds = (run: RunRecord) => (run.startedAt ? (Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000 : undefined);

function cellTitle(run: RunRecord, node: RunRecordNode): string {
  const parts = [node.id, STATE_LABEL[node.state] ?? node.state];
  if (node.seconds !== undefined) parts.push(seconds(node.seconds));
  if (node.rows !== undefined) parts.push(`${node.rows.toLocaleString('en-GB')} rows`);
  const failure = run.failure?.node === node.id ? `\n${run.failure.reason.slice(0, 400)}` : '';
  return `${parts.join(' · ')}\nrun ${run.workflowId}, started ${shortTime(run.startedAt ?? run.endedAt)} UTC${failure}`;
}

function nodeCell(run: RunRecord, node: RunRecordNode | undefined): string {
  if (!node) return `<td class="cell absent" title="not in run ${escapeHtml(run.workflowId)} (not selected)"></td>`;
  const attributes = `class="cell ${escapeHtml(node.state)}" data-state="${escapeHtml(node.state)}" title="${escapeHtml(cellTitle(run, node))}"`;
  // a failed cell opens the run's failure: its node, the reason, a failed test's rows and SQL
  if (node.state === 'failed')
    return `<td ${attributes}><a href="${runLink(run)}#failure" aria-label="${escapeHtml(node.id)} failed: open the failure"></a></td>`;
  return `<td ${attributes}></td>`;
}

function statusCell(run: RunRecord): string {
  const took = runSeconds(run);
  const title = `${run.workflowId}: ${run.status}${took !== undefined ? ` in ${seconds(took)}` : ''}${run.failure ? ` at ${run.failure.node}` : ''}\nlogical date ${run.logicalDate}`;
  return `<td class="cell ${run.status}" data-state="${run.status}" title="${escapeHtml(title)}"><a href="${runLink(run)}${run.status === 'failed' ? '#failure' : ''}" aria-label="${escapeHtml(`the report of ${run.workflowId}`)}"></a></td>`;
}

function runHeader(run: RunRecord, index: number, webUiUrl: string | undefined): string {
  const started = run.startedAt ?? run.endedAt;
  const ui = webUiUrl ? `<a class="ui" href="${escapeHtml(webUiLink(webUiUrl, run))}" title="this run in the Temporal Web UI">UI</a>` : '';
  return `<th class="run ${run.status}" data-run="${escapeHtml(run.workflowId)}" data-status="${run.status}"><a class="report" href="${runLink(run)}" title="${escapeHtml(`${run.workflowId}: its report (logical date ${run.logicalDate})`)}">${index + 1} · ${escapeHtml(shortTime(started))}</a>${ui}</th>`;
}

type Point = { run: number; value: number; failed: boolean };

const SPARK = { width: 120, height: 24, padding: 3 } as const;
const SPARK_COLOUR = { ok: '#4a6f9b', failed: '#d93b3b', line: '#9fb3c8' } as const;

/**
 * A small chart of one measure over the runs, x aligned on the runs shown: bars from zero for seconds,
 * a line with a dot per run for rows (its scale from the lowest to the highest), failed runs in red.
 * Plain SVG written here, as the lineage is: a few dozen of them per grid, and a chart library's
 * parse, layout and render cost about ten milliseconds each, which every run's report waited for.
 */
function sparkline(points: readonly Point[], runs: number, kind: 'rows' | 'seconds'): string {
  const { width, height, padding } = SPARK;
  const band = (width - 2 * padding) / Math.max(runs, 1);
  const x = (run: number) => padding + (run + 0.5) * band;
  const values = points.map((p) => p.value);
  const low = kind === 'seconds' ? Math.min(0, ...values) : Math.min(...values);
  const high = Math.max(...values);
  // equal values (one point, or a constant) sit in the middle
  const y = (value: number) => (high === low ? height / 2 : padding + (height - 2 * padding) * (1 - (value - low) / (high - low)));
  const fixed = (n: number) => Number(n.toFixed(2));
  const colour = (p: Point) => (p.failed ? SPARK_COLOUR.failed : SPARK_COLOUR.ok);
  const marks =
    kind === 'seconds'
      ? points.map((p) => {
          const top = Math.min(y(p.value), y(0));
          const bar = Math.max(Math.abs(y(0) - y(p.value)), 1);
          return `<rect x="${fixed(x(p.run) - band * 0.4)}" y="${fixed(top)}" width="${fixed(band * 0.8)}" height="${fixed(bar)}" fill="${colour(p)}"/>`;
        })
      : [
          `<polyline fill="none" stroke="${SPARK_COLOUR.line}" stroke-width="1.5" points="${points.map((p) => `${fixed(x(p.run))},${fixed(y(p.value))}`).join(' ')}"/>`,
          ...points.map((p) => `<circle cx="${fixed(x(p.run))}" cy="${fixed(y(p.value))}" r="2" fill="${colour(p)}"/>`),
        ];
  return `<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${kind} over the runs">${marks.join('')}</svg>`;
}

function measureCell(runs: readonly RunRecord[], id: string, kind: 'rows' | 'seconds'): string {
  const points: Point[] = runs.flatMap((run, index) => {
    const node = run.nodes.find((n) => n.id === id);
    const value = kind === 'rows' ? node?.rows : node?.seconds;
    return value === undefined ? [] : [{ run: index, value, failed: node?.state === 'failed' }];
  });
  if (points.length === 0) return `<td class="measure none">–</td>`;
  const values = points.map((p) => p.value);
  const show = (v: number) => (kind === 'rows' ? compactCount(v) : seconds(v));
  const latest = points[points.length - 1] as Point;
  const title = `${id}, ${kind} over these runs: latest ${show(latest.value)} (run ${latest.run + 1}), lowest ${show(Math.min(...values))}, highest ${show(Math.max(...values))}`;
  return `<td class="measure" data-measure="${kind}" title="${escapeHtml(title)}">${sparkline(points, runs.length, kind)}<span class="latest">${escapeHtml(show(latest.value))}</span></td>`;
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:20px;color:#222}
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin-top:28px;border-bottom:1px solid #ddd}
.muted{color:#666;font-size:13px}.legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;margin:10px 0}
.legend span{display:inline-flex;align-items:center;gap:5px}.legend i{display:inline-block;width:14px;height:14px;border-radius:2px}
.scroll{overflow-x:auto;max-width:100%}
table.grid{border-collapse:separate;border-spacing:2px;font-size:12px}
table.grid th{font-weight:normal;text-align:left;white-space:nowrap}
table.grid tbody th{padding-right:10px;font-family:ui-monospace,monospace;font-size:11.5px}
table.grid tbody th .kind{color:#8a94a3}
table.grid tr.group th{font-family:system-ui,sans-serif;font-weight:600;padding-top:8px;color:#444}
th.run{vertical-align:bottom;width:22px;padding:0}
th.run a.report{writing-mode:vertical-rl;transform:rotate(180deg);display:block;margin:0 auto;font-size:11px;color:#234;text-decoration:none;white-space:nowrap}
th.run a.report:hover{text-decoration:underline}
th.run.failed a.report{color:#b02a2a;font-weight:600}
th.run a.ui{display:block;text-align:center;font-size:9px;color:#567;margin-top:3px}
td.cell{width:22px;min-width:22px;height:18px;padding:0;border-radius:3px}
td.cell a{display:block;width:100%;height:100%;min-height:18px}
td.cell:hover{outline:2px solid #333}
.succeeded{background:#3fa36b}.failed{background:#d93b3b}.unchanged{background:#b8c4d2}
.skipped{background:repeating-linear-gradient(45deg,#eceff3 0 3px,#d5dae1 3px 5px)}
.pending{background:#fff;box-shadow:inset 0 0 0 1px #ccd}.running{background:#f1c232}.absent{background:transparent;box-shadow:inset 0 0 0 1px #eee}
th.run.succeeded,th.run.failed{background:none}
th.measure-head{vertical-align:bottom;padding-left:8px;color:#444}
td.measure{padding:0 8px;white-space:nowrap;font-size:11px;color:#444}td.measure svg{vertical-align:middle}
td.measure .latest{margin-left:4px;display:inline-block;min-width:48px}
table.runs{border-collapse:collapse;font-size:12px}table.runs td,table.runs th{border:1px solid #ddd;padding:3px 7px;text-align:left}
table.runs th{background:#f5f6f8}table.runs td.failed,table.runs td.succeeded{background:none;font-weight:600}
table.runs td.failed{color:#b02a2a}table.runs td.succeeded{color:#1e7b45}
`;

const LEGEND = (['succeeded', 'failed', 'unchanged', 'skipped'] as const)
  .map((state) => `<span><i class="${state}"></i>${escapeHtml(STATE_LABEL[state])}</span>`)
  .concat(['<span><i class="absent"></i>not in that run (not selected)</span>'])
  .join('');

/** Nodes whose rows are a table's: seeded, built or computed. */
const ROWS_CHARTED = new Set(['seed', 'model', 'snapshot', 'analytics']);

/** Rows of the grid in groups, by node kind, in the order of the runs' nodes. */
const GROUPS: readonly { kind: string; title: string }[] = [
  { kind: 'seed', title: 'sources seeded' },
  { kind: 'model', title: 'models and their tests' },
  { kind: 'snapshot', title: 'snapshot' },
  { kind: 'analytics', title: 'analytics and their tests' },
  { kind: 'publish', title: 'publish' },
];

export async function renderGridHtml(records: readonly RunRecord[], options: GridOptions): Promise<string> {
  const runs = gridRuns(records);
  const ids = gridRows(runs);
  const kindOf = new Map(runs.flatMap((run) => run.nodes.map((n) => [n.id, n.kind] as const)));
  // a test row belongs with what it tests: model tests after the models, analytics tests after the analytics
  const group = (id: string): string => {
    const kind = kindOf.get(id) ?? 'model';
    if (kind !== 'test') return kind;
    const target = id.slice('test:'.length);
    return kindOf.get(`analytics:${target}`) === 'analytics' ? 'analytics' : 'model';
  };
  const byId = runs.map((run) => new Map(run.nodes.map((n) => [n.id, n])));
  const span = runs.length + 3;
  const body: string[] = [];
  const durations: Point[] = runs.flatMap((run, index) => {
    const took = runSeconds(run);
    return took === undefined ? [] : [{ run: index, value: Math.round(took * 10) / 10, failed: run.status === 'failed' }];
  });
  body.push(
    `<tr class="status" data-node="run"><th>run</th>${runs.map(statusCell).join('')}<td class="measure none"></td>${
      durations.length > 0
        ? `<td class="measure" data-measure="seconds" title="each run, from its first node to its report">${sparkline(durations, runs.length, 'seconds')}<span class="latest">${seconds((durations[durations.length - 1] as Point).value)}</span></td>`
        : '<td class="measure none">–</td>'
    }</tr>`,
  );
  for (const { kind, title } of GROUPS) {
    const members = ids.filter((id) => group(id) === kind);
    if (members.length === 0) continue;
    body.push(`<tr class="group"><th colspan="${span}">${escapeHtml(title)}</th></tr>`);
    for (const id of members) {
      const [prefix, ...rest] = id.split(':');
      const label = `<span class="kind">${escapeHtml(prefix ?? '')}:</span>${escapeHtml(rest.join(':'))}`;
      const cells = runs.map((run, index) => nodeCell(run, byId[index]?.get(id))).join('');
      // a test's rows are its failing rows, 0 when it passes: not worth a chart
      const rows = ROWS_CHARTED.has(kindOf.get(id) ?? '') ? measureCell(runs, id, 'rows') : '<td class="measure none"></td>';
      body.push(`<tr data-node="${escapeHtml(id)}"><th>${label}</th>${cells}${rows}${measureCell(runs, id, 'seconds')}</tr>`);
    }
  }
  // nodes of a kind the groups do not name (a newer node kind) still get a row
  const grouped = new Set(GROUPS.map((g) => g.kind));
  for (const id of ids.filter((i) => !grouped.has(group(i)))) {
    body.push(
      `<tr data-node="${escapeHtml(id)}"><th>${escapeHtml(id)}</th>${runs.map((run, index) => nodeCell(run, byId[index]?.get(id))).join('')}${measureCell(runs, id, 'rows')}${measureCell(runs, id, 'seconds')}</tr>`,
    );
  }
  const runList = [...runs]
    .map((run, index) => ({ run, index }))
    .reverse()
    .map(({ run, index }) => {
      const took = runSeconds(run);
      return `<tr data-run="${escapeHtml(run.workflowId)}"><td>${index + 1}</td><td><a href="${runLink(run)}"><code>${escapeHtml(run.workflowId)}</code></a></td><td>${escapeHtml(run.logicalDate)}</td><td>${escapeHtml(shortTime(run.startedAt ?? run.endedAt))}</td><td>${took !== undefined ? seconds(took) : ''}</td><td class="${run.status}">${run.status}</td><td>${
        run.failure
          ? `<a href="${runLink(run)}#failure"><code>${escapeHtml(run.failure.node)}</code></a>: ${escapeHtml(run.failure.reason.slice(0, 200))}`
          : ''
      }</td><td>${options.webUiUrl ? `<a href="${escapeHtml(webUiLink(options.webUiUrl, run))}">Web UI</a>` : ''}</td></tr>`;
    });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>meterflow: the last ${runs.length} runs</title>
<style>${STYLE}</style></head><body>
<h1>meterflow: the last ${runs.length} ${runs.length === 1 ? 'run' : 'runs'}</h1>
<p class="muted">Oldest on the left, newest on the right; written ${escapeHtml(options.now.toISOString().slice(0, 16).replace('T', ' '))} UTC. Each column is a run: its header opens the run's report${options.webUiUrl ? ' and, under it, its page in the Temporal Web UI' : ''}. Hover a cell for the node's state, seconds and rows; a red cell opens that run's failure. At the right, each node's rows and seconds over these runs (a red mark: a failed run).</p>
<div class="legend">${LEGEND}</div>
${
  runs.length === 0
    ? '<p>No runs recorded yet.</p>'
    : `<div class="scroll"><table class="grid">
<thead><tr><th></th>${runs.map((run, index) => runHeader(run, index, options.webUiUrl)).join('')}<th class="measure-head">rows</th><th class="measure-head">seconds</th></tr></thead>
<tbody>
${body.join('\n')}
</tbody></table></div>`
}
<h2>The runs, newest first</h2>
<table class="runs"><thead><tr><th>#</th><th>run (its report)</th><th>logical date</th><th>started (UTC)</th><th title="from when its first node started to when its report was written">took</th><th>status</th><th>failed at</th><th></th></tr></thead><tbody>
${runList.join('\n')}
</tbody></table>
</body></html>
`;
}

// The run report: one self-contained HTML file (styles inline, charts as inline SVG, no script, no
// network) with the analytics as charts and tables, and the run itself: timeline, rows, data tests,
// source files, and the lineage graph coloured by each node's state.
import type { RunFailure, SourceFileRecord } from '../contract/activities';
import type { ProjectPlan } from '../project/types';
import type { DataTestOutcome, NodeProgress } from '../contract/run';
import { actualVsEstimated, deviationOverTime, deviationRange, gantt, loadProfile, priceResponse, renderChart, type Row } from './charts';
import { gspGroupLabel, headlineSection, profileClassLabel, type MasterTotals } from './headline';
import { escapeHtml } from './html';
import { LINEAGE_STYLE, lineageSvg, lineageTable, type LineageState, type TestOutcome } from './lineage';

export interface ReportData {
  readonly workflowId: string;
  readonly logicalDate: string;
  readonly plan: ProjectPlan;
  readonly nodes: readonly NodeProgress[];
  readonly dataTests: readonly DataTestOutcome[];
  readonly sourceFiles: readonly SourceFileRecord[];
  /** Analytics results by model; absent when this run did not rerun them. */
  readonly analytics: Readonly<Record<string, Row[]>>;
  /** The price-response scatter's points, or their read still under way (the other charts render meanwhile). */
  readonly priceResponsePoints: readonly Row[] | Promise<readonly Row[]>;
  /** The month (`YYYY-MM`) the scatter's points are drawn from: the master's newest. */
  readonly priceResponseMonth?: string;
  /** Sums over the master table in the run's snapshot, for the headline; absent without a snapshot. */
  readonly masterTotals?: MasterTotals;
  /** For a failed run: where and why, shown first. */
  readonly failure?: RunFailure;
  /** Each model's and singular test's SQL by node id, shown with the lineage. */
  readonly sql?: ReadonlyMap<string, string>;
  /** The warehouse and the project (folder and content hash) the run named. */
  readonly warehouse?: string;
  readonly project?: { readonly dir: string; readonly hash: string };
  /** Each model's (and singular test's) hash of the SQL the run compiled, by name. */
  readonly sqlHashes?: Readonly<Record<string, string>>;
}

/** The hash of each model's compiled SQL, as the run's plan recorded it: what to compare two runs' SQL by. */
function sqlHashesSection(hashes: ReportData['sqlHashes']): string {
  if (!hashes || Object.keys(hashes).length === 0) return '';
  const rows = Object.entries(hashes)
    .map(([name, hash]) => `<tr><td><code>${escapeHtml(name)}</code></td><td><code>${escapeHtml(hash)}</code></td></tr>`)
    .join('\n');
  return `<section class="part" id="sql-hashes"><h2>SQL this run compiled</h2>
<table><thead><tr><th>model or test</th><th>hash of its SQL</th></tr></thead><tbody>
${rows}
</tbody></table>
</section>`;
}

/** The warehouse and project the run named: which SQL ran, on what. */
function scopeLine(data: Pick<ReportData, 'warehouse' | 'project'>): string {
  if (!data.warehouse && !data.project) return '';
  const parts = [
    ...(data.warehouse ? [`Warehouse <code>${escapeHtml(data.warehouse)}</code>.`] : []),
    ...(data.project ? [`Project <code>${escapeHtml(data.project.dir)}</code> at <code>${escapeHtml(data.project.hash)}</code>.`] : []),
  ];
  return `<p class="muted">${parts.join(' ')}</p>`;
}

/** A failed run's report opens on its failure: the node, the reason, and each failed test's SQL and sample rows. */
function failureSection(failure: RunFailure): string {
  const tests = (failure.tests ?? []).map((test) => {
    const samples = test.samples ?? [];
    const columns = [...new Set(samples.flatMap((row) => Object.keys(row)))];
    return `<h3>${escapeHtml(test.id)}: ${test.failures.toLocaleString('en-GB')} failing ${test.failures === 1 ? 'row' : 'rows'} (${test.status})</h3>
${samples.length > 0 ? `<p class="muted">The first ${samples.length}:</p>${table(samples as Row[], columns)}` : ''}
${test.sql ? `<details><summary>Compiled SQL (its rows are the failures)</summary><pre>${escapeHtml(test.sql)}</pre></details>` : ''}`;
  });
  return `<section class="failure" id="failure" data-failure="${escapeHtml(failure.node)}">
<h2 class="fail">This run failed at <code>${escapeHtml(failure.node)}</code></h2>
<p>${escapeHtml(failure.reason)}</p>
<p class="muted">Nothing of this run was published: the warehouse's tables are the previous run's.</p>
${tests.join('\n')}
</section>`;
}

function table(rows: readonly Row[], columns: readonly string[]): string {
  const cell = (value: unknown) =>
    typeof value === 'number'
      ? Number.isInteger(value)
        ? value.toLocaleString('en-GB')
        : value.toFixed(4)
      : escapeHtml(String(value ?? ''));
  return `<table><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${columns.map((c) => `<td>${cell(row[c])}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

type ChartSpec = Parameters<typeof renderChart>[0];

async function chartSection(
  title: string,
  make: () => ChartSpec | undefined | Promise<ChartSpec | undefined>,
  caption = '',
): Promise<string> {
  const spec = await make();
  if (!spec)
    return `<section class="chart"><h3>${escapeHtml(title)}</h3><p class="muted">Not rerun in this run (its inputs were unchanged).</p></section>`;
  return `<section class="chart" data-chart="${escapeHtml(title)}"><h3>${escapeHtml(title)}</h3>${await renderChart(spec)}${caption ? `<p class="caption">${caption}</p>` : ''}</section>`;
}

/** The scatter's caption: where its points come from (a month's sample), and what its lines are. */
const priceResponseCaption = (month: string | undefined) =>
  `A sample of half hours of variable-tariff meters${month ? ` in the newest month, ${escapeHtml(month)}` : ''}, and each profile class's fitted line over all months; its slope is the price elasticity in the table at the top.`;

const PERCENTILES_CAPTION =
  "Each dot is the median deviation of the group's half hours, (actual − estimate) ÷ estimate in %; the line runs from p10 to p90, the 10th and 90th percentiles: one half hour in ten deviates less than its left end and one in ten more than its right end, so the line holds the middle 80%.";

/** Seconds to one decimal, from two epoch-millisecond times. */
const seconds = (startedAt: number | undefined, finishedAt: number | undefined) =>
  startedAt !== undefined && finishedAt !== undefined ? `${((finishedAt - startedAt) / 1000).toFixed(1)} s` : '';

const STYLE = `
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}
h1{font-size:22px;overflow-wrap:anywhere}h2{margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;font-size:12px;margin:6px 0;max-width:100%}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left;overflow-wrap:anywhere}
th{background:#f5f6f8}.muted{color:#777}.pass{color:#1e8449}.warn{color:#b9770e}.fail{color:#c0392b}
.caption{color:#555;font-size:12px;max-width:760px}
svg{max-width:100%;height:auto}.lineage{border:1px solid #eee}${LINEAGE_STYLE}
.figures{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}.figure{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:150px}
.figure .value{font-size:22px;font-weight:600;white-space:nowrap}.figure .label{color:#555;font-size:12px}
.failure{border:2px solid #c0392b;padding:4px 16px;margin:16px 0}pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:12px;background:#f7f7f7;padding:8px}
@media print{body{margin:0;max-width:none}section.part{break-before:page}section.part.headline{break-before:auto}section.chart,.figures,tr{break-inside:avoid}}
`;

/** The analytics models the report charts: the run reads only these of the published tables. */
export const CHARTED_ANALYTICS: readonly string[] = [
  'actual_vs_estimated_daily',
  'actual_vs_estimated_weekly',
  'actual_vs_estimated_monthly',
  'deviation_by_profile_class',
  'deviation_by_gsp_group',
  'half_hourly_load_profile',
  'price_response_variable_tariff',
  'meter_anomalies',
];

export async function renderReportHtml(data: ReportData): Promise<string> {
  const a = data.analytics;
  const has = (model: string) => (a[model]?.length ?? 0) > 0;
  const charts = await Promise.all([
    chartSection(
      'Deviation over time',
      () =>
        has('actual_vs_estimated_daily') && has('actual_vs_estimated_weekly')
          ? deviationOverTime(a.actual_vs_estimated_daily as Row[], a.actual_vs_estimated_weekly as Row[])
          : undefined,
      "Blue: the mean of each day's half hours, (actual − estimate) ÷ estimate in %; red: the mean of each week (weeks start on Monday); grey: zero, where the estimate is exact.",
    ),
    chartSection('Actual vs estimated, daily', () =>
      has('actual_vs_estimated_daily')
        ? actualVsEstimated(a.actual_vs_estimated_daily as Row[], 'Daily mean kWh per half hour', 'day')
        : undefined,
    ),
    chartSection('Actual vs estimated, weekly', () =>
      has('actual_vs_estimated_weekly')
        ? actualVsEstimated(a.actual_vs_estimated_weekly as Row[], 'Weekly mean kWh per half hour', 'week starting')
        : undefined,
    ),
    chartSection('Actual vs estimated, monthly', () =>
      has('actual_vs_estimated_monthly')
        ? actualVsEstimated(a.actual_vs_estimated_monthly as Row[], 'Monthly mean kWh per half hour', 'month')
        : undefined,
    ),
    chartSection(
      'Deviation by profile class',
      () =>
        has('deviation_by_profile_class')
          ? deviationRange(
              a.deviation_by_profile_class as Row[],
              'profile_class_id',
              'Deviation by profile class',
              'profile class',
              profileClassLabel,
            )
          : undefined,
      PERCENTILES_CAPTION,
    ),
    chartSection(
      'Deviation by GSP group',
      () =>
        has('deviation_by_gsp_group')
          ? deviationRange(a.deviation_by_gsp_group as Row[], 'gsp_group_id', 'Deviation by GSP group', 'GSP group (region)', gspGroupLabel)
          : undefined,
      PERCENTILES_CAPTION,
    ),
    chartSection('Half-hourly load profile', () =>
      has('half_hourly_load_profile') ? loadProfile(a.half_hourly_load_profile as Row[]) : undefined,
    ),
    chartSection(
      'Price response of variable-tariff meters',
      async () => {
        const points = await data.priceResponsePoints;
        return has('price_response_variable_tariff') && points.length > 0
          ? priceResponse([...points], a.price_response_variable_tariff as Row[])
          : undefined;
      },
      priceResponseCaption(data.priceResponseMonth),
    ),
    chartSection('Run timeline', () => gantt([...data.nodes])),
  ]);
  const states = new Map<string, LineageState>(data.nodes.map((n) => [n.id.replace(/^analytics:/, 'model:'), n.state]));
  const outcomes = new Map<string, TestOutcome>(data.dataTests.map((t) => [t.test, t.status]));
  const anomalies = (a.meter_anomalies ?? []).map((row) => ({
    ...row,
    gsp_group: gspGroupLabel(row.gsp_group_id),
    mean_abs_deviation_percent: `${(Number(row.mean_abs_deviation) * 100).toFixed(1)}%`,
    missing_percent: `${(Number(row.missing_share) * 100).toFixed(1)}%`,
  }));
  const tables = data.nodes
    .filter((n) => n.rows !== undefined && n.rows !== null)
    .map((n) => ({ node: n.id, state: n.state, rows: n.rows, seconds: seconds(n.startedAt, n.finishedAt) }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>meterflow run ${escapeHtml(data.workflowId)}</title>
<style>${STYLE}</style></head><body>
<h1>meterflow run <code>${escapeHtml(data.workflowId)}</code></h1>
${data.failure ? failureSection(data.failure) : ''}
<p>Logical date ${escapeHtml(data.logicalDate)}. ${data.nodes.filter((n) => n.state === 'succeeded').length} nodes ran, ${data.nodes.filter((n) => n.state === 'unchanged').length} were unchanged, ${data.nodes.filter((n) => n.state === 'failed').length} failed.</p>
${scopeLine(data)}
${headlineSection(data.masterTotals, a.price_response_variable_tariff)}
<section class="part"><h2>Actual against estimated consumption</h2>
${charts.slice(0, 4).join('\n')}
</section>
<section class="part"><h2>Where the estimate misses</h2>
${charts.slice(4, 7).join('\n')}
</section>
<section class="part"><h2>Response to price</h2>
${charts[7]}
</section>
<section class="part"><h2>Anomalous meters</h2>
${anomalies.length > 0 ? table(anomalies, ['meter_point_id', 'gsp_group', 'profile_class_id', 'half_hours', 'mean_abs_deviation_percent', 'missing_percent', 'is_deviation_anomaly', 'is_missing_anomaly']) : '<p class="muted">None beyond the thresholds, or not rerun in this run.</p>'}
</section>
<section class="part"><h2>The run</h2>
${charts[8]}
<h3>Lineage, coloured by state</h3>
${lineageSvg(data.plan, { states, outcomes })}
<h3>Rows and time per table</h3>
${table(tables, ['node', 'state', 'rows', 'seconds'])}
<h3>Data tests</h3>
${table(
  data.dataTests.map((t) => ({ ...t, status: t.status })),
  ['target', 'test', 'status', 'failures'],
)}
<h3>Source files</h3>
${table(
  data.sourceFiles.map((file) => ({ ...file })),
  ['source', 'uri', 'size', 'etag', 'rows'],
)}
<h3>The models: descriptions, columns, tests and SQL</h3>
<p class="muted">Each box of the lineage above opens its row here.</p>
${lineageTable(data.plan, data.sql ? { sql: data.sql } : {})}
</section>
${sqlHashesSection(data.sqlHashes)}
</body></html>
`;
}

/** Whether a run changed nothing: every node (the report's own aside) unchanged, and no failure. */
export function changedNothing(nodes: readonly NodeProgress[], failure?: RunFailure): boolean {
  return failure === undefined && nodes.length > 0 && nodes.every((node) => node.state === 'unchanged');
}

/**
 * The report of a run that changed nothing: it says so, and where the report of the tables it left
 * as they were is (the grid of runs). Nothing is read from the lake or charted: such a run, scheduled
 * every hour while no file lands, costs its start and no more.
 */
export function unchangedReportHtml(
  data: Pick<ReportData, 'workflowId' | 'logicalDate' | 'nodes' | 'warehouse' | 'project' | 'sqlHashes'>,
): string {
  const rows = data.nodes
    .map((node) => `<tr><td><code>${escapeHtml(node.id)}</code></td><td>${escapeHtml(node.note ?? 'unchanged')}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>meterflow run ${escapeHtml(data.workflowId)}</title>
<style>${STYLE}</style></head><body>
<h1>meterflow run <code>${escapeHtml(data.workflowId)}</code></h1>
<p>Logical date ${escapeHtml(data.logicalDate)}. <strong>Nothing changed</strong>: no source file was new, changed or removed, and no
model's SQL changed, so every table is as the last run that changed something left it. Its report is in the
<a href="../../index.html">grid of runs</a>.</p>
${scopeLine(data)}
<section class="part"><h2>Nodes</h2>
<table><thead><tr><th>node</th><th>why unchanged</th></tr></thead><tbody>
${rows}
</tbody></table>
</section>
${sqlHashesSection(data.sqlHashes)}
</body></html>
`;
}

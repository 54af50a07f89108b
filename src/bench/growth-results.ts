// The growth curve's figures, pure: one row per meter count from what was measured, the checks the
// curve is judged by, its markdown table, the chart's Vega-Lite spec, and which worker ran the
// month builds (from a run's history). No DuckDB, no Temporal, no files: src/bench/growth.ts measures.
import type { TopLevelSpec } from 'vega-lite';
import { median, roundTo } from './measure';

/** The workers of a growth run, each its own process, and the key of its peak RSS. */
export const GROWTH_WORKERS = ['writer', 'build', 'analytics'] as const;
export type GrowthWorker = (typeof GROWTH_WORKERS)[number];

/** Peak resident memory every worker must stay under, at every size (1.5 GiB, as /proc's VmHWM in MiB). */
export const PEAK_RSS_LIMIT_MB = 1536;
/** How far seconds per million readings may stray from their median, from 500 to 4,000 meters. */
export const FLATNESS_TOLERANCE = 0.2;
export const FLATNESS_RANGE = { from: 500, to: 4000 } as const;

/** A comma-separated list of positive whole numbers (`--growth-sizes 250,500`), in the order given. */
export function sizeList(value: string, flag: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  const sizes = parts.map(Number);
  const bad = parts.filter((part, i) => !/^\d+$/.test(part) || (sizes[i] as number) <= 0);
  if (bad.length > 0 || parts.length === 0)
    throw new Error(`${flag}: positive whole numbers, comma-separated (not ${bad.join(', ') || value})`);
  return sizes;
}

/** What one size's runs measured: medians of the seconds, the highest peaks, the last run's lake. */
export interface GrowthMeasurement {
  readonly meters: number;
  readonly readings: number;
  readonly runs: number;
  readonly pipelineSeconds: number;
  readonly floorSeconds: number;
  readonly peakRssMb: Readonly<Record<GrowthWorker, number | null>>;
  /** Month builds in the last run, and how many of them a worker other than the build worker ran. */
  readonly monthBuilds: { readonly total: number; readonly elsewhere: number };
  /** The single writer's seconds in the last run: seeding the sources, and every activity it ran. */
  readonly writer: WriterSeconds;
  readonly lake: { readonly dataFiles: number; readonly dataBytes: number; readonly diskBytes: number; readonly catalogBytes: number };
}

/** One row of the curve: the JSON's keys, and the table's columns. */
export interface GrowthRow {
  readonly meters: number;
  readonly readings: number;
  readonly runs: number;
  readonly pipeline_s: number;
  readonly pipeline_s_per_m_readings: number;
  readonly floor_s: number;
  readonly floor_s_per_m_readings: number;
  readonly pipeline_over_floor: number;
  readonly writer_peak_rss_mb: number | null;
  readonly build_peak_rss_mb: number | null;
  readonly analytics_peak_rss_mb: number | null;
  readonly month_builds: number;
  readonly writer_seed_s: number;
  readonly writer_busy_s: number;
  readonly lake_data_files: number;
  readonly lake_data_bytes: number;
  readonly lake_disk_bytes: number;
  readonly catalog_bytes: number;
}

export function growthRow(m: GrowthMeasurement): GrowthRow {
  const millions = m.readings / 1e6;
  return {
    meters: m.meters,
    readings: m.readings,
    runs: m.runs,
    pipeline_s: roundTo(m.pipelineSeconds, 2),
    pipeline_s_per_m_readings: roundTo(m.pipelineSeconds / millions, 3),
    floor_s: roundTo(m.floorSeconds, 2),
    floor_s_per_m_readings: roundTo(m.floorSeconds / millions, 3),
    pipeline_over_floor: roundTo(m.pipelineSeconds / m.floorSeconds, 2),
    writer_peak_rss_mb: m.peakRssMb.writer,
    build_peak_rss_mb: m.peakRssMb.build,
    analytics_peak_rss_mb: m.peakRssMb.analytics,
    month_builds: m.monthBuilds.total,
    writer_seed_s: roundTo(m.writer.seedSeconds, 2),
    writer_busy_s: roundTo(m.writer.busySeconds, 2),
    lake_data_files: m.lake.dataFiles,
    lake_data_bytes: m.lake.dataBytes,
    lake_disk_bytes: m.lake.diskBytes,
    catalog_bytes: m.lake.catalogBytes,
  };
}

/** The curve judged: flat time per million readings from 500 to 4,000 meters, and every worker's peak under the limit. */
export interface GrowthChecks {
  /** The sizes the flatness is judged over (those measured from 500 to 4,000 meters). */
  readonly flatness_sizes: number[];
  /** The median of the pipeline's seconds per million readings over those sizes. */
  readonly s_per_m_median: number | null;
  /** The largest deviation of one of them from that median, as a fraction (0.12: 12 %). */
  readonly s_per_m_max_deviation: number | null;
  /** Within ±20 %: null when fewer than two sizes were measured in the range. */
  readonly s_per_m_flat: boolean | null;
  readonly peak_rss_max_mb: number | null;
  readonly peak_rss_under_limit: boolean | null;
}

export function growthChecks(rows: readonly GrowthRow[]): GrowthChecks {
  const inRange = rows.filter((r) => r.meters >= FLATNESS_RANGE.from && r.meters <= FLATNESS_RANGE.to);
  const perM = inRange.map((r) => r.pipeline_s_per_m_readings);
  const middle = perM.length === 0 ? null : median(perM);
  const deviation = middle === null || middle === 0 ? null : Math.max(...perM.map((v) => Math.abs(v / middle - 1)));
  const peaks = rows.flatMap((r) => [r.writer_peak_rss_mb, r.build_peak_rss_mb, r.analytics_peak_rss_mb]);
  const known = peaks.filter((p): p is number => p !== null);
  const max = known.length > 0 ? Math.max(...known) : null;
  return {
    flatness_sizes: inRange.map((r) => r.meters),
    s_per_m_median: middle === null ? null : roundTo(middle, 3),
    s_per_m_max_deviation: deviation === null ? null : roundTo(deviation, 3),
    s_per_m_flat: inRange.length < 2 || deviation === null ? null : deviation <= FLATNESS_TOLERANCE,
    peak_rss_max_mb: max,
    // a peak that could not be read leaves the check open
    peak_rss_under_limit: max === null || known.length < peaks.length ? null : max < PEAK_RSS_LIMIT_MB,
  };
}

const thousands = (n: number) => n.toLocaleString('en-GB');
const mb = (bytes: number) => {
  const value = bytes / 2 ** 20;
  return value >= 10 ? value.toFixed(0) : value.toFixed(2);
};
const orNa = (value: number | null) => (value === null ? 'n/a' : thousands(value));
const verdict = (ok: boolean | null) => (ok === null ? 'not judged' : ok ? 'met' : 'missed');

/** The curve as markdown: the table, the checks, the machine, and where the chart is. */
export function growthMarkdown(
  rows: readonly GrowthRow[],
  checks: GrowthChecks,
  context: {
    readonly repeat: number;
    readonly chart: string;
    readonly machine: { cpus: number; cpu?: string; memory_gb: number; node: string; date: string };
  },
): string {
  const { machine } = context;
  const header = [
    'meters',
    'readings',
    'pipeline s',
    'pipeline s / M readings',
    'floor s',
    'floor s / M readings',
    'pipeline / floor',
    'writer peak RSS MB',
    'build worker peak RSS MB',
    'analytics peak RSS MB',
    'month builds',
    'writer: seeding s',
    'writer: busy s',
    'lake data files',
    'lake data MB',
    'catalog MB',
  ];
  const lines = rows.map((r) =>
    [
      thousands(r.meters),
      thousands(r.readings),
      r.pipeline_s.toFixed(1),
      r.pipeline_s_per_m_readings.toFixed(2),
      r.floor_s.toFixed(1),
      r.floor_s_per_m_readings.toFixed(2),
      r.pipeline_over_floor.toFixed(2),
      orNa(r.writer_peak_rss_mb),
      orNa(r.build_peak_rss_mb),
      orNa(r.analytics_peak_rss_mb),
      String(r.month_builds),
      r.writer_seed_s.toFixed(1),
      r.writer_busy_s.toFixed(1),
      thousands(r.lake_data_files),
      mb(r.lake_data_bytes),
      mb(r.catalog_bytes),
    ].join(' | '),
  );
  const flat =
    checks.s_per_m_max_deviation === null
      ? `not judged (${checks.flatness_sizes.length} size(s) from ${thousands(FLATNESS_RANGE.from)} to ${thousands(FLATNESS_RANGE.to)} meters measured, two needed)`
      : `${verdict(checks.s_per_m_flat)}: at most ${(checks.s_per_m_max_deviation * 100).toFixed(1)} % from their median, ${checks.s_per_m_median} s (sizes ${checks.flatness_sizes.map(thousands).join(', ')})`;
  const rss =
    checks.peak_rss_max_mb === null
      ? 'not judged (no peak could be read)'
      : `${verdict(checks.peak_rss_under_limit)}: the highest, ${thousands(checks.peak_rss_max_mb)} MB`;
  return [
    `# Growth curve (${rows.map((r) => thousands(r.meters)).join(', ')} meters, one year each, ${context.repeat === 1 ? 'one run per size' : `median of ${context.repeat} runs per size`})`,
    '',
    `Machine: ${machine.cpus} cores, ${machine.cpu ?? 'unknown CPU'}, ${machine.memory_gb} GiB, Node ${machine.node}; ${machine.date}.`,
    `Chart: [${context.chart}](${context.chart}).`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...lines.map((line) => `| ${line} |`),
    '',
    `- Pipeline seconds per million readings from ${thousands(FLATNESS_RANGE.from)} to ${thousands(FLATNESS_RANGE.to)} meters within ±${FLATNESS_TOLERANCE * 100} % of their median: ${flat}.`,
    `- Peak RSS of every worker under ${thousands(PEAK_RSS_LIMIT_MB)} MB at every size: ${rss}.`,
    '',
  ].join('\n');
}

/** Two panels over meters (log scale): seconds per million readings, pipeline and floor; peak RSS per worker, with the limit. */
export function growthChartSpec(rows: readonly GrowthRow[]): TopLevelSpec {
  const meters = rows.map((r) => r.meters);
  // NOTE: not nice: a nice log scale runs from a power of ten to the next, which left 250-4,000 in a corner
  const domain = meters.length > 0 ? [Math.min(...meters) / 1.25, Math.max(...meters) * 1.25] : [1, 10];
  const x = {
    field: 'meters',
    type: 'quantitative' as const,
    title: 'meters (one year of half-hourly readings each; log scale)',
    scale: { type: 'log' as const, nice: false, domain },
    axis: { values: meters, format: ',d' },
  };
  const legend = { labelLimit: 0 };
  const perM = rows.flatMap((r) => [
    { meters: r.meters, series: 'pipeline', value: r.pipeline_s_per_m_readings },
    { meters: r.meters, series: 'floor (one DuckDB process)', value: r.floor_s_per_m_readings },
  ]);
  const rss = rows.flatMap((r) =>
    (
      [
        ['writer', r.writer_peak_rss_mb],
        ['build worker', r.build_peak_rss_mb],
        ['analytics worker', r.analytics_peak_rss_mb],
      ] as const
    )
      .filter(([, value]) => value !== null)
      .map(([worker, value]) => ({ meters: r.meters, worker, mb: value })),
  );
  return {
    title: 'meterflow as the data grows',
    vconcat: [
      {
        width: 560,
        height: 220,
        title: 'seconds per million readings',
        data: { values: perM },
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 's per million readings', scale: { zero: true } },
          color: { field: 'series', type: 'nominal', title: null, legend },
        },
      },
      {
        width: 560,
        height: 220,
        title: 'peak resident memory per worker process',
        layer: [
          {
            data: { values: rss },
            mark: { type: 'line', point: true },
            encoding: {
              x,
              y: { field: 'mb', type: 'quantitative', title: 'peak RSS (MB)', scale: { zero: true } },
              color: { field: 'worker', type: 'nominal', title: null, legend },
            },
          },
          {
            data: { values: [{ limit: PEAK_RSS_LIMIT_MB }] },
            mark: { type: 'rule', color: '#c0392b', strokeDash: [4, 4] },
            encoding: { y: { field: 'limit', type: 'quantitative' } },
          },
          {
            data: { values: [{ limit: PEAK_RSS_LIMIT_MB, label: `limit ${PEAK_RSS_LIMIT_MB.toLocaleString('en-GB')} MB` }] },
            mark: { type: 'text', color: '#c0392b', align: 'left', baseline: 'bottom', x: 4, dy: -2 },
            encoding: { y: { field: 'limit', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
}

/** A history event, as much of it as the month builds' check and the writer's seconds read. */
export interface HistoryEvent {
  eventId?: unknown;
  eventTime?: { seconds?: unknown; nanos?: number | null } | null;
  activityTaskScheduledEventAttributes?: {
    activityType?: { name?: string | null } | null;
    taskQueue?: { name?: string | null } | null;
  } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; identity?: string | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown; startedEventId?: unknown } | null;
}

/** Seconds the writer spent seeding sources, and running any activity at all. */
export interface WriterSeconds {
  readonly seedSeconds: number;
  readonly busySeconds: number;
}

/**
 * The writer's seconds in a run, from its history: each completed activity of the writer's queue
 * from its start to its completion, those seeding a source apart. The writer runs one activity at a
 * time, so these add up to its busy time: what no number of build workers shortens.
 */
export function writerSeconds(events: readonly HistoryEvent[], writerQueue: string): WriterSeconds {
  const time = (e: HistoryEvent | undefined) => Number(e?.eventTime?.seconds ?? 0) + (e?.eventTime?.nanos ?? 0) / 1e9;
  const byId = new Map(events.map((e) => [String(e.eventId), e]));
  let seedSeconds = 0;
  let busySeconds = 0;
  for (const done of events) {
    const completed = done.activityTaskCompletedEventAttributes;
    if (!completed) continue;
    const scheduled = byId.get(String(completed.scheduledEventId))?.activityTaskScheduledEventAttributes;
    if (scheduled?.taskQueue?.name !== writerQueue) continue;
    const seconds = time(done) - time(byId.get(String(completed.startedEventId)));
    busySeconds += seconds;
    if (scheduled.activityType?.name === 'seedSource') seedSeconds += seconds;
  }
  return { seedSeconds, busySeconds };
}

/**
 * The month builds of a run (`buildMonth` activities) and how many were started by a worker other
 * than the build worker (its identity is `<pid>@<host>`): a growth run must build no month on the writer.
 */
export function monthBuilds(events: readonly HistoryEvent[], buildWorkerPid: number): { total: number; elsewhere: number } {
  const builds = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildMonth').map((e) => String(e.eventId)),
  );
  const started = events.filter((e) => builds.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)));
  const elsewhere = started.filter((e) => !(e.activityTaskStartedEventAttributes?.identity ?? '').startsWith(`${buildWorkerPid}@`)).length;
  return { total: builds.size, elsewhere: elsewhere + (builds.size - started.length) };
}

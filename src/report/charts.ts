// Charts for the run report: Vega-Lite specs compiled to Vega and rendered to SVG on the server, so the
// report needs no script and no network to show them.
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export type Row = Record<string, unknown>;

export async function renderChart(spec: vegaLite.TopLevelSpec): Promise<string> {
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const WIDTH = 640;

const HALF_DAY = 43_200_000;

/** Deviation as a percentage: the master table holds it as a fraction. */
const percent = (value: unknown) => Number(value) * 100;

/** Actual against estimated consumption over time, one line each (estimated dashed). */
export function actualVsEstimated(rows: Row[], title: string, period: string): vegaLite.TopLevelSpec {
  const values = rows.flatMap((r) => [
    { period_start: String(r.period_start), series: 'actual', kwh: Number(r.mean_actual_consumption) },
    { period_start: String(r.period_start), series: 'estimated', kwh: Number(r.mean_estimated_consumption) },
  ]);
  return {
    title,
    width: WIDTH,
    height: 180,
    data: { values },
    mark: { type: 'line', point: values.length < 120 },
    encoding: {
      x: { field: 'period_start', type: 'temporal', title: `${period} (UTC)` },
      y: { field: 'kwh', type: 'quantitative', title: 'mean kWh per half hour' },
      color: { field: 'series', type: 'nominal', title: null },
      strokeDash: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/** The deviation itself over time: each day's mean, each week's mean as a bar across its days, and zero. */
export function deviationOverTime(daily: Row[], weekly: Row[]): vegaLite.TopLevelSpec {
  const days = daily.map((r) => ({ day: String(r.period_start), deviation: percent(r.mean_deviation) }));
  const firstDay = Math.min(...days.map((d) => Date.parse(d.day)));
  const lastDay = Math.max(...days.map((d) => Date.parse(d.day)));
  const weeks = weekly.map((r) => {
    const monday = Date.parse(String(r.period_start));
    // NOTE: a week's bar covers its days with data, half a day either side of their points, so a
    // partial first or last week is drawn over its days only (a one-day week still shows)
    const start = Math.max(monday, firstDay) - HALF_DAY;
    const end = Math.min(monday + 6 * 2 * HALF_DAY, lastDay) + HALF_DAY;
    return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), deviation: percent(r.mean_deviation) };
  });
  return {
    title: "Mean deviation of actual from estimate: each day, and each week's mean",
    width: WIDTH,
    height: 200,
    layer: [
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', color: '#555', strokeWidth: 1 },
        encoding: { y: { field: 'zero', type: 'quantitative' } },
      },
      {
        data: { values: days },
        mark: { type: 'line', color: '#8fb3d9', point: { size: 14, color: '#8fb3d9' } },
        encoding: {
          x: { field: 'day', type: 'temporal', title: 'day (UTC)' },
          y: { field: 'deviation', type: 'quantitative', title: 'mean deviation (%)' },
        },
      },
      {
        data: { values: weeks },
        mark: { type: 'rule', color: '#c0392b', strokeWidth: 3 },
        encoding: {
          x: { field: 'start', type: 'temporal' },
          x2: { field: 'end' },
          y: { field: 'deviation', type: 'quantitative' },
        },
      },
    ],
  };
}

/** Median deviation with its p10-p90 range per group, in %; `label` names a group for its axis. */
export function deviationRange(
  rows: Row[],
  field: string,
  title: string,
  axisTitle: string,
  label: (value: unknown) => string = String,
): vegaLite.TopLevelSpec {
  const values = rows.map((r) => ({
    group: label(r[field]),
    p10: percent(r.p10_deviation),
    median: percent(r.median_deviation),
    p90: percent(r.p90_deviation),
  }));
  return {
    title,
    width: WIDTH,
    height: Math.max(80, values.length * 22),
    data: { values },
    layer: [
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', color: '#555', strokeDash: [3, 3] },
        encoding: { x: { field: 'zero', type: 'quantitative' } },
      },
      {
        mark: { type: 'rule' },
        encoding: {
          // NOTE: sort null keeps the rows' order (by code), not the labels' alphabetical one
          y: { field: 'group', type: 'nominal', title: axisTitle, sort: null, axis: { labelLimit: 0 } },
          x: { field: 'p10', type: 'quantitative', title: 'deviation of actual from estimate (%): p10, median, p90' },
          x2: { field: 'p90' },
        },
      },
      {
        mark: { type: 'point', filled: true, size: 60 },
        encoding: { y: { field: 'group', type: 'nominal', sort: null }, x: { field: 'median', type: 'quantitative' } },
      },
    ],
  };
}

/** Mean actual and estimated per settlement period, weekdays and weekends apart. */
export function loadProfile(rows: Row[]): vegaLite.TopLevelSpec {
  const values = rows.flatMap((r) => [
    { period: Number(r.settlement_period), day_type: String(r.day_type), series: 'actual', kwh: Number(r.mean_actual_consumption) },
    { period: Number(r.settlement_period), day_type: String(r.day_type), series: 'estimated', kwh: Number(r.mean_estimated_consumption) },
  ]);
  return {
    title: 'Half-hourly load profile: weekdays and weekends',
    width: WIDTH,
    height: 200,
    data: { values },
    mark: { type: 'line' },
    encoding: {
      x: {
        field: 'period',
        type: 'quantitative',
        title: 'settlement period of the day (1-48, half hours from 00:00 UTC)',
        scale: { domain: [1, 48] },
      },
      y: { field: 'kwh', type: 'quantitative', title: 'mean kWh per half hour' },
      color: { field: 'series', type: 'nominal', title: null },
      strokeDash: { field: 'day_type', type: 'nominal', title: null },
    },
  };
}

/** Points of log(consumption / estimate) against log(rate), with each profile class's fitted line. */
export function priceResponse(points: Row[], fits: Row[]): vegaLite.TopLevelSpec {
  const lines = fits.flatMap((fit) => {
    const rates = points.filter((p) => p.profile_class_id === fit.profile_class_id).map((p) => Number(p.log_unit_rate));
    if (rates.length === 0) return [];
    const [low, high] = [Math.min(...rates), Math.max(...rates)];
    const at = (x: number) => Number(fit.intercept) + Number(fit.price_elasticity) * x;
    const label = `class ${fit.profile_class_id}: elasticity ${Number(fit.price_elasticity).toFixed(3)} (r² ${Number(fit.r_squared).toFixed(2)})`;
    return [
      { x: low, y: at(low), fit: label },
      { x: high, y: at(high), fit: label },
    ];
  });
  return {
    title: 'Price response of variable-tariff meters (log-log)',
    width: WIDTH,
    height: 240,
    layer: [
      {
        data: { values: points.map((p) => ({ x: Number(p.log_unit_rate), y: Number(p.log_consumption) })) },
        mark: { type: 'point', size: 8, opacity: 0.35 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'log(unit rate, p/kWh)', scale: { zero: false } },
          y: { field: 'y', type: 'quantitative', title: 'log(actual / estimate), a ratio of kWh', scale: { zero: false } },
        },
      },
      {
        data: { values: lines },
        mark: { type: 'line', strokeWidth: 2.5, color: '#c0392b' },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          detail: { field: 'fit', type: 'nominal' },
          tooltip: { field: 'fit', type: 'nominal' },
        },
      },
    ],
  };
}

/** Each node of the run as a bar from its start to its end. */
export function gantt(
  nodes: { id: string; kind: string; startedAt?: number; finishedAt?: number; state: string }[],
): vegaLite.TopLevelSpec {
  const first = Math.min(...nodes.filter((n) => n.startedAt !== undefined).map((n) => n.startedAt as number));
  const values = nodes
    .filter((n) => n.startedAt !== undefined && n.finishedAt !== undefined)
    .map((n) => ({
      node: n.id,
      kind: n.kind,
      start: ((n.startedAt as number) - first) / 1000,
      end: Math.max(((n.finishedAt as number) - first) / 1000, ((n.startedAt as number) - first) / 1000 + 0.01),
      state: n.state,
    }));
  return {
    title: 'The run: each node from start to end',
    width: WIDTH,
    height: Math.max(120, values.length * 14),
    data: { values },
    mark: { type: 'bar', cornerRadius: 2 },
    encoding: {
      // NOTE: labelLimit 0: the default cut every seed to the same `seed:smart_meter_cons…`
      y: { field: 'node', type: 'nominal', sort: { field: 'start' }, title: null, axis: { labelLimit: 0 } },
      x: { field: 'start', type: 'quantitative', title: 'seconds since the first node started (s)' },
      x2: { field: 'end' },
      color: { field: 'kind', type: 'nominal' },
    },
  };
}

// The growth curve's and the commit part's pure figures: rows, checks, the table, the chart, and the
// check that month builds ran on the build worker.
import { commitFilesMarkdown, commitFilesRow, rowsAdded } from '../../src/bench/commit-files-results';
import {
  growthChartSpec,
  growthChecks,
  growthMarkdown,
  growthRow,
  monthBuilds,
  sizeList,
  writerSeconds,
  type GrowthMeasurement,
  type GrowthRow,
} from '../../src/bench/growth-results';
import { renderChart } from '../../src/report/charts';

const machine = { cpus: 2, cpu: 'Test CPU', memory_gb: 24, node: 'v20', date: '2026-12-05T00:00:00.000Z' };

function measured(meters: number, pipelineSeconds: number, peaks: Partial<GrowthMeasurement['peakRssMb']> = {}): GrowthMeasurement {
  return {
    meters,
    readings: meters * 17_520,
    runs: 1,
    pipelineSeconds,
    floorSeconds: pipelineSeconds / 2,
    peakRssMb: { writer: 400, build: 600, analytics: 300, ...peaks },
    monthBuilds: { total: 12, elsewhere: 0 },
    writer: { seedSeconds: 1.234, busySeconds: 5.678 },
    lake: { dataFiles: 40, dataBytes: 5 * 2 ** 20, diskBytes: 6 * 2 ** 20, catalogBytes: 2 ** 20 },
  };
}

/** Rows whose pipeline takes `perM` seconds per million readings at each size. */
const curve = (sizes: [number, number][], peaks: Partial<GrowthMeasurement['peakRssMb']> = {}): GrowthRow[] =>
  sizes.map(([meters, perM]) => growthRow(measured(meters, (perM * meters * 17_520) / 1e6, peaks)));

describe('sizeList', () => {
  it('reads comma-separated positive whole numbers in order', () => {
    expect(sizeList('250, 500,1000', '--growth-sizes')).toEqual([250, 500, 1000]);
  });

  it('refuses anything else, naming the flag', () => {
    expect(() => sizeList('250,abc', '--growth-sizes')).toThrow(/--growth-sizes: .*abc/);
    expect(() => sizeList('0', '--commit-files')).toThrow(/--commit-files/);
    expect(() => sizeList('1.5', '--commit-files')).toThrow(/1\.5/);
    expect(() => sizeList('', '--commit-files')).toThrow(/--commit-files/);
  });
});

describe('growthRow', () => {
  it('divides the seconds by the millions of readings and keeps the rest', () => {
    const row = growthRow(measured(1000, 35.04));
    expect(row.readings).toBe(17_520_000);
    expect(row.pipeline_s_per_m_readings).toBe(2);
    expect(row.floor_s_per_m_readings).toBe(1);
    expect(row.pipeline_over_floor).toBe(2);
    expect(row).toMatchObject({ writer_peak_rss_mb: 400, build_peak_rss_mb: 600, analytics_peak_rss_mb: 300, month_builds: 12 });
    expect(row).toMatchObject({ lake_data_files: 40, lake_data_bytes: 5 * 2 ** 20, catalog_bytes: 2 ** 20 });
    expect(row).toMatchObject({ writer_seed_s: 1.23, writer_busy_s: 5.68 });
  });
});

describe('growthChecks', () => {
  it('judges flatness from 500 to 4,000 meters against the median, leaving 250 out', () => {
    const checks = growthChecks(
      curve([
        [250, 9],
        [500, 2.2],
        [1000, 2],
        [2000, 2],
        [4000, 1.9],
      ]),
    );
    expect(checks.flatness_sizes).toEqual([500, 1000, 2000, 4000]);
    expect(checks.s_per_m_median).toBe(2);
    expect(checks.s_per_m_max_deviation).toBeCloseTo(0.1, 3);
    expect(checks.s_per_m_flat).toBe(true);
  });

  it('misses flatness beyond ±20 %', () => {
    const checks = growthChecks(
      curve([
        [500, 2],
        [1000, 2],
        [4000, 2.6],
      ]),
    );
    expect(checks.s_per_m_flat).toBe(false);
    expect(checks.s_per_m_max_deviation).toBeCloseTo(0.3, 3);
  });

  it('does not judge flatness with fewer than two sizes in the range', () => {
    const checks = growthChecks(
      curve([
        [50, 2],
        [100, 2],
      ]),
    );
    expect(checks.flatness_sizes).toEqual([]);
    expect(checks.s_per_m_flat).toBeNull();
  });

  it('judges every worker’s peak against 1,536 MB, and leaves it open when a peak is unknown', () => {
    expect(growthChecks(curve([[500, 2]], { build: 1535 }))).toMatchObject({ peak_rss_max_mb: 1535, peak_rss_under_limit: true });
    expect(growthChecks(curve([[500, 2]], { writer: 1536 }))).toMatchObject({ peak_rss_max_mb: 1536, peak_rss_under_limit: false });
    expect(growthChecks(curve([[500, 2]], { analytics: null }))).toMatchObject({ peak_rss_under_limit: null });
  });
});

describe('growthMarkdown', () => {
  it('has a row per size with every column, and the checks', () => {
    const rows = curve([
      [500, 2],
      [1000, 2.1],
    ]);
    const markdown = growthMarkdown(rows, growthChecks(rows), { repeat: 1, chart: '../docs/growth.svg', machine });
    const lines = markdown.split('\n');
    const header = lines.find((line) => line.startsWith('| meters'));
    expect(header?.split('|').length).toBe(18);
    expect(lines.find((line) => line.startsWith('| 1,000 |'))).toBe(
      '| 1,000 | 17,520,000 | 36.8 | 2.10 | 18.4 | 1.05 | 2.00 | 400 | 600 | 300 | 12 | 1.2 | 5.7 | 40 | 5.00 | 1.00 |',
    );
    expect(markdown).toContain('one run per size');
    expect(markdown).toContain('[../docs/growth.svg](../docs/growth.svg)');
    expect(markdown).toMatch(/within ±20 % of their median: met: at most 2\.4 %/);
    expect(markdown).toMatch(/under 1,536 MB at every size: met: the highest, 600 MB/);
  });
});

describe('growthChartSpec', () => {
  it('draws two panels over a log-scale meter axis, and renders to SVG', async () => {
    const rows = curve([
      [250, 3],
      [500, 2],
      [1000, 2],
    ]);
    const spec = growthChartSpec(rows) as { vconcat: { data?: { values: unknown[] }; encoding?: { x: { scale: { type: string } } } }[] };
    expect(spec.vconcat).toHaveLength(2);
    expect(spec.vconcat[0]?.encoding?.x.scale.type).toBe('log');
    expect(spec.vconcat[0]?.data?.values).toHaveLength(6);
    const svg = await renderChart(growthChartSpec(rows));
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('seconds per million readings');
    expect(svg).toContain('build worker');
  });
});

describe('monthBuilds', () => {
  const scheduled = (id: number, name: string) => ({ eventId: id, activityTaskScheduledEventAttributes: { activityType: { name } } });
  const started = (scheduledEventId: number, identity: string) => ({
    eventId: scheduledEventId + 100,
    activityTaskStartedEventAttributes: { scheduledEventId, identity },
  });

  it('counts the month builds and those not started by the build worker', () => {
    const events = [
      scheduled(1, 'buildMonth'),
      scheduled(2, 'buildMonth'),
      scheduled(3, 'commitBuiltMonths'),
      started(1, '4242@host'),
      started(2, '4242@host'),
      started(3, '17@host'),
    ];
    expect(monthBuilds(events, 4242)).toEqual({ total: 2, elsewhere: 0 });
    expect(monthBuilds(events, 17)).toEqual({ total: 2, elsewhere: 2 });
  });

  it('counts a month build that never started as built elsewhere', () => {
    expect(monthBuilds([scheduled(1, 'buildMonth')], 4242)).toEqual({ total: 1, elsewhere: 1 });
  });
});

describe('writerSeconds', () => {
  const at = (seconds: number) => ({ seconds: Math.floor(seconds), nanos: Math.round((seconds % 1) * 1e9) });
  /** An activity on a queue: scheduled, started at `from`, completed at `to` (ids from `id`). */
  const activity = (id: number, name: string, queue: string, from: number, to: number) => [
    { eventId: id, eventTime: at(from), activityTaskScheduledEventAttributes: { activityType: { name }, taskQueue: { name: queue } } },
    { eventId: id + 1, eventTime: at(from), activityTaskStartedEventAttributes: { scheduledEventId: id, identity: '1@host' } },
    { eventId: id + 2, eventTime: at(to), activityTaskCompletedEventAttributes: { scheduledEventId: id, startedEventId: id + 1 } },
  ];

  it("adds up the writer queue's activities from start to completion, seeds apart", () => {
    const events = [
      ...activity(10, 'seedSource', 'w-1', 100, 100.5),
      ...activity(20, 'seedSource', 'w-1', 100.5, 101.25),
      ...activity(30, 'buildMonth', 'b-1', 101, 109),
      ...activity(40, 'commitBuiltMonths', 'w-1', 109, 109.5),
    ];
    const seconds = writerSeconds(events, 'w-1');
    expect(seconds.seedSeconds).toBeCloseTo(1.25, 6);
    expect(seconds.busySeconds).toBeCloseTo(1.75, 6);
  });

  it('counts nothing for an activity that never completed, or another queue', () => {
    const [scheduled, started] = activity(10, 'seedSource', 'w-1', 100, 101);
    expect(writerSeconds([scheduled, started] as never[], 'w-1')).toEqual({ seedSeconds: 0, busySeconds: 0 });
    expect(writerSeconds(activity(10, 'seedSource', 'w-1', 100, 101), 'w-2')).toEqual({ seedSeconds: 0, busySeconds: 0 });
  });
});

describe('the commit part', () => {
  it('counts the rows a commit added, by table', () => {
    expect(rowsAdded({ a: 1, b: 5 }, { a: 1, b: 7, c: 3 })).toEqual({ b: 2, c: 3 });
  });

  it('makes a row and a table of it', () => {
    const row = commitFilesRow(
      1000,
      { addSeconds: 1.5, commitSeconds: 0.5 },
      {
        rowsBefore: { ducklake_data_file: 0 },
        rowsAfter: { ducklake_data_file: 1000, ducklake_snapshot: 1 },
        bytesBefore: 100,
        bytesAfter: 600,
      },
    );
    expect(row).toMatchObject({ files: 1000, total_s: 2, ms_per_file: 2, catalog_rows_added: 1001, catalog_bytes_added: 500 });
    expect(commitFilesMarkdown([row], machine)).toContain(
      '| 1,000 | 1.500 | 0.500 | 2.000 | 2.000 | 1,001 | ducklake_data_file 1,000, ducklake_snapshot 1 | 500 |',
    );
  });
});

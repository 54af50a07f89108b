// The run's progress as people see it: the Web UI's current details (narrow markdown), the terminal
// screen that fits the terminal, and the closing tally. Pure: hand-made runs, a fake 24-row terminal.
import { SOURCE_NAMES } from '../../src/generator/generate';
import { shownStates } from '../../src/contract/node-states';
import type { NodeKind, NodeProgress, NodeState, PipelineProgress } from '../../src/contract/run';
import { liveProgressPrinter, progressScreen, type LiveStream } from '../../src/cli/progress';
import { describeProgress } from '../../src/workflows/progress-markdown';

const T0 = Date.UTC(2024, 0, 31, 2, 0, 0);

function node(kind: NodeKind, name: string, state: NodeState, extra: Partial<NodeProgress> = {}): NodeProgress {
  return { id: `${kind}:${name}`, kind, name, dependsOn: [], state, ...extra };
}

const SOURCES = SOURCE_NAMES;
const MODELS = [
  'stg_smart_meter_consumption',
  'stg_meter_register_agreement_configuration_interval',
  'stg_period_profile_coefficients',
  'stg_estimated_annual_consumption_interval',
  'stg_tariff_unit_rates',
  'readings_of_all_quarters',
  'demand_price_elasticity',
];
const ANALYTICS = [
  'actual_vs_estimated_daily',
  'actual_vs_estimated_weekly',
  'actual_vs_estimated_monthly',
  'price_response_variable_tariff',
  'half_hourly_load_profile',
  'deviation_by_profile_class',
  'meter_anomalies',
  'deviation_by_gsp_group',
];

/** A 40-node run like the sample project's, every node in the state `stateOf` gives it. */
function fortyNodeRun(stateOf: (kind: NodeKind, index: number) => NodeState): NodeProgress[] {
  const at = (state: NodeState, index: number): Partial<NodeProgress> =>
    state === 'pending' || state === 'skipped'
      ? {}
      : state === 'running'
        ? { startedAt: T0 + index * 1000 }
        : { startedAt: T0 + index * 1000, finishedAt: T0 + index * 1000 + 123_456, rows: 34_567_890 };
  const nodes: NodeProgress[] = [];
  const add = (kind: NodeKind, name: string) => {
    const state = stateOf(kind, nodes.length);
    nodes.push(node(kind, name, state, at(state, nodes.length)));
  };
  SOURCES.forEach((name) => add('seed', name));
  MODELS.forEach((name) => {
    add('model', name);
    add('test', name);
  });
  add('test', 'assert_overlapping_readings_agree');
  add('snapshot', 'master');
  ANALYTICS.forEach((name) => add('analytics', name));
  add('publish', 'run');
  add('report', 'run');
  while (nodes.length < 40) add('test', `singular_check_${nodes.length}`);
  return nodes;
}

/** Columns a line takes in the panel, counted independently of the code under test: emoji are two wide. */
function panelColumns(line: string): number {
  return [...line].reduce((width, char) => {
    const code = char.codePointAt(0) ?? 0;
    if (code === 0xfe0f) return width; // the emoji variation selector takes no room of its own
    return width + (code >= 0x2190 ? 2 : 1);
  }, 0);
}

const context = { kind: 'manual', logicalDate: '2024-01-31T02:00:00.000Z', startedAt: T0, now: T0 + 95_000 };

describe("the Web UI's current details", () => {
  it('fit 60 columns on every line for a 40-node run, in every mix of states', () => {
    const mixes: ((kind: NodeKind, index: number) => NodeState)[] = [
      () => 'pending',
      (_, i) => (i < 5 ? 'running' : 'pending'),
      (_, i) => (i < 20 ? 'succeeded' : i < 25 ? 'running' : 'pending'),
      (_, i) => (['failed', 'succeeded', 'unchanged', 'skipped', 'running', 'pending'] as const)[i % 6] ?? 'pending',
      () => 'succeeded',
    ];
    for (const mix of mixes) {
      const nodes = fortyNodeRun(mix);
      nodes[3] = { ...(nodes[3] as NodeProgress), state: 'failed', error: `source x: ${'/very/long/path/to/a/file.parquet '.repeat(8)}` };
      nodes[9] = {
        ...(nodes[9] as NodeProgress),
        note: 'tests_of_something (3 failing rows, warn); a_very_long_unbroken_' + 'x'.repeat(90),
      };
      const markdown = describeProgress(nodes, context);
      const lines = markdown.split('\n');
      expect(lines.filter((line) => panelColumns(line) > 60)).toEqual([]);
      // a line per node, whatever its state
      expect(lines.filter((line) => /^- \S+ (seed|model|test|snapshot|analytics|publish|report):/.test(line))).toHaveLength(40);
    }
  });

  it('open with the run state, the counts by state and the time elapsed', () => {
    const nodes = fortyNodeRun((_, i) => (i < 5 ? 'succeeded' : i < 8 ? 'running' : 'pending'));
    const [header, second] = describeProgress(nodes, context).split('\n');
    expect(header).toBe('**running** · 95 s · ✅ 5 ▶️ 1 ⏳ 2 ⚪ 32');
    expect(second).toBe('manual run · logical date 2024-01-31T02:00:00.000Z');
  });

  it('show one writer node running and the other scheduled writer nodes queued, analytics all running', () => {
    const nodes = [
      node('seed', 'q1', 'running', { startedAt: T0 }),
      node('seed', 'q2', 'running', { startedAt: T0 }),
      node('seed', 'q3', 'running', { startedAt: T0 }),
      node('analytics', 'daily', 'running', { startedAt: T0 }),
      node('analytics', 'weekly', 'running', { startedAt: T0 }),
      node('test', 'weekly', 'running', { startedAt: T0 + 5 }),
    ];
    expect(Object.fromEntries(shownStates(nodes))).toEqual({
      'seed:q1': 'running',
      'seed:q2': 'queued',
      'seed:q3': 'queued',
      'analytics:daily': 'running',
      'analytics:weekly': 'running',
      'test:weekly': 'running',
    });
    const lines = describeProgress(nodes, { ...context, now: T0 + 2500 }).split('\n');
    expect(lines).toContain('- ▶️ seed:q1 · 2.5 s');
    expect(lines).toContain('- ⏳ seed:q2 · queued · 2.5 s');
  });

  it("show a model whose tests are in flight as its tests are, the tests taking the writer's place", () => {
    const nodes = [
      node('model', 'stg_readings', 'running', { startedAt: T0 }),
      node('seed', 'tariffs', 'running', { startedAt: T0 + 1 }),
      node('test', 'stg_readings', 'running', { startedAt: T0 + 2 }),
      node('model', 'stg_tariffs', 'running', { startedAt: T0 + 3 }),
      node('test', 'stg_tariffs', 'running', { startedAt: T0 + 4 }),
    ];
    expect(Object.fromEntries(shownStates(nodes))).toEqual({
      'model:stg_readings': 'queued',
      'seed:tariffs': 'running',
      'test:stg_readings': 'queued',
      'model:stg_tariffs': 'queued',
      'test:stg_tariffs': 'queued',
    });
  });

  it('list errors and unusual notes below the nodes, and leave routine notes out', () => {
    const nodes = [
      node('seed', 'q1', 'succeeded', { startedAt: T0, finishedAt: T0 + 1500, rows: 1234, note: '4 file(s) loaded, 0 removed' }),
      node('seed', 'q2', 'succeeded', {
        startedAt: T0,
        finishedAt: T0 + 1500,
        rows: 12_345,
        note: '4 file(s) loaded, 0 removed, 2 ignored (not .parquet): a.csv, b.txt',
      }),
      node('test', 'stg', 'succeeded', { note: '5 passed', startedAt: T0, finishedAt: T0 + 100 }),
      node('model', 'stg', 'unchanged', { note: 'up to date: its inputs and SQL are unchanged since it was built' }),
      node('seed', 'tariffs', 'failed', { startedAt: T0, finishedAt: T0 + 200, error: 'source tariffs: bad.parquet is not Parquet' }),
    ];
    const markdown = describeProgress(nodes, context);
    expect(markdown).toContain('- ✅ seed:q1 · 1.5 s · 1,234 rows');
    expect(markdown).toContain('- ✅ seed:q2 · 1.5 s · 12.3k rows');
    expect(markdown.split('**notes**')[1]?.trim().split('\n')).toEqual([
      '- seed:tariffs: source tariffs: bad.parquet is not Parquet',
      '- seed:q2: 2 ignored (not .parquet): a.csv, b.txt',
    ]);
    expect(markdown.split('\n')[0]).toMatch(/^\*\*failed\*\*/);
  });
});

describe('the terminal view', () => {
  const progressOf = (nodes: NodeProgress[]): PipelineProgress => ({
    workflowId: 'pipeline-2024-01-31T02-00-00Z-ab12',
    startedAt: T0,
    logicalDate: '2024-01-31T02:00:00.000Z',
    nodes,
    done: false,
  });

  it("shows only the nodes in flight below the run's lines, with a header that counts every node", () => {
    const nodes = fortyNodeRun((_, i) => (i < 3 ? 'succeeded' : i === 3 ? 'running' : 'pending')).slice(0, 10);
    const lines = progressScreen(progressOf(nodes), T0 + 10_000, { rows: 24, columns: 120 }).split('\n');
    expect(lines[0]).toMatch(/^10 s: 3 succeeded, 1 running, 6 pending · run pipeline-/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^▶ seed:smart_meter_consumption_q4 running +\d+\.\ds$/)]);
  });

  it('on a small terminal draws at most its rows, counting the nodes in flight it cannot show, never wider than it is', () => {
    const nodes = fortyNodeRun((_, i) => (i < 3 ? 'succeeded' : i < 30 ? 'running' : 'pending'));
    const lines = progressScreen(progressOf(nodes), T0 + 10_000, { rows: 6, columns: 50 }).split('\n');
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines.at(-1)).toMatch(/^… \d+ more: /);
    expect(lines.every((line) => line.length < 50)).toBe(true);
  });

  it('writes each node as it ends above a live view whose last frame is the final count', () => {
    const frames: string[] = [];
    const stream: LiveStream = {
      rows: 24,
      columns: 100,
      isTTY: false,
      write: (chunk: string | Uint8Array) => frames.push(String(chunk)) > 0,
    };
    const live = liveProgressPrinter(stream);
    for (let step = 0; step <= 36; step += 6) {
      live.update(progressOf(fortyNodeRun((_, i) => (i < step ? 'succeeded' : i < step + 4 ? 'running' : 'pending'))));
    }
    // the run failed meanwhile: its final progress, not the last polled, is what the view ends on
    live.finish(progressOf(fortyNodeRun((_, i) => (i < 36 ? 'succeeded' : i === 36 ? 'failed' : 'skipped'))));
    const text = frames.join('').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    for (let n = 1; n <= 40; n++) expect(text).toMatch(new RegExp(`^ ?${n} of 40 (OK|PASS|ERROR|SKIP) `, 'm'));
    expect(text.match(/^ ?\d+ of 40 /gm)).toHaveLength(40);
    const lastFrame = text
      .slice(text.search(/^ ?40 of 40 .*$/m))
      .split('\n')
      .slice(1)
      .join('\n')
      .trim();
    expect(lastFrame).toMatch(/^\d+ s: 1 failed, 36 succeeded, 3 skipped · run pipeline-[^\n]*$/);
    for (const frame of frames)
      expect(frame.split('\n').every((line) => line.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').length <= 100)).toBe(true);
  });
});

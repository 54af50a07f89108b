// Progress of a run on the command line, as dbt shows it: a line per node as it starts (when piped) and
// as it ends; on a terminal, below those lines, the nodes in flight redrawn in place to fit it, whose
// last frame is the run's true final count.
import { shownStates, type ShownState } from '../contract/node-states';
import type { NodeProgress, PipelineProgress } from '../contract/run';
import { endLines, singularTests, startLine, type LineStyle } from './run-lines';

const ENDED: ReadonlySet<NodeProgress['state']> = new Set(['succeeded', 'failed', 'unchanged', 'skipped']);

/**
 * What a run's progress adds to its log since the last look: START lines (when asked for) and each
 * ended node's lines, in the order nodes ended. `final`: nodes that never ended (a stopped run) are SKIPs.
 */
export class RunLog {
  private readonly started = new Set<string>();
  private readonly ended = new Set<string>();

  constructor(private readonly withStarts: boolean) {}

  linesFor(progress: PipelineProgress, style: LineStyle, final = false): string[] {
    const total = progress.nodes.length;
    const position = (index: number) => `${String(index + 1).padStart(String(total).length)} of ${total}`;
    const singular = singularTests(progress.nodes);
    const dataTests = progress.dataTests ?? [];
    // every start and end not told yet, told in the order they happened
    const events: { at: number; index: number; lines: string[] }[] = [];
    progress.nodes.forEach((node, index) => {
      const ran = node.state === 'running' || node.state === 'succeeded' || node.state === 'failed';
      if (this.withStarts && ran && node.startedAt !== undefined && !this.started.has(node.id)) {
        this.started.add(node.id);
        events.push({ at: node.startedAt, index, lines: [startLine(node, position(index), singular.has(node.id), style)] });
      }
      if (this.ended.has(node.id) || !(ENDED.has(node.state) || final)) return;
      this.ended.add(node.id);
      const outcomes = node.kind === 'test' ? dataTests.filter((test) => test.target === node.name) : [];
      const at = node.finishedAt ?? Infinity;
      events.push({ at, index, lines: endLines(node, position(index), singular.has(node.id), outcomes, style) });
    });
    events.sort((a, b) => a.at - b.at || a.index - b.index);
    return events.flatMap((event) => event.lines);
  }
}

/** Returns a callback for waitForPipeline that writes a line per node as it starts and as it ends. */
export function plainProgressPrinter(
  write: (line: string) => void,
  style: LineStyle = { colour: false },
): {
  update: (progress: PipelineProgress) => void;
  finish: (final?: PipelineProgress) => void;
} {
  const log = new RunLog(true);
  let last: PipelineProgress | undefined;
  return {
    update: (progress) => log.linesFor((last = progress), style).forEach((line) => write(line)),
    finish: (final) => {
      const progress = final ?? last;
      if (progress) log.linesFor(progress, style, true).forEach((line) => write(line));
    },
  };
}

const ICONS: Record<ShownState, string> = {
  pending: '·',
  queued: '○',
  running: '▶',
  succeeded: '✔',
  unchanged: '=',
  failed: '✘',
  skipped: '-',
};

/** The order states are counted in: what happened, what is going on, what is to come. */
const COUNT_ORDER: readonly ShownState[] = ['failed', 'succeeded', 'unchanged', 'skipped', 'running', 'queued', 'pending'];

/** The nodes the live view shows: what runs and what waits on a worker. */
const IN_FLIGHT: readonly ShownState[] = ['running', 'queued'];

/** At most this many nodes in flight are drawn: the lines above them are the run's log. */
const MAX_IN_FLIGHT_LINES = 8;

export interface ScreenSize {
  /** Terminal rows and columns; the screen takes at most rows - 1 lines so that it never scrolls. */
  readonly rows: number;
  readonly columns: number;
}

function countsText(states: readonly ShownState[]): string {
  const counts = new Map<ShownState, number>();
  for (const state of states) counts.set(state, (counts.get(state) ?? 0) + 1);
  return COUNT_ORDER.filter((state) => counts.get(state))
    .map((state) => `${counts.get(state)} ${state}`)
    .join(', ');
}

/**
 * What a terminal shows below the run's lines, redrawn in place: a header with the counts, then the
 * nodes in flight (running, or queued behind the writer), as many as fit and a line counting the rest.
 * Never more lines than the terminal has rows, nor wider than it is.
 */
export function progressScreen(progress: PipelineProgress, now: number, size: ScreenSize = { rows: 24, columns: 80 }): string {
  const shown = shownStates(progress.nodes);
  const stateOf = (node: NodeProgress): ShownState => shown.get(node.id) ?? node.state;
  // the counts first: a narrow terminal cuts the end of the line
  const elapsed = progress.startedAt > 0 ? `${((now - progress.startedAt) / 1000).toFixed(0)} s: ` : '';
  const header = `${elapsed}${countsText(progress.nodes.map(stateOf))} · run ${progress.workflowId}`;
  const inFlight = progress.nodes.filter((node) => IN_FLIGHT.includes(stateOf(node)));
  const room = Math.max(1, Math.min(MAX_IN_FLIGHT_LINES, size.rows - 3));
  const visible = inFlight.length <= room + 1 ? inFlight : inFlight.slice(0, room);
  const width = Math.max(...visible.map((n) => n.id.length), 0);
  const lines = visible.map((node) => {
    const state = stateOf(node);
    const elapsedNode = node.startedAt !== undefined ? `${((now - node.startedAt) / 1000).toFixed(1)}s` : '';
    return `${ICONS[state]} ${node.id.padEnd(width)} ${state.padEnd(7)} ${elapsedNode.padStart(7)}`;
  });
  const hidden = inFlight.slice(visible.length);
  const rest = hidden.length > 0 ? [`… ${hidden.length} more: ${countsText(hidden.map(stateOf))}`] : [];
  const cut = (line: string) => (line.length < size.columns ? line : `${line.slice(0, Math.max(1, size.columns - 2))}…`);
  return [header, ...lines, ...rest].map(cut).join('\n');
}

/** The stream a live view draws on: a terminal's rows and columns, read at each redraw (it may be resized). */
export type LiveStream = Pick<NodeJS.WriteStream, 'write' | 'rows' | 'columns' | 'isTTY'>;

/**
 * On a terminal: each node's lines as it ends, written above the nodes in flight redrawn in place
 * (log-update). `finish` writes what the final progress adds and leaves its count as the last frame.
 */
export function liveProgressPrinter(
  stream: LiveStream = process.stdout,
  colour = false,
): {
  update: (progress: PipelineProgress) => void;
  finish: (final?: PipelineProgress) => void;
} {
  // loaded here so that non-terminal output never touches the terminal library
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { create } = require('log-update') as { create(stream: LiveStream): { (text: string): void; clear(): void; done(): void } };
  const logUpdate = create(stream);
  const size = () => ({ rows: stream.rows || 24, columns: stream.columns || 80 });
  const log = new RunLog(false);
  let last: PipelineProgress | undefined;
  const draw = (progress: PipelineProgress, final: boolean) => {
    const lines = log.linesFor(progress, { colour, columns: size().columns }, final);
    if (lines.length > 0) {
      logUpdate.clear();
      stream.write(`${lines.join('\n')}\n`);
    }
    logUpdate(progressScreen(progress, Date.now(), size()));
  };
  return {
    update(progress) {
      last = progress;
      draw(progress, false);
    },
    finish(final) {
      const progress = final ?? last;
      if (progress) draw(progress, true);
      logUpdate.done();
    },
  };
}

// Progress of a run on the command line: a line per change (plain), a screen redrawn in place that fits
// the terminal (live), and the closing tally.
import { shownStates, type ShownState } from '../contract/node-states';
import type { DataTestOutcome, NodeProgress, PipelineProgress } from '../contract/run';

function seconds(node: NodeProgress): string {
  return node.startedAt !== undefined && node.finishedAt !== undefined ? `${((node.finishedAt - node.startedAt) / 1000).toFixed(1)}s` : '';
}

export function describeNode(node: NodeProgress): string {
  const label = `${node.kind} ${node.name}`;
  switch (node.state) {
    case 'running':
      return `started   ${label}`;
    case 'succeeded':
      return `finished  ${label} in ${seconds(node)}${node.rows === undefined || node.rows === null ? '' : `, ${node.rows} rows`}`;
    case 'failed':
      return `FAILED    ${label} after ${seconds(node)}: ${node.error ?? 'unknown error'}`;
    default:
      return `${node.state.padEnd(9)} ${label}${node.note ? ` (${node.note})` : ''}`;
  }
}

/** Returns a callback for waitForPipeline that writes a line per node state change. */
export function plainProgressPrinter(write: (line: string) => void): (progress: PipelineProgress) => void {
  const seen = new Map<string, string>();
  return (progress) => {
    for (const node of progress.nodes) {
      if (node.state === 'pending' || seen.get(node.id) === node.state) continue;
      // a node that started and finished between two polls still gets its start line
      if ((node.state === 'succeeded' || node.state === 'failed') && !seen.has(node.id)) write(describeNode({ ...node, state: 'running' }));
      seen.set(node.id, node.state);
      write(describeNode(node));
    }
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

/** Which nodes to show when not all fit: failures, then what runs and waits on a worker, then the latest finished. */
const SHOW_FIRST: readonly ShownState[] = ['failed', 'running', 'queued'];

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
 * The DAG for a terminal redrawn in place: a header with the counts, then a line per node when all fit
 * in the terminal; otherwise the failed, running and queued nodes (then the latest finished) and one
 * line counting the rest. Never more lines than the terminal has rows, nor wider than it is.
 */
export function progressScreen(progress: PipelineProgress, now: number, size: ScreenSize = { rows: 24, columns: 80 }): string {
  const shown = shownStates(progress.nodes);
  const stateOf = (node: NodeProgress): ShownState => shown.get(node.id) ?? node.state;
  // the counts first: a narrow terminal cuts the end of the line
  const elapsed = progress.startedAt > 0 ? `${((now - progress.startedAt) / 1000).toFixed(0)} s: ` : '';
  const header = `${elapsed}${countsText(progress.nodes.map(stateOf))} · run ${progress.workflowId}`;
  const maxLines = Math.max(3, size.rows - 1);
  const fitsWhole = progress.nodes.length + 1 <= maxLines;
  let visible = progress.nodes;
  if (!fitsWhole) {
    const room = maxLines - 2; // the header and the count line
    const finishedLatestFirst = progress.nodes
      .filter((node) => node.finishedAt !== undefined && !SHOW_FIRST.includes(stateOf(node)))
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0));
    const chosen = new Set(
      [...SHOW_FIRST.flatMap((state) => progress.nodes.filter((node) => stateOf(node) === state)), ...finishedLatestFirst]
        .slice(0, room)
        .map((node) => node.id),
    );
    visible = progress.nodes.filter((node) => chosen.has(node.id));
  }
  const width = Math.max(...visible.map((n) => n.id.length), 0);
  const lines = visible.map((node) => {
    const state = stateOf(node);
    const end = node.finishedAt ?? (state === 'running' || state === 'queued' ? now : undefined);
    const elapsedNode = node.startedAt !== undefined && end !== undefined ? `${((end - node.startedAt) / 1000).toFixed(1)}s` : '';
    return `${ICONS[state]} ${node.id.padEnd(width)} ${state.padEnd(9)} ${elapsedNode.padStart(7)}${node.rows !== undefined && node.rows !== null ? `  ${node.rows.toLocaleString('en-GB')} rows` : ''}`;
  });
  const hidden = progress.nodes.filter((node) => !visible.includes(node));
  const rest = hidden.length > 0 ? [`… ${hidden.length} more: ${countsText(hidden.map(stateOf))}`] : [];
  const cut = (line: string) => (line.length < size.columns ? line : `${line.slice(0, Math.max(1, size.columns - 2))}…`);
  return [header, ...lines, ...rest].map(cut).join('\n');
}

/** The data tests that warned, by target, from a run's result (or its nodes' notes when there is none). */
function warnedTargets(nodes: readonly NodeProgress[], dataTests: readonly DataTestOutcome[]): Set<string> {
  const warned = new Set(dataTests.filter((test) => test.status === 'warn').map((test) => test.target));
  for (const node of nodes) if (node.kind === 'test' && /, warn\)/.test(node.note ?? '')) warned.add(node.name);
  return warned;
}

/**
 * The closing tally, like dbt's: PASS succeeded, WARN succeeded with a data test warning, ERROR failed,
 * SKIP never ran (an input failed, or the run stopped first), UNCHANGED up to date so not run.
 */
export function tallyLine(nodes: readonly NodeProgress[], elapsedMs: number, dataTests: readonly DataTestOutcome[] = []): string {
  const warned = warnedTargets(nodes, dataTests);
  const tally = { PASS: 0, WARN: 0, ERROR: 0, SKIP: 0, UNCHANGED: 0 };
  for (const node of nodes) {
    if (node.state === 'succeeded') tally[node.kind === 'test' && warned.has(node.name) ? 'WARN' : 'PASS'] += 1;
    else if (node.state === 'failed') tally.ERROR += 1;
    else if (node.state === 'unchanged') tally.UNCHANGED += 1;
    else tally.SKIP += 1;
  }
  const counts = Object.entries(tally).map(([name, count]) => `${name}=${count}`);
  return `${counts.join(' ')} in ${(elapsedMs / 1000).toFixed(1)} s`;
}

/** The stream a live view draws on: a terminal's rows and columns, read at each redraw (it may be resized). */
export type LiveStream = Pick<NodeJS.WriteStream, 'write' | 'rows' | 'columns' | 'isTTY'>;

/** Redraws the DAG in place on a terminal (log-update); `done` leaves the last screen standing. */
export function liveProgressPrinter(stream: LiveStream = process.stdout): {
  update: (progress: PipelineProgress) => void;
  done: () => void;
} {
  // loaded here so that non-terminal output never touches the terminal library
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { create } = require('log-update') as { create(stream: LiveStream): { (text: string): void; done(): void } };
  const logUpdate = create(stream);
  const size = () => ({ rows: stream.rows || 24, columns: stream.columns || 80 });
  let last: PipelineProgress | undefined;
  return {
    update(progress) {
      last = progress;
      logUpdate(progressScreen(progress, Date.now(), size()));
    },
    done() {
      if (last) logUpdate(progressScreen(last, Date.now(), size()));
      logUpdate.done();
    },
  };
}

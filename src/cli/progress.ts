// Progress of a run as plain lines: one line each time a node starts, finishes or fails.
import type { NodeProgress, PipelineProgress } from '../contract/run';

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

const ICONS: Record<NodeProgress['state'], string> = {
  pending: '·',
  running: '▶',
  succeeded: '✔',
  unchanged: '=',
  failed: '✘',
  skipped: '-',
};

/** The whole DAG, one line per node, for a terminal that is redrawn in place. */
export function progressScreen(progress: PipelineProgress, now: number): string {
  const counts = progress.nodes.reduce<Record<string, number>>((acc, n) => ({ ...acc, [n.state]: (acc[n.state] ?? 0) + 1 }), {});
  const header = `run ${progress.workflowId}: ${Object.entries(counts)
    .map(([state, n]) => `${n} ${state}`)
    .join(', ')}`;
  const width = Math.max(...progress.nodes.map((n) => n.id.length));
  const lines = progress.nodes.map((node) => {
    const end = node.finishedAt ?? (node.state === 'running' ? now : undefined);
    const elapsed = node.startedAt !== undefined && end !== undefined ? `${((end - node.startedAt) / 1000).toFixed(1)}s` : '';
    return `${ICONS[node.state]} ${node.id.padEnd(width)} ${node.state.padEnd(9)} ${elapsed.padStart(7)}${node.rows !== undefined && node.rows !== null ? `  ${node.rows.toLocaleString('en-GB')} rows` : ''}`;
  });
  return [header, ...lines].join('\n');
}

/** Redraws the DAG in place on a terminal (log-update); `done` leaves the last screen standing. */
export function liveProgressPrinter(): { update: (progress: PipelineProgress) => void; done: () => void } {
  // loaded here so that non-terminal output never touches the terminal library
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const logUpdate = require('log-update') as { (text: string): void; done(): void };
  let last: PipelineProgress | undefined;
  return {
    update(progress) {
      last = progress;
      logUpdate(progressScreen(progress, Date.now()));
    },
    done() {
      if (last) logUpdate(progressScreen(last, Date.now()));
      logUpdate.done();
    },
  };
}

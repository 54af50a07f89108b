// Progress of a run as plain lines: one line each time a node starts, finishes or fails.
import type { NodeProgress, PipelineProgress } from '../workflows/definitions';

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

// The DAG's live state as markdown, for the Web UI's "current details" of a run.
import type { NodeProgress } from '../contract/run';

const ICONS: Record<NodeProgress['state'], string> = {
  pending: '⏳',
  running: '▶️',
  succeeded: '✅',
  unchanged: '➖',
  failed: '❌',
  skipped: '⏭️',
};

export function describeProgress(nodes: readonly NodeProgress[], run: { kind: string; logicalDate: string }): string {
  const counts = nodes.reduce<Record<string, number>>((acc, node) => ({ ...acc, [node.state]: (acc[node.state] ?? 0) + 1 }), {});
  const summary = Object.entries(counts)
    .map(([state, count]) => `${count} ${state}`)
    .join(', ');
  const rows = nodes.map((node) => {
    const seconds =
      node.startedAt !== undefined && node.finishedAt !== undefined ? ((node.finishedAt - node.startedAt) / 1000).toFixed(1) : '';
    const rowCount = node.rows === undefined || node.rows === null ? '' : String(node.rows);
    return `| ${ICONS[node.state]} ${node.state} | ${node.kind} | ${node.name} | ${seconds} | ${rowCount} | ${node.note ?? node.error ?? ''} |`;
  });
  return [
    `**${run.kind} run**, logical date ${run.logicalDate}: ${summary}`,
    '',
    '| state | kind | node | seconds | rows | note |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

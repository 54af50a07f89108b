// The table printed at the end of a run: every node with its state, time and rows.
import type { NodeProgress } from '../contract/run';

export function summaryTable(nodes: readonly NodeProgress[]): string {
  const header = ['node', 'state', 'seconds', 'rows', 'note'];
  const rows = nodes.map((node) => [
    `${node.kind} ${node.name}`,
    node.state,
    node.startedAt !== undefined && node.finishedAt !== undefined ? ((node.finishedAt - node.startedAt) / 1000).toFixed(2) : '',
    node.rows === undefined || node.rows === null ? '' : node.rows.toLocaleString('en-GB'),
    node.error ?? node.note ?? '',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 2 || column === 3 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

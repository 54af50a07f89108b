// The table printed at the end of a run: every node with its state, time and rows.
import type { RunFailure } from '../contract/activities';
import type { NodeProgress } from '../contract/run';
import { alignedTable } from './text-table';

export function summaryTable(nodes: readonly NodeProgress[]): string {
  const header = ['node', 'state', 'seconds', 'rows', 'note'];
  const rows = nodes.map((node) => [
    `${node.kind} ${node.name}`,
    node.state,
    node.startedAt !== undefined && node.finishedAt !== undefined ? ((node.finishedAt - node.startedAt) / 1000).toFixed(2) : '',
    node.rows === undefined || node.rows === null ? '' : node.rows.toLocaleString('en-GB'),
    node.error ?? node.note ?? '',
  ]);
  return alignedTable(header, rows, { right: [2, 3], rule: true }).join('\n');
}

/** A failed run's failure, as `status` and the end of `run` show it: the node and reason, then each failed test's sample rows and SQL. */
export function failureText(failure: { readonly node?: string; readonly reason: string; readonly tests?: RunFailure['tests'] }): string {
  const lines = [`failed at ${failure.node ?? 'the run'}: ${failure.reason}`];
  for (const test of failure.tests ?? []) {
    lines.push('', `${test.id}: ${test.failures.toLocaleString('en-GB')} failing ${test.failures === 1 ? 'row' : 'rows'} (${test.status})`);
    for (const row of test.samples ?? []) lines.push(`  ${JSON.stringify(row)}`);
    if (test.sql) lines.push('  sql (its rows are the failures):', ...test.sql.split('\n').map((sqlLine) => `    ${sqlLine}`));
  }
  return lines.join('\n');
}

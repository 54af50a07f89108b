// The table printed at the end of a run: every node with its state, time and rows.
import type { RunFailure } from '../contract/activities';
import type { NodeProgress } from '../contract/run';
import { failedTestLines } from './run-lines';
import { alignedTable } from './text-table';

export function summaryTable(nodes: readonly NodeProgress[]): string {
  const header = ['node', 'state', 'seconds', 'rows', 'note'];
  const rows = nodes.map((node) => [
    `${node.kind} ${node.name}`,
    node.state,
    node.startedAt !== undefined && node.finishedAt !== undefined ? ((node.finishedAt - node.startedAt) / 1000).toFixed(2) : '',
    node.rows === undefined || node.rows === null ? '' : node.rows.toLocaleString('en-GB'),
    node.error ?? [node.note, ...(node.warnings ?? [])].filter(Boolean).join('; '),
  ]);
  return alignedTable(header, rows, { right: [2, 3], rule: true }).join('\n');
}

/** A failed run's failure, as `status` and the end of `run` show it: the node and reason, then each failed test's sample rows and SQL. */
export function failureText(failure: { readonly node?: string; readonly reason: string; readonly tests?: RunFailure['tests'] }): string {
  const tests = (failure.tests ?? []).flatMap((test) => ['', ...failedTestLines([test])]);
  return [`failed at ${failure.node ?? 'the run'}: ${failure.reason}`, ...tests].join('\n');
}

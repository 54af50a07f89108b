// A node's state as shown to people (Web UI, terminal): the workflow's `running` told apart into
// `queued` and `running` where the one-at-a-time writer makes that certain, and a run's tally.
import type { NodeProgress, NodeState } from './run';

/** `queued`: its activity is scheduled on the writer queue behind another writer activity. */
export type ShownState = NodeState | 'queued';

/** Whether a node's own activity runs on the writer queue (a test there unless it tests an analytics result). */
function onWriterQueue(node: NodeProgress, ids: ReadonlySet<string>): boolean {
  switch (node.kind) {
    case 'seed':
    case 'model':
    case 'snapshot':
    case 'publish':
      return true;
    case 'test':
      return !ids.has(`analytics:${node.name}`);
    default:
      return false;
  }
}

/**
 * Every node's shown state. The workflow marks a node `running` when it schedules the node's activity;
 * it cannot see whether a worker has started it. The writer runs one activity at a time, so of the
 * writer nodes in flight all but one are certainly queued: the one scheduled first is shown running
 * (the queue hands out activities in about the order they were scheduled), the rest queued. A node
 * whose tests are in flight (`test:<name>`) holds no place on the queue itself and is shown as they are.
 */
export function shownStates(nodes: readonly NodeProgress[]): Map<string, ShownState> {
  const ids = new Set(nodes.map((node) => node.id));
  const inFlight = new Set(nodes.filter((node) => node.state === 'running').map((node) => node.id));
  const shown = new Map<string, ShownState>(nodes.map((node) => [node.id, node.state]));
  const writerQueue = nodes
    .map((node, index) => ({ node, index }))
    .filter(({ node }) => node.state === 'running' && onWriterQueue(node, ids))
    .filter(({ node }) => node.kind !== 'model' || !inFlight.has(`test:${node.name}`))
    .sort((a, b) => (a.node.startedAt ?? 0) - (b.node.startedAt ?? 0) || a.index - b.index);
  for (const { node } of writerQueue.slice(1)) shown.set(node.id, 'queued');
  // a model (or analytics result) whose tests are in flight is where its tests are: running or queued
  for (const node of nodes) {
    const tests = shown.get(`test:${node.name}`);
    if (node.state === 'running' && node.kind !== 'test' && inFlight.has(`test:${node.name}`) && tests) shown.set(node.id, tests);
  }
  return shown;
}

/** How many nodes are in each shown state. */
export function countShownStates(shown: ReadonlyMap<string, ShownState>): Map<ShownState, number> {
  const counts = new Map<ShownState, number>();
  for (const state of shown.values()) counts.set(state, (counts.get(state) ?? 0) + 1);
  return counts;
}

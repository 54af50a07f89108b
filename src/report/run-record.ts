// What a run leaves beside its report for the grid of runs: `runs/<workflow id>/run.json`, a small
// record of when it ran, how it ended and each node's state, seconds and rows.
import type { RunFailure } from '../contract/activities';
import type { NodeKind, NodeProgress, NodeState } from '../contract/run';

/** The record's format: bumped when a field changes meaning, so an old reader can skip a newer record. */
export const RUN_RECORD_FORMAT = 1;

export interface RunRecordNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly state: NodeState;
  /** From start to end, to 0.1 s; absent for a node that did not run. */
  readonly seconds?: number;
  readonly rows?: number;
}

export interface RunRecord {
  readonly format: typeof RUN_RECORD_FORMAT;
  readonly workflowId: string;
  /** The execution the report was rendered in: with the namespace, its page in the Web UI. */
  readonly runId?: string;
  readonly namespace?: string;
  readonly logicalDate: string;
  /** ISO times: the first node's start, and when the report was rendered (the run's last step). */
  readonly startedAt?: string;
  readonly endedAt: string;
  readonly status: 'succeeded' | 'failed';
  readonly failure?: { readonly node: string; readonly reason: string };
  /** In the run's order (the DAG's), the report's own node left out. */
  readonly nodes: readonly RunRecordNode[];
}

export interface RunRecordInput {
  readonly workflowId: string;
  readonly runId?: string;
  readonly namespace?: string;
  readonly logicalDate: string;
  readonly nodes: readonly NodeProgress[];
  readonly failure?: RunFailure;
  /** When the workflow started (ISO); records from before it was passed use the first node's start. */
  readonly startedAt?: string;
  /** When the report is rendered: the run's end, near enough. */
  readonly now: Date;
}

const tenths = (ms: number) => Math.round(ms / 100) / 10;

export function runRecord(input: RunRecordInput): RunRecord {
  const started = input.nodes.map((n) => n.startedAt).filter((t): t is number => t !== undefined);
  return {
    format: RUN_RECORD_FORMAT,
    workflowId: input.workflowId,
    ...(input.runId ? { runId: input.runId } : {}),
    ...(input.namespace ? { namespace: input.namespace } : {}),
    logicalDate: input.logicalDate,
    // the workflow's own start where the run passed it, else its first node's (after the plan)
    ...(input.startedAt
      ? { startedAt: input.startedAt }
      : started.length > 0
        ? { startedAt: new Date(Math.min(...started)).toISOString() }
        : {}),
    endedAt: input.now.toISOString(),
    status: input.failure ? 'failed' : 'succeeded',
    ...(input.failure ? { failure: { node: input.failure.node, reason: input.failure.reason } } : {}),
    nodes: input.nodes
      .filter((n) => n.kind !== 'report')
      .map((n) => ({
        id: n.id,
        kind: n.kind,
        state: n.state,
        ...(n.startedAt !== undefined && n.finishedAt !== undefined ? { seconds: tenths(n.finishedAt - n.startedAt) } : {}),
        ...(typeof n.rows === 'number' ? { rows: n.rows } : {}),
      })),
  };
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A run.json's content as a record, or undefined when it is not one this reader understands (corrupt, or a newer format). */
export function parseRunRecord(text: string): RunRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value.format !== RUN_RECORD_FORMAT) return undefined;
  if (typeof value.workflowId !== 'string' || typeof value.logicalDate !== 'string' || typeof value.endedAt !== 'string') return undefined;
  if (value.status !== 'succeeded' && value.status !== 'failed') return undefined;
  if (!Array.isArray(value.nodes) || !value.nodes.every((n) => isRecord(n) && typeof n.id === 'string' && typeof n.state === 'string'))
    return undefined;
  return value as unknown as RunRecord;
}

/** When a run started, for ordering: its first node's start, else its end. */
export const runTime = (record: RunRecord): number => Date.parse(record.startedAt ?? record.endedAt);

// A run's nodes and what happened to them: typed access, state changes that name the failing node,
// and the Web UI's current details kept in step. Workflow code.
import { ActivityFailure, ApplicationFailure, isCancellation, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { AnalyticsModelResult, DataTestFailure, DataTestResults, RunFailure } from './activity-types';
import { describeFailedTests } from '../contract/activities';
import type { DataTestOutcome, NodeProgress, RunKind, WebhookOutcome } from '../contract/run';
import { describeProgress } from './progress-markdown';
import { showsBuiltBeforeFailedTests } from './compat';

/** What a failed run says of its failure: in the failure's details, the report and `status`. */
export type NodeFailureDetails = RunFailure;

/** The details of a data test activity that failed its error-severity tests, if that is what this is. */
function dataTestFailure(err: unknown): DataTestFailure | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === 'DataTestFailed') return cause.details?.[0] as DataTestFailure | undefined;
  return undefined;
}

/**
 * An analytics model whose result failed its tests: the activity failed itself (red in the Web UI) with
 * what it computed in the failure's details. Undefined for any other failure.
 */
export function computedBeforeTestsFailed(err: unknown): AnalyticsModelResult | undefined {
  const failure = dataTestFailure(err);
  if (!failure?.analytics) return undefined;
  return { ...failure.analytics, tests: { results: failure.results, rows: failure.rows } };
}

export class RunState {
  private readonly byId: Map<string, NodeProgress>;
  /** Every data test and freshness check the run made. */
  readonly dataTests: DataTestOutcome[] = [];
  /** The webhooks told at the run's end, and whether they were. */
  readonly notifications: WebhookOutcome[] = [];

  constructor(
    nodes: readonly NodeProgress[],
    private readonly context: { readonly kind: RunKind; readonly logicalDate: string },
  ) {
    this.byId = new Map(nodes.map((node) => [node.id, node]));
  }

  get nodes(): NodeProgress[] {
    return [...this.byId.values()];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** A node of this run's graph; every id the run uses is one the graph made. */
  node(id: string): NodeProgress {
    const node = this.byId.get(id);
    if (!node) throw new Error(`no node ${id} in this run`);
    return node;
  }

  /** Show the nodes' states in the Web UI's current details. */
  publish(): void {
    const startedAt = workflowInfo().runStartTime.getTime();
    setCurrentDetails(describeProgress(this.nodes, { ...this.context, startedAt, now: Date.now() }));
  }

  markUnchanged(id: string, note: string): void {
    const node = this.node(id);
    node.state = 'unchanged';
    node.note = note;
  }

  /** Nodes that never started (an input failed) end skipped. */
  skipPending(): void {
    for (const node of this.byId.values()) if (node.state === 'pending') node.state = 'skipped';
  }

  /** Run one node's work, keeping its progress entry and naming it in any failure. */
  async run<T extends { rows?: number | null }>(id: string, work: () => Promise<T>): Promise<T> {
    const node = this.node(id);
    node.state = 'running';
    node.startedAt = Date.now();
    this.publish();
    try {
      const result = await work();
      node.state = 'succeeded';
      node.rows = result.rows ?? null;
      return result;
    } catch (err) {
      if (isCancellation(err)) {
        // the run stopped (another node failed, or someone cancelled it): this node did not fail
        node.state = 'skipped';
        node.note = 'cancelled: the run stopped';
        throw err;
      }
      if (err instanceof ApplicationFailure && err.type === 'PipelineNodeFailed') {
        // a node inside this one (a model's tests) failed: that node is the one to name
        const inner = err.details?.[0] as { node?: string; reason?: string } | undefined;
        if (inner?.node?.startsWith('test:') && inner.node !== id && showsBuiltBeforeFailedTests()) {
          // its tests failed, not its build: built, as dbt build shows such a model (an operator probe
          // found it shown as an error of its own, the run's errors counted twice)
          node.state = 'succeeded';
          node.note = `built; ${inner.node} failed, so it was not published`;
          throw err;
        }
        node.state = 'failed';
        node.error = inner?.reason ?? err.message;
        throw err;
      }
      node.state = 'failed';
      const cause = err instanceof ActivityFailure && err.cause ? err.cause : (err as Error);
      node.error = cause.message;
      const tests = dataTestFailure(err)?.results.filter((r) => r.status !== 'pass');
      const details: NodeFailureDetails = { node: id, reason: cause.message, ...(tests ? { tests } : {}) };
      throw ApplicationFailure.create({
        type: 'PipelineNodeFailed',
        message: `${id} failed: ${cause.message}`,
        nonRetryable: true,
        details: [details],
        cause: err as Error,
      });
    } finally {
      node.finishedAt = Date.now();
      this.publish();
    }
  }

  /**
   * A target's tests as a node of their own (`test:<target>`): warnings noted; failures (the test
   * activity fails itself, with samples) stop the run before publishing.
   */
  async test(target: string, work: () => Promise<DataTestResults>): Promise<void> {
    const id = `test:${target}`;
    if (!this.has(id)) return;
    await this.run(id, async () => {
      let outcome: DataTestResults;
      try {
        outcome = await work();
      } catch (err) {
        const failure = dataTestFailure(err);
        if (failure) this.record(id, target, failure);
        throw err;
      }
      this.record(id, target, outcome);
      // NOTE: analytics models return their tests' results (a failing one included), as did test
      // activities in histories from before they failed themselves
      if (outcome.results.some((r) => r.status === 'fail')) {
        // as a test activity fails itself: every result, with samples and SQL, in the failure's details
        const details: DataTestFailure = { target, ...outcome };
        throw ApplicationFailure.create({
          type: 'DataTestFailed',
          message: `data tests of ${target} failed: ${describeFailedTests(outcome.results.filter((r) => r.status === 'fail'))}`,
          nonRetryable: true,
          details: [details],
        });
      }
      return outcome;
    });
  }

  private record(id: string, target: string, outcome: DataTestResults): void {
    for (const result of outcome.results) {
      this.dataTests.push({ target, test: result.id, status: result.status, failures: result.failures });
    }
    this.node(id).note = outcome.rows === 0 ? `${outcome.results.length} passed` : describeFailedTests(outcome.results);
  }
}

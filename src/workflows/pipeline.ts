// The pipeline workflow, in phases: plan, seed every source, build and test the models in DAG order
// (the big ones a month at a time on the build queue), pin the lake version the analytics read, run
// them in parallel on the analytics queue, publish everything in one lake commit, render the report.
// Orchestration only: each phase is a module of its own, given the run's context (run-context.ts) and
// the ledger of what its nodes have done (run-ledger.ts); what older histories need is compat.ts. No
// I/O here: every piece of work is an activity.
import { CancellationScope, continueAsNew, isCancellation } from '@temporalio/workflow';
import { ANALYTICS_QUEUE, WRITER_QUEUE } from './activity-options';
import type { PipelineInput, PipelineResult } from '../contract/run';
import { endRun, endUnplannedRun, failureDetails } from './end-run';
import { announceRun, openRun, planRun } from './plan-run';
import { notifiesPlanFailure, publishIsCommitPoint } from './compat';
import { publishRun, type Published } from './publish-run';
import type { RunContext } from './run-context';
import { reportRun, runResult } from './report-run';
import { chooseAnalytics, pinSnapshot, runAnalytics } from './run-analytics';
import { RunHandlers } from './run-handlers';
import { RunLedger } from './run-ledger';
import { runNodes } from './run-nodes';
import type { NodeFailureDetails } from './run-state';

export { ANALYTICS_QUEUE, WRITER_QUEUE };

/**
 * The publish, then the report. The publish is the run's commit point: once it starts, it and the report
 * run to their end, a cancel meanwhile finding the run ended; a cancel before it publishes nothing.
 */
async function publishAndReport(run: RunContext, ledger: RunLedger, publish: () => Promise<Published>): Promise<Published> {
  const publishThenReport = async () => {
    const published = await publish();
    await reportRun(run, ledger, published.snapshotVersion);
    return published;
  };
  if (!publishIsCommitPoint()) return publishThenReport();
  const scope = CancellationScope.current();
  if (scope.consideredCancelled) await scope.cancelRequested;
  return CancellationScope.nonCancellable(publishThenReport);
}

export async function pipeline(input: PipelineInput): Promise<PipelineResult> {
  const start = openRun(input);
  const handlers = new RunHandlers(start);
  announceRun(start);
  const run = await planRun(start).catch(async (err: unknown) => {
    // (an operator probe found a scheduled run failing at its plan alerted nobody)
    if (!isCancellation(err) && notifiesPlanFailure()) await endUnplannedRun(start, handlers.shown, failureDetails(err));
    throw err;
  });
  handlers.shown = run.state;
  const ledger = new RunLedger(run.built, run.graph.buildable);
  let succeeded = false;
  /** Why the run failed (not set when it was cancelled): its report opens on it. */
  let failure: NodeFailureDetails | undefined;
  try {
    handlers.startSeeding();
    await runNodes(run, ledger);
    const choice = chooseAnalytics(run, ledger);
    const snapshot = await pinSnapshot(run, ledger, choice);
    const analyticsResults = await runAnalytics(run, choice, snapshot);
    const published = await publishAndReport(run, ledger, () => publishRun(run, ledger, choice, analyticsResults, snapshot?.version));
    succeeded = true;
    const result = runResult(run, published);
    // (a cancel that came during the publish ends the run here, published)
    if (handlers.landedDuringRun !== undefined && !(publishIsCommitPoint() && CancellationScope.current().consideredCancelled)) {
      // more files landed while this run seeded: run again, incrementally, as the same workflow
      return await continueAsNew<typeof pipeline>({ ...input, kind: 'sources-landed', logicalDate: undefined, fullRefresh: false });
    }
    return result;
  } catch (err) {
    failure = isCancellation(err) ? undefined : failureDetails(err);
    throw err;
  } finally {
    run.state.skipPending();
    handlers.done = true;
    run.state.publish();
    await endRun(run, ledger, { succeeded, failure });
  }
}

// What every phase of a pipeline run is given: the run's facts (read only once the run is planned), the
// activities it calls, and its nodes' states. What the nodes have done so far is the ledger
// (run-ledger.ts), passed beside it; the phases share nothing else.
import type { ActivityInterfaceFor, ActivityOptions } from '@temporalio/workflow';
import type { AnalyticsActivities, BuildActivities, PlannedRun, RunScope, WriterActivities } from './activity-types';
import type { WorkKind } from './activity-options';
import type { PipelineInput, RunKind } from '../contract/run';
import type { RunGraph } from './run-graph';
import type { RunState } from './run-state';
import type { Slots } from './slots';
import type { BuiltState } from './up-to-date';

/** The activities a run calls, each stamped with the run's scope (run-scope.ts). */
export interface RunActivities {
  readonly writer: ActivityInterfaceFor<WriterActivities>;
  readonly analytics: ActivityInterfaceFor<AnalyticsActivities>;
  readonly builders: ActivityInterfaceFor<BuildActivities>;
}

/** What a run knows from its input and its start, before it is planned. */
export interface RunStart {
  readonly input: PipelineInput;
  readonly workflowId: string;
  /** When this execution started (the workflow's runStartTime): the report's grid shows it. */
  readonly runStartTime: Date;
  /** The workflow clock when the run began, in ms: the progress query's startedAt. */
  readonly startedAt: number;
  readonly logicalDate: string;
  readonly kind: RunKind;
  /** The run's vars over dbt_project.yml's, logical_date among them. */
  readonly vars: Readonly<Record<string, unknown>>;
  readonly fullRefresh: boolean;
  /** Names this run's unpublished versions (stable across continue-as-new, so a retry finds them). */
  readonly buildId: string;
  /** The version this run gives every model it publishes: unique to this execution. */
  readonly version: string;
  /** Where the run's report is written. */
  readonly reportUri: string;
  readonly activities: RunActivities;
  /** What every activity of the run is stamped with (run-scope.ts); the plan adds the environment it saw. */
  readonly scope: RunScope;
  /** The options of one kind of work on the run's queues, with its summary for the Web UI. */
  readonly on: (kind: WorkKind, summary: string) => ActivityOptions;
  /**
   * Per-month builds and tests of every model share one bound, far under Temporal's pending-activity
   * limit: a pool that the phases take slots from, not state they read.
   */
  readonly monthSlots: Slots;
}

/** A planned run: what every phase after the plan is given. */
export interface RunContext extends RunStart {
  readonly planned: PlannedRun;
  /** What each published node was built from, as the plan found it. */
  readonly built: Readonly<Record<string, BuiltState>>;
  /** Every writer activity names the run's warehouse: another warehouse's writer refuses it. */
  readonly warehouse: string;
  readonly graph: RunGraph;
  /** The nodes' states: changed through its methods by the phase running the node. */
  readonly state: RunState;
}

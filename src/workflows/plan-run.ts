// The run's first phase: check its input, settle what it knows from its start (logical date, kind,
// vars, queues, the activities stamped with its scope), then plan it: load the models project on the
// writer and lay out the run's graph of nodes.
import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { optionsFor, PROXY_DEFAULTS, type WorkKind } from './activity-options';
import type { AnalyticsActivities, BuildActivities, WriterActivities } from './activity-types';
import { builtBefore, keepsRunLogs, ordersSeedTests, passesRunValues, runWarehouse } from './compat';
import { LOGICAL_DATE, MODELS_SELECTED, RUN_KIND, SCHEDULED_START_TIME, type PipelineInput } from '../contract/run';
import { sqlTimestamp } from '../contract/time';
import { INVOCATION_ID_VAR, RUN_STARTED_AT_VAR, TARGET_NAME_VAR, varsReadByProjectFile } from '../project/types';
import { childUri, runFolderName } from '../contract/uri';
import { describeInputProblems, pipelineInputProblems } from '../contract/validate';
import type { RunScope } from './activity-types';
import type { RunActivities, RunContext, RunStart } from './run-context';
import { planGraph, seedsTestedAgainst } from './run-graph';
import { runQueues, runScope, stamped } from './run-scope';
import { RunState } from './run-state';
import { MONTH_ACTIVITY_SLOTS, Slots } from './slots';

const writerStubs = proxyActivities<WriterActivities>(PROXY_DEFAULTS);
const analyticsStubs = proxyActivities<AnalyticsActivities>(PROXY_DEFAULTS);
const builderStubs = proxyActivities<BuildActivities>(PROXY_DEFAULTS);

/** The run's activities, each call stamped with the run's scope. */
function stampedActivities(scope: RunScope): RunActivities {
  return {
    writer: stamped(writerStubs, scope),
    analytics: stamped(analyticsStubs, scope),
    builders: stamped(builderStubs, scope),
  };
}

/**
 * What the run knows from its input and its start. A bad input (a caller of `temporal workflow start`)
 * fails the run at once, naming each field, rather than failing its workflow task for ever.
 */
export function openRun(input: PipelineInput): RunStart {
  const problems = pipelineInputProblems(input);
  if (problems.length > 0) throw ApplicationFailure.nonRetryable(describeInputProblems(problems), 'InvalidPipelineInput');
  const info = workflowInfo();
  const queues = runQueues(input);
  // every activity carries the warehouse and project the run names (a worker serving others refuses
  // it) and the run's logs folder, where each attempt's log lines are kept
  const logs = keepsRunLogs() ? childUri(input.outUri, 'runs', runFolderName(info.workflowId), 'logs') : undefined;
  const scope = runScope(input, logs);
  const startedAt = Date.now();
  // a scheduled run's logical date is its scheduled time, so a backfill reproduces the slots it covers
  const scheduledAt = info.typedSearchAttributes.get(SCHEDULED_START_TIME);
  const logicalDate = input.logicalDate ?? (scheduledAt ?? new Date(startedAt)).toISOString();
  return {
    input,
    workflowId: info.workflowId,
    runStartTime: info.runStartTime,
    startedAt,
    logicalDate,
    kind: input.kind ?? (scheduledAt ? 'scheduled' : 'manual'),
    // and dbt's run_started_at and invocation_id, for every worker alike
    vars: {
      logical_date: sqlTimestamp(logicalDate),
      ...input.vars,
      ...(input.target !== undefined ? { [TARGET_NAME_VAR]: input.target } : {}),
      ...(passesRunValues()
        ? { [RUN_STARTED_AT_VAR]: new Date(startedAt).toISOString(), [INVOCATION_ID_VAR]: info.firstExecutionRunId }
        : {}),
    },
    fullRefresh: input.fullRefresh === true,
    buildId: info.firstExecutionRunId,
    version: info.runId,
    reportUri: childUri(input.outUri, 'runs', runFolderName(info.workflowId), 'report.html'),
    activities: stampedActivities(scope),
    scope,
    on: (kind: WorkKind, summary: string) => optionsFor(kind, queues, summary),
    monthSlots: new Slots(MONTH_ACTIVITY_SLOTS),
  };
}

/** The run's kind and logical date as search attributes, before anything is scheduled. */
export function announceRun({ kind, logicalDate }: RunStart): void {
  upsertSearchAttributes([
    { key: RUN_KIND, value: kind },
    { key: LOGICAL_DATE, value: new Date(logicalDate) },
  ]);
}

/** Plan the run on the writer: the project, what is selected and what was built before; then the run's graph, its nodes pending. */
export async function planRun(run: RunStart): Promise<RunContext> {
  const { input } = run;
  const planned = await run.activities.writer.planRun.executeWithOptions(run.on('plan', 'plan: load the models project'), [
    {
      vars: run.vars,
      buildId: run.buildId,
      ...(input.force ? { force: true } : {}),
      ...(input.select ? { select: input.select } : {}),
      ...(input.exclude ? { exclude: input.exclude } : {}),
      ...(input.selector ? { selector: input.selector } : {}),
    },
  ]);
  const { plan } = planned;
  const selected = new Set(planned.selected);
  upsertSearchAttributes([{ key: MODELS_SELECTED, value: selected.size === plan.models.length ? ['all'] : [...selected] }]);
  // (asked only of runs with a seed tested against another: their history gains the marker)
  const testedSeeds = plan.sources.some((source) => seedsTestedAgainst(source, plan.sources).length > 0);
  const graph = planGraph(plan, selected, { seedTestOrder: testedSeeds && ordersSeedTests() });
  const state = new RunState(graph.nodes, { kind: run.kind, logicalDate: run.logicalDate });
  state.publish();
  // every activity after the plan checks that its worker's env_var values are the ones the plan saw
  // (plans recorded before this, and projects whose models read none, give no env: nothing changes)
  // and loads the project as the plan did: with the run's vars that dbt_project.yml reads, if any
  const projectVars = varsReadByProjectFile(run.vars, plan.projectFileVars);
  const scope =
    planned.env || projectVars
      ? { ...run.scope, ...(planned.env ? { env: planned.env } : {}), ...(projectVars ? { projectVars } : {}) }
      : run.scope;
  const activities = scope !== run.scope ? stampedActivities(scope) : run.activities;
  return { ...run, scope, activities, planned, built: builtBefore(planned), warehouse: runWarehouse(input, planned), graph, state };
}

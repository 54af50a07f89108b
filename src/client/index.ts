// The typed client other services import to run the pipeline: start, wait, query progress, list, cancel.
import { Client, Connection, WorkflowFailedError, isGrpcServiceError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { temporalAddressOrDefault } from '../config';
import { sleep } from './sleep';
import { TemporalUnreachableError, WorkflowTaskFailingError } from '../errors';
import { CONNECT_TIMEOUT_MS, connectionReason, probeAddress, temporalConnectionSettings, unreachableError } from '../temporal/connection';
import { addSearchAttributes } from '../temporal/search-attributes';
import { watchForWorkers, type NoWorkerNotice } from './no-worker';
import { watchForFailingWorkflowTask } from './failing-task';
import type { RunFailure } from '../contract/activities';
import { WORKFLOW_QUEUE_NAME, WRITER_QUEUE_NAME } from '../contract/queues';
import {
  PIPELINE_WORKFLOW_TYPE,
  RUN_KIND,
  progressQuery,
  sourcesLandedSignal,
  type PipelineInput,
  type PipelineProgress,
  type PipelineResult,
  type PipelineWorkflow,
} from '../contract/run';
import { PipelineFailedError } from './pipeline-failed';
import { routeRun, type RouteOptions } from './route';
import { describeInputProblems, pipelineInputProblems } from '../contract/validate';

export type { PipelineInput, PipelineProgress, PipelineResult, PipelineWorkflow, NodeProgress } from '../contract/run';
export { PipelineFailedError };
/** A project's folder and content hash, for PipelineInput.project: every worker then runs exactly those files. */
export { fingerprintProject } from '../project/fingerprint';
export { WORKFLOW_QUEUE_NAME };
export { noWorkerDelayMs, type NoWorkerNotice } from './no-worker';

export interface ConnectOptions {
  /** host:port of the Temporal frontend; TEMPORAL_ADDRESS by default. */
  readonly address?: string;
  readonly namespace?: string;
}

/** gRPC's status code for a missing resource (grpc-js is not a direct dependency). */
const GRPC_NOT_FOUND = 5;

/**
 * A client of the Temporal frontend. Fails within CONNECT_TIMEOUT_MS (at once when the port refuses)
 * with a TemporalUnreachableError that names the address and namespace; an unknown namespace too.
 */
export async function connectClient(options: ConnectOptions = {}): Promise<Client> {
  const address = options.address ?? temporalAddressOrDefault();
  const namespace = options.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default';
  const refused = await probeAddress(address);
  if (refused) throw unreachableError(address, namespace, refused);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...temporalConnectionSettings(address), connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    throw unreachableError(address, namespace, connectionReason(err));
  }
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    // only a namespace that is certainly missing stops here; a key that may not describe it may still run workflows
    if (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND) {
      await connection.close();
      throw new TemporalUnreachableError(
        `namespace ${namespace} does not exist at ${address}: create it (temporal operator namespace create) or set TEMPORAL_NAMESPACE`,
        address,
        namespace,
      );
    }
  }
  return new Client({ connection, namespace });
}

/** A readable, sortable workflow id: pipeline-2023-10-01T02-00-00Z-ab12. */
export function newPipelineId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  return `pipeline-${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface StartOptions extends RouteOptions {
  readonly workflowId?: string;
  /** The queue the pipeline workflow runs on; meterflow-workflows by default. */
  readonly taskQueue?: string;
}

/**
 * The run's input, checked before anything starts (the workflow checks the same first thing): each
 * bad field named, and a warehouse (or at least the writer queue whose writer decides it) required.
 */
function checkInput(input: PipelineInput): void {
  const problems = pipelineInputProblems(input);
  if (input.warehouse === undefined && input.writerQueue === undefined) {
    problems.unshift('warehouse is required: the warehouse the run builds (a folder, or postgres:<conninfo> without a password)');
  }
  if (problems.length > 0) throw new TypeError(describeInputProblems(problems));
}

/**
 * Start a pipeline run; returns at once with its handle. A run naming a warehouse that no writer
 * serves is refused (NoWriterError) within `waitMs`, before anything starts.
 */
export async function startPipeline(
  client: Client,
  requested: PipelineInput,
  options: StartOptions = {},
): Promise<WorkflowHandle<PipelineWorkflow>> {
  checkInput(requested);
  const input = await routeRun(client, requested, options);
  return client.workflow.start<PipelineWorkflow>(PIPELINE_WORKFLOW_TYPE, {
    taskQueue: options.taskQueue ?? WORKFLOW_QUEUE_NAME,
    workflowId: options.workflowId ?? newPipelineId(),
    args: [input],
    staticSummary:
      `${input.kind ?? 'manual'} run${input.select?.length ? ` of ${input.select.join(' ')}` : ''}${input.fullRefresh ? ', full refresh' : ''}: ` +
      `sources ${input.sourcesUri}${input.warehouse ? `, warehouse ${input.warehouse}` : ''}${input.project ? `, project ${input.project.dir}${input.project.hash ? ` at ${input.project.hash}` : ''}` : ''}`,
  });
}

/** The input a run was started with, from its history's first event (the warehouse and project it names, its queues). */
export async function getRunInput(handle: WorkflowHandle): Promise<PipelineInput | undefined> {
  const { events } = await handle.fetchHistory();
  const payload = events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  if (!payload) return undefined;
  return handle.client.options.loadedDataConverter.payloadConverter.fromPayload<PipelineInput>(payload);
}

export async function getProgress(handle: WorkflowHandle): Promise<PipelineProgress> {
  return handle.query(progressQuery);
}

/** The node and reason of a failed run, from its failure chain. */
export function describeFailure(err: unknown): { node?: string; reason: string; tests?: RunFailure['tests'] } {
  let cause: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type === 'PipelineNodeFailed') {
      // a failed data test's details also carry its SQL and sample failing rows
      const detail = cause.details?.[0] as Partial<RunFailure> | undefined;
      return {
        ...(detail?.node ? { node: detail.node } : {}),
        reason: detail?.reason ?? cause.message,
        ...(detail?.tests ? { tests: detail.tests } : {}),
      };
    }
    if (!(cause as Error & { cause?: unknown }).cause) break;
    cause = (cause as Error & { cause?: unknown }).cause;
  }
  return { reason: cause instanceof Error ? cause.message : String(cause) };
}

export interface WaitOptions {
  /** Called with every progress snapshot while the run goes on. */
  readonly onProgress?: (progress: PipelineProgress) => void;
  readonly pollIntervalMs?: number;
  /**
   * Told when no worker polls a queue the run needs (after METERFLOW_NO_WORKER_WARNING_SECONDS, 30 s
   * by default); a line on stderr unless given, nothing when false. The wait goes on either way.
   */
  readonly onNoWorker?: ((notice: NoWorkerNotice) => void) | false;
  readonly noWorkerAfterMs?: number;
  /** The run's writer and analytics queues, when not the default ones (for the no-worker check). */
  readonly writerQueue?: string;
  readonly analyticsQueue?: string;
  /**
   * Stop waiting with a WorkflowTaskFailingError when the run's workflow task fails again and again
   * (it is retried for ever, so the run would wait without a word). The run itself stays open: a
   * fixed worker resumes it. Off by default.
   */
  readonly stopOnFailingWorkflowTask?: boolean;
  /** Ends the wait (not the run): the wait rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** How long one ask for the run's result lasts before it is asked again (see resultInRounds). */
  readonly resultRoundMs?: number;
}

/** Two minutes: four or five of the SDK's long polls, each of which leaves a listener on the round's signal. */
const RESULT_ROUND_MS = 120_000;

/**
 * The run's result, asked for in rounds until it comes or the wait ends. The SDK adds an abort
 * listener to the signal a call runs under for each long poll of the result (one each 20 to 30 s) and
 * takes none off until the signal goes, so one signal over a run of five minutes or more passed Node's
 * limit of ten and printed a MaxListenersExceededWarning. Each round has a signal of its own.
 */
async function resultInRounds(handle: WorkflowHandle<PipelineWorkflow>, finished: AbortSignal, roundMs: number): Promise<PipelineResult> {
  for (;;) {
    const round = new AbortController();
    const endRound = () => round.abort();
    finished.addEventListener('abort', endRound, { once: true });
    const timer = setTimeout(endRound, roundMs);
    try {
      return await handle.client.withAbortSignal(round.signal, () => handle.result());
    } catch (err) {
      // a round that ran out asks again; the wait's end, or any other failure, ends the wait
      if (finished.aborted || !round.signal.aborted) throw err;
    } finally {
      clearTimeout(timer);
      finished.removeEventListener('abort', endRound);
    }
  }
}

/** Wait for a run to end, reporting its progress; a failed, cancelled or terminated run throws a PipelineFailedError. */
export async function waitForPipeline(handle: WorkflowHandle<PipelineWorkflow>, options: WaitOptions = {}): Promise<PipelineResult> {
  const roundMs = options.resultRoundMs ?? RESULT_ROUND_MS;
  if (!Number.isFinite(roundMs) || roundMs < 1)
    throw new RangeError(`resultRoundMs must be a positive number of milliseconds, not ${roundMs}`);
  const finished = new AbortController();
  // the result is a long poll: ending the wait ends it too, so nothing keeps the process alive
  const result = resultInRounds(handle, finished.signal, roundMs);
  const failingTask = options.stopOnFailingWorkflowTask
    ? watchForFailingWorkflowTask(handle, finished.signal).then((failing) => {
        if (!failing) return new Promise<never>(() => undefined);
        throw new WorkflowTaskFailingError(
          `run ${handle.workflowId} cannot go on: its workflow task has failed ${failing.attempt - 1} times in a row: ${failing.reason}. ` +
            `The run stays open (a fixed worker resumes it); end it with: temporal workflow terminate --workflow-id ${handle.workflowId}`,
          handle.workflowId,
          failing.attempt,
          failing.reason,
        );
      })
    : new Promise<never>(() => undefined);
  const aborted = new Promise<never>((_resolve, reject) => {
    const abort = () => reject(options.signal?.reason instanceof Error ? options.signal.reason : new Error('the wait was aborted'));
    if (options.signal?.aborted) abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    finished.signal.addEventListener('abort', () => options.signal?.removeEventListener('abort', abort), { once: true });
  });
  const onNoWorker = options.onNoWorker ?? ((notice: NoWorkerNotice) => process.stderr.write(`meterflow: ${notice.message}\n`));
  const watching = onNoWorker
    ? watchForWorkers(
        handle,
        {
          onNoWorker,
          ...(options.noWorkerAfterMs ? { afterMs: options.noWorkerAfterMs } : {}),
          ...(options.writerQueue ? { writerQueue: options.writerQueue } : {}),
          ...(options.analyticsQueue ? { analyticsQueue: options.analyticsQueue } : {}),
        },
        finished.signal,
      )
    : Promise.resolve();
  const poll = (async () => {
    while (options.onProgress && !finished.signal.aborted) {
      try {
        options.onProgress(await getProgress(handle));
      } catch {
        // the run may not have started its first task yet, or just ended
      }
      // woken when the run ends: the result is not held back by a progress round's sleep
      await sleep(options.pollIntervalMs ?? 500, finished.signal);
    }
  })();
  try {
    return await Promise.race([result, failingTask, aborted]).catch((err: unknown) => {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const { node, reason } = describeFailure(err);
      throw new PipelineFailedError(handle.workflowId, reason, node, err.cause, err.retryState);
    });
  } finally {
    finished.abort();
    result.catch(() => undefined);
    await Promise.all([poll, watching]);
  }
}

export interface RecentRun {
  readonly workflowId: string;
  readonly runId: string;
  readonly status: string;
  readonly startTime: Date;
  readonly closeTime?: Date;
  /** What started it (the MeterflowRunKind search attribute; absent on runs from before it). */
  readonly kind?: string;
  /** The schedule that started it, if one did. */
  readonly scheduleId?: string;
}

/** Which runs to list: by state (Temporal's execution status, any case), schedule, start time. */
export interface RunFilter {
  readonly state?: string;
  readonly schedule?: string;
  readonly since?: Date;
}

const EXECUTION_STATES: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  succeeded: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  canceled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
};

/** What is wrong with a run state to filter by, if anything (`succeeded` and `canceled` are taken too). */
export function runStateProblem(state: string): string | undefined {
  if (EXECUTION_STATES[state.toLowerCase()]) return undefined;
  return `--state "${state}" is not one of running, completed, failed, cancelled, terminated, timed_out`;
}

/** The visibility query of a filter: pipeline runs, and whatever the filter asks. */
export function runsQuery(filter: RunFilter = {}): string {
  const clauses = [`WorkflowType = '${PIPELINE_WORKFLOW_TYPE}'`];
  if (filter.state !== undefined) {
    const problem = runStateProblem(filter.state);
    if (problem) throw new Error(problem);
    clauses.push(`ExecutionStatus = '${EXECUTION_STATES[filter.state.toLowerCase()]}'`);
  }
  if (filter.schedule !== undefined) clauses.push(`TemporalScheduledById = '${filter.schedule.replace(/'/g, "''")}'`);
  if (filter.since !== undefined) clauses.push(`StartTime >= '${filter.since.toISOString()}'`);
  return clauses.join(' AND ');
}

/** The newest pipeline runs first, as the server's visibility store lists them. */
export async function listRecentRuns(client: Client, limit = 20, filter: RunFilter = {}): Promise<RecentRun[]> {
  const runs: RecentRun[] = [];
  for await (const execution of client.workflow.list({ query: runsQuery(filter) })) {
    const kind = execution.typedSearchAttributes.get(RUN_KIND);
    const scheduleId = execution.searchAttributes?.TemporalScheduledById?.[0];
    runs.push({
      workflowId: execution.workflowId,
      runId: execution.runId,
      status: execution.status.name,
      startTime: execution.startTime,
      ...(execution.closeTime ? { closeTime: execution.closeTime } : {}),
      ...(kind ? { kind } : {}),
      ...(typeof scheduleId === 'string' ? { scheduleId } : {}),
    });
    if (runs.length >= limit) break;
  }
  return runs;
}

export async function cancelRun(client: Client, workflowId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).cancel();
}

/**
 * Tell meterflow that new source files have landed: a run already going for this warehouse runs once
 * more when it ends (incrementally); otherwise a run starts. One workflow id per warehouse (writer
 * queue) makes the two cases one call (signal-with-start).
 */
export async function notifySourcesLanded(
  client: Client,
  requested: PipelineInput,
  options: { readonly note?: string; readonly taskQueue?: string } & RouteOptions = {},
): Promise<WorkflowHandle<PipelineWorkflow>> {
  checkInput(requested);
  // the same checks as startPipeline: a warehouse no writer serves is refused here
  const input = await routeRun(client, requested, options);
  return client.workflow.signalWithStart<PipelineWorkflow, [{ note?: string }?]>(PIPELINE_WORKFLOW_TYPE, {
    workflowId: `pipeline-landed-${input.writerQueue ?? WRITER_QUEUE_NAME}`,
    taskQueue: options.taskQueue ?? WORKFLOW_QUEUE_NAME,
    args: [{ ...input, kind: 'sources-landed' }],
    signal: sourcesLandedSignal,
    signalArgs: [{ ...(options.note ? { note: options.note } : {}) }],
    staticSummary: `run for landed source files${options.note ? `: ${options.note}` : ''}`,
  });
}

export * from './schedules';

/** Register meterflow's search attributes in the client's namespace (the embedded server does it at start). */
export async function registerSearchAttributes(client: Client): Promise<void> {
  await addSearchAttributes(client.connection.operatorService, client.options.namespace);
}

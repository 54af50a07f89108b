// Queries, signals, search attributes and the plain-data types the pipeline workflow shares with clients.
import type { ProjectRef } from '../project/types';
export type { ProjectRef } from '../project/types';
import { defineSearchAttributeKey, SearchAttributeType, type QueryDefinition, type SignalDefinition } from '@temporalio/common';

export const PIPELINE_WORKFLOW_TYPE = 'pipeline';
export const MAINTENANCE_WORKFLOW_TYPE = 'maintenance';

/** The lake's maintenance: what `meterflow setup` schedules (daily by default). */
export interface MaintenanceInput {
  /** The warehouse its writer maintains (a writer of another refuses the work). */
  readonly warehouse?: string;
  /** Snapshots older than this many days are expired, so `meterflow query --at` reaches back this far. Default 30. */
  readonly retentionDays?: number;
  /** Files the lake no longer references are deleted this many minutes after (see MaintainLakeInput). Default 60. */
  readonly orphanGraceMinutes?: number;
  readonly writerQueue?: string;
}

export type { MaintainLakeResult as MaintenanceResult } from './activities';

export type NodeKind = 'seed' | 'model' | 'test' | 'snapshot' | 'analytics' | 'publish' | 'report';
/** `unchanged`: up to date with its inputs, so not run (an incremental run). */
export type NodeState = 'pending' | 'running' | 'succeeded' | 'unchanged' | 'failed' | 'skipped';

export interface NodeProgress {
  /** Unique in a run, e.g. `seed:tariff_unit_rates`, `model:demand_price_elasticity`. */
  readonly id: string;
  readonly kind: NodeKind;
  readonly name: string;
  /** Node ids this one waits for. */
  readonly dependsOn: readonly string[];
  state: NodeState;
  /** Epoch milliseconds, workflow time. */
  startedAt?: number;
  finishedAt?: number;
  rows?: number | null;
  /** A short note: files loaded by a seed, why a node was unchanged. */
  note?: string;
  /** What a node that succeeded did not do as asked, for a person to read (a file's columns a seed left out). */
  warnings?: string[];
  error?: string;
}

export interface PipelineProgress {
  readonly workflowId: string;
  readonly startedAt: number;
  readonly logicalDate: string;
  readonly nodes: readonly NodeProgress[];
  readonly done: boolean;
  /** Every data test the run has made so far (absent from workflows older than it). */
  readonly dataTests?: readonly DataTestOutcome[];
  /** Each webhook the run told at its end, and whether it was told (absent before it ends, or from older workflows). */
  readonly notifications?: readonly WebhookOutcome[];
}

/** A webhook a run told at its end, by label (`env:NAME`, or the URL's scheme and host): told, or why not. */
export interface WebhookOutcome {
  readonly webhook: string;
  readonly told: boolean;
  readonly reason?: string;
}

/** What started a run: shown in the Web UI and filterable by the MeterflowRunKind search attribute. */
export type RunKind = 'manual' | 'scheduled' | 'backfill' | 'sources-landed' | 'api';

export interface PipelineInput {
  /**
   * The warehouse the run builds, as `warehouseName` writes it (a resolved folder, or `postgres:<conninfo>`
   * without a password: workers take that from their own --db, PGPASSWORD or a passfile). Every activity
   * checks it; its writer queue is derived from it (`writerQueueFor`) unless writerQueue says otherwise.
   * Runs recorded before runs named their warehouse have none: they build their writer queue's.
   */
  readonly warehouse?: string;
  /** The project the run runs; absent in runs recorded before runs named it (those run their workers' own). */
  readonly project?: ProjectRef;
  /** Source `X` is read from `<sourcesUri>/X/*.parquet`, unless the sources YAML gives it a location. */
  readonly sourcesUri: string;
  /** Snapshots and analytics results go below this location. */
  readonly outUri: string;
  /** Vars over dbt_project.yml's, for this run. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /**
   * dbt's `target.name` for the project's templates (dbt's --target): what a project branches on between
   * warehouses (`{% if target.name == 'prod' %}`). Absent, a template that reads it is refused.
   */
  readonly target?: string;
  /** dbt-style model selection: `demand_price_elasticity+`, `+meter_anomalies`, `path:staging`, `tag:daily`. */
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** A selector of the project's selectors.yml, by name (dbt's --selector); not with select or exclude. */
  readonly selector?: string;
  /** Reload every source file and rebuild every selected model, changed or not. */
  readonly fullRefresh?: boolean;
  /** Replace tables in the warehouse that meterflow did not create (otherwise the run refuses, naming them). */
  readonly force?: boolean;
  /**
   * Hash every source file whose size and etag look unchanged and reload those whose content changed
   * (a local file rewritten in place with the same size and mtime); costs a read of every such file.
   */
  readonly verify?: boolean;
  /**
   * The sources' files moved to sourcesUri (or a source's YAML location changed): rows loaded from
   * files elsewhere are dropped and the files at the new place loaded. Without it such a run is refused
   * at that source's seed, naming both places, and changes nothing: a mistyped --sources would
   * otherwise drop every row the warehouse holds from the right one.
   */
  readonly sourcesMoved?: boolean;
  /**
   * Webhooks told when the run fails (and, with notifyOnSuccess, when it succeeds): one POST each of
   * a JSON body with a `text` field, as Slack's and Teams' incoming webhooks show it. `env:NAME` is
   * the URL in the environment variable NAME of the analytics workers, which keeps a secret URL out
   * of the run's history; a URL given as is is kept there (notify.ts refuses one with a password or query).
   */
  readonly notify?: readonly string[];
  readonly notifyOnSuccess?: boolean;
  /** How long a run waits, at most, for its notifications to be delivered before it ends (60 s by default). */
  readonly notifyWaitSeconds?: number;
  /** The run's logical date (ISO 8601); a scheduled run uses its scheduled time, others their start. */
  readonly logicalDate?: string;
  readonly kind?: RunKind;
  /** The writer queue of the warehouse to build (one writer per warehouse); by default `writerQueueFor(warehouse)`. */
  readonly writerQueue?: string;
  /** The analytics queue; meterflow-analytics by default. */
  readonly analyticsQueue?: string;
  /** The queue of per-month builds; by default the writer queue's (`buildQueueFor`: meterflow-build for a derived one). */
  readonly buildQueue?: string;
}

export interface PipelineResult {
  readonly workflowId: string;
  readonly logicalDate: string;
  /** The warehouse the run built: a lake folder on the writer's machine, or `postgres:…` (never with a password). */
  readonly warehousePath: string;
  /** The project's content hash the run ran (absent for runs that named no project). */
  readonly projectHash?: string;
  /**
   * The lake snapshot that holds the run's tables: the commit that published them, or (when the run
   * published nothing new) the version it found current. `meterflow query --at <run>` reads it.
   */
  readonly snapshotVersion?: number;
  readonly nodes: readonly NodeProgress[];
  readonly tables: readonly { readonly table: string; readonly rows: number | null }[];
  /** Every data test and freshness check the run made, with warnings; a failed error stops the run. */
  readonly dataTests: readonly DataTestOutcome[];
  /** The run's self-contained HTML report. */
  readonly reportUri: string;
}

export interface DataTestOutcome {
  /** The model or source tested. */
  readonly target: string;
  readonly test: string;
  readonly status: 'pass' | 'warn' | 'fail';
  readonly failures: number;
}

/** The pipeline workflow's signature, for typed handles (the workflow itself is worker code). */
export type PipelineWorkflow = (input: PipelineInput) => Promise<PipelineResult>;

// NOTE: plain definitions, the objects @temporalio/workflow's defineQuery and defineSignal return, so
// that a client needs @temporalio/common alone and never loads the workflow package
export const progressQuery = { type: 'query', name: 'progress' } as QueryDefinition<PipelineProgress, [], 'progress'>;

/** New source files have landed: a running pipeline runs once more (incrementally) when it ends. */
export const sourcesLandedSignal = { type: 'signal', name: 'sourcesLanded' } as SignalDefinition<
  [{ readonly note?: string }?],
  'sourcesLanded'
>;

/** Custom search attributes, registered on the embedded server (see README for a real cluster). */
export const RUN_KIND = defineSearchAttributeKey('MeterflowRunKind', SearchAttributeType.KEYWORD);
export const LOGICAL_DATE = defineSearchAttributeKey('MeterflowLogicalDate', SearchAttributeType.DATETIME);
export const MODELS_SELECTED = defineSearchAttributeKey('MeterflowModelsSelected', SearchAttributeType.KEYWORD_LIST);
export const METERFLOW_SEARCH_ATTRIBUTES = [RUN_KIND, LOGICAL_DATE, MODELS_SELECTED];

/** Set by Temporal on runs a schedule starts. */
export const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

// Queries, signals and the plain-data types the pipeline workflow shares with clients.
import { defineQuery } from '@temporalio/workflow';

export const PIPELINE_WORKFLOW_TYPE = 'pipeline';

export type NodeKind = 'seed' | 'model' | 'snapshot' | 'analytics' | 'load';
export type NodeState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

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
  error?: string;
}

export interface PipelineProgress {
  readonly workflowId: string;
  readonly startedAt: number;
  readonly nodes: readonly NodeProgress[];
  readonly done: boolean;
}

export interface PipelineInput {
  /** Source `X` is read from `<sourcesUri>/X/*.parquet`, unless the sources YAML gives it a location. */
  readonly sourcesUri: string;
  /** Snapshots and analytics results go below this location. */
  readonly outUri: string;
  /** Vars over dbt_project.yml's, for this run. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** The writer queue of the warehouse to build (one writer per warehouse); meterflow-writer by default. */
  readonly writerQueue?: string;
  /** The analytics queue; meterflow-analytics by default. */
  readonly analyticsQueue?: string;
}

export interface PipelineResult {
  readonly workflowId: string;
  /** The warehouse file the run built, on the writer's machine. */
  readonly warehousePath: string;
  readonly snapshotUri: string;
  readonly nodes: readonly NodeProgress[];
  readonly tables: readonly { readonly table: string; readonly rows: number | null }[];
}

export const progressQuery = defineQuery<PipelineProgress>('progress');

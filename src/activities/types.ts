// Inputs and results of every activity: plain data, URIs only (never credentials), as it is kept in history.
import type { ProjectPlan, SourceTable } from '../project/types';

export interface PlanRunInput {
  /** Vars that override dbt_project.yml's for this run. */
  readonly vars?: Readonly<Record<string, unknown>>;
}

export interface SeedSourceInput {
  readonly source: SourceTable;
  /** The folder or prefix holding the source's Parquet files. */
  readonly uri: string;
}

export interface SourceFileIdentity {
  readonly uri: string;
  readonly size: number;
  readonly etag: string;
  readonly rows: number;
}

export interface SeedSourceResult {
  readonly source: string;
  readonly table: string;
  readonly rows: number;
  readonly files: readonly SourceFileIdentity[];
  readonly durationMs: number;
}

export interface BuildModelInput {
  readonly model: string;
  readonly vars?: Readonly<Record<string, unknown>>;
}

export interface BuildModelResult {
  readonly model: string;
  readonly relation: string;
  readonly materialized: 'table' | 'view';
  /** Row count of a table; views are not counted (that would run them). */
  readonly rows: number | null;
  readonly durationMs: number;
}

export interface PublishSnapshotInput {
  readonly tables: readonly string[];
  /** Where the snapshot goes: a folder or prefix of its own, never reused for another snapshot. */
  readonly snapshotUri: string;
}

export interface SnapshotTable {
  readonly name: string;
  readonly rows: number;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** Paths relative to the snapshot URI. */
  readonly files: readonly { readonly path: string; readonly size: number }[];
}

export interface SnapshotManifest {
  readonly snapshotUri: string;
  readonly createdAt: string;
  readonly tables: readonly SnapshotTable[];
}

export interface RunAnalyticsModelInput {
  readonly model: string;
  readonly snapshotUri: string;
  /** Where the model's Parquet result goes (a file URI). */
  readonly outputUri: string;
  readonly vars?: Readonly<Record<string, unknown>>;
}

export interface AnalyticsModelResult {
  readonly model: string;
  readonly outputUri: string;
  readonly rows: number;
  readonly durationMs: number;
}

export interface LoadAnalyticsResultsInput {
  readonly results: readonly { readonly model: string; readonly outputUri: string }[];
}

export interface LoadAnalyticsResultsResult {
  readonly tables: readonly { readonly model: string; readonly rows: number }[];
  /** The warehouse file on the writer's machine. */
  readonly warehousePath: string;
  readonly durationMs: number;
}

export type { ProjectPlan };

// The shape of a loaded models project, as plain data: it crosses into workflow code and history.

/** Which part of the pipeline a model belongs to: its top folder in the project. */
export type ModelLayer = 'staging' | 'master' | 'analytics';

export type Materialization = 'table' | 'view';

export interface ColumnDoc {
  readonly name: string;
  readonly dataType?: string;
  readonly description?: string;
}

export interface SourceTable {
  /** Table name, also the folder name under --sources (e.g. `tariff_unit_rates`). */
  readonly name: string;
  /** dbt source name (e.g. `raw`), as written in `source('raw', name)`. */
  readonly sourceName: string;
  /** Schema of the seeded table in the warehouse. */
  readonly schema: string;
  readonly description?: string;
  readonly columns: readonly ColumnDoc[];
  /** `meta.location` from the sources YAML: overrides `<--sources>/<name>`. */
  readonly location?: string;
}

export interface ModelNode {
  readonly name: string;
  readonly layer: ModelLayer;
  /** Path relative to the project folder, for messages. */
  readonly file: string;
  readonly materialized: Materialization;
  /** Models this one refs. */
  readonly refs: readonly string[];
  /** Source tables this one reads, by table name. */
  readonly sources: readonly string[];
  readonly tags: readonly string[];
  readonly description?: string;
  readonly columns: readonly ColumnDoc[];
}

/** What a run needs to know of the project: sources and models in a valid build order. */
export interface ProjectPlan {
  readonly projectName: string;
  readonly sources: readonly SourceTable[];
  /** Topologically sorted: every model comes after the models it refs. */
  readonly models: readonly ModelNode[];
  readonly vars: Readonly<Record<string, unknown>>;
}

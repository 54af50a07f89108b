// The shape of a loaded models project, as plain data: it crosses into workflow code and history.

/**
 * Where a model runs (`meta.meterflow.runs_on`, see project/model-config.ts): built whole by the
 * writer; built a month at a time on the build queue (an incremental model with an event_time) and
 * committed by the writer; or computed read-only on the analytics queue from the lake version the run
 * pinned, its result published by the writer.
 */
export type RunsOn = 'writer' | 'build' | 'analytics';

/** What plans recorded before `runsOn` said instead: the model's top folder. */
export type LegacyLayer = 'staging' | 'master' | 'analytics';

/**
 * Where a model runs, also in a plan recorded before `runsOn`: there a model's folder said it
 * (staging and master built, analytics read-only), and an incremental model with an event_time was
 * built a month at a time.
 */
export function runsOnOf(model: Pick<ModelNode, 'runsOn' | 'layer' | 'materialized' | 'eventTime'>): RunsOn {
  if (model.runsOn) return model.runsOn;
  if (model.layer === 'analytics') return 'analytics';
  return model.materialized === 'incremental' && model.eventTime !== undefined ? 'build' : 'writer';
}

/**
 * How a model is kept in the warehouse. `incremental` is a table that a run updates in place when only
 * a window of event times changed upstream (see `eventTime`), and rebuilds whole otherwise.
 */
export type Materialization = 'table' | 'view' | 'incremental';

/** The SQL object a materialization creates. */
export function relationKind(materialized: Materialization): 'table' | 'view' {
  return materialized === 'view' ? 'view' : 'table';
}

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
  /**
   * Column tests checked on every file as it is seeded (not_null on keys, plausible ranges, the
   * half-hour grid): `error` refuses the file, `warn` sets the failing rows aside.
   */
  readonly tests: readonly DataTest[];
  readonly freshness?: Freshness;
  /** dbt's `event_time` config: the column that places each row in time, for incremental runs. */
  readonly eventTime?: string;
  /** The window the event times of every file seeded must fall in (with an event_time only). */
  readonly eventTimeWindow?: EventTimeWindow;
  /** A dbt seed: a CSV file of the project, loaded as a table that models ref() (absent for sources). */
  readonly seed?: SeedFile;
  /**
   * Where the models and seeds its relationships tests' `to: ref('x')` name are (their tables' keys,
   * tableKey), by name; absent for a source with no such test.
   */
  readonly testTables?: Readonly<Record<string, string>>;
  /**
   * The ids of its relationships tests whose `to` is a model: not checked as its files load (the
   * model may not be built yet, or be rebuilt by the run) but run as tests of their own once the
   * run has built the model (SingularTest.of); absent for a source with none.
   */
  readonly afterModels?: readonly string[];
}

/** A dbt seed's file and its config (`delimiter`, `column_types`), as dbt_project.yml and YAML give them. */
export interface SeedFile {
  /** Path relative to the project folder. */
  readonly file: string;
  readonly delimiter: string;
  /** `column_types`: DuckDB types by column; other columns' types are read from the file. */
  readonly columnTypes?: Readonly<Record<string, string>>;
}

/** A table or view of the warehouse: its schema and its name there. */
export interface TableName {
  readonly schema: string;
  readonly name: string;
}

/** The schema models are built in unless a schema config says otherwise: dbt-duckdb's default. */
export const DEFAULT_MODEL_SCHEMA = 'main';

/** Where a model's table or view is: `main.<its name>`, or where its schema and alias configs put it. */
export function tableOf(model: Pick<ModelNode, 'name' | 'table'>): TableName {
  return model.table ?? { schema: DEFAULT_MODEL_SCHEMA, name: model.name };
}

/** A table's key among the warehouse's relations: its name in the models' default schema (main), `schema.name` in another. */
export const tableKey = (table: TableName): string =>
  table.schema === DEFAULT_MODEL_SCHEMA ? table.name : `${table.schema}.${table.name}`;

/** The table a key names (tableKey's inverse): a plain name is in the models' default schema. */
export function keyedTable(key: string): TableName {
  const dot = key.indexOf('.');
  return dot < 0 ? { schema: DEFAULT_MODEL_SCHEMA, name: key } : { schema: key.slice(0, dot), name: key.slice(dot + 1) };
}

export interface ModelNode {
  readonly name: string;
  /** A dbt snapshot, built as an incremental model merged on dbt_scd_id (project/dbt-snapshots.ts); else a model. */
  readonly resourceType?: 'snapshot';
  /**
   * Where dbt's `schema` and `alias` configs put it (dbt's generate_schema_name: `main_<schema>`, or
   * the project's own macro): absent where that is `main.<name>`, and in plans recorded before.
   */
  readonly table?: TableName;
  /** Where it runs. Absent from plans recorded before it: read it with `runsOnOf`. */
  readonly runsOn?: RunsOn;
  /** Plans recorded before `runsOn` only. */
  readonly layer?: LegacyLayer;
  /** Path relative to the project folder, for messages. */
  readonly file: string;
  readonly materialized: Materialization;
  /** Models and seeds this one refs (through any ephemeral model it reads, whose refs count as its own). */
  readonly refs: readonly string[];
  /** Source tables this one reads, by table name (also through ephemeral models). */
  readonly sources: readonly string[];
  /** The ephemeral models its SQL inlines, directly or through each other (dbt inlines them as CTEs). */
  readonly inlines?: readonly string[];
  /**
   * Models a test of this one reads besides the model (a relationships test's `to`): the test waits
   * for them, and reads this run's new versions of those it rebuilt.
   */
  readonly testRefs?: readonly string[];
  readonly tags: readonly string[];
  readonly description?: string;
  readonly columns: readonly ColumnDoc[];
  /** Tests run on the model's new version before it replaces the old one. */
  readonly tests: readonly DataTest[];
  /**
   * dbt's `event_time` config: each row's time, taken from the same column of its inputs. An
   * incremental model with one is rebuilt only over the window of event times that changed upstream.
   */
  readonly eventTime?: string;
  /**
   * An incremental model without an event_time, as dbt runs it: once its table exists, its SQL is
   * rendered with is_incremental() true and its rows are added to the table (`append`), or replace
   * the rows with the same unique_key (`delete+insert`, and `merge`, which leaves the same rows).
   */
  readonly incremental?: IncrementalConfig;
  /**
   * dbt's `begin` of a microbatch model (`YYYY-MM-DD HH:MM:SS`, UTC): its first event time. Its months
   * are built from here on; rows of inputs before it are not read, as dbt's first batch starts here.
   */
  readonly begin?: string;
  /**
   * For an analytics model with one row per period (its `eventTime` the period's start): the period,
   * from `meta.period` in its config. When the master changed over a window only, just the periods
   * holding that window are recomputed and replace their rows.
   */
  readonly period?: AnalyticsPeriod;
  /**
   * A per-month model built in parts by a key (`meta.meterflow.split_by`): each month is cut into
   * `hash(column) % N` parts, N chosen so that a part's file stays under `targetMb` of Parquet.
   */
  readonly split?: ModelSplit;
}

/** How a per-month model's months are cut into parts: by a column's hash, to a target file size. */
export interface ModelSplit {
  readonly column: string;
  readonly targetMb: number;
}

/** The periods an analytics model can be kept up to date by: `date_trunc` units. */
export const ANALYTICS_PERIODS = ['day', 'week', 'month'] as const;
export type AnalyticsPeriod = (typeof ANALYTICS_PERIODS)[number];

/** A dbt singular test: a SQL file under tests/ whose rows are failures. */
export interface SingularTest {
  readonly name: string;
  readonly file: string;
  readonly refs: readonly string[];
  readonly sources: readonly string[];
  readonly severity: Severity;
  /** dbt's warn_if and error_if, limit and fail_calc, from its config (absent: dbt's defaults). */
  readonly warnIf?: string;
  readonly errorIf?: string;
  readonly limit?: number;
  readonly failCalc?: string;
  /** The ephemeral models it inlines (absent where it inlines none). */
  readonly inlines?: readonly string[];
  /**
   * A source's or seed's relationships test whose `to` is a model (SourceTable.afterModels), run as a
   * test of its own on the model's new version: the source and its test's id. Absent for a SQL file.
   */
  readonly of?: { readonly source: string; readonly test: string };
  /** A dbt unit test (YAML `unit_tests:`): its model run on fixtures, compared with the rows expected. */
  readonly unit?: UnitTestSpec;
}

/** A unit test's rows: mappings of column to value (dict and CSV fixtures), or a query (sql). */
export type UnitTestRows = { readonly rows: readonly Readonly<Record<string, unknown>>[] } | { readonly sql: string };

/** A unit test's input key (`ref:x`, `source:s.t`, `this`) as dbt writes the input: `ref('x')`, `source('s', 't')`, `this`. */
export function unitInputCall(key: string): string {
  if (key === 'this') return 'this';
  if (key.startsWith('ref:')) return `ref('${key.slice('ref:'.length)}')`;
  return `source('${key.slice('source:'.length).replace('.', "', '")}')`;
}

/** A dbt unit test, read from YAML (project/unit-tests.ts) and run by build/unit-tests.ts. */
export interface UnitTestSpec {
  readonly model: string;
  /** Each input's fixture, by relation key: `ref:<name>`, `source:<source>.<table>` or `this`. */
  readonly given: readonly (UnitTestRows & { readonly input: string })[];
  readonly expect: UnitTestRows;
  /** overrides.vars, laid over the project's and the run's. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** overrides.macros.is_incremental. */
  readonly incremental?: boolean;
}

/**
 * The run's vars that dbt_project.yml reads (`names`), by name in order; undefined when it reads none
 * the run sets. The plan's scope (workflow) and each worker's project cache key on the same value.
 */
export function varsReadByProjectFile(
  vars: Readonly<Record<string, unknown>>,
  names: Iterable<string> = [],
): Readonly<Record<string, unknown>> | undefined {
  const set = [...new Set(names)].filter((name) => name in vars).sort();
  return set.length === 0 ? undefined : Object.fromEntries(set.map((name) => [name, vars[name]]));
}

/** The source table `source(sourceName, table)` reads: a declared source, or the seed such a source is. */
export function sourceTableOf(
  plan: Pick<ProjectPlan, 'sources' | 'seedSources'>,
  sourceName: string,
  table: string,
): SourceTable | undefined {
  const declared = plan.sources.find((s) => !s.seed && s.sourceName === sourceName && s.name === table);
  if (declared) return declared;
  const seed = plan.seedSources?.[`${sourceName}.${table}`];
  return seed === undefined ? undefined : plan.sources.find((s) => s.seed && s.name === seed);
}

/** The source and YAML test a SingularTest.of stands for; undefined where the plan has no such test. */
export function sourceTestOf(
  plan: Pick<ProjectPlan, 'sources'>,
  of: NonNullable<SingularTest['of']>,
): { source: SourceTable; test: DataTest } | undefined {
  const source = plan.sources.find((candidate) => candidate.name === of.source);
  const test = source?.tests.find((candidate) => candidate.id === of.test);
  return source && test ? { source, test } : undefined;
}

/** An ephemeral model: never built, its SQL inlined where it is ref'd. */
export interface EphemeralModel {
  readonly name: string;
  readonly file: string;
}

/** What a run needs to know of the project: sources and models in a valid build order. */
export interface ProjectPlan {
  readonly projectName: string;
  readonly sources: readonly SourceTable[];
  /** Topologically sorted: every model comes after the models it refs. */
  readonly models: readonly ModelNode[];
  /** Ephemeral models, whose SQL the models that read them inline (absent from older plans). */
  readonly ephemerals?: readonly EphemeralModel[];
  readonly singularTests: readonly SingularTest[];
  readonly vars: Readonly<Record<string, unknown>>;
  /**
   * The vars dbt_project.yml's Jinja reads (project-yaml.ts) and the vars tests' arguments and SQL read
   * (generic-tests.ts): the project was loaded with the run's values of those it sets, and each other
   * one's default (absent where they read none).
   */
  readonly projectFileVars?: readonly string[];
  /**
   * Sources that are a seed's table (jaffle-shop's `ecom.raw_customers`, seeded into `raw`): the
   * seed's name by `source.table`; such a source reads its seed (absent where there are none).
   */
  readonly seedSources?: Readonly<Record<string, string>>;
  /**
   * The environment variables the project's generate_schema_name or generate_alias_name read with
   * env_var(): they decide where tables go, so every worker of a run must have them alike (absent
   * where they read none).
   */
  readonly namingEnv?: readonly string[];
}

export type DataTestKind =
  | 'not_null'
  | 'unique'
  | 'unique_combination_of_columns'
  | 'accepted_values'
  | 'relationships'
  | 'expression_is_true'
  | 'row_count_between'
  | 'accepted_range'
  | 'on_time_grid'
  | 'all_finite'
  /** Not declared as a test: a source's `meta.event_time_window`, checked as its column tests are. */
  | 'event_time_window'
  /** A custom generic test (`{% test name(...) %}` in macro-paths or tests/generic): see `macro` and `sql`. */
  | 'generic'
  /** Not declared as a test: an enforced contract's columns and types (project/contracts.ts; `args.columns`). */
  | 'contract';
export type Severity = 'error' | 'warn';

/** A bound of an event-time window: a fixed date or timestamp (ISO 8601), or an offset from the run's logical date. */
export type WindowBound =
  { readonly at: string } | { readonly offset: { readonly amount: number; readonly unit: 'day' | 'month' | 'year' } };

/** `meta.event_time_window` of a source (see project/event-window.ts). */
export interface EventTimeWindow {
  /** Earliest event time accepted (inclusive). */
  readonly from: WindowBound;
  /** Event times from here on are refused (exclusive). */
  readonly to: WindowBound;
  readonly severity: Severity;
}

/** A generic dbt data test declared in YAML on a model, a column or a source column. */
export interface DataTest {
  /** Unique in the project, dbt-style: `not_null_demand_price_elasticity_meter_point_id`. */
  readonly id: string;
  /** The id is the test's own name (`name:`), which no other test of the project may have. */
  readonly named?: true;
  readonly kind: DataTestKind;
  /** The model or source table it tests. */
  readonly target: string;
  /** A column name, or an SQL expression for `unique` on a combination of columns. */
  readonly column?: string;
  readonly severity: Severity;
  /** dbt's `config: {where: ...}`: the test sees only the rows where this SQL condition holds. */
  readonly where?: string;
  /** dbt's `config.warn_if` / `error_if`: a comparison with the failing rows (`> 10`); `!= 0` when absent. */
  readonly warnIf?: string;
  readonly errorIf?: string;
  /** dbt's `config.limit`: at most this many failing rows are counted. */
  readonly limit?: number;
  /** dbt's `config.fail_calc`: the failures as this aggregate over the failing rows (`count(*)` when absent). */
  readonly failCalc?: string;
  /**
   * A warn test on a source's rows whose failing rows are set aside (out of the raw table, into
   * meterflow.rejected_rows): `meta: {meterflow: {set_aside: true}}` in its config. Without it a warn
   * test keeps its rows, as dbt does.
   */
  readonly setAside?: boolean;
  /**
   * The config keys the test's own YAML gives (under `config:` or beside its arguments), which its
   * macro's config() does not override; only while the project loads (generic-tests.ts drops it).
   */
  readonly ownConfig?: readonly string[];
  /** A custom generic test's name (its macro is `test_<name>`). */
  readonly macro?: string;
  /**
   * A custom generic test's SQL, rendered when the project loads: its failing rows, the tested
   * relation written `__METERFLOW_MODEL__` and each ref `__METERFLOW_REF_<name>__` until it runs.
   */
  readonly sql?: string;
  /** The test's own arguments: `values`, `quote`, `to`, `field`, `expression`, `min_value`, `max_value`, `inclusive`, `interval_minutes`, `columns`. */
  readonly args: Readonly<Record<string, unknown>>;
}

/** A source's freshness rule: its newest `loaded_at_field` must be within these hours of the run's logical date. */
export interface Freshness {
  readonly loadedAtField: string;
  readonly warnAfterHours?: number;
  readonly errorAfterHours?: number;
}

/**
 * The dbt project a run runs: where it lives and a hash of its content, so that every worker runs the
 * same SQL or refuses, naming the files that differ. Written by `fingerprintProject` (project/fingerprint.ts).
 */
export interface ProjectRef {
  /** The project's folder (absolute), as the machine that started the run sees it. */
  readonly dir: string;
  /**
   * sha256 over every file's path and content hash. Absent (a schedule's runs): the project as its
   * folder is when each run starts.
   */
  readonly hash?: string;
  /** Each file's sha256 (first 16 hex digits) by path relative to dir: which files changed, when one did. */
  readonly files?: Readonly<Record<string, string>>;
}

/** How an incremental model without an event_time adds its new rows (see ModelNode.incremental). */
export interface IncrementalConfig {
  /** The columns of dbt's unique_key, whose rows the new ones replace (delete+insert); none: appended. */
  readonly uniqueKey: readonly string[];
  /**
   * The unique_key is one SQL expression (`uniqueKey` holds it alone), not columns: rows are matched
   * as dbt-core's delete matches a string key, `(key) in (select (key) from <new rows>)`.
   */
  readonly uniqueKeyIsExpression?: boolean;
  /**
   * dbt's `full_refresh` config: false keeps the table through a --full-refresh run (its rows added
   * to as on any run), true builds it whole on every run; absent, the run's --full-refresh decides.
   */
  readonly fullRefresh?: boolean;
  /**
   * dbt's `on_schema_change`, when the new rows' columns are not the table's: `ignore` (dbt's default:
   * the table's columns kept, new ones dropped), `fail`, `append_new_columns` or `sync_all_columns`.
   */
  readonly onSchemaChange: OnSchemaChange;
}

export const ON_SCHEMA_CHANGE = ['ignore', 'fail', 'append_new_columns', 'sync_all_columns'] as const;
export type OnSchemaChange = (typeof ON_SCHEMA_CHANGE)[number];

/**
 * The vars a run passes besides the user's, for dbt's `run_started_at` and `invocation_id` (the run's
 * start, ISO 8601, and its first execution's id): every worker renders the same values.
 */
export const RUN_STARTED_AT_VAR = '__meterflow_run_started_at';
export const INVOCATION_ID_VAR = '__meterflow_invocation_id';
/** The target a run names (`--target`, PipelineInput.target): dbt's `target.name`, the same on every worker. */
export const TARGET_NAME_VAR = '__meterflow_target_name';

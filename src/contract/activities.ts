// Inputs and results of every activity: plain data, URIs only (never credentials), as it is kept in history.
import type { EnvironmentDigest } from '../project/environment';
import type { ProjectPlan, SourceTable } from '../project/types';
import type { DataTestOutcome, NodeProgress, ProjectRef } from './run';
export type { DataTest } from '../project/types';

/**
 * What every activity of a run is stamped with (by the workflow, see workflows/run-scope.ts): the
 * warehouse and the project the run names. A worker that serves another warehouse, or cannot find the
 * project with that content, refuses the work (non-retryable), naming what was asked and what it serves.
 */
export interface RunScope {
  readonly warehouse?: string;
  readonly project?: ProjectRef;
  /** Where each activity attempt keeps its log lines: the run's `logs` folder (absent in older runs). */
  readonly logs?: string;
  /**
   * The environment variables the project's models read (env_var), as the plan saw them (digests, not
   * values): a worker whose environment differs refuses the work, naming them. Absent before the plan,
   * and in runs whose models read none.
   */
  readonly env?: EnvironmentDigest;
  /**
   * The run's vars that dbt_project.yml's Jinja reads (`+enabled: "{{ var('x', false) }}"`), as the
   * plan rendered it with them: every later activity loads the project the same way. Absent when it
   * reads none the run sets (and before the plan, which takes them from its own `vars`).
   */
  readonly projectVars?: Readonly<Record<string, unknown>>;
}

export interface PlanRunInput extends RunScope {
  /** Vars that override dbt_project.yml's for this run. */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** dbt-style selectors (`demand_price_elasticity+`, `tag:daily`, `path:staging`); none selects all. */
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  /** A selector of the project's selectors.yml, by name. */
  readonly selector?: string;
  /** Names the run's unpublished versions; a plan drops those that dead runs left behind. */
  readonly buildId?: string;
  /** Replace tables in the warehouse that meterflow did not create (otherwise the run refuses). */
  readonly force?: boolean;
}

/** The DAG of a run and what the warehouse already holds, so the workflow can skip what is up to date. */
export interface PlannedRun {
  readonly plan: ProjectPlan;
  /** Selected model names, in build order. */
  readonly selected: readonly string[];
  /**
   * A hash of each model's SQL, materialization, the vars it reads and its tests (a changed test
   * re-tests it), and of each singular test's SQL (as `test:<name>`).
   */
  readonly stateHashes: Readonly<Record<string, string>>;
  /**
   * What each published model, analytics model and singular test (`test:<name>`) was built from.
   * A model whose table or view is missing from the warehouse has no entry.
   */
  readonly built: Readonly<Record<string, BuiltState>>;
  /** Unpublished versions of dead runs that the plan dropped. */
  readonly droppedLeftovers: readonly string[];
  /** The warehouse file on the writer's machine. */
  readonly warehousePath: string;
  /** The environment variables the models read, as the writer had them (absent when they read none). */
  readonly env?: EnvironmentDigest;
}

/**
 * Every writer activity after the plan names the warehouse the plan came from: a writer of another
 * warehouse on the same queue refuses the work instead of doing it in the wrong file.
 */
export type WriterInput = RunScope;

export interface SeedSourceInput extends WriterInput {
  readonly source: SourceTable;
  /** The folder or prefix holding the source's Parquet files. */
  readonly uri: string;
  /** Reload every file, not only new and changed ones. */
  readonly fullRefresh?: boolean;
  /** The run's logical date (ISO 8601): source freshness is measured against it. */
  readonly logicalDate?: string;
  /**
   * Hash every file whose size and etag look unchanged and compare it with the checksum recorded when
   * it was loaded: a file rewritten in place with the same size and mtime is reloaded. Local files only
   * (an S3 ETag changes with every rewrite already).
   */
  readonly verify?: boolean;
  /**
   * The source's files moved to `uri`: rows loaded from files elsewhere are dropped and the files at
   * `uri` loaded. Without it, a source whose rows came from elsewhere is refused (see seed/load.ts).
   */
  readonly sourcesMoved?: boolean;
}

/** Every source of a run, looked at before any is seeded (see the writer's checkSources). */
export interface CheckSourcesInput extends WriterInput {
  /** Each source's seed input, as the run would seed it (not a full refresh, not verified). */
  readonly sources: readonly SeedSourceInput[];
}

export interface CheckSourcesResult {
  /** In the order asked: the unchanged source's seed result, or null where it has files to load. */
  readonly results: readonly (SeedSourceResult | null)[];
}

export interface FreshnessResult {
  /** The newest loaded_at_field value, or 'none'. */
  readonly newest: string;
  readonly ageHours: number | null;
  readonly status: 'pass' | 'warn' | 'error';
}

export interface SourceFileIdentity {
  readonly uri: string;
  readonly size: number;
  readonly etag: string;
  readonly rows: number;
}

/** Rows a warn-severity source test set aside: out of raw, into meterflow.rejected_rows. */
export interface SetAsideRows {
  /** The test's id, e.g. `accepted_range_smart_meter_consumption_q1_smart_meter_consumption`. */
  readonly test: string;
  readonly column?: string;
  readonly rows: number;
  /** The rows failed a warn test and were kept, as dbt keeps them (a test without meta.meterflow.set_aside). */
  readonly kept?: boolean;
}

/** A file's columns that a seed did not load: its source's column contract does not list them. */
export interface UnloadedColumns {
  readonly uri: string;
  readonly columns: readonly string[];
}

export interface SeedSourceResult {
  readonly source: string;
  readonly table: string;
  readonly rows: number;
  readonly files: readonly SourceFileIdentity[];
  /** Whether the table changed: a file was new, replaced or removed (or everything was reloaded). */
  readonly changed: boolean;
  /** The raw table's version now: a new one whenever its rows change. */
  readonly version: string;
  /** Its version before this seed, when it had one. */
  readonly previousVersion?: string;
  /** URIs of the files whose rows were (re)loaded. */
  readonly loadedFiles: readonly string[];
  /** URIs of the files that disappeared, whose rows were removed. */
  readonly removedFiles: readonly string[];
  /**
   * Rows of the files loaded that a warn-severity source test set aside (kept out of raw, in
   * meterflow.rejected_rows), by test. Absent from results recorded before rows could be set aside.
   */
  readonly setAside?: readonly SetAsideRows[];
  /**
   * Columns of the files loaded that the source's column contract (every listed column typed) does
   * not list, so not loaded, by file. Absent when there are none, and from results recorded before.
   */
  readonly unloadedColumns?: readonly UnloadedColumns[];
  /**
   * Names (below the source's location) of the files listed there and not loaded: not `*.parquet`,
   * or hidden (a name starting with '.'). Results recorded before this field existed lack it.
   */
  readonly ignoredFiles: readonly string[];
  /** With `verify`: how many files that looked unchanged were hashed and compared. */
  readonly verifiedFiles?: number;
  /** With `verify`: URIs of those whose content differed from the checksum recorded (so reloaded). */
  readonly differedFiles?: readonly string[];
  /**
   * For a source with an event_time that changed file by file: the event times of the rows loaded
   * or removed. Absent when everything was reloaded, or the source has no event_time.
   */
  readonly window?: EventWindow;
  readonly freshness?: FreshnessResult;
  readonly durationMs: number;
}

/** Names the run's own new version of a model, so two runs never share one. */
export interface BuildIdentity extends WriterInput {
  readonly buildId: string;
}

/** The event times whose rows changed upstream, both ends included (`YYYY-MM-DD HH:MM:SS`). */
export interface EventWindow {
  readonly from: string;
  readonly to: string;
}

export interface BuildModelInput extends BuildIdentity {
  readonly model: string;
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Upstream models this run rebuilt: read at their new, unpublished versions. */
  readonly pendingRefs?: readonly string[];
  /**
   * For an incremental model: only these event times changed upstream, so only they are rebuilt
   * (inputs with an event_time are read within the window) and replace the published rows there.
   */
  readonly window?: EventWindow;
  /** Upstream models this run rebuilt over the same window: their changed rows alone are read. */
  readonly windowRefs?: readonly string[];
  /** A full refresh: an incremental model without an event_time is built whole, not added to. */
  readonly fullRefresh?: true;
}

/** One month of a model built per month: its event times, as `YYYY-MM` (UTC). */
export interface BuildMonthInput extends BuildModelInput {
  readonly month: string;
  /**
   * Names the files this execution writes (its run id): a retried month overwrites its own files,
   * and a run continued as new never rewrites files an earlier execution published.
   */
  readonly fileKey: string;
  /**
   * One part of the month, for a model split by a key (meta.meterflow.split_by): the rows whose key
   * hashes to `index` modulo `of`. Absent when the month is built whole.
   */
  readonly part?: MonthPart;
}

/**
 * One of a month's parts. With `from` or `to`: the rows whose split key lies in [from, to) (the first
 * part also holds the NULL keys), bounds the plan chose so that parts hold about as many keys each,
 * and so that a part's filter reaches every scan and file statistics (a part of a model split by the
 * same key reads only that part's files). Without (plans recorded before ranges): the rows whose key
 * hashes to `index` modulo `of`.
 */
export interface MonthPart {
  readonly index: number;
  readonly of: number;
  readonly from?: string;
  readonly to?: string;
  /**
   * false (on the first part) when the plan found no NULL key in the inputs split by the key: the
   * part is then `key < to`, a filter DuckDB carries through joins to every input, where `or key is
   * null` stops it (the first part took twice as long). The part then adds, in the same file, the
   * rows the model gives a NULL key from those inputs' NULL keys (none), such as a left join's
   * unmatched rows. Absent: the first part's range holds the NULL keys.
   */
  readonly nullKeys?: false;
}

/** A part as people read it: `part 2 of 6` (counted from 1). */
export const partLabel = ({ index, of }: MonthPart): string => `part ${index + 1} of ${of}`;

/**
 * The months a per-month build covers, and how many parts each is cut into (absent: one, the whole
 * month), with the split key's `parts - 1` ascending bounds between them (absent in plans recorded
 * before ranges: parts by hash).
 */
export interface BuildMonthsPlan {
  readonly months: string[];
  readonly parts?: number;
  readonly bounds?: string[];
  /** With bounds: whether any input split by the key has a NULL key (absent in plans recorded before: assume so). */
  readonly nullKeys?: boolean;
}

/** A Parquet file a build worker wrote into the lake's data path, not yet part of any table. */
export interface BuiltFile {
  /** As the lake's data path names it: an absolute path or `s3://…`. */
  readonly path: string;
  readonly rows: number;
}

export interface BuildMonthResult {
  readonly model: string;
  readonly month: string;
  /** Empty when the month has no rows. */
  readonly files: readonly BuiltFile[];
  readonly rows: number;
  readonly durationMs: number;
  /**
   * The model's tests that judge rows of one month alone (row-by-row checks, uniqueness on keys that
   * hold the event time), run on the month's file: one entry per test of the model, null for the others.
   * Absent in results recorded before months were tested.
   */
  readonly tests?: readonly (DataTestResult | null)[];
}

/** One month of a singular test whose inputs all have an event time, run on a build worker. */
export interface TestMonthInput extends RunSingularTestInput {
  readonly month: string;
}

/** The writer's half of a per-month build: make the files of every month the new version, in one commit. */
export interface CommitBuiltMonthsInput extends BuildModelInput {
  readonly files: readonly BuiltFile[];
}

export interface TestModelInput extends BuildIdentity {
  readonly model: string;
  readonly pendingRefs?: readonly string[];
  /**
   * For a model built per month: the results of the tests its month builds ran on their own rows,
   * merged over the months, one entry per test of the model (in the YAML's order), null for a test
   * that needs the whole table. Only the null ones are run on the new version.
   */
  readonly monthTests?: readonly (DataTestResult | null)[];
}

/**
 * The tests of a model built in parts (on the build queue) that no part decided alone: run on a build
 * worker once the writer has committed the parts, not on the writer.
 */
export interface TestBuiltModelInput extends TestModelInput {
  readonly monthTests: readonly (DataTestResult | null)[];
  /**
   * The new version's rows when `whole`: the parts' rows added up for a build of the whole table, the
   * writer's count for one rebuilt over a window. Otherwise the parts' rows (runs recorded before).
   */
  readonly rows: number;
  /** `rows` counts the whole new version: a row count test is decided from it, without a scan. */
  readonly whole: boolean;
}

export interface PublishRunInput extends BuildIdentity {
  /** Rebuilt models, with what they were built from, recorded when they are swapped in. */
  readonly models: readonly { readonly model: string; readonly state: BuiltState; readonly window?: EventWindow }[];
  /** Analytics results; one with a window replaces the published rows of the periods holding it, others replace the table. */
  readonly analytics: readonly {
    readonly model: string;
    readonly outputUri: string;
    readonly state: BuiltState;
    readonly window?: EventWindow;
  }[];
  /** Singular tests this run ran and passed (or warned), with what they checked. */
  readonly tests?: readonly { readonly test: string; readonly state: BuiltState }[];
  /** The run (its workflow id): the lake commit that publishes it says so, for `meterflow query --at`. */
  readonly run?: string;
  readonly vars?: Readonly<Record<string, unknown>>;
}

/** A singular test, run on this run's new versions of the models it refs. */
export interface RunSingularTestInput extends BuildIdentity {
  readonly test: string;
  /** The run's vars over dbt_project.yml's (absent in runs recorded before PATCH.singularTestVars: the project's alone). */
  readonly vars?: Readonly<Record<string, unknown>>;
  /** Models it refs that this run rebuilt: read at their new, unpublished versions. */
  readonly pendingRefs?: readonly string[];
  /** Only these event times changed upstream: only their rows are checked again. */
  readonly window?: EventWindow;
  /** Models it refs rebuilt over the same window: their rebuilt rows alone are read. */
  readonly windowRefs?: readonly string[];
}

export interface PublishRunResult {
  readonly tables: readonly { readonly model: string; readonly rows: number | null }[];
  /** The lake snapshot the publish committed: the run's tables, readable later at this version. */
  readonly snapshotVersion: number;
  /** The warehouse file on the writer's machine. */
  readonly warehousePath: string;
  readonly rows: number;
  readonly durationMs: number;
}

/** Tests that did not pass as one line: `id (N failing rows)`, `, warn` for a warning. */
export function describeFailedTests(results: readonly DataTestResult[]): string {
  return results
    .filter((r) => r.status !== 'pass')
    .map((r) => `${r.id} (${r.failures} failing ${r.failures === 1 ? 'row' : 'rows'}${r.status === 'warn' ? ', warn' : ''})`)
    .join('; ');
}

/** How many failing rows a failed test shows as samples (a test run month by month too, once merged). */
export const SAMPLE_ROWS = 10;

export interface DataTestResult {
  readonly id: string;
  readonly severity: 'error' | 'warn';
  readonly failures: number;
  /** pass; warn: failed with severity warn; fail: failed with severity error. */
  readonly status: 'pass' | 'warn' | 'fail';
  /** For a test that did not pass: its compiled SQL, whose rows are the failures. */
  readonly sql?: string;
  /** For a test that did not pass: up to ten of its failing rows, as JSON-safe values. */
  readonly samples?: readonly Readonly<Record<string, unknown>>[];
}

export interface DataTestResults {
  readonly results: readonly DataTestResult[];
  /** Rows are the failing tests, so the progress table shows them. */
  readonly rows: number;
}

/**
 * The details of a `DataTestFailed` failure: a test activity whose error-severity tests failed fails
 * itself (so the Web UI's timeline shows it red), carrying every result, with samples and SQL.
 */
export interface DataTestFailure extends DataTestResults {
  /** The model, analytics model or singular test whose tests failed. */
  readonly target: string;
  /** An analytics model's tests: what it computed (its rows; the result was not uploaded), so that it stays green. */
  readonly analytics?: Omit<AnalyticsModelResult, 'tests'>;
}

export interface TestAnalyticsResultInput {
  readonly model: string;
  readonly outputUri: string;
}

export interface BuildModelResult {
  readonly model: string;
  readonly relation: string;
  readonly materialized: 'table' | 'view' | 'incremental';
  /** Row count of a table; views are not counted (that would run them). */
  readonly rows: number | null;
  /** Set when an incremental model was rebuilt over a window only: the rows it rebuilt there. */
  readonly windowRows?: number;
  readonly durationMs: number;
}

export interface PinSnapshotInput extends WriterInput {
  readonly tables: readonly string[];
  /**
   * Tables to read at this run's unpublished new version (the master, when this run rebuilt it), with
   * the rows their builds counted: those are not counted again (a windowed version is a view, and
   * counting it reads every event time of the published table).
   */
  readonly pending?: { readonly buildId: string; readonly tables: readonly string[]; readonly rows?: Readonly<Record<string, number>> };
}

/**
 * A committed lake version that analytics read, in another process or on another machine, while the
 * writer goes on: the master tables as relations of the lake at that version.
 */
export interface PinnedSnapshot {
  /** The warehouse location (a folder or `postgres:…`), as readers open it. */
  readonly warehouse: string;
  readonly version: number;
  /**
   * Each table's relation at that version: its published name, or this run's unpublished new version;
   * `schema.name` where it is not in `main` (a model with a schema config).
   */
  readonly relations: Readonly<Record<string, string>>;
  readonly tables: readonly { readonly name: string; readonly rows: number }[];
}

/** An analytics model's result from this run, as another analytics model that refs it reads it. */
export interface AnalyticsOutput {
  readonly model: string;
  readonly outputUri: string;
  /** Set when the result holds only the periods of this window (see RunAnalyticsModelInput.window). */
  readonly window?: EventWindow;
}

export interface RunAnalyticsModelInput {
  readonly model: string;
  readonly snapshot: PinnedSnapshot;
  /** Where the model's Parquet result goes (a file URI). */
  readonly outputUri: string;
  readonly vars?: Readonly<Record<string, unknown>>;
  /**
   * For a model with one row per period (`meta.period`): only the master's rows of these settlement
   * times changed, so only the periods holding them are computed; the result holds those periods'
   * rows, which replace the published ones there.
   */
  readonly window?: EventWindow;
  /** Analytics models it refs that this run computed: read as this run's results, not as published. */
  readonly upstream?: readonly AnalyticsOutput[];
  /**
   * Run the model's YAML tests on the result (its whole new version) before it is uploaded: results
   * recorded before tests ran here lack `tests`, and were tested by testAnalyticsResult.
   */
  readonly test?: boolean;
}

export interface AnalyticsModelResult {
  readonly model: string;
  readonly outputUri: string;
  readonly rows: number;
  /** Set when the result holds only the periods of this window. */
  readonly window?: EventWindow;
  /** With `test`: the YAML tests' results on the new version; with an error-severity failure the result is not uploaded. */
  readonly tests?: DataTestResults;
  readonly durationMs: number;
}

export interface RenderReportInput extends RunScope {
  readonly workflowId: string;
  /** When the run's workflow started (ISO): the grid of runs shows the whole run's time. */
  readonly startedAt?: string;
  readonly logicalDate: string;
  readonly reportUri: string;
  /**
   * The master as the analytics read it (a pinned version), or as published (no version: the latest):
   * the report's headline figures come from it.
   */
  readonly master?: { readonly warehouse: string; readonly version?: number; readonly relations: Readonly<Record<string, string>> };
  readonly analyticsOutputs: readonly { readonly model: string; readonly outputUri: string }[];
  /**
   * Analytics tables to chart as `master` (read at its version) holds them: the published results,
   * whole, where a run replaced only some periods' rows. Taken before analyticsOutputs.
   */
  readonly analyticsTables?: readonly string[];
  readonly nodes: readonly NodeProgress[];
  readonly dataTests: readonly DataTestOutcome[];
  readonly sourceFiles: readonly SourceFileRecord[];
  /** For a failed run: where and why it failed, with a failed test's SQL and sample rows; the report opens on it. */
  readonly failure?: RunFailure;
  /** Each model's and singular test's hash of the SQL this run compiled (the plan's stateHashes). */
  readonly sqlHashes?: Readonly<Record<string, string>>;
}

/** Where and why a run failed. */
export interface RunFailure {
  readonly node: string;
  readonly reason: string;
  readonly tests?: readonly DataTestResult[];
}

/** A seeded file with the source it belongs to, as the run report lists it. */
export interface SourceFileRecord extends SourceFileIdentity {
  readonly source: string;
}

export interface RenderReportResult {
  readonly reportUri: string;
  readonly bytes: number;
}

export type { ProjectPlan };

/** What a published node was built from, as the warehouse records it at publish. */
export interface BuiltState {
  /** The hash of its SQL, materialization, vars and tests when it was built. */
  readonly stateHash: string;
  /** The version it was published as: the run that built it. Absent in warehouses from before versions. */
  readonly version?: string;
  /** Each input (`seed:<source>`, `model:<ref>`) at the version it was built from. */
  readonly inputs?: Readonly<Record<string, string>>;
}

export interface MaintainLakeInput extends WriterInput {
  /** Snapshots older than this many days are expired (the latest always stays): `--at` reaches back this far. */
  readonly retentionDays: number;
  /**
   * Files the lake no longer references are deleted this long after: orphans once this old (a build may
   * not have committed them yet), and the files of expired snapshots and merged files this long after
   * they were scheduled for deletion (a reader may still be on an older version). 0: at once.
   */
  readonly orphanGraceMinutes?: number;
}

export interface MaintainLakeResult {
  readonly expiredSnapshots: number;
  /** Data and delete files removed from the data path: of expired snapshots, and orphans. */
  readonly deletedFiles: number;
  /** Files left after merging adjacent small files. */
  readonly filesBefore: number;
  readonly filesAfter: number;
  readonly durationMs: number;
}

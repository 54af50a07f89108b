// dbt snapshots (type-2 history of a query's rows), run as dbt-duckdb runs them: each becomes an
// incremental model keyed by `dbt_scd_id`, whose first build is the query's rows with dbt's four
// columns and whose later builds give the rows that change (new versions, the closed ones, and with
// hard_deletes='invalidate' the vanished ones closed), merged into the table as dbt's snapshot merge does.
import { ProjectError } from '../errors';
import type { NodeConfig } from './model-config';

/** One `{% snapshot name %} … {% endsnapshot %}` block of a file: its name and its query's template. */
export interface SnapshotBlock {
  readonly name: string;
  readonly body: string;
}

const BLOCK = /\{%-?\s*snapshot\s+([^\s%-]+)\s*-?%\}([\s\S]*?)\{%-?\s*endsnapshot\s*-?%\}/g;

/** The snapshot blocks of a file under snapshot-paths (text outside them is ignored, as dbt ignores it). */
export function snapshotBlocks(text: string): SnapshotBlock[] {
  return [...text.matchAll(BLOCK)].map((match) => ({ name: match[1] as string, body: match[2] as string }));
}

/** dbt's four columns, in the order dbt adds them after the query's. */
export const SNAPSHOT_COLUMNS = ['dbt_scd_id', 'dbt_updated_at', 'dbt_valid_from', 'dbt_valid_to'] as const;

/** How a snapshot finds what changed, as its config says (checked by `snapshotSpec`). */
export interface SnapshotSpec {
  /** Column names (a list) or one SQL expression (dbt's unique_key string). */
  readonly uniqueKey: readonly string[];
  readonly strategy: 'timestamp' | 'check';
  /** timestamp: the column whose later value makes a new version; check: the versions' times, if given (else the snapshot's). */
  readonly updatedAt?: string;
  /** check: the columns compared, or all the query's. */
  readonly checkCols?: readonly string[] | 'all';
  /** Rows gone from the query closed (dbt's hard_deletes='invalidate', or invalidate_hard_deletes). */
  readonly invalidateHardDeletes: boolean;
  /** dbt_valid_to_current: an SQL expression current rows hold instead of NULL. */
  readonly validToCurrent?: string;
}

/**
 * How a snapshot is built: an incremental model merged on dbt_scd_id, kept through a full refresh. A
 * query's new columns are added to its table, its rows before NULL there, and new versions get NULL in
 * a column the query no longer gives, as dbt's snapshot does.
 */
export function snapshotBuildConfig(): NodeConfig {
  return {
    materialized: 'incremental',
    incremental_strategy: 'merge',
    unique_key: 'dbt_scd_id',
    full_refresh: false,
    on_schema_change: 'append_new_columns',
  };
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const present = (value: unknown) => value !== undefined && value !== null;

/** A string or a list of strings, else a refusal naming the config. */
function stringsOf(value: unknown, key: string, fail: (what: string) => never): string[] {
  if (typeof value === 'string' && value.trim() !== '') return [value.trim()];
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v.trim() !== '')) {
    return value.map((v) => (v as string).trim());
  }
  return fail(`${key} must be a column name or a list of them`);
}

/** Refuse the snapshot configs meterflow does not apply, naming them. */
function refuseUnapplied(config: NodeConfig, fail: (what: string) => never): void {
  if (present(config.snapshot_meta_column_names)) {
    fail("has snapshot_meta_column_names, which meterflow does not apply: its columns are dbt's own (dbt_scd_id, dbt_valid_from, …)");
  }
  if (present(config.event_time)) {
    fail('has an event_time: meterflow builds a model with one a month at a time, which a snapshot cannot be');
  }
  if (present(config.target_database)) {
    fail(`has target_database='${String(config.target_database)}': a meterflow run builds one warehouse, the one it names (--db)`);
  }
}

/** Whether rows gone from the query are closed: dbt's hard_deletes, or its older invalidate_hard_deletes. */
function hardDeletes(config: NodeConfig, fail: (what: string) => never): boolean {
  const asked = config.hard_deletes;
  if (present(asked) && present(config.invalidate_hard_deletes)) {
    fail('has both hard_deletes and invalidate_hard_deletes: give one (dbt refuses both too)');
  }
  if (present(asked)) {
    if (asked === 'ignore') return false;
    if (asked === 'invalidate') return true;
    return fail(`has hard_deletes='${String(asked)}': meterflow applies 'ignore' and 'invalidate' ('new_record' is not supported)`);
  }
  return config.invalidate_hard_deletes === true;
}

/** What a snapshot's config asks, checked as dbt checks it: unique_key and strategy, with updated_at or check_cols. */
export function snapshotSpec(config: NodeConfig, file: string, name: string): SnapshotSpec {
  const fail = (what: string): never => {
    throw new ProjectError(`${file}: snapshot '${name}' ${what}`, file);
  };
  refuseUnapplied(config, fail);
  if (!present(config.unique_key)) fail('has no unique_key (dbt needs one)');
  const uniqueKey = stringsOf(config.unique_key, 'its unique_key', fail);
  if (uniqueKey.length > 1 && uniqueKey.some((key) => !COLUMN.test(key))) fail('has a unique_key list whose entries are not column names');
  const invalidateHardDeletes = hardDeletes(config, fail);
  const validToCurrent = present(config.dbt_valid_to_current) ? String(config.dbt_valid_to_current) : undefined;
  const common = { uniqueKey, invalidateHardDeletes, ...(validToCurrent ? { validToCurrent } : {}) };
  if (config.strategy === 'timestamp') {
    if (typeof config.updated_at !== 'string' || config.updated_at.trim() === '') fail("has strategy='timestamp' but no updated_at");
    return { ...common, strategy: 'timestamp', updatedAt: (config.updated_at as string).trim() };
  }
  if (config.strategy === 'check') {
    if (!present(config.check_cols)) fail("has strategy='check' but no check_cols");
    const checkCols = config.check_cols === 'all' ? 'all' : stringsOf(config.check_cols, 'its check_cols', fail);
    if (checkCols !== 'all' && checkCols.some((column) => !COLUMN.test(column))) fail('has check_cols that are not column names');
    // (its times are updated_at's where it has one, as dbt's, else the snapshot's)
    const updatedAt =
      typeof config.updated_at === 'string' && config.updated_at.trim() !== '' ? { updatedAt: config.updated_at.trim() } : {};
    return { ...common, strategy: 'check', checkCols, ...updatedAt };
  }
  return fail(
    `has strategy=${present(config.strategy) ? `'${String(config.strategy)}'` : 'none'}: dbt's are 'timestamp' (with updated_at) and 'check' (with check_cols)`,
  );
}

/** The run's start as the snapshot's time (dbt-duckdb's now()::timestamp, in UTC): the same on every retry of the run. */
const SNAPSHOT_TIME = "cast(cast('{{ run_started_at }}' as timestamptz) as timestamp)";

/** SQL pieces of one snapshot, from its spec. */
function snapshotPieces(spec: SnapshotSpec) {
  const keys = spec.uniqueKey.map((key, i) => ({ expr: key, alias: `__mf_key_${i + 1}` }));
  const updatedAt = spec.updatedAt ?? SNAPSHOT_TIME;
  // dbt's snapshot_hash_arguments over the key and the time
  const scdId = `md5(${[...spec.uniqueKey, updatedAt].map((arg) => `coalesce(cast(${arg} as varchar), '')`).join(" || '|' || ")})`;
  const validTo = (time: string) =>
    spec.validToCurrent === undefined ? `nullif(${time}, ${time})` : `coalesce(nullif(${time}, ${time}), ${spec.validToCurrent})`;
  const current =
    spec.validToCurrent === undefined ? 'dbt_valid_to is null' : `(dbt_valid_to = ${spec.validToCurrent} or dbt_valid_to is null)`;
  const join = keys.map(({ alias }) => `snapshotted_data.${alias} = source_data.${alias}`).join(' and ');
  // check: a checked column new to the table changes every row (dbt's column_added), else any checked
  // column that differs (the columns of COLUMNS_OF_BOTH)
  const changed =
    spec.strategy === 'timestamp'
      ? 'snapshotted_data.dbt_valid_from < source_data.__mf_updated_at'
      : '{% if __mf.added %}true{% else %}{% for __mf_column in __mf_checked %}snapshotted_data."{{ __mf_column }}" is distinct from source_data."{{ __mf_column }}" or {% endfor %}false{% endif %}';
  return { keys, updatedAt, scdId, validTo, current, join, changed, helpers: keys.map((k) => k.alias).join(', ') };
}

const DBT_COLUMNS = JSON.stringify(SNAPSHOT_COLUMNS).replace(/"/g, "'");

/**
 * What the incremental branch needs of the table and the query, as dbt's snapshot asks them: the
 * table's columns (its dbt_valid_to's type); the query's (a `describe` while rendering); the casts that
 * give a new version a column's type in the table (so that the rows the run rewrites keep theirs: a
 * union by name would widen a DECIMAL to a DOUBLE); and with check, the checked columns the table has
 * (`__mf_checked`) or whether one is new to it (`__mf.added`: dbt's snapshot_check_all_get_existing_columns).
 * `checkCols`: the listed columns as a Jinja list, or the query's (check_cols='all', or timestamp).
 */
const COLUMNS_OF_BOTH = (body: string, checkCols: string) => `{%- set __mf = namespace(valid_to_type='timestamp', added=false) -%}
{%- set __mf_table = [] -%}{%- set __mf_names = [] -%}{%- set __mf_casts = [] -%}{%- set __mf_checked = [] -%}
{%- for __mf_column in adapter.get_columns_in_relation(this) -%}
  {%- if __mf_column.name == 'dbt_valid_to' %}{% set __mf.valid_to_type = __mf_column.data_type %}{% endif -%}
  {%- if __mf_column.name not in ${DBT_COLUMNS} %}{% do __mf_table.append(__mf_column) %}{% endif -%}
{%- endfor -%}
{%- set __mf_query -%}
${body}
{%- endset -%}
{%- for __mf_row in run_query('describe select * from (\n' ~ __mf_query ~ '\n) as snapshot_query').rows -%}
  {%- do __mf_names.append(__mf_row[0]) -%}
  {%- for __mf_column in __mf_table -%}
    {%- if (__mf_column.name | lower) == (__mf_row[0] | lower) and __mf_column.data_type != __mf_row[1] -%}
      {%- set __mf_quoted = '"' ~ (__mf_row[0] | replace('"', '""')) ~ '"' -%}
      {%- do __mf_casts.append('cast(source_data.' ~ __mf_quoted ~ ' as ' ~ __mf_column.data_type ~ ') as ' ~ __mf_quoted) -%}
    {%- endif -%}
  {%- endfor -%}
{%- endfor -%}
{%- for __mf_name in ${checkCols} -%}
  {%- set __mf_in = namespace(table=false) -%}
  {%- for __mf_column in __mf_table %}{% if (__mf_column.name | lower) == (__mf_name | lower) %}{% set __mf_in.table = true %}{% endif %}{% endfor -%}
  {%- if __mf_in.table %}{% do __mf_checked.append(__mf_name | replace('"', '""')) %}{% else %}{% set __mf.added = true %}{% endif -%}
{%- endfor %}`;

/**
 * The rows that change the snapshot, merged on dbt_scd_id: every row of the table whose dbt_scd_id the
 * run touches (closed where it is current and its version changed or, with invalidate, vanished, as
 * dbt's update closes it; else as it was), and the new versions (dbt's inserts, each added even where
 * its dbt_scd_id is a closed row's, as dbt adds it).
 */
function changedRowsSql(body: string, spec: SnapshotSpec): string {
  const p = snapshotPieces(spec);
  const keyColumns = p.keys.map(({ expr, alias }) => `${expr} as ${alias}`).join(', ');
  const vanished = spec.invalidateHardDeletes
    ? `
    union all
    select snapshotted_data.dbt_scd_id, ${SNAPSHOT_TIME}
    from snapshotted_data
    left join source_data on ${p.join}
    where source_data.__mf_key_1 is null`
    : '';
  const current = (alias: string) =>
    spec.validToCurrent === undefined
      ? `${alias}.dbt_valid_to is null`
      : `(${alias}.dbt_valid_to is null or ${alias}.dbt_valid_to = ${spec.validToCurrent})`;
  const checkCols = Array.isArray(spec.checkCols) ? JSON.stringify(spec.checkCols).replace(/"/g, "'") : '__mf_names';
  return `${COLUMNS_OF_BOTH(body, checkCols)}
with snapshot_query as (
{{ __mf_query }}
),
source_data as (
    select *, ${keyColumns}, ${p.updatedAt} as __mf_updated_at, ${p.scdId} as __mf_scd_id
    from snapshot_query
),
snapshotted_data as (
    select *, ${keyColumns}
    from {{ this }}
    where ${p.current}
),
insertions as (
    select source_data.* exclude (${p.helpers}, __mf_updated_at, __mf_scd_id){% if __mf_casts %} replace ({{ __mf_casts | join(', ') }}){% endif %},
        source_data.__mf_scd_id as dbt_scd_id,
        source_data.__mf_updated_at as dbt_updated_at,
        source_data.__mf_updated_at as dbt_valid_from,
        ${p.validTo('source_data.__mf_updated_at')} as dbt_valid_to
    from source_data
    left join snapshotted_data on ${p.join}
    where snapshotted_data.__mf_key_1 is null or (${p.changed})
),
closings as (
    select snapshotted_data.dbt_scd_id as __mf_scd, source_data.__mf_updated_at as __mf_closed_at
    from source_data
    join snapshotted_data on ${p.join}
    where ${p.changed}${vanished}
),
closed as (
    select __mf_scd, min(__mf_closed_at) as __mf_closed_at from closings group by __mf_scd
),
rewritten as (
    select table_rows.* replace (
        cast(case when closed.__mf_scd is not null and ${current('table_rows')} then closed.__mf_closed_at else table_rows.dbt_valid_to end
            as {{ __mf.valid_to_type }}) as dbt_valid_to)
    from {{ this }} as table_rows
    left join closed on table_rows.dbt_scd_id = closed.__mf_scd
    where table_rows.dbt_scd_id in (select __mf_scd from closed union select dbt_scd_id from insertions)
)
select * from rewritten
union all by name
select * from insertions`;
}

/**
 * The template meterflow builds a snapshot from: on its first build, every row of the query with dbt's
 * four columns (dbt's build_snapshot_table); after, the rows that change it (dbt's
 * snapshot_staging_table), each replacing the table's row with its dbt_scd_id or added.
 */
export function snapshotTemplate(body: string, spec: SnapshotSpec): string {
  const p = snapshotPieces(spec);
  return `{% if is_incremental() %}
${changedRowsSql(body, spec)}
{% else %}
select *,
    ${p.scdId} as dbt_scd_id,
    ${p.updatedAt} as dbt_updated_at,
    ${p.updatedAt} as dbt_valid_from,
    ${p.validTo(p.updatedAt)} as dbt_valid_to
from (
${body}
) as snapshot_query
{% endif %}`;
}

// A node's config as dbt resolves it: dbt_project.yml's `models:` (or `seeds:`) block, folder by
// folder along the node's fqn, then the properties YAML's `config:`, then the SQL's `config(...)`.
// Later levels win key by key; `tags` add up and `meta` merges, as dbt does. And the one key
// meterflow adds: `meta.meterflow.runs_on`, which says where a model runs.
import { ProjectError } from '../errors';
import type { Materialization, ModelSplit, RunsOn } from './types';

export type NodeConfig = Readonly<Record<string, unknown>>;

/** The configs whose value is a mapping that meterflow also reads written without `+` (any other mapping is a folder). */
const PLAIN_DICT_CONFIG_KEYS = new Set(['meta', 'docs', 'grants']);

/** dbt's `tags`: one tag or a list of them. */
export const asTags = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((t): t is string => typeof t === 'string') : [];

const isDict = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `over` laid over `base`: keys replace, except tags (added) and meta (merged, deeply). */
export function mergeConfig(base: NodeConfig, over: NodeConfig | undefined): NodeConfig {
  if (!over) return base;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    if (key === 'tags') merged.tags = [...new Set([...asTags(base.tags), ...asTags(value)])];
    else if (key === 'meta' && isDict(value)) merged.meta = mergeDeep(isDict(base.meta) ? base.meta : {}, value);
    else merged[key] = value;
  }
  return merged;
}

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const was = merged[key];
    merged[key] = isDict(was) && isDict(value) ? mergeDeep(was, value) : value;
  }
  return merged;
}

/** The config keys of one level of a dbt_project.yml block (`+key`, or a plain key whose value is not a mapping). */
function levelConfig(level: Record<string, unknown>): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(level)) {
    if (key.startsWith('+')) config[key.slice(1)] = value;
    // as dbt reads a level: a key whose value is not a mapping is a config, whatever its name
    else if (!isDict(value) || PLAIN_DICT_CONFIG_KEYS.has(key)) config[key] = value;
  }
  return config;
}

/**
 * The config dbt_project.yml gives a node with this fqn (project name, folders under its model or
 * seed path, its name): each level on the way down laid over the one above.
 */
export function projectConfigFor(block: unknown, fqn: readonly string[]): NodeConfig {
  let config: NodeConfig = {};
  let level: unknown = block;
  for (const part of fqn) {
    if (!isDict(level)) break;
    config = mergeConfig(config, levelConfig(level));
    level = level[part];
  }
  if (isDict(level)) config = mergeConfig(config, levelConfig(level));
  return config;
}

/** dbt's fqn of a file: the project's name, the folders between the search path and the file, its name. */
export function fqnOf(projectName: string, pathUnderSearchPath: string, name: string): string[] {
  const folders = pathUnderSearchPath.split(/[\\/]/).slice(0, -1);
  return [projectName, ...folders, name];
}

export const RUNS_ON: readonly RunsOn[] = ['writer', 'build', 'analytics'];

/** Whether a model's config says where it runs (meta.meterflow.runs_on). */
export function runsOnAsked(config: NodeConfig): boolean {
  const meterflow = isDict(config.meta) ? config.meta.meterflow : undefined;
  return isDict(meterflow) && meterflow.runs_on !== undefined;
}

/**
 * Where a model runs. `meta.meterflow.runs_on` when given; otherwise an incremental model with an
 * event_time is built a month at a time on the build queue, and every other model by the writer.
 * `analytics` (read-only from the run's pinned lake version, on the analytics queue) is asked for, or
 * follows from reading a model that asked for it (load.ts, followReadOnlyRefs).
 */
export function runsOnOf(
  config: NodeConfig,
  materialized: Materialization,
  eventTime: string | undefined,
  file: string,
  name: string,
): RunsOn {
  const meterflow = isDict(config.meta) ? config.meta.meterflow : undefined;
  if (meterflow !== undefined && !isDict(meterflow)) {
    throw new ProjectError(`${file}: meta.meterflow of '${name}' must be a mapping (runs_on: writer, build or analytics)`, file);
  }
  const asked = meterflow?.runs_on;
  const monthly = materialized === 'incremental' && eventTime !== undefined;
  if (asked === undefined) return monthly ? 'build' : 'writer';
  if (typeof asked !== 'string' || !(RUNS_ON as readonly string[]).includes(asked)) {
    throw new ProjectError(
      `${file}: meta.meterflow.runs_on of '${name}' must be one of ${RUNS_ON.join(', ')}, not '${String(asked)}'`,
      file,
    );
  }
  if (asked === 'build' && !monthly) {
    throw new ProjectError(
      `${file}: '${name}' has meta.meterflow.runs_on: build, which builds a month at a time: it needs materialized='incremental' and an event_time`,
      file,
    );
  }
  return asked as RunsOn;
}

/**
 * A part's Parquet file stays under this many MB unless meta.meterflow.part_mb says otherwise: about
 * 1.5 M rows of the shipped master (21 bytes a row), which a build worker computes in about 1 GB.
 */
export const DEFAULT_PART_MB = 32;

const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `meta.meterflow.split_by` (and `part_mb`): a per-month model whose months are built in parts by a
 * column's hash. Declaring it says what `event_time` says of time: a row with a given value of the
 * column is computed from its inputs' rows with that value (in inputs split by the same column).
 */
export function splitOf(config: NodeConfig, runsOn: RunsOn, file: string, name: string): ModelSplit | undefined {
  const meterflow = isDict(config.meta) && isDict(config.meta.meterflow) ? config.meta.meterflow : {};
  const { split_by: column, part_mb: partMb } = meterflow;
  // (part_mb alone, say for a whole folder, applies to the models in it that are split)
  if (column === undefined) return undefined;
  if (typeof column !== 'string' || !COLUMN.test(column)) {
    throw new ProjectError(`${file}: meta.meterflow.split_by of '${name}' must be a column name`, file);
  }
  if (runsOn !== 'build') {
    throw new ProjectError(
      `${file}: '${name}' has meta.meterflow.split_by, but only a model built a month at a time on the build queue is built in parts (an incremental model with an event_time)`,
      file,
    );
  }
  if (partMb !== undefined && !(typeof partMb === 'number' && partMb > 0)) {
    throw new ProjectError(`${file}: meta.meterflow.part_mb of '${name}' must be a positive number of MB`, file);
  }
  return { column, targetMb: (partMb as number | undefined) ?? DEFAULT_PART_MB };
}

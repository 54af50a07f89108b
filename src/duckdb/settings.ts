// A DuckDB instance's settings (memory, threads, where it spills, where its extensions live), as meterflow's processes set them.
import os from 'node:os';
import path from 'node:path';

/** Settings for a DuckDB instance: bound memory so that large builds spill to disk instead of failing. */
export interface DuckdbSettings {
  /** e.g. '4GB'; meterflow's default is DEFAULT_MEMORY_LIMIT (DuckDB's own is 80% of RAM). */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** Where DuckDB spills when over its memory limit. */
  readonly tempDirectory?: string;
}

/** The writer's memory limit unless METERFLOW_DUCKDB_MEMORY_LIMIT says otherwise: big builds spill to disk beyond it. */
export const DEFAULT_MEMORY_LIMIT = '3GB';

/**
 * A build worker's memory limit unless METERFLOW_DUCKDB_MEMORY_LIMIT says otherwise: it builds a month
 * (or a part of one, split_by: a range of the key, which reaches every scan) at a time; beyond it
 * DuckDB spills where it can. The process keeps more than the limit: at 4,000 meters a build worker
 * peaked at 1.1 GB with 512 MB allowed, 1.7 GB with 1 GB (docs/performance.md, Growth). Parts cut by
 * hash aggregated their whole month, and 512 MB ran the readings' staging table out of memory then.
 */
export const BUILD_MEMORY_LIMIT = '512MB';

export function duckdbOptions(settings: DuckdbSettings): Record<string, string> {
  const options: Record<string, string> = {};
  if (settings.memoryLimit) options.memory_limit = settings.memoryLimit;
  if (settings.threads) options.threads = String(settings.threads);
  if (settings.tempDirectory) options.temp_directory = settings.tempDirectory;
  return options;
}

export function duckdbSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): DuckdbSettings {
  return {
    ...(env.METERFLOW_DUCKDB_MEMORY_LIMIT ? { memoryLimit: env.METERFLOW_DUCKDB_MEMORY_LIMIT } : {}),
    ...(env.METERFLOW_DUCKDB_THREADS ? { threads: Number(env.METERFLOW_DUCKDB_THREADS) } : {}),
  };
}

/**
 * DuckDB's extension directory for the lake's extensions (METERFLOW_DUCKDB_EXTENSIONS): a per-user
 * cache, shared by every checkout and state folder, since the files are large (about 130 MB) and
 * depend only on the DuckDB version.
 */
export function duckdbExtensionDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.METERFLOW_DUCKDB_EXTENSIONS) return path.resolve(env.METERFLOW_DUCKDB_EXTENSIONS);
  const cacheHome = env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'meterflow', 'duckdb-extensions');
}

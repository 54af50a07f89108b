// A DuckDB instance's settings (memory, threads, where it spills), as meterflow's processes set them.

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

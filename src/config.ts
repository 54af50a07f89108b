// Where things are by default, and the environment variables that move them.
import path from 'node:path';

/** The package root: one level above src/ or dist/. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

/** The models project shipped with meterflow (METERFLOW_PROJECT_DIR points elsewhere). */
export function defaultProjectDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.METERFLOW_PROJECT_DIR ?? path.join(PACKAGE_ROOT, 'models');
}

/** meterflow's state folder: sample data, the dev server's SQLite file, outputs (METERFLOW_HOME). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.METERFLOW_HOME ?? '.meterflow');
}

export function defaultWarehousePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.METERFLOW_WAREHOUSE ?? path.join(stateDir(env), 'warehouse.duckdb');
}

export function defaultOutUri(env: NodeJS.ProcessEnv = process.env): string {
  return env.METERFLOW_OUT ?? path.join(stateDir(env), 'out');
}

/** The Temporal server to use; undefined means: start an embedded one. */
export function temporalAddress(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TEMPORAL_ADDRESS;
}

export function temporalNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_NAMESPACE ?? 'default';
}

// Where things are by default, and the environment variables that move them.
import path from 'node:path';

/** The package root: one level above src/ or dist/. */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

/**
 * A variable's value: undefined when it is not set. Set but empty (`METERFLOW_HOME=`, a compose file's
 * `${X}` of nothing) is an error naming it, not a silent default or the current folder.
 */
export function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new Error(`${name} is set but empty: unset it, or give it a value`);
  return value;
}

/** The models project shipped with meterflow (METERFLOW_PROJECT_DIR points elsewhere). */
export function defaultProjectDir(env: NodeJS.ProcessEnv = process.env): string {
  return setting(env, 'METERFLOW_PROJECT_DIR') ?? path.join(PACKAGE_ROOT, 'models');
}

/** meterflow's state folder: sample data, the dev server's SQLite file, outputs (METERFLOW_HOME). */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(setting(env, 'METERFLOW_HOME') ?? '.meterflow');
}

/**
 * The warehouse of `--db` (and `query --warehouse`) when none is given: METERFLOW_WAREHOUSE (a lake
 * folder or a catalog), else the catalog METERFLOW_CATALOG names, else the folder in the state folder.
 */
export function defaultWarehousePath(env: NodeJS.ProcessEnv = process.env): string {
  const catalog = catalogFromEnv(env);
  const warehouse = setting(env, 'METERFLOW_WAREHOUSE');
  if (warehouse && catalog && warehouse !== catalog) {
    throw new Error(`METERFLOW_WAREHOUSE (${warehouse}) and METERFLOW_CATALOG (${catalog}) name different warehouses: set one of them`);
  }
  return warehouse || catalog || path.join(stateDir(env), 'warehouse');
}

/**
 * The lake's catalog as the environment names it: METERFLOW_CATALOG (`postgres:<conninfo>` or
 * `sqlite:<folder>/catalog.sqlite`), or its older name METERFLOW_LAKE_CATALOG (an alias). Both set
 * and different: an error naming both, rather than a guess at which one was meant.
 */
export function catalogFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const catalog = setting(env, 'METERFLOW_CATALOG');
  const alias = setting(env, 'METERFLOW_LAKE_CATALOG');
  if (catalog && alias && catalog !== alias) {
    throw new Error(
      'METERFLOW_CATALOG and METERFLOW_LAKE_CATALOG (its older name) are both set, to different catalogs: unset METERFLOW_LAKE_CATALOG',
    );
  }
  return catalog || alias || undefined;
}

export function defaultOutUri(env: NodeJS.ProcessEnv = process.env): string {
  return setting(env, 'METERFLOW_OUT') ?? path.join(stateDir(env), 'out');
}

/** The catalog of a lake opened without one: METERFLOW_CATALOG, else the default warehouse folder's SQLite file. */
export function defaultLakeCatalog(env: NodeJS.ProcessEnv = process.env): string {
  return catalogFromEnv(env) ?? `sqlite:${path.join(stateDir(env), 'warehouse', 'catalog.sqlite')}`;
}

/**
 * Where the lake's Parquet files go (METERFLOW_LAKE_DATA); undefined: the catalog's own, or `data/`
 * beside a new SQLite catalog. Every worker must name the same place: a relative path (each
 * worker's own current folder) is an error.
 */
export function defaultLakeDataPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = setting(env, 'METERFLOW_LAKE_DATA');
  if (value !== undefined && !/^(\/|[a-z][a-z0-9+.-]*:\/\/)/i.test(value)) {
    throw new Error(
      `METERFLOW_LAKE_DATA must be an absolute path or a URI (s3://…), not ${JSON.stringify(value)}: each worker would read it from its own folder`,
    );
  }
  return value;
}

/** The Temporal server to use; undefined means: start an embedded one (`run`, `quickstart`). */
export function temporalAddress(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TEMPORAL_ADDRESS;
}

/** Where a Temporal frontend is when TEMPORAL_ADDRESS does not say: the Temporal CLI's and `meterflow dev`'s default. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

/** Where `meterflow dev` (and the Temporal CLI's dev server) serve the Web UI by default. */
export const DEFAULT_TEMPORAL_UI_URL = 'http://127.0.0.1:8233';

/**
 * The Temporal Web UI that pages written by workers (the grid of runs) link runs to: TEMPORAL_UI_URL,
 * else `meterflow dev`'s, where the history `npm start` keeps can be seen after the run.
 */
export function temporalWebUiUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_UI_URL ?? DEFAULT_TEMPORAL_UI_URL;
}

/** The Temporal server of commands that only talk to one (status, schedule, setup, worker): TEMPORAL_ADDRESS or the default. */
export function temporalAddressOrDefault(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS;
}

export function temporalNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPORAL_NAMESPACE ?? 'default';
}

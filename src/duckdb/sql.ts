// SQL text helpers: identifiers and strings are quoted with DuckDB's own helpers, never concatenated raw.
import { quotedIdentifier, quotedString } from '@duckdb/node-api';

export { quotedIdentifier, quotedString };

/** `"schema"."name"` */
export function relation(schema: string, name: string): string {
  return `${quotedIdentifier(schema)}.${quotedIdentifier(name)}`;
}

/** A DuckDB list literal of file paths, e.g. for read_parquet([...]). */
export function pathList(paths: readonly string[]): string {
  return `[${paths.map(quotedString).join(', ')}]`;
}

/**
 * `read_parquet` of these files, their own columns only: DuckDB would otherwise read a `name=value`
 * folder anywhere in a path (`gsp_group_id=_B/`, a warehouse under `env=prod/`) as a hive partition
 * and put its value into every row, replacing a column of that name.
 */
export function readParquet(paths: readonly string[], options = ''): string {
  return `read_parquet(${pathList(paths)}, hive_partitioning = false${options ? `, ${options}` : ''})`;
}

/** The message of anything thrown (native errors may come from another realm, so no instanceof). */
export function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** The first lines of a DuckDB error, without the stack DuckDB sometimes appends. */
export function duckdbMessage(err: unknown): string {
  const message = errorMessage(err);
  return message
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .slice(0, 3)
    .join(' ')
    .trim();
}

/**
 * DuckDB errors that will recur on retry: the SQL or the data is wrong, not the moment.
 * (IO and out-of-memory errors may pass, so they stay retryable.)
 */
export function isPermanentDuckdbError(err: unknown): boolean {
  const message = errorMessage(err);
  if (isLakeCatalogUnreachable(message) || isLakeAttachmentLost(message)) return false;
  return /^(Parser|Binder|Catalog|Conversion|Invalid Input|Constraint|Not implemented|Type|Syntax) Error/m.test(message);
}

/**
 * DuckLake's own queries of its catalog failing because the catalog's server went away: these pass when it
 * comes back, whatever class DuckDB gives them (a dropped PostgreSQL connection surfaces as a Binder Error
 * "Failed to prepare query" on the lake's snapshot table).
 */
export function isLakeCatalogUnreachable(message: string): boolean {
  return (
    /for DuckLake: (Failed to (prepare|execute) query|Unable to connect to Postgres)/.test(message) ||
    /(server closed the connection unexpectedly|no connection to the server|terminating connection due to administrator command|Connection refused|connection to server .* failed|SSL connection has been closed unexpectedly|the database system is (starting up|shutting down|in recovery mode))/.test(
      message,
    )
  );
}

/**
 * DuckLake's catalog database vanishing from under a lake attached on a shared instance: a query over
 * every attached catalog (information_schema, duckdb_tables()) in one activity while another detaches
 * its own lake meets it, about once in a hundred such pairs (reproduced with three readers at once).
 * It names DuckLake's own catalog, never the model's SQL: a retry attaches the lake again and passes.
 */
export function isLakeAttachmentLost(message: string): boolean {
  return /Catalog "__ducklake_metadata_[^"]*" does not exist/.test(message);
}

/**
 * DuckDB IO errors that will recur on retry because the location is wrong (read-only, no permission,
 * a file where a folder should be), not because of the moment (a full disk may be freed).
 */
export function isPermanentDuckdbIoError(err: unknown): boolean {
  const message = errorMessage(err);
  return (
    /^IO Error: .*(Permission denied|Read-only file system|Not a directory|Is a directory)/m.test(message) ||
    /^IO Error: Failed to create directory .*No such file or directory/m.test(message)
  );
}

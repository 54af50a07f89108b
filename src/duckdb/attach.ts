// Attaching a DuckLake catalog (SQLite or PostgreSQL) under an alias: the ATTACH statement, the S3
// secret for its data, and its failures said in a sentence. Options come resolved: defaults are the caller's.
import type { DuckDBConnection } from '@duckdb/node-api';
import { S3Client } from '@aws-sdk/client-s3';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { masked } from '../secrets';
import { StorageError } from '../errors';
import { catalogName, type LakeCatalog } from './catalog';
import { keepCatalogOpen } from './catalog-keeper';
import { duckdbMessage, quotedIdentifier, quotedString } from './sql';

/** Where s3:// data is: the region and endpoint the AWS SDK would use (its credentials are looked up when the secret is made). */
export interface S3SecretSettings {
  readonly region: string;
  readonly endpoint?: string;
}

/** A lake to attach, every default already applied. */
export interface AttachOptions {
  readonly catalog: LakeCatalog;
  /** Absolute, ending in '/', or s3://…; undefined: the path the catalog records. */
  readonly dataPath?: string;
  /** Attach for reading only: writes fail; the catalog is never changed. */
  readonly readOnly: boolean;
  /** Attach at this snapshot (read-only): the tables as that commit left them. */
  readonly snapshotVersion?: number;
  /** Rows an insert may keep inside the catalog instead of in a Parquet file (meterflow uses 0). */
  readonly dataInliningRowLimit?: number;
  /** Use dataPath even where the catalog records another one (a lake folder copied or moved). */
  readonly overrideDataPath?: boolean;
  readonly s3: S3SecretSettings;
  /** The AWS SDK's settings (credentials) for the S3 secret. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * An attach that failed on the catalog's database, said in a sentence that names the catalog (and
 * where libpq tried to connect). Unreachable servers stay plain errors (retried: the server may come
 * back); a database, role or password that is wrong is a StorageError, which retrying cannot fix.
 */
function catalogFailure(err: unknown, catalog: LakeCatalog): Error {
  if (err instanceof StorageError) return err;
  // the conninfo as DuckDB quotes it may hold a password: never repeated
  const message = masked(duckdbMessage(err));
  const name = catalogName(catalog);
  const server = /connection to server (?:at "([^"]+)"(?: \([^)]*\))?, port (\d+)|on socket "([^"]+)")/.exec(message);
  const where = server ? (server[3] !== undefined ? `socket ${server[3]}` : `${server[1]}:${server[2]}`) : undefined;
  if (
    /Connection refused|No such file or directory|could not translate host name|timeout expired|Network is unreachable|No route to host/i.test(
      message,
    )
  ) {
    const reason = /failed: ([^\n]+?)(?:\s+Is the server.*)?$/.exec(message)?.[1]?.trim() ?? message;
    return new Error(
      `lake catalog ${name}: cannot connect to PostgreSQL${where ? ` at ${where}` : ''} (${reason}): is the server running there and accepting connections?`,
    );
  }
  if (/Existing DuckLake .* does not exist/.test(message)) {
    return new StorageError(`lake catalog ${name}: no lake there yet (a writer creates it on first use; is lake= the right name?)`, name);
  }
  const fatal = /FATAL:\s+([^\n]+)/.exec(message)?.[1]?.trim();
  if (fatal !== undefined) {
    const hint = /database .* does not exist/.test(fatal) ? ' (create it first: createdb, or `create database` in psql)' : '';
    return new StorageError(`lake catalog ${name}: PostgreSQL${where ? ` at ${where}` : ''} refused: ${fatal}${hint}`, name);
  }
  return new Error(`lake catalog ${name}: ${message}`);
}

/**
 * A DuckDB secret for s3:// data, from the settings the AWS SDK uses: its credential chain
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, a profile, an instance role),
 * AWS_REGION, and AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (then path-style URLs, SSL from the
 * scheme). No credentials found: an anonymous secret, for public buckets. The SQL holds the keys, so
 * it is never logged, and an error from it is reported without it.
 */
async function createS3Secret(connection: DuckDBConnection, settings: S3SecretSettings, env: NodeJS.ProcessEnv): Promise<void> {
  const parts = ['type s3', `region ${quotedString(settings.region)}`];
  if (settings.endpoint) {
    const endpoint = new URL(settings.endpoint);
    parts.push(`endpoint ${quotedString(endpoint.host)}`, "url_style 'path'", `use_ssl ${endpoint.protocol === 'https:'}`);
  }
  const client = new S3Client({ region: settings.region });
  const secrets: string[] = [];
  try {
    // the environment given first (as the SDK's chain does with process.env), then the rest of the chain
    const credentials =
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : await client.config.credentials();
    parts.push(`key_id ${quotedString(credentials.accessKeyId)}`, `secret ${quotedString(credentials.secretAccessKey)}`);
    secrets.push(credentials.accessKeyId, credentials.secretAccessKey);
    if (credentials.sessionToken) {
      parts.push(`session_token ${quotedString(credentials.sessionToken)}`);
      secrets.push(credentials.sessionToken);
    }
  } catch {
    // no credentials anywhere in the chain: anonymous access
  } finally {
    client.destroy();
  }
  try {
    await connection.run(`create or replace temporary secret meterflow_lake_s3 (${parts.join(', ')})`);
  } catch (err) {
    const message = masked(duckdbMessage(err), secrets);
    throw new Error(`could not create the S3 secret for the lake: ${message}`);
  }
}

/** How long a catalog query waits for a SQLite lock another process holds before it fails. */
const SQLITE_BUSY_TIMEOUT_MS = 30_000;

/**
 * Attach a lake under an alias on an instance with the extensions loaded: its catalog (created by the
 * first writer; readers need an existing one), data path and S3 secret. Many processes may attach one
 * catalog at once: DuckLake commits are transactions in the catalog, so a reader sees the last
 * committed snapshot, never a half-written one, and waits on no writer's lock.
 */
export async function attachLake(
  connection: DuckDBConnection,
  alias: string,
  options: AttachOptions,
): Promise<{ catalog: LakeCatalog; dataPath: string; readOnly: boolean }> {
  const { catalog, dataPath, readOnly, env } = options;
  if (catalog.kind === 'sqlite' && !readOnly) await mkdir(path.dirname(catalog.path), { recursive: true });
  if (dataPath !== undefined && !dataPath.startsWith('s3://') && !readOnly) await mkdir(dataPath, { recursive: true });
  if (dataPath?.startsWith('s3://')) await createS3Secret(connection, options.s3, env);
  const attachOptions = [
    ...(dataPath !== undefined ? [`data_path ${quotedString(dataPath)}`] : []),
    ...(dataPath !== undefined && options.overrideDataPath ? ['override_data_path true'] : []),
    // a SQLite catalog in WAL mode: readers read while the writer commits; a lock is waited for, not
    // failed on at once (maintenance and big commits hold the write lock for a moment)
    ...(catalog.kind === 'sqlite' ? [`meta_busy_timeout ${SQLITE_BUSY_TIMEOUT_MS}`] : []),
    ...(catalog.kind === 'sqlite' && !readOnly ? ["meta_journal_mode 'WAL'"] : []),
    ...(readOnly ? ['read_only'] : [`data_inlining_row_limit ${options.dataInliningRowLimit ?? 0}`]),
    ...(options.snapshotVersion !== undefined ? [`snapshot_version ${Math.trunc(options.snapshotVersion)}`] : []),
    // several lakes in one PostgreSQL database: each in its own schema
    ...(catalog.kind === 'postgres' && catalog.lake !== undefined ? [`metadata_schema ${quotedString(catalog.lake)}`] : []),
  ];
  const target = catalog.kind === 'sqlite' ? `ducklake:sqlite:${catalog.path}` : `ducklake:postgres:${catalog.conninfo}`;
  try {
    if (catalog.kind === 'postgres' && !readOnly) await checkPostgresCatalog(connection, alias, catalog, dataPath);
    await connection.run(`attach ${quotedString(target)} as ${alias} (${attachOptions.join(', ')})`);
  } catch (err) {
    if (catalog.kind === 'postgres') throw catalogFailure(err, catalog);
    // a damaged SQLite catalog: name the file, which DuckDB's message does not
    if (/malformed|not a database|file is encrypted/i.test(duckdbMessage(err))) {
      throw new StorageError(
        `lake catalog ${catalog.path} is damaged (${duckdbMessage(err)}): restore it from a backup; nothing was changed`,
        catalog.path,
      );
    }
    throw err;
  }
  if (catalog.kind === 'sqlite') void keepCatalogOpen(catalog.path);
  const recordedPath = (await recordedDataPath(connection, alias)) ?? dataPath ?? '';
  // a lake opened without naming its data path learns it here: S3 needs the secret before any read
  if (dataPath === undefined && recordedPath.startsWith('s3://')) await createS3Secret(connection, options.s3, env);
  return { catalog, dataPath: recordedPath, readOnly };
}

/** The data path a lake attached under an alias uses, as its catalog records it (or as it was overridden). */
export async function recordedDataPath(connection: DuckDBConnection, alias: string): Promise<string | undefined> {
  const recorded = await connection.runAndReadAll(`select data_path from ducklake_settings(${quotedString(alias)})`);
  const value = recorded.getRows()[0]?.[0];
  return value === null || value === undefined ? undefined : String(value);
}

/** A writer's PostgreSQL catalog, looked at before DuckLake creates its tables there: neither another application's nor sharing another lake's files. */
async function checkPostgresCatalog(
  connection: DuckDBConnection,
  alias: string,
  catalog: LakeCatalog & { kind: 'postgres' },
  dataPath: string | undefined,
): Promise<void> {
  const database = `${alias}_catalog_database`;
  await connection.run(`attach ${quotedString(catalog.conninfo)} as ${database} (type postgres, read_only)`);
  try {
    await refuseForeignTables(connection, database, catalog);
    if (dataPath !== undefined) await refuseSharedDataPath(connection, database, catalog, dataPath);
  } finally {
    await connection.run(`detach ${database}`);
  }
}

/**
 * The schema a lake's catalog goes in (public, or lake=<name>'s) holding another application's tables
 * and no DuckLake catalog: a writer would add DuckLake's tables beside them. Refused, naming some.
 */
async function refuseForeignTables(
  connection: DuckDBConnection,
  database: string,
  catalog: LakeCatalog & { kind: 'postgres' },
): Promise<void> {
  const schema = catalog.lake ?? 'public';
  const listing =
    `select table_name::text as t from information_schema.tables where table_schema = ${quotedString(schema)} ` +
    "and table_type = 'BASE TABLE' order by (table_name = 'ducklake_metadata') desc, 1 limit 6";
  const tables = (await connection.runAndReadAll(`select t from postgres_query(${quotedString(database)}, ${quotedString(listing)})`))
    .getRows()
    .map(([name]) => String(name));
  if (tables.length === 0 || tables[0] === 'ducklake_metadata') return;
  const named = tables.slice(0, 5).join(', ') + (tables.length > 5 ? ', …' : '');
  throw new StorageError(
    `lake catalog ${catalogName(catalog)}: its schema ${schema} holds another application's tables (${named}), not a DuckLake catalog: ` +
      'give the lake a database of its own, or a schema of its own with lake=<name>; nothing was changed',
    catalogName(catalog),
  );
}

/**
 * Lakes in one PostgreSQL database must keep their files apart: maintenance deletes the files under
 * its data path that its own catalog does not reference, so a lake whose data path holds (or lies
 * inside) another's would delete that lake's files. A writer refuses to start on such a lake, naming both.
 */
async function refuseSharedDataPath(
  connection: DuckDBConnection,
  database: string,
  catalog: LakeCatalog & { kind: 'postgres' },
  dataPath: string,
): Promise<void> {
  const listing = "select table_schema::text as s from information_schema.tables where table_name = 'ducklake_metadata'";
  const schemas = await connection.runAndReadAll(`select s from postgres_query(${quotedString(database)}, ${quotedString(listing)})`);
  const own = catalog.lake ?? 'public';
  for (const [schema] of schemas.getRows()) {
    if (schema === own) continue;
    const sql = `select value from ${quotedIdentifier(String(schema))}.ducklake_metadata where key = 'data_path'`;
    const other = await connection.runAndReadAll(`select value from postgres_query(${quotedString(database)}, ${quotedString(sql)})`);
    const otherPath = String(other.getRows()[0]?.[0] ?? '');
    if (otherPath.length > 0 && (otherPath.startsWith(dataPath) || dataPath.startsWith(otherPath))) {
      const otherName = schema === 'public' ? 'the unnamed lake (schema public)' : `lake=${String(schema)}`;
      throw new StorageError(
        `lake catalog ${catalogName(catalog)}: its data path ${dataPath} overlaps that of ${otherName} in the same database (${otherPath}); ` +
          "each lake needs a data path of its own (METERFLOW_LAKE_DATA), or one's maintenance would delete the other's files",
        catalogName(catalog),
      );
    }
  }
}

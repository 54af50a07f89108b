// The lake: DuckLake tables, with a catalog in a database (a SQLite file by default, or PostgreSQL)
// and data as Parquet files on local disk or S3. How it is opened and attached lives here, in one place.
import { inTransaction, withConnection } from '../duckdb/connections';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { S3Client } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { defaultLakeCatalog, defaultLakeDataPath } from '../config';
import { StorageError } from '../errors';
import { s3SettingsFromEnv } from '../storage/s3';
import { parseLocation } from '../storage/uri';
import { duckdbOptions, type DuckdbSettings } from '../duckdb/settings';
import { duckdbMessage, quotedIdentifier, quotedString } from '../duckdb/sql';
import { ensureLakeExtensions } from './extensions';
import { catalogName, parseLakeCatalog, type LakeCatalog } from './catalog';
export { catalogName, parseLakeCatalog, type LakeCatalog } from './catalog';
import { masked } from '../contract/secrets';

/** The name the lake is attached under in every instance: tables are `lake.<table>` (schema `main`). */
export const LAKE_ALIAS = 'lake';

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

export interface LakeOptions {
  /** Default: METERFLOW_CATALOG (or its older name METERFLOW_LAKE_CATALOG), else `sqlite:$METERFLOW_HOME/warehouse/catalog.sqlite`. */
  readonly catalog?: string | LakeCatalog;
  /**
   * Where data files go: a path, `file://…` or `s3://bucket/prefix`. Default: METERFLOW_LAKE_DATA;
   * if unset too, the path the catalog already records, or `data/` beside a new SQLite catalog.
   * A lake's data path is fixed when it is created: a different one is refused by DuckLake.
   */
  readonly dataPath?: string;
  readonly settings?: DuckdbSettings;
  /** The DuckDB database holding the instance's own state: in memory (default) or a scratch file. */
  readonly database?: string;
  /** Attach for reading only: writes fail; the catalog is never changed. */
  readonly readOnly?: boolean;
  /** Attach at this snapshot, read-only: the tables as that commit left them. */
  readonly snapshotVersion?: number;
  /**
   * Rows an insert may keep inside the catalog instead of in a Parquet file (DuckLake's data
   * inlining, 10 by default). meterflow uses 0: every row is in a file under the data path.
   */
  readonly dataInliningRowLimit?: number;
  /**
   * Use dataPath even where the catalog records another one (a lake folder copied or moved: its
   * catalog still names the old folder's data). The files' paths are relative to the data path.
   */
  readonly overrideDataPath?: boolean;
  /** Default: from ensureLakeExtensions (installed on first use). */
  readonly extensionDirectory?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** One data file of a lake table, with its delete file when rows of it were deleted since. */
export interface LakeFile {
  readonly dataFile: string;
  readonly sizeBytes: number;
  readonly deleteFile?: string;
}

/** The data path as DuckLake records it: absolute, ending in '/'. */
function normalizedDataPath(dataPath: string): string {
  const location = parseLocation(dataPath);
  const base = location.kind === 'local' ? location.path : dataPath;
  return base.endsWith('/') ? base : `${base}/`;
}

/**
 * A DuckDB secret for s3:// data, from the settings the AWS SDK uses: its credential chain
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, a profile, an instance role),
 * AWS_REGION, and AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (then path-style URLs, SSL from the
 * scheme). No credentials found: an anonymous secret, for public buckets. The SQL holds the keys, so
 * it is never logged, and an error from it is reported without it.
 */
async function createS3Secret(connection: DuckDBConnection, env: NodeJS.ProcessEnv): Promise<void> {
  const settings = s3SettingsFromEnv(env);
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

/** Load the lake's extensions into an instance made with their extension directory. */
export async function loadLakeExtensions(connection: DuckDBConnection): Promise<void> {
  await connection.run('load ducklake; load httpfs; load sqlite_scanner; load postgres_scanner');
}

/**
 * Attach a lake under an alias on an instance with the extensions loaded: its catalog (created by the
 * first writer; readers need an existing one), data path and S3 secret. Many processes may attach one
 * catalog at once: DuckLake commits are transactions in the catalog, so a reader sees the last
 * committed snapshot, never a half-written one, and waits on no writer's lock.
 */
export async function attachLake(
  connection: DuckDBConnection,
  alias: string,
  options: LakeOptions,
  env: NodeJS.ProcessEnv = options.env ?? process.env,
): Promise<{ catalog: LakeCatalog; dataPath: string; readOnly: boolean }> {
  const catalogOption = options.catalog ?? defaultLakeCatalog(env);
  const catalog = typeof catalogOption === 'string' ? parseLakeCatalog(catalogOption) : catalogOption;
  const readOnly = options.readOnly === true || options.snapshotVersion !== undefined;
  let dataPath = options.dataPath ?? defaultLakeDataPath(env);
  if (dataPath === undefined && catalog.kind === 'sqlite' && !readOnly && !existsSync(catalog.path)) {
    dataPath = path.join(path.dirname(catalog.path), 'data');
  }
  if (dataPath !== undefined) dataPath = normalizedDataPath(dataPath);
  if (catalog.kind === 'sqlite' && !readOnly) await mkdir(path.dirname(catalog.path), { recursive: true });
  if (dataPath !== undefined && !dataPath.startsWith('s3://') && !readOnly) await mkdir(dataPath, { recursive: true });
  if (dataPath?.startsWith('s3://')) await createS3Secret(connection, env);
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
    if (catalog.kind === 'postgres' && !readOnly && dataPath !== undefined)
      await refuseSharedDataPath(connection, alias, catalog, dataPath);
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
  const recordedPath = (await recordedDataPath(connection, alias)) ?? dataPath ?? '';
  // a lake opened without naming its data path learns it here: S3 needs the secret before any read
  if (dataPath === undefined && recordedPath.startsWith('s3://')) await createS3Secret(connection, env);
  return { catalog, dataPath: recordedPath, readOnly };
}

/** The data path a lake attached under an alias uses, as its catalog records it (or as it was overridden). */
export async function recordedDataPath(connection: DuckDBConnection, alias: string): Promise<string | undefined> {
  const recorded = await connection.runAndReadAll(`select data_path from ducklake_settings(${quotedString(alias)})`);
  const value = recorded.getRows()[0]?.[0];
  return value === null || value === undefined ? undefined : String(value);
}

/**
 * Lakes in one PostgreSQL database must keep their files apart: maintenance deletes the files under
 * its data path that its own catalog does not reference, so a lake whose data path holds (or lies
 * inside) another's would delete that lake's files. A writer refuses to start on such a lake, naming both.
 */
async function refuseSharedDataPath(
  connection: DuckDBConnection,
  alias: string,
  catalog: LakeCatalog & { kind: 'postgres' },
  dataPath: string,
): Promise<void> {
  const database = `${alias}_catalog_database`;
  await connection.run(`attach ${quotedString(catalog.conninfo)} as ${database} (type postgres, read_only)`);
  try {
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
  } finally {
    await connection.run(`detach ${database}`);
  }
}

/**
 * Instances with the lake's extensions loaded, one per pool and settings, kept for the life of the
 * process (a pool keeps attachments that live long, such as pinned versions kept for the next
 * activity, apart from the rest: a catalog-wide query there would read every attached lake):
 * loading verifies the extensions' signatures (about a second), attaching a lake takes milliseconds.
 */
const sharedInstances = new Map<string, Promise<DuckDBInstance>>();

export function sharedLakeInstance(settings: DuckdbSettings = {}, pool = 'default'): Promise<DuckDBInstance> {
  const key = JSON.stringify([pool, settings]);
  let instance = sharedInstances.get(key);
  if (!instance) {
    instance = (async () => {
      const created = await DuckDBInstance.create(':memory:', {
        ...duckdbOptions(settings),
        extension_directory: await ensureLakeExtensions(),
      });
      const connection = await created.connect();
      try {
        await loadLakeExtensions(connection);
      } finally {
        connection.closeSync();
      }
      return created;
    })();
    instance.catch(() => sharedInstances.delete(key));
    sharedInstances.set(key, instance);
  }
  return instance;
}

let attachments = 0;

/**
 * A lake attached read-only (at a snapshot, or its latest version) on the process's shared instance,
 * under an alias of its own: many may be attached at once, each detached when closed.
 */
export class LakeAttachment {
  private constructor(
    private readonly instance: DuckDBInstance,
    public readonly alias: string,
  ) {}

  static async open(options: LakeOptions & { readonly pool?: string }): Promise<LakeAttachment> {
    const instance = await sharedLakeInstance(options.settings, options.pool);
    const alias = `lake_${process.pid}_${(attachments += 1)}`;
    await withConnection(instance, (connection) => attachLake(connection, alias, { ...options, readOnly: true }));
    return new LakeAttachment(instance, alias);
  }

  /** A connection per unit of work whose default database is this lake (`use <alias>`). */
  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return withConnection(this.instance, async (connection) => {
      await connection.run(`use ${this.alias}`);
      return work(connection);
    });
  }

  async close(): Promise<void> {
    await withConnection(this.instance, (connection) => connection.run(`detach ${this.alias}`));
  }
}

export class Lake {
  private constructor(
    private readonly instance: DuckDBInstance,
    public readonly catalog: LakeCatalog,
    /** As the catalog records it, e.g. `/…/data/` or `s3://bucket/lake/`. */
    public readonly dataPath: string,
    public readonly readOnly: boolean,
    public readonly snapshotVersion: number | undefined,
  ) {}

  /**
   * Create a DuckDB instance with the lake's extensions and attach the lake as `lake`. A new
   * catalog is created by the first writer; readers need an existing one. Many processes may open
   * one SQLite catalog at once: DuckLake commits are transactions in the catalog, so a reader sees
   * the last committed snapshot, never a half-written one, and waits on no writer's lock.
   */
  static async open(options: LakeOptions = {}): Promise<Lake> {
    const env = options.env ?? process.env;
    const extensionDirectory = options.extensionDirectory ?? (await ensureLakeExtensions());
    const instance = await DuckDBInstance.create(options.database ?? ':memory:', {
      ...duckdbOptions(options.settings ?? {}),
      extension_directory: extensionDirectory,
    });
    const connection = await instance.connect();
    try {
      await loadLakeExtensions(connection);
      const attached = await attachLake(connection, LAKE_ALIAS, options, env);
      return new Lake(instance, attached.catalog, attached.dataPath, attached.readOnly, options.snapshotVersion);
    } catch (err) {
      instance.closeSync();
      throw err;
    } finally {
      connection.closeSync();
    }
  }

  /** A connection per unit of work, always closed; the lake is attached as `lake` on every one. */
  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return withConnection(this.instance, work);
  }

  /** Run work in one transaction: it becomes one DuckLake snapshot when it commits, or nothing. */
  async transaction<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return inTransaction(this.instance, work);
  }

  /** The snapshot this lake reads: the latest committed one, or the one it was attached at. */
  async currentSnapshot(): Promise<number> {
    return this.withConnection((connection) => currentSnapshotOf(connection, LAKE_ALIAS));
  }

  /** The data files that make up a table at the current snapshot (and their delete files), by path. */
  async listFiles(table: string, schema = 'main'): Promise<LakeFile[]> {
    return this.withConnection((connection) => filesOf(connection, LAKE_ALIAS, table, schema));
  }

  close(): void {
    this.instance.closeSync();
  }
}

/** The snapshot a lake attached under an alias reads: the latest committed one, or the one it was attached at. */
export async function currentSnapshotOf(connection: DuckDBConnection, alias: string): Promise<number> {
  const reader = await connection.runAndReadAll(`select id from ducklake_current_snapshot(${quotedString(alias)})`);
  return Number(reader.getRows()[0]?.[0]);
}

/** Every table of a lake attached under an alias, by schema and name. */
export async function tablesOf(connection: DuckDBConnection, alias: string): Promise<{ schema: string; table: string }[]> {
  const reader = await connection.runAndReadAll(
    `select schema_name, table_name from duckdb_tables() where database_name = $alias order by all`,
    { alias },
  );
  return reader.getRows().map(([schema, table]) => ({ schema: String(schema), table: String(table) }));
}

/** The data files that make up a table of a lake attached under an alias (and their delete files), by path. */
export async function filesOf(connection: DuckDBConnection, alias: string, table: string, schema = 'main'): Promise<LakeFile[]> {
  const reader = await connection.runAndReadAll(
    `select data_file, data_file_size_bytes, delete_file
     from ducklake_list_files(${quotedString(alias)}, ${quotedString(table)}, schema => ${quotedString(schema)})
     order by data_file`,
  );
  return reader.getRows().map(([dataFile, sizeBytes, deleteFile]) => ({
    dataFile: String(dataFile),
    sizeBytes: Number(sizeBytes),
    ...(deleteFile === null || deleteFile === undefined ? {} : { deleteFile: String(deleteFile) }),
  }));
}

/** Open the lake (see Lake.open); close it when done. */
export function openLake(options: LakeOptions = {}): Promise<Lake> {
  return Lake.open(options);
}

// The lake: DuckLake tables, with a catalog in a database (a SQLite file by default, or PostgreSQL)
// and data as Parquet files on local disk or S3. How it is opened, and what its options default to, lives
// here; the ATTACH itself is src/duckdb/attach.ts.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { defaultLakeCatalog, defaultLakeDataPath } from '../config';
import { s3SettingsFromEnv } from '../storage/s3';
import { folderPrefix } from '../storage/uri';
import { attachLake, type AttachOptions } from '../duckdb/attach';
import { parseLakeCatalog, type LakeCatalog } from '../duckdb/catalog';
import { inTransaction, withConnection } from '../duckdb/connections';
import { ensureLakeExtensions, loadLakeExtensions } from '../duckdb/extensions';
import { currentSnapshotOf, filesOf, type LakeFile } from '../duckdb/lake-tables';
import { duckdbOptions, type DuckdbSettings } from '../duckdb/settings';

/**
 * The name the lake is attached under where it is written: tables are `__meterflow_lake__.<table>`
 * (schema `main`). NOTE: DuckLake 1.5.5 stores a view's SQL with every `<this name>.` in it, quoted or
 * not, replaced by a placeholder for the catalog, even at the end of a longer name: under the name
 * `lake`, a view reading `main_lake.readings` (a schema config `lake`) or `flake.n` was stored as
 * `main_{catalog}.readings`, which readers attached under another name could not read
 * (duckdb/ducklake#967). No identifier of a project ends in this name.
 */
export const LAKE_ALIAS = '__meterflow_lake__';

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

/**
 * The attach options of a lake as LakeOptions name it, every default applied: the catalog (default:
 * the environment's, else the default warehouse's), the data path (default: METERFLOW_LAKE_DATA, else
 * the catalog's own, or `data/` beside a new SQLite catalog), and the S3 settings of the environment.
 */
export function lakeAttachOptions(options: LakeOptions, env: NodeJS.ProcessEnv = options.env ?? process.env): AttachOptions {
  const catalogOption = options.catalog ?? defaultLakeCatalog(env);
  const catalog = typeof catalogOption === 'string' ? parseLakeCatalog(catalogOption) : catalogOption;
  const readOnly = options.readOnly === true || options.snapshotVersion !== undefined;
  let dataPath = options.dataPath ?? defaultLakeDataPath(env);
  if (dataPath === undefined && catalog.kind === 'sqlite' && !readOnly && !existsSync(catalog.path)) {
    dataPath = path.join(path.dirname(catalog.path), 'data');
  }
  // as DuckLake records it: absolute, ending in '/'
  if (dataPath !== undefined) dataPath = folderPrefix(dataPath);
  const { region, endpoint } = s3SettingsFromEnv(env);
  return {
    catalog,
    readOnly,
    env,
    s3: { region, ...(endpoint ? { endpoint } : {}) },
    ...(dataPath !== undefined ? { dataPath } : {}),
    ...(options.snapshotVersion !== undefined ? { snapshotVersion: options.snapshotVersion } : {}),
    ...(options.dataInliningRowLimit !== undefined ? { dataInliningRowLimit: options.dataInliningRowLimit } : {}),
    ...(options.overrideDataPath !== undefined ? { overrideDataPath: options.overrideDataPath } : {}),
  };
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
   * Create a DuckDB instance with the lake's extensions and attach the lake as LAKE_ALIAS. A new
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
      const attached = await attachLake(connection, LAKE_ALIAS, lakeAttachOptions(options, env));
      return new Lake(instance, attached.catalog, attached.dataPath, attached.readOnly, options.snapshotVersion);
    } catch (err) {
      instance.closeSync();
      throw err;
    } finally {
      connection.closeSync();
    }
  }

  /** A connection per unit of work, always closed; the lake is attached as LAKE_ALIAS on every one. */
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

/** Open the lake (see Lake.open); close it when done. */
export function openLake(options: LakeOptions = {}): Promise<Lake> {
  return Lake.open(options);
}

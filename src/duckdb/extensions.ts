// The DuckDB extensions the lake needs, found in or installed into an extension directory: from
// PyPI's pinned wheels with pip (works offline here), else with DuckDB's own INSTALL (needs its repository).
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { LakeExtensionsError } from '../errors';
import { duckdbExtensionDirectory } from './settings';
import { duckdbMessage, quotedIdentifier } from './sql';

const execFileAsync = promisify(execFile);

/**
 * The version of PyPI's `duckdb-extension-<name>` wheels. Extension files load only into the DuckDB
 * release they were built for, so this must equal the DuckDB inside `@duckdb/node-api` (1.5.5-r.5
 * runs v1.5.5): bump both together. `.ci/run` and `scripts/ensure-test-tools.sh` repeat it.
 */
export const DUCKDB_EXTENSION_WHEEL_VERSION = '1.5.5';

/** What the lake loads: the table format, S3 and HTTP, and the two catalog databases. */
export const LAKE_EXTENSIONS = ['ducklake', 'httpfs', 'sqlite_scanner', 'postgres_scanner'] as const;
export type LakeExtension = (typeof LAKE_EXTENSIONS)[number];

/** Load the lake's extensions into an instance made with their extension directory. */
export async function loadLakeExtensions(connection: DuckDBConnection): Promise<void> {
  await connection.run('load ducklake; load httpfs; load sqlite_scanner; load postgres_scanner');
  await computeInUtc(connection);
}

/**
 * Every connection of the instance computes times in UTC, whatever the machine's time zone: DuckDB
 * takes its TimeZone from the process's (TZ), and a month of a TIMESTAMPTZ event time, a cast
 * between TIMESTAMPTZ and TIMESTAMP or `now()::timestamp` follow it. Workers on machines in different
 * zones would then cut a run's months differently, and a reading at 23:30 UTC on the last day of a
 * month be in no month's build, or in two.
 */
export async function computeInUtc(connection: DuckDBConnection): Promise<void> {
  await connection.run("set global TimeZone = 'UTC'");
}

/** PyPI's requirement for an extension's wheel, e.g. `duckdb-extension-sqlite-scanner==1.5.5`. */
export function extensionWheelRequirement(extension: LakeExtension): string {
  return `duckdb-extension-${extension.replace(/_/g, '-')}==${DUCKDB_EXTENSION_WHEEL_VERSION}`;
}

/** The DuckDB this process runs, as DuckDB names it in extension paths: `v1.5.5`, `linux_amd64`. */
export interface DuckdbBuild {
  readonly version: string;
  readonly platform: string;
}

let buildOfThisProcess: Promise<DuckdbBuild> | undefined;

/** Asked of DuckDB itself (`version()`, `pragma platform`), once per process. */
export function duckdbBuild(): Promise<DuckdbBuild> {
  buildOfThisProcess ??= (async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll('select version() as version, (select platform from pragma_platform()) as platform');
      const [version, platform] = reader.getRows()[0] ?? [];
      return { version: String(version), platform: String(platform) };
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  })();
  return buildOfThisProcess;
}

/** The folder DuckDB looks in for an extension: `<extension directory>/<version>/<platform>/`. */
export function extensionFolder(extensionDirectory: string, build: DuckdbBuild): string {
  return path.join(extensionDirectory, build.version, build.platform);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function missingExtensions(folder: string): Promise<LakeExtension[]> {
  const missing: LakeExtension[] = [];
  for (const extension of LAKE_EXTENSIONS) {
    if (!(await exists(path.join(folder, `${extension}.duckdb_extension`)))) missing.push(extension);
  }
  return missing;
}

/**
 * The wheels installed with pip into a staging folder beside the target (each holds
 * `duckdb_extension_<name>/extensions/<version>/<name>.duckdb_extension`), then each file renamed
 * into place: a concurrent installer or reader sees a whole file or none.
 */
async function installFromWheels(extensionDirectory: string, build: DuckdbBuild, extensions: readonly LakeExtension[]): Promise<void> {
  const folder = extensionFolder(extensionDirectory, build);
  await mkdir(folder, { recursive: true });
  const staging = await mkdtemp(path.join(extensionDirectory, '.install-'));
  try {
    const requirements = extensions.map(extensionWheelRequirement);
    try {
      await execFileAsync(
        'python3',
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--no-deps',
          '--no-compile',
          '--target',
          staging,
          ...requirements,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      );
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
      throw new Error(`pip install ${requirements.join(' ')} failed: ${lastLines(stderr || duckdbMessage(err))}`);
    }
    for (const extension of extensions) {
      const file = path.join(staging, `duckdb_extension_${extension}`, 'extensions', build.version, `${extension}.duckdb_extension`);
      if (!(await exists(file)))
        throw new Error(`the wheel ${extensionWheelRequirement(extension)} has no ${build.version}/${extension}.duckdb_extension`);
      await rename(file, path.join(folder, `${extension}.duckdb_extension`));
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** DuckDB's own INSTALL from its extension repository, into the same directory (needs the network). */
async function installFromDuckdbRepository(extensionDirectory: string, extensions: readonly LakeExtension[]): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { extension_directory: extensionDirectory });
  const connection = await instance.connect();
  try {
    for (const extension of extensions) {
      try {
        await connection.run(`install ${quotedIdentifier(extension)}`);
      } catch (err) {
        throw new Error(`INSTALL ${extension} failed: ${duckdbMessage(err)}`);
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function lastLines(text: string): string {
  return text.split('\n').slice(-3).join(' ').trim();
}

export interface EnsureExtensionsOptions {
  /** Default: METERFLOW_DUCKDB_EXTENSIONS, else `~/.cache/meterflow/duckdb-extensions`. */
  readonly extensionDirectory?: string;
  /** false: only look, never install (a missing file is then a LakeExtensionsError). */
  readonly install?: boolean;
  readonly log?: (message: string) => void;
}

const ensured = new Map<string, Promise<string>>();

/**
 * The extension directory to create lake instances with (`extension_directory`), holding the
 * lake's extensions for this process's DuckDB. Missing files are installed once: first from the
 * pinned PyPI wheels with pip, then, if pip fails or DuckDB is not the wheels' version, with DuckDB's
 * INSTALL. Concurrent calls in one process share one install; processes racing on one directory are
 * safe, since every file lands by rename.
 */
export function ensureLakeExtensions(options: EnsureExtensionsOptions = {}): Promise<string> {
  const extensionDirectory = path.resolve(options.extensionDirectory ?? duckdbExtensionDirectory());
  let pending = ensured.get(extensionDirectory);
  if (!pending) {
    pending = ensure(extensionDirectory, options);
    ensured.set(extensionDirectory, pending);
    // a failed install may succeed later (the network came back): forget it
    pending.catch(() => ensured.delete(extensionDirectory));
  }
  return pending;
}

async function ensure(extensionDirectory: string, options: EnsureExtensionsOptions): Promise<string> {
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const build = await duckdbBuild();
  const folder = extensionFolder(extensionDirectory, build);
  const missing = await missingExtensions(folder);
  if (missing.length === 0) return extensionDirectory;
  if (options.install === false) {
    throw new LakeExtensionsError(`DuckDB extensions ${missing.join(', ')} are missing from ${folder}`, extensionDirectory);
  }
  const attempts: string[] = [];
  if (build.version === `v${DUCKDB_EXTENSION_WHEEL_VERSION}`) {
    log(
      `meterflow: installing DuckDB extensions ${missing.join(', ')} from PyPI wheels ` +
        `(duckdb-extension-*==${DUCKDB_EXTENSION_WHEEL_VERSION}) with pip into ${folder}`,
    );
    try {
      await installFromWheels(extensionDirectory, build, missing);
      return extensionDirectory;
    } catch (err) {
      attempts.push(duckdbMessage(err));
    }
  } else {
    attempts.push(`PyPI's wheels are for DuckDB v${DUCKDB_EXTENSION_WHEEL_VERSION}, but this process runs DuckDB ${build.version}`);
  }
  const stillMissing = await missingExtensions(folder);
  log(`meterflow: installing DuckDB extensions ${stillMissing.join(', ')} with DuckDB's INSTALL into ${folder}`);
  try {
    await installFromDuckdbRepository(extensionDirectory, stillMissing);
    return extensionDirectory;
  } catch (err) {
    attempts.push(duckdbMessage(err));
  }
  throw new LakeExtensionsError(
    `could not install DuckDB extensions ${stillMissing.join(', ')} into ${folder}: ${attempts.join('; ')}`,
    extensionDirectory,
  );
}

// One source's seed inside its transaction: which files to load, loading and checking their rows,
// and the provenance and version that record what was loaded.
import type { DuckDBConnection } from '@duckdb/node-api';
import { randomUUID } from 'node:crypto';
import { SourceDataError } from '../errors';
import type { Logger } from '../logger';
import { eventTimeWindowTest } from '../project/event-window';
import type { SourceTable } from '../project/types';
import type { Storage, StoredObject } from '../storage';
import { folderPrefix } from '../storage/uri';
import { quotedIdentifier, quotedString } from '../duckdb/sql';
import type { EventWindow, SetAsideRows, UnloadedColumns } from '../contract/activities';
import { recordSourceVersion } from '../warehouse/state';
import { REJECTED_ROWS_TABLE, SOURCE_FILES_TABLE } from '../warehouse/state-schema';
import { spanningFiles, type Provenance, type SeedState } from './seed-state';
import { checkContract, contentChecksum, loadingFiles, readFileSql } from './source-files';
import { checkFinite, checkSourceTests, countLoadedRows, type LoadedRowCounts } from './source-tests';

/** One seed of one source: what it reads, where it writes, and how. */
export interface SourceLoad {
  readonly source: SourceTable;
  readonly store: Storage;
  /** The source's location this run reads (a folder or prefix; a dbt seed's CSV file). */
  readonly uri: string;
  /** The source's files, as listed at its location. */
  readonly files: StoredObject[];
  /** The raw table, quoted. */
  readonly table: string;
  /** The columns kept, quoted: a dbt seed keeps every column of its file (`*`), a source those source-columns.ts gives. */
  readonly columns: string;
  /** Every column of the source's files is loaded: a file with one the others lack is refused. */
  readonly everyColumn: boolean;
  /** The contract the table is loaded with (its comment): a change reloads everything. */
  readonly contract: string;
  readonly fullRefresh: boolean;
  readonly verify: boolean;
  /** The run was told the source's files moved: rows loaded from another location are dropped, not refused. */
  readonly sourcesMoved: boolean;
  readonly logicalDate: string | undefined;
  readonly logger: Logger;
}

/** What a seed did to its source's rows. */
export interface LoadOutcome {
  readonly previousVersion: string | undefined;
  readonly version: string;
  readonly changed: boolean;
  readonly loaded: StoredObject[];
  readonly removed: string[];
  readonly rowsByUri: Map<string, number>;
  readonly window: EventWindow | undefined;
  readonly setAside: SetAsideRows[];
  /** Columns of files loaded that the source's column contract leaves out, by file. */
  readonly unloadedColumns: UnloadedColumns[];
  readonly verification: { readonly verified: number; readonly differed: string[] };
}

/** The files a seed loads and forgets, and the checksums it took on the way. */
interface FilePlan {
  readonly reload: boolean;
  readonly toLoad: StoredObject[];
  readonly removed: string[];
  /** Files hashed in this seed, by URI: those verified, then those loaded. */
  readonly checksums: Map<string, string>;
  readonly verification: { readonly verified: number; readonly differed: string[] };
}

type EventRange = { eventFrom: string | null; eventTo: string | null };

/** The folder of a file's URI (a local path or `s3://bucket/key`). */
const folderOf = (uri: string) => uri.slice(0, Math.max(uri.lastIndexOf('/'), 0));

/** The deepest folder holding every one of the URIs. */
function commonFolder(uris: readonly string[]): string {
  const parts = uris.map((uri) => folderOf(uri).split('/'));
  const first = parts[0] ?? [];
  let depth = first.length;
  for (const other of parts) while (depth > 0 && other.slice(0, depth).join('/') !== first.slice(0, depth).join('/')) depth -= 1;
  return first.slice(0, depth).join('/') || '/';
}

/**
 * A run that reads a source from another place than the files its rows were loaded from is refused:
 * going on would drop every one of those rows (each old file counts as removed), which is what a
 * mistyped or swapped --sources does. Only files outside the location count, so a snapshot file
 * replaced under a new name in the same folder is an ordinary removal. A dbt seed is a file of the
 * project, wherever the project's copy lies, so it is not checked; `sourcesMoved` says the move is meant.
 */
function refuseRowsFromElsewhere({ source, uri, sourcesMoved }: SourceLoad, known: ReadonlyMap<string, Provenance>): void {
  if (source.seed || sourcesMoved) return;
  // as a listing names its files: a local folder resolved (`/a//b/` and `/a/b` are one place)
  const location = folderPrefix(uri);
  const elsewhere = [...known].filter(([file]) => !file.startsWith(location));
  if (elsewhere.length === 0) return;
  const rows = elsewhere.reduce((sum, [, provenance]) => sum + provenance.rows, 0);
  throw new SourceDataError(
    `source ${source.name}: this warehouse holds ${rows.toLocaleString('en-GB')} rows of it from ${elsewhere.length} file(s) ` +
      `in ${commonFolder(elsewhere.map(([file]) => file))}, but this run reads it from ${uri}: going on would drop those rows. ` +
      `Nothing was changed. If the source's files moved there, run again with --sources-moved (sourcesMoved: true in the ` +
      `run's input), which drops the old rows and loads the files at the new place; otherwise give the old place to --sources.`,
    source.name,
    uri,
  );
}

/**
 * A file replaced while it was read would be recorded with the listing's size and ETag but another
 * content's rows and checksum: such a load is undone and retried, listing the source again.
 */
async function refuseFilesChangedMeanwhile({ source, store }: SourceLoad, loaded: readonly StoredObject[]): Promise<void> {
  for (const file of loaded) {
    const now = await store.stat(file.uri);
    if (!now || now.size !== file.size || now.etag !== file.etag) {
      throw new Error(`source ${source.name}: ${file.uri} changed while it was being seeded; retrying with a fresh listing`);
    }
  }
}

/** Everything on a reload; otherwise the new and replaced files (by size and ETag), and with verify those whose content changed. */
async function planFiles({ files, store, fullRefresh, verify, contract }: SourceLoad, state: SeedState): Promise<FilePlan> {
  const { known } = state;
  const reload = fullRefresh || !state.exists || state.contractComment !== contract;
  const identityChanged = (file: StoredObject) => {
    const previous = known.get(file.uri);
    return !previous || previous.etag !== file.etag || previous.size !== file.size;
  };
  const checksums = new Map<string, string>();
  const differed = new Set<string>();
  let verified = 0;
  if (verify && !reload && !store.etagCoversContent) {
    // NOTE: a file without a recorded checksum (loaded by an earlier version) cannot be
    // compared, so it counts as differing and is reloaded once
    for (const file of files.filter((f) => !identityChanged(f))) {
      const checksum = await contentChecksum(await store.localPath(file));
      checksums.set(file.uri, checksum);
      verified += 1;
      if (known.get(file.uri)?.contentSha256 !== checksum) differed.add(file.uri);
    }
  }
  const toLoad = reload ? files : files.filter((file) => identityChanged(file) || differed.has(file.uri));
  const listed = new Set(files.map((file) => file.uri));
  const removed = reload ? [] : [...known.keys()].filter((uri) => !listed.has(uri));
  return { reload, toLoad, removed, checksums, verification: { verified, differed: [...differed] } };
}

/** A table's column types by name (DuckDB's type names). */
async function columnTypes(connection: DuckDBConnection, table: string): Promise<Map<string, string>> {
  const described = await connection.runAndReadAll(`describe ${table}`);
  return new Map(described.getRows().map((row) => [String(row[0]), String(row[1])]));
}

/**
 * The files' rows into the table (replacing the table on a reload), each file checked against the
 * contract first, and the rows set aside earlier from them forgotten. The files are hashed while
 * DuckDB reads them: `hashing` ends when every checksum is in the plan's map.
 */
async function loadFiles(
  connection: DuckDBConnection,
  load: SourceLoad,
  plan: FilePlan,
): Promise<{ hashing: Promise<void>; unloadedColumns: UnloadedColumns[] }> {
  const { source, store, table, columns, contract } = load;
  const { reload, toLoad, removed, checksums } = plan;
  const localPaths = await Promise.all(toLoad.map((file) => store.localPath(file)));
  const hashing = (async () => {
    for (const [index, file] of toLoad.entries()) {
      if (!checksums.has(file.uri)) checksums.set(file.uri, await contentChecksum(localPaths[index] as string));
    }
  })();
  // awaited before the provenance is written; an earlier failure must not leave it unhandled
  hashing.catch(() => undefined);
  const unloadedColumns: UnloadedColumns[] = [];
  for (const [index, file] of toLoad.entries()) {
    try {
      const left = await checkContract(connection, source, file, localPaths[index] as string, load.everyColumn);
      if (left.length > 0) unloadedColumns.push({ uri: file.uri, columns: left });
    } catch (err) {
      // a file replaced or deleted since it was listed: a retry lists the source again
      if (!(await store.stat(file.uri))) {
        throw new Error(`source ${source.name}: ${file.uri} disappeared while it was being seeded; retrying with a fresh listing`);
      }
      throw err;
    }
  }
  // one select per file, so each row remembers the URI it came from (not a local cache path)
  const tableTypes = source.seed && !reload ? await columnTypes(connection, table) : new Map<string, string>();
  const perFile = await Promise.all(
    toLoad.map(
      async (file, index) =>
        `select ${columns}, ${quotedString(file.uri)} as _source_file from ${await readFileSql(source, localPaths[index] as string, tableTypes)}`,
    ),
  );
  await connection.run(`create schema if not exists ${quotedIdentifier(source.schema)}`);
  await loadingFiles(source, async () => {
    if (reload) {
      await connection.run(`create or replace table ${table} as ${perFile.join('\nunion all\n')}`);
      await connection.run(`comment on table ${table} is ${quotedString(contract)}`);
    } else {
      const replaced = [...toLoad.map((file) => file.uri), ...removed];
      if (replaced.length > 0) {
        await connection.run(`delete from ${table} where _source_file in (${replaced.map(quotedString).join(', ')})`);
      }
      if (perFile.length > 0) await connection.run(`insert into ${table} ${perFile.join('\nunion all\n')}`);
    }
  });
  // rows set aside earlier from files now reloaded or removed go with them
  const forgotten = reload ? '' : ` and uri in (${[...toLoad.map((file) => file.uri), ...removed].map(quotedString).join(', ')})`;
  await connection.run(`delete from ${REJECTED_ROWS_TABLE} where source = $source${forgotten}`, { source: source.name });
  return { hashing, unloadedColumns };
}

/**
 * The loaded rows checked, numbers first, then the column tests (the event-time window's before the
 * others, so a reading dated 1900 is named as that, not as a later test's failure). The checks and the
 * rows and event range of each file are counted in one pass; when rows were set aside, the files are
 * counted again, so that their counts are of the rows kept.
 */
async function checkLoadedRows(
  connection: DuckDBConnection,
  load: SourceLoad,
  known: ReadonlyMap<string, Provenance>,
  toLoad: readonly StoredObject[],
): Promise<{ setAside: SetAsideRows[]; counted: FileCounts }> {
  const { source, table, logicalDate, logger } = load;
  const windowTest = eventTimeWindowTest(source, logicalDate ? new Date(logicalDate) : new Date());
  const tested = windowTest ? { ...source, tests: [windowTest, ...source.tests] } : source;
  const counts = await countLoadedRows(connection, tested, table, toLoad);
  await checkFinite(connection, source, table, toLoad, counts);
  const setAside = await checkSourceTests(connection, tested, table, toLoad, logger, counts);
  const recounted = setAside.some((entry) => !entry.kept) ? await countLoadedRows(connection, source, table, toLoad) : counts;
  return { setAside, counted: fileCounts(known, toLoad, recounted) };
}

/** Rows and event range per file, of the source's files: as counted for the files loaded, as recorded for the others. */
interface FileCounts {
  readonly rowsByUri: Map<string, number>;
  readonly rangeByUri: Map<string, EventRange>;
}

function fileCounts(known: ReadonlyMap<string, Provenance>, toLoad: readonly StoredObject[], counted: LoadedRowCounts): FileCounts {
  const rowsByUri = new Map([...known].map(([k, v]) => [k, v.rows]));
  const rangeByUri = new Map<string, EventRange>([...known].map(([k, v]) => [k, { eventFrom: v.eventFrom, eventTo: v.eventTo }]));
  for (const file of toLoad) {
    const loaded = counted.perFile.get(file.uri);
    rowsByUri.set(file.uri, loaded?.rows ?? 0);
    rangeByUri.set(file.uri, { eventFrom: loaded?.eventFrom ?? null, eventTo: loaded?.eventTo ?? null });
  }
  return { rowsByUri, rangeByUri };
}

/**
 * The event times whose rows changed: those of the files loaded, and those that replaced or removed
 * files held before; a full reload changed everything, so no window.
 */
function changedWindow(
  source: SourceTable,
  plan: FilePlan,
  known: ReadonlyMap<string, Provenance>,
  rangeByUri: ReadonlyMap<string, EventRange>,
): EventWindow | undefined {
  const { reload, toLoad, removed } = plan;
  if (reload || !source.eventTime) return undefined;
  return spanningFiles([
    ...toLoad.map((file) => rangeByUri.get(file.uri) ?? { eventFrom: null, eventTo: null }),
    ...[...toLoad.map((file) => file.uri), ...removed].flatMap((uri) => {
      const previous = known.get(uri);
      return previous ? [previous] : [];
    }),
  ]);
}

/** Every listed file's provenance replaces the source's recorded one. */
async function recordProvenance(
  connection: DuckDBConnection,
  { source, files }: SourceLoad,
  known: ReadonlyMap<string, Provenance>,
  checksums: ReadonlyMap<string, string>,
  counted: { rowsByUri: ReadonlyMap<string, number>; rangeByUri: ReadonlyMap<string, EventRange> },
): Promise<void> {
  await connection.run(`delete from ${SOURCE_FILES_TABLE} where source = $source`, { source: source.name });
  for (const file of files) {
    const range = counted.rangeByUri.get(file.uri);
    await connection.run(
      `insert into ${SOURCE_FILES_TABLE} (source, uri, size, etag, rows, seeded_at, event_from, event_to, content_sha256)
           values ($source, $uri, $size, $etag, $rows, now()::timestamp, $from::timestamp, $to::timestamp, $sha256)`,
      {
        source: source.name,
        uri: file.uri,
        size: file.size,
        etag: file.etag,
        rows: counted.rowsByUri.get(file.uri) ?? 0,
        from: range?.eventFrom ?? null,
        to: range?.eventTo ?? null,
        sha256: checksums.get(file.uri) ?? known.get(file.uri)?.contentSha256 ?? null,
      },
    );
  }
}

/**
 * Bring the source's table up to date, inside the caller's transaction: new and replaced files load
 * their rows, removed files lose theirs, unchanged files are not read. With checkOnly, a source with
 * anything to load is left as it is, and undefined returned.
 */
export async function loadSource(
  connection: DuckDBConnection,
  load: SourceLoad,
  state: SeedState,
  checkOnly: boolean,
): Promise<LoadOutcome | undefined> {
  const { source } = load;
  const { known, previousVersion } = state;
  refuseRowsFromElsewhere(load, known);
  const plan = await planFiles(load, state);
  const { reload, toLoad, removed, verification } = plan;
  if (checkOnly && (reload || toLoad.length > 0 || removed.length > 0)) return undefined;
  if (!reload && toLoad.length === 0 && removed.length === 0) {
    // a warehouse from before source versions gets one for the rows it already holds
    const version = previousVersion ?? randomUUID();
    if (previousVersion === undefined) await recordSourceVersion(connection, source.name, version);
    const rowsByUri = new Map([...known].map(([k, v]) => [k, v.rows]));
    const unchanged = { loaded: [], removed, rowsByUri, window: undefined, setAside: [], unloadedColumns: [], verification };
    return { previousVersion, version, changed: false, ...unchanged };
  }
  const { hashing, unloadedColumns } = await loadFiles(connection, load, plan);
  const { setAside, counted } = await checkLoadedRows(connection, load, known, toLoad);
  const window = changedWindow(source, plan, known, counted.rangeByUri);
  await hashing;
  await refuseFilesChangedMeanwhile(load, toLoad);
  await recordProvenance(connection, load, known, plan.checksums, counted);
  // the rows changed: models built from the old ones are out of date until rebuilt, whatever
  // becomes of this run (see workflows/up-to-date.ts)
  const version = randomUUID();
  await recordSourceVersion(connection, source.name, version);
  const rowsByUri = counted.rowsByUri;
  return { previousVersion, version, changed: true, loaded: toLoad, removed, rowsByUri, window, setAside, unloadedColumns, verification };
}

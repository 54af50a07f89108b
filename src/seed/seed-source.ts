// Seeding: each source's Parquet files, checked against the data contract (columns, types, finite
// numbers, the sources YAML's column tests), replace raw.<source> atomically. Plain functions of a
// warehouse, storage and logger: the seed activities (activities/seed.ts) call them.
import type { DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { SourceDataError } from '../errors';
import type { Logger } from '../logger';
import type { Freshness, SourceTable } from '../project/types';
import type { StorageResolver, StoredObject } from '../storage';
import { quotedIdentifier, relation } from '../duckdb/sql';
import { sqlTimestamp } from '../contract/time';
import type { FreshnessResult, SeedSourceInput, SeedSourceResult, SourceFileIdentity } from '../contract/activities';
import type { Warehouse } from '../warehouse/warehouse';
import { loadSource, type LoadOutcome } from './load';
import { readSeedState, readSeedStates, type SeedState } from './seed-state';
import { fileKind, listSourceFiles } from './source-files';
import { loadedColumns, type LoadedColumns } from './source-columns';
import { parseLocation, realFolderPrefix } from '../storage/uri';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** What seeding works with. */
export interface SeedContext {
  readonly warehouse: Warehouse;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  /**
   * Runs a seed's DuckDB work so that it can be stopped (an activity interrupts the connection when
   * it is cancelled); without it the work just runs.
   */
  readonly interruptible?: <T>(connection: DuckDBConnection, work: () => Promise<T>) => Promise<T>;
}

/** The newest loaded_at_field against the run's logical date: fresh, or too old to warn or to go on. */
async function checkFreshness(warehouse: Warehouse, source: SourceTable, table: string, logicalDate: string): Promise<FreshnessResult> {
  const rule = source.freshness as Freshness;
  const [row] = await warehouse.withConnection(async (connection) =>
    (
      await connection.runAndReadAll(
        `select max(${quotedIdentifier(rule.loadedAtField)})::varchar as newest,
                date_diff('minute', max(${quotedIdentifier(rule.loadedAtField)}), $logical::timestamp) / 60.0 as age_hours
         from ${table}`,
        { logical: sqlTimestamp(logicalDate) },
      )
    ).getRowObjectsJS(),
  );
  const ageHours = row?.age_hours === null || row?.age_hours === undefined ? Number.POSITIVE_INFINITY : Number(row.age_hours);
  const status =
    rule.errorAfterHours !== undefined && ageHours > rule.errorAfterHours
      ? 'error'
      : rule.warnAfterHours !== undefined && ageHours > rule.warnAfterHours
        ? 'warn'
        : 'pass';
  const newest = row?.newest === null || row?.newest === undefined ? 'none' : String(row.newest);
  if (status === 'error') {
    throw new SourceDataError(
      `source ${source.name}: stale: newest ${rule.loadedAtField} is ${newest}, ${Math.round(ageHours)} h before the run's logical date ${logicalDate} (error after ${rule.errorAfterHours} h)`,
      source.name,
    );
  }
  return { newest, ageHours: Number.isFinite(ageHours) ? Math.round(ageHours * 10) / 10 : null, status };
}

/**
 * The contract a source's table is loaded with: the columns and types, and the column tests (a
 * changed bound or severity checks every file again, not only the next new one), and how a dbt
 * seed's file is read.
 */
function contractOf(source: SourceTable): string {
  const columnList = source.columns.map((column) => `${column.name} ${column.dataType ?? ''}`).join(',');
  const contract = `${columnList}; tests ${createHash('sha256').update(JSON.stringify(source.tests)).digest('hex').slice(0, 16)}`;
  // a dbt seed's delimiter and column_types decide how its file is read: a change reloads it
  if (!source.seed) return contract;
  const { delimiter, columnTypes } = source.seed;
  // `agate types`: its columns typed as dbt types them (since 2026-12-07; a seed loaded before is reloaded once)
  const reading = [
    'agate types',
    ...(delimiter !== ',' ? [`delimiter ${JSON.stringify(delimiter)}`] : []),
    ...(columnTypes ? [`types ${JSON.stringify(columnTypes)}`] : []),
  ];
  return `${contract}; ${reading.join('; ')}`;
}

/**
 * The columns the seed loads (see source-columns.ts): for a source read whole, those of its table
 * when rows are added to it under the same contract, else those of its first file.
 */
async function columnsToLoad(
  connection: DuckDBConnection,
  source: SourceTable,
  table: string,
  state: SeedState,
  fullRefresh: boolean,
  firstFile: () => Promise<{ uri: string; localPath: string }>,
): Promise<LoadedColumns> {
  const appending = state.exists && !fullRefresh;
  const read = await loadedColumns(connection, source, { table, appending, firstFile });
  // a contract changed (a test, a listed type) reloads every file: read from them, not the table
  if (read.everyColumn && appending && contractOf(read.source) !== state.contractComment) {
    return loadedColumns(connection, source, { table, appending: false, firstFile });
  }
  return read;
}

/** A seed's result, logged as the seeded source. */
function seedResult(
  { source, verify = false }: SeedSourceInput,
  listing: { files: StoredObject[]; ignored: string[] },
  outcome: LoadOutcome,
  freshness: FreshnessResult | undefined,
  logger: Logger,
  started: number,
): SeedSourceResult {
  const { files, ignored } = listing;
  const identities: SourceFileIdentity[] = files.map((file) => ({
    uri: file.uri,
    size: file.size,
    etag: file.etag,
    rows: outcome.rowsByUri.get(file.uri) ?? 0,
  }));
  const rows = identities.reduce((sum, file) => sum + file.rows, 0);
  const { verification } = outcome;
  logger.info(
    {
      source: source.name,
      files: files.length,
      loaded: outcome.loaded.length,
      removed: outcome.removed.length,
      setAside: outcome.setAside.reduce((sum, entry) => sum + (entry.kept ? 0 : entry.rows), 0),
      ignored,
      ...(outcome.unloadedColumns.length > 0 ? { unloadedColumns: outcome.unloadedColumns } : {}),
      ...(verify ? { verified: verification.verified, differed: verification.differed } : {}),
      rows,
    },
    'seeded source',
  );
  for (const { uri, columns } of outcome.unloadedColumns) {
    logger.warn({ source: source.name, uri, columns }, 'columns the contract does not list were not loaded');
  }
  return {
    source: source.name,
    table: `${source.schema}.${source.name}`,
    rows,
    files: identities,
    changed: outcome.changed,
    version: outcome.version,
    ...(outcome.previousVersion !== undefined ? { previousVersion: outcome.previousVersion } : {}),
    loadedFiles: outcome.loaded.map((file) => file.uri),
    removedFiles: outcome.removed,
    setAside: outcome.setAside,
    ...(outcome.unloadedColumns.length > 0 ? { unloadedColumns: outcome.unloadedColumns } : {}),
    ignoredFiles: ignored,
    ...(verify ? { verifiedFiles: verification.verified, differedFiles: verification.differed } : {}),
    ...(outcome.window ? { window: outcome.window } : {}),
    ...(freshness ? { freshness } : {}),
    durationMs: Date.now() - started,
  };
}

/**
 * A source whose files lie in the lake's data folder is refused: the lake's maintenance deletes the
 * files there that no version references (a shared METERFLOW_LAKE_DATA, --sources inside --db). So
 * is a lake whose data lies in a source's folder (--db inside it): the source would read the lake's files.
 */
async function refuseLakeDataOverlap(source: SourceTable, uri: string, dataPath: string): Promise<void> {
  if (source.seed) return;
  // as the folders really are: a link to the lake's data folder is that folder
  const lakeData = await realFolderPrefix(dataPath);
  const sourceFolder = await realFolderPrefix(uri);
  if (sourceFolder.startsWith(lakeData)) {
    throw new SourceDataError(
      `source ${source.name}: its files (${uri}) lie in the lake's data folder ${lakeData}, where the lake's maintenance ` +
        `deletes every file no version of the lake references: keep --sources (and a source's location) outside it`,
      source.name,
      uri,
    );
  }
  if (lakeData.startsWith(sourceFolder)) {
    throw new SourceDataError(
      `source ${source.name}: the lake's data folder ${lakeData} lies in its folder ${sourceFolder}, so the source would ` +
        `read the lake's own files as its own: keep the warehouse (--db) outside --sources' folders`,
      source.name,
      uri,
    );
  }
}

/**
 * A source with no file to load: what its location holds instead, or, on disk, that the folder is not
 * there, and its parent (--sources) neither (an operator probe's mistyped --sources gave one bare
 * "no Parquet files" per source).
 */
function noFiles(source: SourceTable, uri: string, ignored: readonly string[]): SourceDataError {
  const location = parseLocation(uri);
  const missing = location.kind === 'local' && !existsSync(location.path) ? location.path : undefined;
  const parentMissing = missing !== undefined && !existsSync(path.dirname(missing));
  const why =
    ignored.length > 0
      ? ` (only ${ignored.join(', ')})`
      : parentMissing
        ? ` (no folder ${path.dirname(missing)} either: is --sources right?)`
        : missing !== undefined
          ? ' (no such folder)'
          : '';
  return new SourceDataError(`source ${source.name}: no ${fileKind(source)} files at ${uri}${why}`, source.name, uri);
}

/** A seed, or with checkOnly a look that changes nothing and gives undefined for a source with anything to load. */
async function seedOrCheck(
  context: SeedContext,
  input: SeedSourceInput,
  checkOnly: boolean,
  state?: SeedState,
): Promise<SeedSourceResult | undefined> {
  const { warehouse, storage, logger, interruptible = (_connection, work) => work() } = context;
  const { source, uri, fullRefresh = false, logicalDate, verify = false, sourcesMoved = false } = input;
  const started = Date.now();
  await refuseLakeDataOverlap(source, uri, warehouse.dataPath);
  const store = storage.forUri(uri);
  const listing = await listSourceFiles(store, source, uri);
  if (listing.files.length === 0) throw noFiles(source, uri, listing.ignored);
  const table = relation(source.schema, source.name);
  const outcome = await warehouse.transaction(async (connection) =>
    interruptible(connection, async () => {
      const seedState = state ?? (await readSeedState(connection, source));
      const read = await columnsToLoad(connection, source, table, seedState, fullRefresh, async () => {
        const first = listing.files[0] as StoredObject;
        return { uri: first.uri, localPath: await store.localPath(first) };
      });
      const load = {
        source: read.source,
        store,
        uri,
        files: listing.files,
        table,
        columns: read.columns,
        everyColumn: read.everyColumn,
        contract: contractOf(read.source),
        fullRefresh,
        verify,
        sourcesMoved,
        logicalDate,
        logger,
      };
      return loadSource(connection, load, seedState, checkOnly);
    }),
  );
  if (outcome === undefined) return undefined;
  const freshness = source.freshness && logicalDate ? await checkFreshness(warehouse, source, table, logicalDate) : undefined;
  return seedResult(input, listing, outcome, freshness, logger, started);
}

/**
 * Bring raw.<source> up to date with the Parquet files at the source's location: new and replaced
 * files (by size and ETag) load their rows, removed files lose theirs, unchanged files are not
 * read (with `verify` they are hashed, and those whose content changed are reloaded). A full
 * refresh, a new source or a changed contract reloads everything. One transaction.
 */
export async function seedSource(context: SeedContext, input: SeedSourceInput): Promise<SeedSourceResult> {
  return (await seedOrCheck(context, input, false)) as SeedSourceResult;
}

/**
 * Every source looked at at once: the result a seed would give for each source with nothing to
 * load, null for one that has (or that cannot be read: its seed says why).
 */
export async function checkSources(context: SeedContext, sources: readonly SeedSourceInput[]): Promise<(SeedSourceResult | null)[]> {
  // what every source was loaded with, read once for all (should that fail, each source reads its own)
  const states = await context.warehouse.withConnection((connection) => readSeedStates(connection)).catch(() => undefined);
  const results: (SeedSourceResult | null)[] = [];
  for (const input of sources) {
    const state = states?.(input.source);
    results.push((await seedOrCheck(context, input, true, state).catch(() => undefined)) ?? null);
  }
  return results;
}

// Seeding: each source's Parquet files, checked against the data contract (columns, types, finite
// numbers, the sources YAML's column tests), replace raw.<source> atomically.
import type { DuckDBConnection } from '@duckdb/node-api';
import { eventTimeWindowTest } from '../project/event-window';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { NotAFolderError, SourceDataError } from '../errors';
import type { Logger } from '../logger';
import { describeTest, failingRowCondition, isFloatingType, nonFiniteCondition } from '../project/data-tests';
import type { DataTest, Freshness, SourceTable } from '../project/types';
import { runDataTests } from './data-tests';
import type { Storage, StorageResolver, StoredObject } from '../storage';
import { duckdbMessage, isPermanentDuckdbError, pathList, quotedIdentifier, quotedString, relation } from '../duckdb/sql';
import type { Warehouse } from '../warehouse/warehouse';
import { spanningWindow, sqlTimestamp } from '../contract/time';
import { activityFrame, interruptOnCancel } from './context';
import { readSourceVersion, recordSourceVersion } from './state';
import { REJECTED_ROWS_TABLE, SOURCE_FILES_TABLE, SOURCE_VERSIONS_TABLE } from '../warehouse/state-schema';
import { randomUUID } from 'node:crypto';
import type {
  CheckSourcesInput,
  CheckSourcesResult,
  EventWindow,
  FreshnessResult,
  SeedSourceInput,
  SeedSourceResult,
  SetAsideRows,
  SourceFileIdentity,
} from '../contract/activities';

export interface SeedDependencies {
  readonly warehouse: Warehouse;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

/** A seeded file: a visible `*.parquet` name. Anything else listed is reported as ignored. */
function isSourceFile(object: StoredObject): boolean {
  return object.name.endsWith('.parquet') && !object.name.split('/').some((part) => part.startsWith('.'));
}

/** The source's Parquet files, and the names of every other file at its location (none dropped unsaid). */
async function listSourceFiles(store: Storage, source: SourceTable, uri: string): Promise<{ files: StoredObject[]; ignored: string[] }> {
  if (source.seed) {
    // a dbt seed is one CSV file of the project
    const file = await store.stat(uri);
    if (!file) throw new SourceDataError(`seed ${source.name}: ${source.seed.file} is not there (${uri})`, source.name, uri);
    return { files: [file], ignored: [] };
  }
  let listed: StoredObject[];
  try {
    listed = await store.list(uri, { hidden: true });
  } catch (err) {
    if (err instanceof NotAFolderError) {
      const where = err.file === uri ? '' : ` (source ${source.name} is read from ${uri})`;
      throw new SourceDataError(`source ${source.name}: ${err.file} is a file, not a folder of Parquet files${where}`, source.name, uri);
    }
    throw err;
  }
  return { files: listed.filter(isSourceFile), ignored: listed.filter((object) => !isSourceFile(object)).map((object) => object.name) };
}

/** SHA-256 of a file's content, streamed (the file may be larger than memory). */
async function contentChecksum(localPath: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(localPath), hash);
  return hash.digest('hex');
}

/** SQL reading one file of a source: Parquet, or a dbt seed's CSV with its delimiter and column_types. */
function readFileSql(source: SourceTable, localPath: string): string {
  if (!source.seed) return `read_parquet(${pathList([localPath])})`;
  const { delimiter, columnTypes } = source.seed;
  const types = columnTypes
    ? `, types = {${Object.entries(columnTypes)
        .map(([column, type]) => `${quotedString(column)}: ${quotedString(type)}`)
        .join(', ')}}`
    : '';
  // the whole file sniffed (a seed is small), so a column's type does not hang on its first rows
  return `read_csv(${quotedString(localPath)}, header = true, delim = ${quotedString(delimiter)}, sample_size = -1${types})`;
}

/** A file's kind, in messages. */
const fileKind = (source: SourceTable) => (source.seed ? 'CSV' : 'Parquet');

/** Check one file's columns against the contract; name the file and column that differ. */
async function checkContract(connection: DuckDBConnection, source: SourceTable, file: StoredObject, localPath: string): Promise<void> {
  let described: Record<string, string>;
  try {
    const reader = await connection.runAndReadAll(`describe select * from ${readFileSql(source, localPath)}`);
    described = Object.fromEntries(reader.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
  } catch (err) {
    throw new SourceDataError(
      `${source.seed ? 'seed' : 'source'} ${source.name}: ${source.seed?.file ?? file.uri} is not a readable ${fileKind(source)} file: ${duckdbMessage(err)}`,
      source.name,
      file.uri,
    );
  }
  for (const column of source.columns) {
    const actual = described[column.name];
    if (actual === undefined) {
      throw new SourceDataError(`source ${source.name}: ${file.uri} has no column '${column.name}'`, source.name, file.uri);
    }
    const expected = column.dataType?.toUpperCase();
    if (expected && actual.toUpperCase() !== expected) {
      const hint = /WITH TIME ZONE/i.test(actual) ? ' (timestamps must be UTC without a time zone)' : '';
      throw new SourceDataError(
        `source ${source.name}: ${file.uri} column '${column.name}' is ${actual}, the contract says ${expected}${hint}`,
        source.name,
        file.uri,
      );
    }
  }
}

/**
 * Loading a seed's CSV: a row that does not parse (a missing field, a value of the wrong type) is
 * a SourceDataError naming the file and, as DuckDB gives it, the line. Parquet errors go on as they are.
 */
async function loadingFiles(source: SourceTable, load: () => Promise<void>): Promise<void> {
  try {
    await load();
  } catch (err) {
    if (!source.seed || !isPermanentDuckdbError(err)) throw err;
    // DuckDB's CSV error names the line and the value (duckdbMessage leaves out the reader's settings)
    throw new SourceDataError(`seed ${source.name}: ${source.seed.file}: ${duckdbMessage(err)}`, source.name, source.seed.file);
  }
}

/** A sample row for a message: the contract columns as `name=value`. */
async function sampleRow(
  connection: DuckDBConnection,
  source: SourceTable,
  table: string,
  uri: string,
  condition: string,
): Promise<string> {
  const columns = source.columns.map((column) => `${quotedIdentifier(column.name)}::varchar as ${quotedIdentifier(column.name)}`);
  const reader = await connection.runAndReadAll(
    `select ${columns.join(', ')} from ${table} where _source_file = $uri and (${condition}) limit 1`,
    { uri },
  );
  const [row] = reader.getRowObjectsJS();
  return row
    ? Object.entries(row)
        .map(([name, value]) => `${name}=${value === null ? 'NULL' : String(value)}`)
        .join(', ')
    : 'none';
}

/** Failing rows per loaded file for each condition, in one pass over the loaded rows. */
async function countPerFile(
  connection: DuckDBConnection,
  table: string,
  loaded: readonly StoredObject[],
  conditions: readonly string[],
): Promise<Map<string, number[]>> {
  if (conditions.length === 0 || loaded.length === 0) return new Map();
  const counts = conditions.map((condition, index) => `count(*) filter (where ${condition})::bigint as ${quotedIdentifier(`c${index}`)}`);
  const reader = await connection.runAndReadAll(
    `select _source_file, ${counts.join(', ')} from ${table} where _source_file in (${loaded.map((file) => quotedString(file.uri)).join(', ')}) group by all`,
  );
  return new Map(reader.getRowObjectsJS().map((row) => [String(row._source_file), conditions.map((_, index) => Number(row[`c${index}`]))]));
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * Every floating-point column of the files just loaded holds finite numbers or NULL: NaN and
 * ±Infinity compare and average in ways no model expects, so the file is refused.
 */
async function checkFinite(
  connection: DuckDBConnection,
  source: SourceTable,
  table: string,
  loaded: readonly StoredObject[],
): Promise<void> {
  const floating = source.columns.filter((column) => column.dataType !== undefined && isFloatingType(column.dataType)).map((c) => c.name);
  const conditions = floating.map((column) => nonFiniteCondition([column]));
  const perFile = await countPerFile(connection, table, loaded, conditions);
  for (const file of loaded) {
    const counts = perFile.get(file.uri) ?? [];
    const index = counts.findIndex((count) => count > 0);
    if (index < 0) continue;
    const count = counts[index] as number;
    const sample = await sampleRow(connection, source, table, file.uri, conditions[index] as string);
    throw new SourceDataError(
      `source ${source.name}: ${file.uri} column '${floating[index]}' holds ${plural(count, 'non-finite value', 'non-finite values')} (NaN or ±Infinity), e.g. ${sample}`,
      source.name,
      file.uri,
    );
  }
}

/**
 * The column tests of a source on the rows of the files just loaded. A failing `error` test refuses
 * the file; a failing `warn` test that judges rows one by one moves those rows out of raw into the
 * rejected rows (a `warn` test over many rows, like unique, is only logged).
 */
async function checkSourceTests(
  connection: DuckDBConnection,
  source: SourceTable,
  table: string,
  loaded: readonly StoredObject[],
  logger: Logger,
): Promise<SetAsideRows[]> {
  if (source.tests.length === 0 || loaded.length === 0) return [];
  const refuse = async (file: StoredObject, test: DataTest, failures: number, condition?: string): Promise<never> => {
    const sample = condition ? `; e.g. ${await sampleRow(connection, source, table, file.uri, condition)}` : '';
    throw new SourceDataError(
      `source ${source.name}: ${file.uri} fails ${describeTest(test)}${test.column ? ` on column '${test.column}'` : ''} (${plural(failures, 'row', 'rows')})${sample}`,
      source.name,
      file.uri,
    );
  };
  const rowTests = source.tests.flatMap((test) => {
    const condition = failingRowCondition(test);
    return condition === undefined ? [] : [{ test, condition }];
  });
  const errors = rowTests.filter(({ test }) => test.severity === 'error');
  const perFile = await countPerFile(
    connection,
    table,
    loaded,
    errors.map(({ condition }) => condition),
  );
  for (const file of loaded) {
    const counts = perFile.get(file.uri) ?? [];
    const index = counts.findIndex((count) => count > 0);
    const failing = errors[index];
    if (failing) await refuse(file, failing.test, counts[index] as number, failing.condition);
  }
  // tests over many rows (unique, relationships), file by file
  const wholeFileTests = source.tests.filter((test) => failingRowCondition(test) === undefined);
  for (const file of wholeFileTests.length === 0 ? [] : loaded) {
    const rows = `(select * from ${table} where _source_file = ${quotedString(file.uri)})`;
    const { results } = await runDataTests(connection, wholeFileTests, rows, (model) => relation('main', model));
    for (const result of results.filter((r) => r.status !== 'pass')) {
      const test = wholeFileTests.find((t) => t.id === result.id) as DataTest;
      if (result.status === 'fail') await refuse(file, test, result.failures);
      logger.warn({ source: source.name, uri: file.uri, test: test.id, failures: result.failures }, 'source test warns');
    }
  }
  // warn: the failing rows are set aside, one test after another, so a row is set aside once
  const setAside: SetAsideRows[] = [];
  const loadedUris = loaded.map((file) => quotedString(file.uri)).join(', ');
  const asJson = `{${source.columns.map((column) => `${quotedString(column.name)}: ${quotedIdentifier(column.name)}`).join(', ')}}`;
  for (const { test, condition } of rowTests.filter(({ test }) => test.severity === 'warn')) {
    const where = `_source_file in (${loadedUris}) and (${condition})`;
    await connection.run(
      `insert into ${REJECTED_ROWS_TABLE} (source, uri, test, column_name, row, run_at)
       select $source, _source_file, $test, $column, to_json(${asJson}), now()::timestamp from ${table} where ${where}`,
      { source: source.name, test: test.id, column: test.column ?? null },
    );
    const deleted = await connection.runAndReadAll(`delete from ${table} where ${where}`);
    const rows = Number(deleted.getRows()[0]?.[0] ?? 0);
    if (rows === 0) continue;
    logger.warn({ source: source.name, test: test.id, rows }, 'rows set aside');
    setAside.push({ test: test.id, ...(test.column ? { column: test.column } : {}), rows });
  }
  return setAside;
}

interface Provenance {
  readonly uri: string;
  readonly size: number;
  readonly etag: string;
  readonly rows: number;
  /** The file's first and last event time, for a source with an event_time. */
  readonly eventFrom: string | null;
  readonly eventTo: string | null;
  /** SHA-256 of the content when it was loaded; null for files loaded before checksums were kept. */
  readonly contentSha256: string | null;
}

/** The smallest window holding every file's range (files without event times have none). */
function spanningFiles(ranges: readonly { eventFrom: string | null; eventTo: string | null }[]): EventWindow | undefined {
  return spanningWindow(ranges.flatMap((r) => (r.eventFrom !== null && r.eventTo !== null ? [{ from: r.eventFrom, to: r.eventTo }] : [])));
}

/** What a source was last loaded with: its files, its version, and the contract its table carries. */
interface SeedState {
  readonly known: Map<string, Provenance>;
  readonly previousVersion: string | undefined;
  readonly exists: boolean;
  /** The contract the table was loaded with (its comment): a change reloads everything. */
  readonly contractComment: string;
}

/** One source's seed state: its files' provenance, its version and its table's contract. */
async function readSeedState(connection: DuckDBConnection, source: SourceTable): Promise<SeedState> {
  const known = await readProvenance(connection, source.name);
  const previousVersion = await readSourceVersion(connection, source.name);
  const comments = await tableComments(connection, `schema_name = $s and table_name = $t`, { s: source.schema, t: source.name });
  return seedStateOf(known, previousVersion, comments.get(`${source.schema}.${source.name}`));
}

/** A seed state from what was read; a table without a comment row does not exist. */
function seedStateOf(known: Map<string, Provenance>, previousVersion: string | undefined, comment: string | undefined): SeedState {
  return { known, previousVersion, exists: comment !== undefined, contractComment: comment ?? '' };
}

/** Every source's seed state in three reads, for a check of them all. */
async function readSeedStates(connection: DuckDBConnection): Promise<(source: SourceTable) => SeedState> {
  const files = await connection.runAndReadAll(
    `select source, uri, size, etag, rows, event_from::varchar as event_from, event_to::varchar as event_to, content_sha256
     from ${SOURCE_FILES_TABLE}`,
  );
  const provenance = new Map<string, Map<string, Provenance>>();
  for (const row of files.getRowObjectsJS()) {
    const known = provenance.get(String(row.source)) ?? new Map<string, Provenance>();
    known.set(String(row.uri), provenanceOf(row));
    provenance.set(String(row.source), known);
  }
  const versions = new Map(
    (await connection.runAndReadAll(`select source, version from ${SOURCE_VERSIONS_TABLE}`))
      .getRowObjectsJS()
      .map((row) => [String(row.source), String(row.version)]),
  );
  const comments = await tableComments(connection, 'true', {});
  return (source) =>
    seedStateOf(provenance.get(source.name) ?? new Map(), versions.get(source.name), comments.get(`${source.schema}.${source.name}`));
}

/** The lake's tables' comments, by `schema.table`, where the condition holds. */
async function tableComments(connection: DuckDBConnection, where: string, values: Record<string, string>): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(
    `select schema_name, table_name, comment from duckdb_tables() where database_name = current_database() and ${where}`,
    values,
  );
  return new Map(
    reader.getRowObjectsJS().map((row) => [`${String(row.schema_name)}.${String(row.table_name)}`, String(row.comment ?? '')]),
  );
}

function provenanceOf(row: Record<string, unknown>): Provenance {
  return {
    uri: String(row.uri),
    size: Number(row.size),
    etag: String(row.etag),
    rows: Number(row.rows),
    eventFrom: row.event_from === null ? null : String(row.event_from),
    eventTo: row.event_to === null ? null : String(row.event_to),
    contentSha256: row.content_sha256 === null ? null : String(row.content_sha256),
  };
}

async function readProvenance(connection: DuckDBConnection, source: string): Promise<Map<string, Provenance>> {
  const reader = await connection.runAndReadAll(
    `select uri, size, etag, rows, event_from::varchar as event_from, event_to::varchar as event_to, content_sha256
     from ${SOURCE_FILES_TABLE} where source = $source`,
    { source },
  );
  return new Map(reader.getRowObjectsJS().map((row) => [String(row.uri), provenanceOf(row)]));
}

export function createSeedActivities({ warehouse, storage, logger }: SeedDependencies) {
  /** The newest loaded_at_field against the run's logical date: fresh, or too old to warn or to go on. */
  async function checkFreshness(source: SourceTable, table: string, logicalDate: string): Promise<FreshnessResult> {
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
   * Bring raw.<source> up to date with the Parquet files at the source's location: new and replaced
   * files (by size and ETag) load their rows, removed files lose theirs, unchanged files are not
   * read (with `verify` they are hashed, and those whose content changed are reloaded). A full
   * refresh, a new source or a changed contract reloads everything. One transaction. With checkOnly,
   * a source with anything to load is left as it is, and undefined returned.
   */
  async function seed(
    { source, uri, fullRefresh = false, logicalDate, verify = false }: SeedSourceInput,
    checkOnly = false,
    state?: SeedState,
  ): Promise<SeedSourceResult | undefined> {
    const started = Date.now();
    const store = storage.forUri(uri);
    const { files, ignored } = await listSourceFiles(store, source, uri);
    if (files.length === 0) {
      const others = ignored.length > 0 ? ` (only ${ignored.join(', ')})` : '';
      throw new SourceDataError(`source ${source.name}: no ${fileKind(source)} files at ${uri}${others}`, source.name, uri);
    }
    const table = relation(source.schema, source.name);
    // a seed keeps every column of its file; a source the columns of its contract
    const columns = source.seed ? '*' : source.columns.map((column) => quotedIdentifier(column.name)).join(', ');
    // the contract: the columns and types, and the column tests (a changed bound or severity
    // checks every file again, not only the next new one)
    const columnList = source.columns.map((column) => `${column.name} ${column.dataType ?? ''}`).join(',');
    const contract = `${columnList}; tests ${createHash('sha256').update(JSON.stringify(source.tests)).digest('hex').slice(0, 16)}`;

    const outcome = await warehouse.transaction(async (connection) =>
      interruptOnCancel(connection, async () => {
        const { known, previousVersion, exists, contractComment } = state ?? (await readSeedState(connection, source));
        const reload = fullRefresh || !exists || contractComment !== contract;
        const identityChanged = (file: StoredObject) => {
          const previous = known.get(file.uri);
          return !previous || previous.etag !== file.etag || previous.size !== file.size;
        };
        // files hashed in this run, by URI: those verified, then those loaded
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
        const verification = { verified, differed: [...differed] };
        const listed = new Set(files.map((file) => file.uri));
        const removed = reload ? [] : [...known.keys()].filter((known) => !listed.has(known));
        if (checkOnly && (reload || toLoad.length > 0 || removed.length > 0)) return undefined;
        if (!reload && toLoad.length === 0 && removed.length === 0) {
          // a warehouse from before source versions gets one for the rows it already holds
          const version = previousVersion ?? randomUUID();
          if (previousVersion === undefined) await recordSourceVersion(connection, source.name, version);
          return {
            previousVersion,
            version,
            changed: false,
            loaded: [] as StoredObject[],
            removed,
            rowsByUri: new Map([...known].map(([k, v]) => [k, v.rows])),
            window: undefined,
            setAside: [] as SetAsideRows[],
            verification,
          };
        }

        const localPaths = await Promise.all(toLoad.map((file) => store.localPath(file)));
        // the loaded files are hashed one after another while DuckDB reads them
        const hashing = (async () => {
          for (const [index, file] of toLoad.entries()) {
            if (!checksums.has(file.uri)) checksums.set(file.uri, await contentChecksum(localPaths[index] as string));
          }
        })();
        // awaited before the provenance is written; an earlier failure must not leave it unhandled
        hashing.catch(() => undefined);
        for (const [index, file] of toLoad.entries()) {
          try {
            await checkContract(connection, source, file, localPaths[index] as string);
          } catch (err) {
            // a file replaced or deleted since it was listed: a retry lists the source again
            if (!(await store.stat(file.uri))) {
              throw new Error(`source ${source.name}: ${file.uri} disappeared while it was being seeded; retrying with a fresh listing`);
            }
            throw err;
          }
        }
        // one select per file, so each row remembers the URI it came from (not a local cache path)
        const perFile = toLoad.map(
          (file, index) =>
            `select ${columns}, ${quotedString(file.uri)} as _source_file from ${readFileSql(source, localPaths[index] as string)}`,
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
        // the numbers and column tests before the counts, so the counts are of the rows kept
        await checkFinite(connection, source, table, toLoad);
        // the event-time window first: a reading dated 1900 is named as that, not as a later test's failure
        const windowTest = eventTimeWindowTest(source, logicalDate ? new Date(logicalDate) : new Date());
        const tested = windowTest ? { ...source, tests: [windowTest, ...source.tests] } : source;
        const setAside = await checkSourceTests(connection, tested, table, toLoad, logger);
        const loadedUris = toLoad.map((file) => quotedString(file.uri));
        const eventRange = source.eventTime
          ? `min(${quotedIdentifier(source.eventTime)})::varchar as event_from, max(${quotedIdentifier(source.eventTime)})::varchar as event_to`
          : 'null as event_from, null as event_to';
        const counts =
          loadedUris.length === 0
            ? []
            : (
                await connection.runAndReadAll(
                  `select _source_file, count(*)::bigint as n, ${eventRange} from ${table} where _source_file in (${loadedUris.join(', ')}) group by all`,
                )
              ).getRowObjectsJS();
        const rowsByUri = new Map([...known].map(([k, v]) => [k, v.rows]));
        const rangeByUri = new Map([...known].map(([k, v]) => [k, { eventFrom: v.eventFrom, eventTo: v.eventTo }]));
        for (const file of toLoad) {
          rowsByUri.set(file.uri, 0);
          rangeByUri.set(file.uri, { eventFrom: null, eventTo: null });
        }
        for (const row of counts) {
          rowsByUri.set(String(row._source_file), Number(row.n));
          rangeByUri.set(String(row._source_file), {
            eventFrom: row.event_from === null ? null : String(row.event_from),
            eventTo: row.event_to === null ? null : String(row.event_to),
          });
        }
        // the event times whose rows changed: those of the files loaded, and those that replaced
        // or removed files held before; a full reload changed everything, so no window
        const window =
          reload || !source.eventTime
            ? undefined
            : spanningFiles([
                ...toLoad.map((file) => rangeByUri.get(file.uri) ?? { eventFrom: null, eventTo: null }),
                ...[...toLoad.map((file) => file.uri), ...removed].flatMap((uri) => {
                  const previous = known.get(uri);
                  return previous ? [previous] : [];
                }),
              ]);

        await hashing;
        await connection.run(`delete from ${SOURCE_FILES_TABLE} where source = $source`, { source: source.name });
        for (const file of files) {
          const range = rangeByUri.get(file.uri);
          await connection.run(
            `insert into ${SOURCE_FILES_TABLE} (source, uri, size, etag, rows, seeded_at, event_from, event_to, content_sha256)
                 values ($source, $uri, $size, $etag, $rows, now()::timestamp, $from::timestamp, $to::timestamp, $sha256)`,
            {
              source: source.name,
              uri: file.uri,
              size: file.size,
              etag: file.etag,
              rows: rowsByUri.get(file.uri) ?? 0,
              from: range?.eventFrom ?? null,
              to: range?.eventTo ?? null,
              sha256: checksums.get(file.uri) ?? known.get(file.uri)?.contentSha256 ?? null,
            },
          );
        }
        // the rows changed: models built from the old ones are out of date until rebuilt, whatever
        // becomes of this run (see workflows/up-to-date.ts)
        const version = randomUUID();
        await recordSourceVersion(connection, source.name, version);
        return { previousVersion, version, changed: true, loaded: toLoad, removed, rowsByUri, window, setAside, verification };
      }),
    );
    if (outcome === undefined) return undefined;
    const identities: SourceFileIdentity[] = files.map((file) => ({
      uri: file.uri,
      size: file.size,
      etag: file.etag,
      rows: outcome.rowsByUri.get(file.uri) ?? 0,
    }));
    const rows = identities.reduce((sum, file) => sum + file.rows, 0);
    const freshness = source.freshness && logicalDate ? await checkFreshness(source, table, logicalDate) : undefined;
    const { verification } = outcome;
    logger.info(
      {
        source: source.name,
        files: files.length,
        loaded: outcome.loaded.length,
        removed: outcome.removed.length,
        setAside: outcome.setAside.reduce((sum, entry) => sum + entry.rows, 0),
        ignored,
        ...(verify ? { verified: verification.verified, differed: verification.differed } : {}),
        rows,
      },
      'seeded source',
    );
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
      ignoredFiles: ignored,
      ...(verify ? { verifiedFiles: verification.verified, differedFiles: verification.differed } : {}),
      ...(outcome.window ? { window: outcome.window } : {}),
      ...(freshness ? { freshness } : {}),
      durationMs: Date.now() - started,
    };
  }

  return {
    /** A source's new, changed and removed files loaded into raw.<source> (see seed). */
    async seedSource(input: SeedSourceInput): Promise<SeedSourceResult> {
      return activityFrame(`seed ${input.source.name}`, async () => (await seed(input)) as SeedSourceResult);
    },

    /**
     * Every source looked at in one activity: the result a seed would give for each source
     * with nothing to load, null for one that has (or that cannot be read: its seed says why). A run
     * with no new files seeds nothing, in one round trip instead of one a source.
     */
    async checkSources({ sources }: CheckSourcesInput): Promise<CheckSourcesResult> {
      return activityFrame('check sources', async () => {
        // what every source was loaded with, read once for all (should that fail, each source reads its own)
        const states = await warehouse.withConnection((connection) => readSeedStates(connection)).catch(() => undefined);
        const results: (SeedSourceResult | null)[] = [];
        for (const input of sources) {
          const state = states?.(input.source);
          results.push((await seed(input, true, state).catch(() => undefined)) ?? null);
        }
        return { results };
      });
    },
  };
}

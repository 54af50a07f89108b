// The checks of a seed's loaded rows: finite numbers, then the sources YAML's column tests (a failing
// error test refuses the file; a failing warn test keeps its rows, as dbt does, or sets them aside in
// meterflow.rejected_rows where its config asks: meta.meterflow.set_aside).
import type { DuckDBConnection } from '@duckdb/node-api';
import { SourceDataError } from '../errors';
import type { Logger } from '../logger';
import { describeTest, failingRowCondition, isFloatingType, nonFiniteCondition, testStatus } from '../project/data-tests';
import { keyedTable, type DataTest, type SourceTable } from '../project/types';
import type { StoredObject } from '../storage';
import { quotedIdentifier, quotedString, relation } from '../duckdb/sql';
import type { SetAsideRows } from '../contract/activities';
import { runDataTests } from '../warehouse/data-tests';
import { REJECTED_ROWS_TABLE } from '../warehouse/state-schema';

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

/** What one pass over the rows just loaded counted, per file: its rows, its event range, and the rows meeting each condition. */
export interface LoadedRowCounts {
  /** Per file URI; a file that loaded no row has none. */
  readonly perFile: ReadonlyMap<string, { rows: number; eventFrom: string | null; eventTo: string | null; meeting: number[] }>;
  /** The conditions counted, in the order of `meeting`. */
  readonly conditions: readonly string[];
}

/**
 * Every check's failing rows, each file's rows and its event range, in one pass over the rows just
 * loaded (a seed's checks and counts read them once, not once each).
 */
export async function countLoadedRows(
  connection: DuckDBConnection,
  source: SourceTable,
  table: string,
  loaded: readonly StoredObject[],
): Promise<LoadedRowCounts> {
  const conditions = [...new Set([...finiteChecks(source).map((check) => check.condition), ...rowTestsOf(source).map((t) => t.condition)])];
  if (loaded.length === 0) return { perFile: new Map(), conditions };
  const event = source.eventTime ? quotedIdentifier(source.eventTime) : undefined;
  const range = event ? `min(${event})::varchar as event_from, max(${event})::varchar as event_to` : 'null as event_from, null as event_to';
  const counts = conditions.map((condition, index) => `, count(*) filter (where ${condition})::bigint as ${quotedIdentifier(`c${index}`)}`);
  const reader = await connection.runAndReadAll(
    `select _source_file, count(*)::bigint as n, ${range}${counts.join('')} from ${table}
     where _source_file in (${loaded.map((file) => quotedString(file.uri)).join(', ')}) group by all`,
  );
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  const perFile = new Map(
    reader.getRowObjectsJS().map((row) => [
      String(row._source_file),
      {
        rows: Number(row.n),
        eventFrom: text(row.event_from),
        eventTo: text(row.event_to),
        meeting: conditions.map((_, index) => Number(row[`c${index}`])),
      },
    ]),
  );
  return { perFile, conditions };
}

/** Rows meeting a condition the pass counted, per file (0 for a file with no row). */
function meeting(counted: LoadedRowCounts, uri: string, condition: string): number {
  const index = counted.conditions.indexOf(condition);
  if (index < 0) throw new Error(`internal: condition not counted: ${condition}`);
  return counted.perFile.get(uri)?.meeting[index] ?? 0;
}

/** The floating-point columns of a source's contract, each with the condition its non-finite values meet. */
function finiteChecks(source: SourceTable): { column: string; condition: string }[] {
  return source.columns
    .filter((column) => column.dataType !== undefined && isFloatingType(column.dataType))
    .map((column) => ({ column: column.name, condition: nonFiniteCondition([column.name]) }));
}

/** A source's tests that judge rows one by one, each with the condition its failing rows meet. */
function rowTestsOf(source: SourceTable): { test: DataTest; condition: string }[] {
  return source.tests.flatMap((test) => {
    const condition = failingRowCondition(test);
    return condition === undefined ? [] : [{ test, condition }];
  });
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * Every floating-point column of the files just loaded holds finite numbers or NULL: NaN and
 * ±Infinity compare and average in ways no model expects, so the file is refused.
 */
export async function checkFinite(
  connection: DuckDBConnection,
  source: SourceTable,
  table: string,
  loaded: readonly StoredObject[],
  counted: LoadedRowCounts,
): Promise<void> {
  for (const file of loaded) {
    for (const { column, condition } of finiteChecks(source)) {
      const count = meeting(counted, file.uri, condition);
      if (count === 0) continue;
      const sample = await sampleRow(connection, source, table, file.uri, condition);
      throw new SourceDataError(
        `source ${source.name}: ${file.uri} column '${column}' holds ${plural(count, 'non-finite value', 'non-finite values')} (NaN or ±Infinity), e.g. ${sample}`,
        source.name,
        file.uri,
      );
    }
  }
}

/** A refusal's last words: the test by its id and its failures over every file loaded (run_results.json reads them back). */
export const testNamed = (test: DataTest, failures: number) => ` (data test ${test.id}: ${plural(failures, 'failure', 'failures')})`;

/**
 * The column tests of a source on the rows of the files just loaded. A failing `error` test refuses
 * the file; a failing `warn` test keeps the rows and is counted (`kept`), unless it judges rows one by
 * one and asks (meta.meterflow.set_aside): then those rows move out of raw into the rejected rows.
 */
export async function checkSourceTests(
  connection: DuckDBConnection,
  source: SourceTable,
  table: string,
  loaded: readonly StoredObject[],
  logger: Logger,
  counted: LoadedRowCounts,
): Promise<SetAsideRows[]> {
  if (source.tests.length === 0 || loaded.length === 0) return [];
  const refuse = async (file: StoredObject, test: DataTest, failures: number, total: number, condition?: string): Promise<never> => {
    const sample = condition ? `; e.g. ${await sampleRow(connection, source, table, file.uri, condition)}` : '';
    throw new SourceDataError(
      `source ${source.name}: ${file.uri} fails ${describeTest(test)}${test.column ? ` on column '${test.column}'` : ''} (${plural(failures, 'row', 'rows')})${sample}${testNamed(test, total)}`,
      source.name,
      file.uri,
    );
  };
  // the row tests, judged as dbt judges a test (severity, warn_if, error_if, limit) on the new rows'
  // failures: a failing one refuses the first file with such rows; a warning one keeps them, or sets
  // them aside where it asks (below)
  const setAside: SetAsideRows[] = [];
  const toSetAside: { test: DataTest; condition: string }[] = [];
  for (const { test, condition } of rowTestsOf(source)) {
    const failures = loaded.reduce((sum, file) => sum + meeting(counted, file.uri, condition), 0);
    const status = testStatus(test, test.limit === undefined ? failures : Math.min(failures, test.limit));
    if (status === 'fail') {
      const file = loaded.find((candidate) => meeting(counted, candidate.uri, condition) > 0) as StoredObject;
      await refuse(file, test, meeting(counted, file.uri, condition), failures, condition);
    }
    if (status !== 'warn') continue;
    if (test.severity === 'warn' && test.setAside === true) {
      toSetAside.push({ test, condition });
      continue;
    }
    logger.warn({ source: source.name, test: test.id, rows: failures }, 'source test warns');
    setAside.push({ test: test.id, ...(test.column ? { column: test.column } : {}), rows: failures, kept: true });
  }
  // tests over many rows (unique, relationships), over the whole table, its rows before and the new
  // ones, as dbt tests a source (a key in two files is a duplicate; until 2026-12-08 each file was
  // tested alone); not those that read a model, which run once the run has built it (SourceTable.afterModels)
  const afterModels = new Set(source.afterModels ?? []);
  const wholeTableTests = source.tests.filter((test) => failingRowCondition(test) === undefined && !afterModels.has(test.id));
  const { results } =
    wholeTableTests.length === 0
      ? { results: [] }
      : await runDataTests(connection, wholeTableTests, table, (ref) => {
          const to = keyedTable(source.testTables?.[ref] ?? ref);
          return relation(to.schema, to.name);
        });
  for (const result of results.filter((r) => r.status !== 'pass')) {
    const test = wholeTableTests.find((t) => t.id === result.id) as DataTest;
    const files = loaded.map((file) => file.uri).join(', ');
    if (result.status === 'fail') {
      throw new SourceDataError(
        `source ${source.name}: with ${files} loaded, it fails ${describeTest(test)}${test.column ? ` on column '${test.column}'` : ''} (${plural(result.failures, 'row', 'rows')})${testNamed(test, result.failures)}`,
        source.name,
        (loaded[0] as StoredObject).uri,
      );
    }
    logger.warn({ source: source.name, files, test: test.id, failures: result.failures }, 'source test warns');
    setAside.push({ test: test.id, ...(test.column ? { column: test.column } : {}), rows: result.failures, kept: true });
  }
  // a warning test that asks (meta.meterflow.set_aside): its rows set aside, one test after another,
  // so a row is set aside once
  const loadedUris = loaded.map((file) => quotedString(file.uri)).join(', ');
  const asJson = `{${source.columns.map((column) => `${quotedString(column.name)}: ${quotedIdentifier(column.name)}`).join(', ')}}`;
  for (const { test, condition } of toSetAside) {
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

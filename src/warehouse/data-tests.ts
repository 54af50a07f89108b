// Running data tests on a relation: each test's SQL counts failing rows; severity decides pass, warn or fail.
import type { DuckDBConnection } from '@duckdb/node-api';
import {
  failingRowCondition,
  failingRowsSql,
  failureCount,
  failuresOf,
  needsColumnTypes,
  noDuplicatesSql,
  testStatus,
} from '../project/data-tests';
import type { DataTest } from '../project/types';
import { SAMPLE_ROWS, type DataTestResult, type DataTestResults } from '../contract/activities';
import { passesByStatistics, type FileStatistics } from './file-statistics';

/** A run's working table of a model: its new version, or the new rows of an incremental one (build/model-sql.ts). */
const WORKING_TABLE = /"?__meterflow_pending_(\w+?)(__delta)?__[A-Za-z0-9]{1,16}(?!\w)"?/;

/**
 * A failed test's SQL as a person reads it: where it reads the run's new version of a model, a first
 * line says so, as a failed run drops that version (an operator probe ran the SQL and found no table).
 */
export function shownSql(sql: string): string {
  const working = WORKING_TABLE.exec(sql);
  if (!working) return sql;
  const what = working[2] ? `new rows of ${working[1]}` : `new version of ${working[1]}`;
  return `-- ${working[0]} is this run's ${what}, dropped when the run fails: its failing rows are the samples shown\n${sql}`;
}

/** A relation's columns and their DuckDB types, in order. */
export async function columnTypesOf(connection: DuckDBConnection, relation: string): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(`describe select * from ${relation}`);
  return new Map(reader.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
}

/**
 * Run data tests on a relation. With `statistics` (the relation is one file just written, and these
 * its column statistics), the tests they prove to pass are not run on the rows (file-statistics.ts).
 */
export async function runDataTests(
  connection: DuckDBConnection,
  tests: readonly DataTest[],
  relation: string,
  resolveRef: (model: string) => string,
  statistics?: FileStatistics,
): Promise<DataTestResults> {
  const results: DataTestResult[] = [];
  // all_finite finds the floating-point columns itself, so a new column is covered without a YAML edit
  const typed = tests.some(needsColumnTypes) || (statistics !== undefined && tests.some((test) => test.kind === 'accepted_range'));
  const columnTypes = typed ? await columnTypesOf(connection, relation) : undefined;
  const decided = new Set(statistics ? tests.filter((test) => passesByStatistics(test, statistics, columnTypes)) : []);
  // the tests that judge each row on its own are counted together, in one scan of the relation
  const rowTests = tests.flatMap((test) => {
    if (test.limit !== undefined || test.failCalc !== undefined || decided.has(test)) return [];
    const condition = failingRowCondition(test, columnTypes);
    return condition === undefined ? [] : [{ test, condition }];
  });
  const counted = new Map<DataTest, number>();
  if (rowTests.length > 1) {
    const counts = rowTests.map(({ test, condition }, i) => `${failureCount(test, condition)} as f${i}`).join(', ');
    const row = (await connection.runAndReadAll(`select ${counts} from ${relation}`)).getRows()[0] ?? [];
    rowTests.forEach(({ test }, i) => counted.set(test, Number(row[i] ?? 0)));
  }
  for (const test of tests) {
    if (decided.has(test)) {
      results.push({ id: test.id, severity: test.severity, failures: 0, status: testStatus(test, 0) });
      continue;
    }
    const sql = failingRowsSql(test, relation, resolveRef, columnTypes);
    // a uniqueness test first asks the cheaper question: is anything duplicated at all?
    const proof = test.failCalc === undefined ? noDuplicatesSql(test, relation) : undefined;
    const unique = proof !== undefined && Number((await connection.runAndReadAll(proof)).getRows()[0]?.[0] ?? 1) === 0;
    const failures = unique
      ? 0
      : (counted.get(test) ??
        Number(
          (
            await connection.runAndReadAll(
              `select ${failuresOf(test)} as failures from (${sql}${test.limit !== undefined ? ` limit ${test.limit}` : ''})`,
            )
          ).getRowObjectsJS()[0]?.failures ?? 0,
        ));
    const status = testStatus(test, failures);
    if (status === 'pass') {
      results.push({ id: test.id, severity: test.severity, failures, status });
      continue;
    }
    // what a person fixing it needs: the rows that fail and the SQL that finds them
    const samples = (await connection.runAndReadAll(`select * from (${sql}) limit ${SAMPLE_ROWS}`)).getRowObjectsJson();
    results.push({ id: test.id, severity: test.severity, failures, status, sql: shownSql(sql), samples });
  }
  return { results, rows: results.filter((r) => r.status !== 'pass').length };
}

// Running data tests: each test's SQL counts failing rows; severity decides pass, warn or fail.
import type { DuckDBConnection } from '@duckdb/node-api';
import { dataTestSql, needsColumnTypes } from '../project/data-tests';
import type { DataTest } from '../project/types';
import type { DataTestResult, DataTestResults } from '../contract/activities';

/** A relation's columns and their DuckDB types, in order. */
export async function columnTypesOf(connection: DuckDBConnection, relation: string): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(`describe select * from ${relation}`);
  return new Map(reader.getRowObjectsJS().map((row) => [String(row.column_name), String(row.column_type)]));
}

export async function runDataTests(
  connection: DuckDBConnection,
  tests: readonly DataTest[],
  relation: string,
  resolveRef: (model: string) => string,
): Promise<DataTestResults> {
  const results: DataTestResult[] = [];
  // all_finite finds the floating-point columns itself, so a new column is covered without a YAML edit
  const columnTypes = tests.some(needsColumnTypes) ? await columnTypesOf(connection, relation) : undefined;
  for (const test of tests) {
    const reader = await connection.runAndReadAll(dataTestSql(test, relation, resolveRef, columnTypes));
    const failures = Number(reader.getRowObjectsJS()[0]?.failures ?? 0);
    results.push({
      id: test.id,
      severity: test.severity,
      failures,
      status: failures === 0 ? 'pass' : test.severity === 'warn' ? 'warn' : 'fail',
    });
  }
  return { results, rows: results.filter((r) => r.status !== 'pass').length };
}

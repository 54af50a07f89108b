// Running data tests: each test's SQL counts failing rows; severity decides pass, warn or fail.
import type { DuckDBConnection } from '@duckdb/node-api';
import { dataTestSql } from '../project/data-tests';
import type { DataTest } from '../project/types';
import type { DataTestResult, DataTestResults } from './types';

export async function runDataTests(
  connection: DuckDBConnection,
  tests: readonly DataTest[],
  relation: string,
  resolveRef: (model: string) => string,
): Promise<DataTestResults> {
  const results: DataTestResult[] = [];
  for (const test of tests) {
    const reader = await connection.runAndReadAll(dataTestSql(test, relation, resolveRef));
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

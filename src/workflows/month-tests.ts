// A test run a month at a time: its months' results added up into the one result a person reads.
// Pure and deterministic, for workflow code.
import { SAMPLE_ROWS } from '../contract/activities';
import type { DataTestResult } from './activity-types';
import type { DataTest } from '../project/types';

/**
 * An accepted_values test's failures over several months: dbt counts the values not accepted, so a
 * value failing in two months is one failure. Exact where every failing month's samples hold all its
 * values (ten at most); undefined otherwise (the months' counts are added up then).
 */
function distinctValuesFailing(test: DataTest | undefined, failing: readonly DataTestResult[]): number | undefined {
  if (test?.kind !== 'accepted_values' || !test.column) return undefined;
  if (!failing.every((r) => (r.samples?.length ?? 0) === r.failures)) return undefined;
  // the sample's key is the column as the table spells it (DuckDB's case), which the YAML may not
  const wanted = test.column.toLowerCase();
  const valueOf = (sample: Readonly<Record<string, unknown>>) => {
    const key = Object.keys(sample).find((name) => name.toLowerCase() === wanted);
    return key === undefined ? undefined : JSON.stringify(sample[key] ?? null);
  };
  const values = failing.flatMap((r) => (r.samples ?? []).map(valueOf));
  return values.includes(undefined) ? undefined : new Set(values).size;
}

/**
 * One test's results over several months as one: the failures summed (an accepted_values test's
 * distinct values counted, given the test), the status they give, the first months' samples (up to
 * ten) and the SQL of the first failing month. Null when no month ran the test.
 */
export function mergeMonthResults(results: readonly (DataTestResult | null)[], test?: DataTest): DataTestResult | null {
  const ran = results.filter((r): r is DataTestResult => r !== null);
  const first = ran[0];
  if (!first) return null;
  const summed = ran.reduce((sum, r) => sum + r.failures, 0);
  if (summed === 0) return { id: first.id, severity: first.severity, failures: 0, status: 'pass' };
  const failing = ran.filter((r) => r.failures > 0);
  const failures = distinctValuesFailing(test, failing) ?? summed;
  const samples = failing.flatMap((r) => r.samples ?? []).slice(0, SAMPLE_ROWS);
  const sql = failing.find((r) => r.sql)?.sql;
  return {
    id: first.id,
    severity: first.severity,
    failures,
    status: first.severity === 'warn' ? 'warn' : 'fail',
    ...(sql ? { sql } : {}),
    ...(samples.length > 0 ? { samples } : {}),
  };
}

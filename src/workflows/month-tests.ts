// A test run a month at a time: its months' results added up into the one result a person reads.
// Pure and deterministic, for workflow code.
import { SAMPLE_ROWS } from '../contract/activities';
import type { DataTestResult } from './activity-types';

/**
 * One test's results over several months as one: the failures summed, the status they give, the first
 * months' samples (up to ten) and the SQL of the first failing month. Null when no month ran the test.
 */
export function mergeMonthResults(results: readonly (DataTestResult | null)[]): DataTestResult | null {
  const ran = results.filter((r): r is DataTestResult => r !== null);
  const first = ran[0];
  if (!first) return null;
  const failures = ran.reduce((sum, r) => sum + r.failures, 0);
  if (failures === 0) return { id: first.id, severity: first.severity, failures: 0, status: 'pass' };
  const failing = ran.filter((r) => r.failures > 0);
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

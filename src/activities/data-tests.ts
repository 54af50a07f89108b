// Data tests' outcomes in an activity: failed error-severity tests fail it, not retried (the tests
// themselves run in warehouse/data-tests.ts).
import { ApplicationFailure } from '@temporalio/common';
import { describeFailedTests, type DataTestFailure, type DataTestResults } from '../contract/activities';

/**
 * A test activity's outcome: returned when no error-severity test failed; otherwise the activity
 * fails, not retried, with every result (samples and SQL included) in the failure's details.
 */
export function failOnErrors(target: string, outcome: DataTestResults, extra: Pick<DataTestFailure, 'analytics'> = {}): DataTestResults {
  const failed = outcome.results.filter((r) => r.status === 'fail');
  if (failed.length === 0) return outcome;
  const details: DataTestFailure = { target, ...outcome, ...extra };
  throw ApplicationFailure.create({
    type: 'DataTestFailed',
    message: `data tests of ${target} failed: ${describeFailedTests(failed)}`,
    nonRetryable: true,
    details: [details],
  });
}

// The analytics activities: each a frame (heartbeats, cancellation, failure classification) around
// the analytics computation in src/analytics, which does the work; failed error-severity tests fail
// the activity here.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import type { WithPinnedReader } from '../duckdb/readers';
import type { DuckdbSettings } from '../duckdb/settings';
import { pinnedReaders } from '../warehouse/warehouse';
import * as analytics from '../analytics';
import { activityFrame, interruptOnCancel } from './context';
import { failOnErrors } from './data-tests';
import type { AnalyticsModelResult, DataTestResults, RunAnalyticsModelInput, TestAnalyticsResultInput } from '../contract/activities';

export interface AnalyticsDependencies {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
  /** The worker's attachments of pinned versions, shared with its report (one made here otherwise). */
  readonly withPinnedReader?: WithPinnedReader;
}

/** What the analytics computation works with: a cancelled activity interrupts its DuckDB work. */
function analyticsContext({ project, storage, logger, duckdb, withPinnedReader }: AnalyticsDependencies): analytics.AnalyticsContext {
  return {
    project,
    storage,
    logger,
    duckdb,
    withPinnedReader: withPinnedReader ?? pinnedReaders(duckdb),
    interruptible: interruptOnCancel,
  };
}

export function createAnalyticsActivities(deps: AnalyticsDependencies) {
  const context = analyticsContext(deps);
  return {
    /**
     * Run one analytics model over a snapshot, write its result to outputUri as Parquet and (with
     * `test`) run its YAML tests on its new version first (see analytics.runAnalyticsModel): a result
     * that fails them is not uploaded, and the activity fails with what it computed.
     */
    async runAnalyticsModel(input: RunAnalyticsModelInput): Promise<AnalyticsModelResult> {
      return activityFrame(`analytics model ${input.model}`, async () => {
        const result = await analytics.runAnalyticsModel(context, input);
        // failed error-severity tests fail the activity (red in the Web UI), with what it computed
        const { tests, ...computed } = result;
        if (tests) failOnErrors(input.model, tests, { analytics: computed });
        return result;
      });
    },
  };
}

export function createAnalyticsTestActivities(deps: AnalyticsDependencies) {
  const context = analyticsContext(deps);
  return {
    /**
     * Run an analytics model's YAML tests on its result file, before the writer loads it. Runs test
     * their results in runAnalyticsModel now; this stays for histories recorded before.
     */
    async testAnalyticsResult(input: TestAnalyticsResultInput): Promise<DataTestResults> {
      return activityFrame(`tests of ${input.model}`, async () =>
        failOnErrors(input.model, await analytics.testAnalyticsResult(context, input)),
      );
    },
  };
}

// The model activities on the writer: each a frame (heartbeats, cancellation, failure classification)
// around building in src/build, which does the work.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import type { Warehouse } from '../warehouse/warehouse';
import * as building from '../build';
import { activityFrame, interruptOnCancel } from './context';
import { failOnErrors } from './data-tests';
import { temporalOwners } from './housekeeping';
import type {
  BuildIdentity,
  BuildModelInput,
  BuildModelResult,
  CommitBuiltMonthsInput,
  DataTestResults,
  PlannedRun,
  PlanRunInput,
  PublishRunInput,
  PublishRunResult,
  RunSingularTestInput,
  TestModelInput,
} from '../contract/activities';

export interface ModelDependencies {
  readonly warehouse: Warehouse;
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

export function createModelActivities({ warehouse, project, storage, logger }: ModelDependencies) {
  // a cancelled activity interrupts its DuckDB work; a plan asks Temporal which runs still own leftovers
  const context: building.ModelContext = { warehouse, project, storage, logger, interruptible: interruptOnCancel, owners: temporalOwners };
  return {
    /** The project's DAG, the selection, and which models the warehouse holds out of date (see building.planRun). */
    async planRun(input: PlanRunInput): Promise<PlannedRun> {
      return activityFrame('plan', () => building.planRun(context, input));
    },

    /** One model's new version built beside the published one (see building.buildModel). */
    async buildModel(input: BuildModelInput): Promise<BuildModelResult> {
      return activityFrame(`model ${input.model}`, () => building.buildModel(context, input));
    },

    /** The files the build workers wrote, committed as this run's new version of a model (see building.commitBuiltMonths). */
    async commitBuiltMonths(input: CommitBuiltMonthsInput): Promise<BuildModelResult> {
      return activityFrame(`commit ${input.model}`, () => building.commitBuiltMonths(context, input));
    },

    /** Run a model's YAML tests on its new, not yet published version; failed error-severity tests fail it. */
    async testModel(input: TestModelInput): Promise<DataTestResults> {
      return activityFrame(`tests of ${input.model}`, async () => failOnErrors(input.model, await building.testModel(context, input)));
    },

    /**
     * Run a singular test (a SQL file under tests/ whose rows are failures) against the warehouse, on
     * this run's new versions of the models it refs.
     */
    async runSingularTest(input: RunSingularTestInput): Promise<DataTestResults> {
      return activityFrame(`test ${input.test}`, async () => {
        const result = await building.singularTest(context, input);
        return failOnErrors(input.test, { results: [result], rows: result.status === 'pass' ? 0 : 1 });
      });
    },

    /** Publish a run's models and analytics results in one transaction (see building.publishRun). */
    async publishRun(input: PublishRunInput): Promise<PublishRunResult> {
      return activityFrame('publish run', () => building.publishRun(context, input));
    },

    /** Drop this run's unpublished new versions (a failed or cancelled run leaves none behind). */
    async discardPending(input: BuildIdentity): Promise<{ dropped: number }> {
      return activityFrame('discard pending', () => building.discardPending(context, input));
    },
  };
}

// Per-month builds of the big models on the build queue: each activity a frame (heartbeats,
// cancellation, failure classification) around src/build/months.ts, which does the work. They commit
// nothing: the writer makes the run's files current in one commit (commitBuiltMonths).
import type {
  BuildModelInput,
  BuildMonthInput,
  BuildMonthResult,
  BuildMonthsPlan,
  DataTestResult,
  DataTestResults,
  RunSingularTestInput,
  TestBuiltModelInput,
  TestMonthInput,
} from '../contract/activities';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { DuckdbSettings } from '../duckdb/settings';
import * as building from '../build';
import { activityFrame, interruptOnCancel } from './context';
import { failOnErrors } from './data-tests';

export interface BuildDependencies {
  readonly project: LoadedProject;
  readonly logger: Logger;
  /** The build workers' DuckDB: bounded memory by default, like the writer's. */
  readonly duckdb: DuckdbSettings;
}

export function createBuildActivities({ project, logger, duckdb }: BuildDependencies) {
  // a cancelled activity interrupts its DuckDB work
  const context: building.MonthContext = { project, logger, duckdb, interruptible: interruptOnCancel };
  return {
    /** The months a model's build covers (see building.planBuildMonths). */
    async planBuildMonths(input: BuildModelInput): Promise<BuildMonthsPlan> {
      return activityFrame(`months of ${input.model}`, () => building.planBuildMonths(context, input));
    },

    /** The months a singular test over inputs that all have an event time reads (within the window, if any). */
    async planTestMonths(input: RunSingularTestInput): Promise<{ months: string[] }> {
      return activityFrame(`months of test ${input.test}`, () => building.planTestMonths(context, input));
    },

    /**
     * One month of a singular test, on a build worker (see building.testMonth). Returns its result, a
     * failing one included: the workflow adds up the months.
     */
    async testMonth(input: TestMonthInput): Promise<DataTestResult> {
      return activityFrame(`test ${input.test} month ${input.month}`, async () => {
        const result = await building.testMonth(context, input);
        // a month whose rows fail an error-severity test fails itself, red in the history, naming the
        // test, its failing rows and the month (failures up to then, in histories from before, were returned)
        return failOnErrors(`${input.test} for ${input.month}`, { results: [result], rows: result.status === 'pass' ? 0 : 1 })
          .results[0] as DataTestResult;
      });
    },

    /**
     * The tests of a model built in parts that no part decided alone, after the writer's commit (see
     * building.testBuiltModel); failed error-severity tests fail it.
     */
    async testBuiltModel(input: TestBuiltModelInput): Promise<DataTestResults> {
      return activityFrame(`tests of ${input.model}`, async () => failOnErrors(input.model, await building.testBuiltModel(context, input)));
    },

    /** One month of a model written to one Parquet file in the lake's data path (see building.buildMonth). */
    async buildMonth(input: BuildMonthInput): Promise<BuildMonthResult> {
      return activityFrame(`model ${input.model} month ${input.month}`, () => building.buildMonth(context, input));
    },
  };
}

// Building models, plainly: planning, building, testing and publishing them on the writer, per-month
// builds on build workers, pinning snapshots and maintaining the lake, with no Temporal in it.
export { uninterruptible, type Interruptible, type ModelContext } from './context';
export { planRun } from './plan';
export { buildModel } from './build-model';
export { commitBuiltMonths } from './commit-months';
export { singularTest, singularTestResult, testModel } from './model-tests';
export { testBuiltModel } from './built-model-tests';
export { discardPending, publishRun } from './publish';
export { buildMonth, planBuildMonths, planTestMonths, testMonth, type MonthContext } from './months';
export { pinSnapshot } from './snapshot';
export { maintainLake, type MaintenanceContext } from './maintenance';
export { UNKNOWN_OWNERS, type BuildOwners } from './housekeeping';

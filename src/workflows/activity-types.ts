// Types only: the workflow bundle must not pull in activity code (DuckDB, fs, the AWS SDK).
export type { AnalyticsActivities, BuildActivities, WriterActivities } from '../activities';
export type { ModelNode as ModelNodeLike } from '../project/types';
export type {
  AnalyticsModelResult,
  BuildMonthsPlan,
  DataTestFailure,
  DataTestResult,
  DataTestResults,
  EventWindow,
  MonthPart,
  PinnedSnapshot,
  PinSnapshotInput,
  PlannedRun,
  RenderReportInput,
  RunFailure,
  RunScope,
  SeedSourceResult,
  SourceFileRecord,
} from '../contract/activities';

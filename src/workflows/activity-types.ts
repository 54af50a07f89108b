// Types only: the workflow bundle must not pull in activity code (DuckDB, fs, the AWS SDK).
export type { AnalyticsActivities, DataTestResults, SourceFileRecord, WriterActivities } from '../activities';
export type { ModelNode as ModelNodeLike } from '../project/types';
export type { EventWindow } from '../contract/activities';

// Analytics models computed over the lake at a run's pinned version, with no Temporal in it: the
// analytics activities call it.
export { type AnalyticsContext } from './context';
export { analyticsModelSql, withPublishedRest } from './model-sql';
export { periodSpanOf, periodStartsOf } from '../build/periods';
export { runAnalyticsModel } from './run-model';
export { testAnalyticsResult } from './test-result';

// The periods an incremental analytics model recomputes, now in src/analytics/periods.ts.
// TODO(merge): activities/models.ts imports them from here; point it at '../analytics/periods' and drop this file.
export { periodSpanOf, periodStartsOf } from '../analytics/periods';

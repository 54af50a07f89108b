// The periods an incremental analytics model recomputes when the master changed over a window of
// settlement times: every period (day, ISO week, month) that holds a changed time. A week may
// straddle two months, so periods are taken in event time, never from the master's month folders.
import type { AnalyticsPeriod } from '../project/types';
import type { EventWindow } from '../contract/activities';
import { quotedIdentifier, quotedString } from '../duckdb/sql';

const periodStart = (period: AnalyticsPeriod, time: string) => `date_trunc('${period}', ${quotedString(time)}::timestamp)`;

/** SQL for "this period start is one of the periods holding the window" (a model's rows to replace). */
export function periodStartsOf(column: string, period: AnalyticsPeriod, window: EventWindow): string {
  return `${quotedIdentifier(column)} between ${periodStart(period, window.from)} and ${periodStart(period, window.to)}`;
}

/** SQL for "this settlement time lies in one of the periods holding the window" (the master's rows to read). */
export function periodSpanOf(column: string, period: AnalyticsPeriod, window: EventWindow): string {
  const time = quotedIdentifier(column);
  return `${time} >= ${periodStart(period, window.from)} and ${time} < ${periodStart(period, window.to)} + interval 1 ${period}`;
}

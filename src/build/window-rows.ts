// A model built over a window (a month, or a run's changed event times) replaces the window's rows:
// its new rows must all lie in the window, or they would sit beside rows no build replaces.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { EventWindow } from '../contract/activities';
import { quotedIdentifier } from '../duckdb/sql';
import { ModelBuildError } from '../errors';
import type { ModelNode } from '../project/types';
import type { ColumnStatistics } from '../warehouse/file-statistics';
import { inWindow } from './model-sql';

/** A time as DuckDB prints a DATE, TIMESTAMP (to the nanosecond) or UTC TIMESTAMPTZ; in this form text sorts as time does. */
const PRINTED_TIME = /^(\d{4}-\d{2}-\d{2})( \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)?(?:\+00(?::00)?)?$/;

/** `2024-02-01` → `2024-02-01 00:00:00`, the offset of UTC dropped; undefined for any other text. */
function comparableTime(text: string | undefined): string | undefined {
  const match = text === undefined ? null : PRINTED_TIME.exec(text);
  return match ? `${match[1]}${match[2] ?? ' 00:00:00'}` : undefined;
}

/**
 * Whether a written file's statistics of its event-time column show no NULL and every value within the
 * window, so that nothing need be read. Only a pass is decided so: anything else is read and counted.
 * (A value within the window's last microsecond, in nanoseconds, sorts after its end: read, and passed.)
 */
export function statisticsWithin(statistics: ColumnStatistics | undefined, window: EventWindow): boolean {
  const [least, greatest] = [comparableTime(statistics?.min), comparableTime(statistics?.max)];
  const [from, to] = [comparableTime(window.from), comparableTime(window.to)];
  if (statistics?.nullCount !== 0 || !least || !greatest || !from || !to) return false;
  return least >= from && greatest <= to;
}

/**
 * Refuse rows built over a window whose event time lies outside it, or is NULL. The window's rows are
 * computed from the inputs' rows within it and replace the window's rows: such a row (a week across
 * two months, a value carried from the month before) would be computed in part, or twice, and kept
 * beside the other window's. A file's statistics (`statistics`, of the event-time column) mostly answer it;
 * otherwise a scan of one column.
 * `rows` is a relation (`read_parquet(…)`, a table); `built` names them (`its rows for 2024-02`).
 */
export async function refuseRowsOutsideWindow(
  connection: DuckDBConnection,
  rows: string,
  model: ModelNode,
  built: string,
  window: EventWindow,
  statistics?: ColumnStatistics,
): Promise<void> {
  if (statisticsWithin(statistics, window)) return;
  const eventTime = model.eventTime as string;
  const time = quotedIdentifier(eventTime);
  const outside = `not ${inWindow(eventTime, window)}`;
  const counted = await connection.runAndReadAll(
    `select count(*) filter (where ${outside}) as outside, min(${time}) filter (where ${outside})::varchar as least,
            max(${time}) filter (where ${outside})::varchar as greatest, count(*) filter (where ${time} is null) as nulls
       from ${rows}`,
  );
  const [found] = counted.getRowObjectsJson();
  const [outsideRows, nulls] = [Number(found?.outside ?? 0), Number(found?.nulls ?? 0)];
  if (outsideRows === 0 && nulls === 0) return;
  const held = [
    ...(outsideRows > 0
      ? [`${outsideRows} row(s) whose ${eventTime} lies outside it (${String(found?.least)} to ${String(found?.greatest)})`]
      : []),
    ...(nulls > 0 ? [`${nulls} row(s) with no ${eventTime}`] : []),
  ];
  throw new ModelBuildError(
    `model ${model.name} (${model.file}), incremental with event_time '${eventTime}': ${built} (${window.from} to ${window.to}) ` +
      `include ${held.join(' and ')}. Rows built over a window of event times (a month, or a run's new readings) are computed from ` +
      `the inputs' rows within it and replace the window's rows, so such rows would be computed in part, or twice (a week across ` +
      `two months, a rolling window). Give the model an event_time in the window of the rows it is computed from, or build it ` +
      `whole: materialized='table', or no event_time.`,
    model.name,
    model.file,
  );
}

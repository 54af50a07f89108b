// A model built over a window (a month, or a run's changed event times) replaces the window's rows:
// its new rows must all lie in the window, or they would sit beside rows no build replaces.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { EventWindow } from '../contract/activities';
import { quotedIdentifier } from '../duckdb/sql';
import { ModelBuildError } from '../errors';
import type { ModelNode } from '../project/types';
import { inWindow } from './model-sql';

/**
 * Refuse rows built over a window whose event time lies outside it, or is NULL. The window's rows are
 * computed from the inputs' rows within it and replace the window's rows: such a row (a week across
 * two months, a value carried from the month before) would be computed in part, or twice, and kept
 * beside the other window's. A scan of one column, which a file's row groups mostly answer.
 * `rows` is a relation (`read_parquet(…)`, a table); `built` names them (`its rows for 2024-02`).
 */
export async function refuseRowsOutsideWindow(
  connection: DuckDBConnection,
  rows: string,
  model: ModelNode,
  built: string,
  window: EventWindow,
): Promise<void> {
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

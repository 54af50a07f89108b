// The window a source's event times must fall in (`meta.event_time_window` in its YAML, or the
// default), checked on every file as it is seeded: a reading dated 1900 or 2200 is refused (or set
// aside, with severity warn) naming its file and a sample row, before it can make a run plan
// thousands of months. Bounds are dates, or offsets from the run's logical date, so that no year is
// written into the project.
import { ProjectError } from '../errors';
import type { DataTest, EventTimeWindow, Severity, WindowBound } from './types';

type OffsetUnit = 'day' | 'month' | 'year';

/** Where a source declares none: fifty years before the run's logical date to five years after. */
export const DEFAULT_EVENT_TIME_WINDOW: EventTimeWindow = {
  from: { offset: { amount: -50, unit: 'year' } },
  to: { offset: { amount: 5, unit: 'year' } },
  severity: 'error',
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?$/;
const OFFSET = /^logical_date\s*([+-])\s*(\d+)\s*(day|month|year)s?$/;

function parseBound(value: unknown, name: 'from' | 'to', where: string): WindowBound {
  const text = typeof value === 'string' ? value.trim() : value instanceof Date ? value.toISOString() : undefined;
  if (text !== undefined && ISO_DATE.test(text) && !Number.isNaN(Date.parse(text))) return { at: text };
  const offset = text === undefined ? null : OFFSET.exec(text);
  if (offset) {
    const amount = Number(offset[2]) * (offset[1] === '-' ? -1 : 1);
    return { offset: { amount, unit: offset[3] as OffsetUnit } };
  }
  throw new ProjectError(
    `${where}: event_time_window.${name} must be a date (2015-01-01) or an offset from the run's logical date (logical_date - 20 years), not ${JSON.stringify(value)}`,
  );
}

/**
 * `meta.event_time_window` of a source table: `{from, to, severity}`, each bound optional (the
 * default's in its place); undefined when the source has no event_time.
 */
export function parseEventTimeWindow(value: unknown, eventTime: string | undefined, where: string): EventTimeWindow | undefined {
  if (value === undefined || value === null) return eventTime === undefined ? undefined : DEFAULT_EVENT_TIME_WINDOW;
  if (eventTime === undefined)
    throw new ProjectError(`${where}: event_time_window needs the source's config.event_time (the column it bounds)`);
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ProjectError(`${where}: event_time_window must be a mapping with from, to and severity`);
  const { from, to, severity, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ProjectError(`${where}: event_time_window takes from, to and severity, not ${unknown.join(', ')}`);
  if (severity !== undefined && severity !== 'error' && severity !== 'warn')
    throw new ProjectError(`${where}: event_time_window.severity must be error or warn, not ${JSON.stringify(severity)}`);
  return {
    from: from === undefined ? DEFAULT_EVENT_TIME_WINDOW.from : parseBound(from, 'from', where),
    to: to === undefined ? DEFAULT_EVENT_TIME_WINDOW.to : parseBound(to, 'to', where),
    severity: (severity as Severity | undefined) ?? 'error',
  };
}

/** A bound as an ISO timestamp (UTC), for a run whose logical date is given. */
export function boundAt(bound: WindowBound, logicalDate: Date): string {
  if ('at' in bound) return new Date(/Z$|T.*[+-]\d{2}:?\d{2}$/.test(bound.at) ? bound.at : `${bound.at.replace(' ', 'T')}Z`).toISOString();
  const date = new Date(logicalDate.getTime());
  const { amount, unit } = bound.offset;
  if (unit === 'day') date.setUTCDate(date.getUTCDate() + amount);
  if (unit === 'month') date.setUTCMonth(date.getUTCMonth() + amount);
  if (unit === 'year') date.setUTCFullYear(date.getUTCFullYear() + amount);
  return date.toISOString();
}

/** The window as a column test of the source, run with its other column tests on each new file. */
export function eventTimeWindowTest(
  source: { readonly name: string; readonly eventTime?: string; readonly eventTimeWindow?: EventTimeWindow },
  logicalDate: Date,
): DataTest | undefined {
  const window = source.eventTimeWindow;
  if (window === undefined || source.eventTime === undefined) return undefined;
  return {
    id: `event_time_window_${source.name}`,
    kind: 'event_time_window',
    target: source.name,
    column: source.eventTime,
    severity: window.severity,
    // meterflow's own check, not a dbt test: a warn window keeps its readings out of the build (they
    // would fan a model out over their months), set aside in meterflow.rejected_rows
    ...(window.severity === 'warn' ? { setAside: true } : {}),
    args: { from: boundAt(window.from, logicalDate), to: boundAt(window.to, logicalDate) },
  };
}

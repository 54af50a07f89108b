// Windows of event times (`YYYY-MM-DD HH:MM:SS`, which sort as text): pure, for workflow and activities alike.
import type { EventWindow } from './activities';

/** The smallest window holding all the given ones; undefined when there are none. */
export function spanningWindow(windows: readonly EventWindow[]): EventWindow | undefined {
  if (windows.length === 0) return undefined;
  return {
    from: windows.map((w) => w.from).reduce((a, b) => (b < a ? b : a)),
    to: windows.map((w) => w.to).reduce((a, b) => (b > a ? b : a)),
  };
}

/** `YYYY-MM-DD HH:MM:SS` from an ISO 8601 instant: the form SQL models get the logical date in (var `logical_date`). */
export function sqlTimestamp(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}

/** The months (`YYYY-MM`) from the one holding `from` to the one holding `to`, both included. */
export function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let year = Number(from.slice(0, 4));
  let month = Number(from.slice(5, 7));
  const last = to.slice(0, 7);
  for (;;) {
    const current = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
    if (current > last) return months;
    months.push(current);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
}

/**
 * A month's event times (`YYYY-MM`) as a window, both ends included (to the last microsecond), within
 * `window` when one is given; undefined when the two do not meet.
 */
export function monthWindow(month: string, window?: EventWindow): EventWindow | undefined {
  const year = Number(month.slice(0, 4));
  const index = Number(month.slice(5, 7));
  const lastDay = new Date(Date.UTC(year, index, 0)).getUTCDate();
  const whole = { from: `${month}-01 00:00:00`, to: `${month}-${String(lastDay).padStart(2, '0')} 23:59:59.999999` };
  if (!window) return whole;
  const from = window.from > whole.from ? window.from : whole.from;
  const to = window.to < whole.to ? window.to : whole.to;
  return from <= to ? { from, to } : undefined;
}

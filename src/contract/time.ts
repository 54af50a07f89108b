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

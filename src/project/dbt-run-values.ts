// dbt's values of a run in templates: `run_started_at` (a datetime, printed as Python prints one),
// `invocation_id`, `project_name` and `schema`. The run's values come from its vars (every worker
// renders the same); where a project is only read, placeholders stand in, as at dbt's parse.
import { INVOCATION_ID_VAR, RUN_STARTED_AT_VAR } from './types';
import { pyStr } from './jinja-python';

const two = (n: number) => String(n).padStart(2, '0');
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A UTC instant as Python's `datetime` with `tzinfo=timezone.utc`: str(), strftime(), isoformat() and its fields. */
export class PyDatetime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly microsecond: number;

  constructor(private readonly at: Date) {
    this.year = at.getUTCFullYear();
    this.month = at.getUTCMonth() + 1;
    this.day = at.getUTCDate();
    this.hour = at.getUTCHours();
    this.minute = at.getUTCMinutes();
    this.second = at.getUTCSeconds();
    this.microsecond = at.getUTCMilliseconds() * 1000;
  }

  /** Python's isoformat(sep): microseconds only when not zero, and the offset `+00:00`. */
  isoformat(sep: unknown = 'T'): string {
    const fraction = this.microsecond === 0 ? '' : `.${String(this.microsecond).padStart(6, '0')}`;
    return `${this.year}-${two(this.month)}-${two(this.day)}${pyStr(sep)}${two(this.hour)}:${two(this.minute)}:${two(this.second)}${fraction}+00:00`;
  }

  toString(): string {
    return this.isoformat(' ');
  }

  /** Python's strftime, for the directives SQL templates use; any other is refused. */
  strftime(format: unknown): string {
    const day = this.at.getUTCDay();
    const dayOfYear = Math.floor((Date.UTC(this.year, this.month - 1, this.day) - Date.UTC(this.year, 0, 1)) / 86_400_000) + 1;
    const directives: Record<string, string> = {
      Y: String(this.year),
      y: two(this.year % 100),
      m: two(this.month),
      d: two(this.day),
      H: two(this.hour),
      M: two(this.minute),
      S: two(this.second),
      f: String(this.microsecond).padStart(6, '0'),
      j: String(dayOfYear).padStart(3, '0'),
      z: '+0000',
      Z: 'UTC',
      a: (DAYS[day] as string).slice(0, 3),
      A: DAYS[day] as string,
      b: (MONTHS[this.month - 1] as string).slice(0, 3),
      B: MONTHS[this.month - 1] as string,
      '%': '%',
    };
    return pyStr(format).replace(/%(.)/g, (_all, directive: string) => {
      const value = directives[directive];
      if (value === undefined) throw new Error(`strftime: %${directive} is not supported`);
      return value;
    });
  }

  timestamp(): number {
    return this.at.getTime() / 1000;
  }
}

/** Placeholders where a project is read, not run: dbt's parse has such values too. */
const READ_ONLY_START = '1970-01-01T00:00:00.000Z';
const READ_ONLY_INVOCATION = '00000000-0000-0000-0000-000000000000';

/**
 * The run's values for a template: read from its vars (`used` records those the template mentions, so
 * that a model printing the run's start is rebuilt on every run, as its SQL changes).
 */
export function dbtRunValues(
  vars: Readonly<Record<string, unknown>>,
  template: string,
  used: Record<string, unknown>,
): { run_started_at: PyDatetime; invocation_id: string } {
  const started = typeof vars[RUN_STARTED_AT_VAR] === 'string' ? (vars[RUN_STARTED_AT_VAR] as string) : READ_ONLY_START;
  const invocation = typeof vars[INVOCATION_ID_VAR] === 'string' ? (vars[INVOCATION_ID_VAR] as string) : READ_ONLY_INVOCATION;
  if (template.includes('run_started_at')) used[RUN_STARTED_AT_VAR] = started;
  if (template.includes('invocation_id')) used[INVOCATION_ID_VAR] = invocation;
  return { run_started_at: new PyDatetime(new Date(started)), invocation_id: invocation };
}

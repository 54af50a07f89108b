// Python's datetime for templates: dbt's `modules.datetime` (date, datetime, timedelta, with their
// str(), strftime, strptime, isoformat, fields and arithmetic) and `run_started_at`. Every value is
// UTC; a template's "now" (`datetime.now()`, `date.today()`) is the run's start, the same on every
// worker of the run, where dbt reads the clock once for its one process.
import { escapeRegExp } from './fnmatch';
import { pyFloat, PyFloat, pyStr, splitCall } from './jinja-python';

const MS_PER_DAY = 86_400_000;
const two = (n: number) => String(n).padStart(2, '0');
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

class DatetimeError extends Error {}
const fail = (message: string): never => {
  throw new DatetimeError(message);
};

/** A number (an int, a float, a whole float boxed), or undefined for anything else. */
const plainNumber = (value: unknown): number | undefined => {
  const plain = value instanceof PyFloat ? value.value : value;
  return typeof plain === 'number' && Number.isFinite(plain) ? plain : undefined;
};

/** A timedelta of these milliseconds; a fraction of one is refused, as meterflow keeps no microseconds (Python would). */
function wholeMs(ms: number): PyTimedelta {
  const whole = Math.round(ms);
  if (Math.abs(ms - whole) > 1e-6) fail(`a timedelta of ${ms / 1000} seconds: meterflow keeps timedeltas to the millisecond`);
  return new PyTimedelta(whole);
}

/** Python's timedelta: a span of milliseconds (microseconds below a millisecond are not kept). */
export class PyTimedelta {
  constructor(readonly ms: number) {}
  get days(): number {
    return Math.floor(this.ms / MS_PER_DAY);
  }
  get seconds(): number {
    return Math.floor((this.ms - this.days * MS_PER_DAY) / 1000);
  }
  total_seconds(): number {
    return this.ms / 1000;
  }
  valueOf(): number {
    return this.ms;
  }
  /** `1 day, 2:03:04`, `-1 day, 23:00:00`, `0:00:00.500000`, as Python prints one. */
  toString(): string {
    const rest = this.ms - this.days * MS_PER_DAY;
    const clock = `${Math.floor(rest / 3_600_000)}:${two(Math.floor(rest / 60_000) % 60)}:${two(Math.floor(rest / 1000) % 60)}`;
    const fraction = rest % 1000 === 0 ? '' : `.${String((rest % 1000) * 1000).padStart(6, '0')}`;
    const days = this.days === 0 ? '' : `${this.days} day${Math.abs(this.days) === 1 ? '' : 's'}, `;
    return `${days}${clock}${fraction}`;
  }
  __add__(other: unknown): unknown {
    return other instanceof PyTimedelta ? new PyTimedelta(this.ms + other.ms) : undefined;
  }
  __sub__(other: unknown): unknown {
    return other instanceof PyTimedelta ? new PyTimedelta(this.ms - other.ms) : undefined;
  }
  __eq__(other: unknown): boolean {
    return other instanceof PyTimedelta && other.ms === this.ms;
  }
  /** `timedelta * n` (and `n * timedelta`). */
  __mul__(other: unknown): unknown {
    const n = plainNumber(other);
    return n === undefined ? undefined : wholeMs(this.ms * n);
  }
  __rmul__(other: unknown): unknown {
    return this.__mul__(other);
  }
  /** `timedelta / n` a timedelta, `timedelta / timedelta` a float. */
  __truediv__(other: unknown): unknown {
    if (other instanceof PyTimedelta) return other.ms === 0 ? fail('division by zero') : pyFloat(this.ms / other.ms);
    const n = plainNumber(other);
    if (n === undefined) return undefined;
    return n === 0 ? fail('division by zero') : wholeMs(this.ms / n);
  }
}

/** What date and datetime share: an instant in UTC, its fields, strftime, arithmetic with a timedelta. */
abstract class PyInstant {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  constructor(protected readonly at: Date) {
    if (Number.isNaN(at.getTime())) fail('date value out of range');
    this.year = at.getUTCFullYear();
    this.month = at.getUTCMonth() + 1;
    this.day = at.getUTCDate();
  }
  protected abstract shifted(ms: number): PyInstant;
  valueOf(): number {
    return this.at.getTime();
  }
  /** Monday 0 to Sunday 6, as Python counts. */
  weekday(): number {
    return (this.at.getUTCDay() + 6) % 7;
  }
  isoweekday(): number {
    return this.weekday() + 1;
  }
  strftime(format: unknown): string {
    const at = this.at;
    const dayOfYear = Math.floor((Date.UTC(this.year, this.month - 1, this.day) - Date.UTC(this.year, 0, 1)) / MS_PER_DAY) + 1;
    const directives: Record<string, string> = {
      Y: String(this.year),
      y: two(this.year % 100),
      m: two(this.month),
      d: two(this.day),
      H: two(at.getUTCHours()),
      M: two(at.getUTCMinutes()),
      S: two(at.getUTCSeconds()),
      f: String(at.getUTCMilliseconds() * 1000).padStart(6, '0'),
      j: String(dayOfYear).padStart(3, '0'),
      a: (DAYS[this.weekday()] as string).slice(0, 3),
      A: DAYS[this.weekday()] as string,
      b: (MONTHS[this.month - 1] as string).slice(0, 3),
      B: MONTHS[this.month - 1] as string,
      w: String((this.weekday() + 1) % 7),
      '%': '%',
      ...this.zone(),
    };
    return pyStr(format).replace(
      /%(.)/g,
      (_all, directive: string) => directives[directive] ?? fail(`strftime: %${directive} is not supported`),
    );
  }
  protected zone(): Record<string, string> {
    return { z: '', Z: '' };
  }
  __add__(other: unknown): unknown {
    return other instanceof PyTimedelta ? this.shifted(other.ms) : undefined;
  }
  __radd__(other: unknown): unknown {
    return this.__add__(other);
  }
  __sub__(other: unknown): unknown {
    if (other instanceof PyTimedelta) return this.shifted(-other.ms);
    if (other instanceof PyInstant && other.constructor === this.constructor) return new PyTimedelta(this.valueOf() - other.valueOf());
    return undefined;
  }
  __eq__(other: unknown): boolean {
    return other instanceof PyInstant && other.constructor === this.constructor && other.valueOf() === this.valueOf();
  }
}

export class PyDate extends PyInstant {
  constructor(year: unknown, month: unknown, day: unknown) {
    super(new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))));
    if (this.month !== Number(month) || this.day !== Number(day)) fail('day is out of range for month');
  }
  protected shifted(ms: number): PyDate {
    const at = new Date(this.valueOf() + Math.floor(ms / MS_PER_DAY) * MS_PER_DAY);
    return new PyDate(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate());
  }
  isoformat(): string {
    return `${String(this.year).padStart(4, '0')}-${two(this.month)}-${two(this.day)}`;
  }
  toString(): string {
    return this.isoformat();
  }
  replace(...args: unknown[]): PyDate {
    const { keywords } = splitCall(args);
    return new PyDate(keywords.year ?? this.year, keywords.month ?? this.month, keywords.day ?? this.day);
  }
}

/** A datetime in UTC; `aware`: with its offset, `+00:00` (run_started_at), else naive, as datetime(…) makes one. */
export class PyDatetime extends PyInstant {
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly microsecond: number;
  constructor(
    at: Date,
    readonly aware = false,
  ) {
    super(at);
    this.hour = at.getUTCHours();
    this.minute = at.getUTCMinutes();
    this.second = at.getUTCSeconds();
    this.microsecond = at.getUTCMilliseconds() * 1000;
  }
  protected shifted(ms: number): PyDatetime {
    return new PyDatetime(new Date(this.valueOf() + ms), this.aware);
  }
  protected override zone(): Record<string, string> {
    return this.aware ? { z: '+0000', Z: 'UTC' } : { z: '', Z: '' };
  }
  /** Python's isoformat(sep): microseconds only when not zero, the offset when aware. */
  isoformat(sep: unknown = 'T'): string {
    const fraction = this.microsecond === 0 ? '' : `.${String(this.microsecond).padStart(6, '0')}`;
    const date = `${String(this.year).padStart(4, '0')}-${two(this.month)}-${two(this.day)}`;
    return `${date}${pyStr(sep)}${two(this.hour)}:${two(this.minute)}:${two(this.second)}${fraction}${this.aware ? '+00:00' : ''}`;
  }
  toString(): string {
    return this.isoformat(' ');
  }
  date(): PyDate {
    return new PyDate(this.year, this.month, this.day);
  }
  timestamp(): number {
    return this.valueOf() / 1000;
  }
  replace(...args: unknown[]): PyDatetime {
    const { keywords: k } = splitCall(args);
    const field = (key: string, own: number) => Number(k[key] ?? own);
    const at = Date.UTC(
      field('year', this.year),
      field('month', this.month) - 1,
      field('day', this.day),
      field('hour', this.hour),
      field('minute', this.minute),
      field('second', this.second),
      Math.floor(field('microsecond', this.microsecond) / 1000),
    );
    return new PyDatetime(new Date(at), this.aware);
  }
}

const PARSED: Record<string, string> = {
  Y: '(\\d{4})',
  m: '(\\d{1,2})',
  d: '(\\d{1,2})',
  H: '(\\d{1,2})',
  M: '(\\d{1,2})',
  S: '(\\d{1,2})',
  f: '(\\d{1,6})',
  y: '(\\d{2})',
};

/** Python's datetime.strptime, for the numeric directives (%Y %y %m %d %H %M %S %f). */
function strptime(text: unknown, format: unknown): PyDatetime {
  const order: string[] = [];
  const escaped = escapeRegExp(pyStr(format));
  const source = escaped.replace(/%(.)/g, (_all, directive: string) => {
    if (directive === '%') return '%';
    const pattern = PARSED[directive] ?? fail(`strptime: %${directive} is not supported`);
    order.push(directive);
    return pattern;
  });
  const match = new RegExp(`^${source}$`).exec(pyStr(text)) ?? fail(`time data '${pyStr(text)}' does not match format '${pyStr(format)}'`);
  const value = (directive: string, fallback: number) => {
    const i = order.indexOf(directive);
    return i < 0 ? fallback : Number(match[i + 1]);
  };
  const year = order.includes('y') ? 2000 + value('y', 0) - (value('y', 0) >= 69 ? 100 : 0) : value('Y', 1900);
  const fraction = order.includes('f') ? Number((match[order.indexOf('f') + 1] ?? '').padEnd(6, '0')) : 0;
  const at = new Date(
    Date.UTC(year, value('m', 1) - 1, value('d', 1), value('H', 0), value('M', 0), value('S', 0), Math.floor(fraction / 1000)),
  );
  return new PyDatetime(at);
}

/** timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks), as Python's. */
const ISO_DATETIME = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d)(?::(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?)?(Z|[+-]\d\d:?\d\d)?$/;

/**
 * Python's datetime.fromisoformat: a date, a time to the microsecond, and an offset that makes it
 * aware. Every datetime here is UTC: an offset other than +00:00 is refused, naming it.
 */
function fromisoformat(text: unknown): PyDatetime {
  const iso = pyStr(text);
  const parts = ISO_DATETIME.exec(iso) ?? fail(`Invalid isoformat string: '${iso}'`);
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', offset] = parts;
  if (Number(hour) > 23) fail('hour must be in 0..23');
  if (Number(minute) > 59) fail('minute must be in 0..59');
  if (Number(second) > 59) fail('second must be in 0..59');
  if (/[1-9]/.test(fraction.slice(3))) fail(`datetime.fromisoformat('${iso}'): meterflow keeps datetimes to the millisecond`);
  if (offset !== undefined && !['Z', '+00:00', '+0000', '-00:00', '-0000'].includes(offset)) {
    fail(`datetime.fromisoformat('${iso}'): meterflow's datetimes are UTC, and ${offset} is another offset: give the time in UTC`);
  }
  const at = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const made = new PyDatetime(new Date(at + Math.floor(Number(fraction.padEnd(6, '0')) / 1000)), offset !== undefined);
  if (made.month !== Number(month) || made.day !== Number(day)) fail('day is out of range for month');
  return made;
}

function timedelta(...args: unknown[]): PyTimedelta {
  const { positional, keywords } = splitCall(args);
  const names = ['days', 'seconds', 'microseconds', 'milliseconds', 'minutes', 'hours', 'weeks'];
  const units = [MS_PER_DAY, 1000, 0.001, 1, 60_000, 3_600_000, 7 * MS_PER_DAY];
  const ms = names.reduce((sum, name, i) => sum + Number(positional[i] ?? keywords[name] ?? 0) * (units[i] as number), 0);
  return new PyTimedelta(Math.round(ms));
}

/** `modules.datetime`, its "now" the run's start. */
export function datetimeModule(runStart: Date): Record<string, unknown> {
  const now = () => new PyDatetime(runStart);
  const datetime = Object.assign(
    (...args: unknown[]) => {
      const { positional: p, keywords: k } = splitCall(args);
      const part = (i: number, name: string, fallback: number) => Number(p[i] ?? k[name] ?? fallback);
      const at = Date.UTC(
        part(0, 'year', 1),
        part(1, 'month', 1) - 1,
        part(2, 'day', 1),
        part(3, 'hour', 0),
        part(4, 'minute', 0),
        part(5, 'second', 0),
        Math.floor(part(6, 'microsecond', 0) / 1000),
      );
      const made = new PyDatetime(new Date(at));
      if (made.month !== part(1, 'month', 1) || made.day !== part(2, 'day', 1)) fail('day is out of range for month');
      return made;
    },
    {
      now,
      utcnow: now,
      today: now,
      strptime,
      fromisoformat,
    },
  );
  const date = Object.assign((year: unknown, month: unknown, day: unknown) => new PyDate(year, month, day), {
    today: () => now().date(),
    fromisoformat: (text: unknown) => {
      const [year, month, day] = pyStr(text).split('-');
      return new PyDate(year, month, day);
    },
  });
  return { datetime, date, timedelta };
}

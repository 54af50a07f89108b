// Python's values in templates written for dbt, where nunjucks has JavaScript's: how a value prints
// (`True`, `None`, `['a', 'b']`), what `==`, `+`, `*`, `%` and `in` do, and the methods of strings,
// lists and dicts (`'a-b'.replace('-', '_')` replaces every match, as Python's does). Each function
// here is what one Jinja operation does in dbt (Jinja2 on Python); jinja-semantics.ts wires them
// into nunjucks. test/fixtures/jinja/expected.json holds templates with what dbt renders for each.
import { floatRepr, formatValue, percentSpec } from './jinja-format';
import nunjucks from 'nunjucks';

const SafeString = (nunjucks.runtime as unknown as { SafeString: new (value: string) => object }).SafeString;

/**
 * A Python float whose value is whole (`2.0`, `4 / 2`, `'3' | float`). JavaScript has one number type,
 * so such a float would print as an int (`2`) and make SQL's `2.0` an integer: it is kept boxed, and
 * its arithmetic gives floats. A number with a fraction is a float already, and stays a plain number.
 */
export { floatRepr };

export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return floatRepr(this.value);
  }
  toJSON(): number {
    return this.value;
  }
}

/**
 * A number of a query's rows as dbt's agate table gives it: a Python Decimal, printed as Decimal
 * prints (`1.50` for DECIMAL(5,2), `1E+20` for a DOUBLE of 1e20), computed with as its number.
 */
export class PyDecimal extends PyFloat {
  constructor(
    value: number,
    readonly text: string,
  ) {
    super(value);
  }
  override toString(): string {
    return this.text;
  }
}

/** Python's str(Decimal(s)) of a number's text `s` (a float's repr, a DECIMAL's digits). */
export function decimalText(text: string): string {
  if (/^-?inf$/i.test(text)) return text.startsWith('-') ? '-Infinity' : 'Infinity';
  if (/^nan$/i.test(text)) return 'NaN';
  const match = /^(-?)(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
  if (!match) return text;
  const [, sign = '', whole = '', fraction = '', power = '0'] = match;
  const digits = `${whole}${fraction}`.replace(/^0+(?=\d)/, '');
  const exponent = Number(power) - fraction.length;
  const adjusted = exponent + digits.length - 1;
  if (exponent <= 0 && adjusted >= -6) {
    if (exponent === 0) return `${sign}${digits}`;
    const point = digits.length + exponent;
    return point > 0 ? `${sign}${digits.slice(0, point)}.${digits.slice(point)}` : `${sign}0.${'0'.repeat(-point)}${digits}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${mantissa}E${adjusted >= 0 ? '+' : '-'}${Math.abs(adjusted)}`;
}

/** A float result: boxed when whole (see PyFloat), a plain number otherwise. */
export const pyFloat = (value: number): number | PyFloat => (Number.isInteger(value) ? new PyFloat(value) : value);

/** Whether a value is a Python float: a boxed whole one, or a number with a fraction (or inf, nan). */
export const isFloat = (value: unknown): boolean => value instanceof PyFloat || (typeof value === 'number' && !Number.isInteger(value));

/** A macro's output (nunjucks' SafeString) as the string it is, a whole float as its number; other values as they are. */
export function unwrap(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  return value instanceof SafeString ? String(value) : value;
}

/** A value with every whole float in it (in lists and dicts too) a plain number, for meterflow's own code (config()). */
export function plainNumbers(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) return value.map(plainNumbers);
  if (isDict(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainNumbers(item)]));
  return value;
}

export const isDict = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

/** nunjucks passes keyword arguments as a trailing object flagged `__keywords`. */
export function splitCall(args: readonly unknown[]): { positional: unknown[]; keywords: Record<string, unknown> } {
  const last = args[args.length - 1];
  if (isDict(last) && last.__keywords === true) {
    const { __keywords: _flag, ...keywords } = last;
    return { positional: args.slice(0, -1), keywords };
  }
  return { positional: [...args], keywords: {} };
}

class JinjaTypeError extends Error {}
const typeError = (message: string): never => {
  throw new JinjaTypeError(message);
};

/** Python's name of a value's type, for the errors Python gives. */
function typeName(value: unknown): string {
  if (value instanceof PyFloat) return 'float';
  value = unwrap(value);
  if (value === null) return 'NoneType';
  if (value === undefined) return 'Undefined';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  return isDict(value) ? 'dict' : typeof value;
}

/** A number as Python prints it: an int's digits, a float's repr. */
function numberString(value: number): string {
  return Number.isInteger(value) ? String(value) : floatRepr(value);
}

/** Python's repr() of a string: single quotes unless it holds one and no double quote. */
function stringRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(new RegExp(quote, 'g'), `\\${quote}`);
  return `${quote}${escaped}${quote}`;
}

const TUPLE = Symbol('tuple');

/** A Python tuple: a list that prints as `(a, b)`, as `(a, b)`, `d.items()` and `zip()` give. */
export function pyTuple(items: unknown[]): unknown[] {
  Object.defineProperty(items, TUPLE, { value: true });
  return items;
}

/** Python's repr(): how a value prints inside a list or dict. */
export function pyRepr(value: unknown): string {
  if (value instanceof PyDecimal) return `Decimal('${value.text}')`;
  const plain = unwrap(value);
  return typeof plain === 'string' ? stringRepr(plain) : pyStr(value);
}

/** Python's str(): how `{{ value }}` and `~` print a value. */
export function pyStr(value: unknown): string {
  // (a Decimal of a query's rows prints as its text: PyDecimal)
  if (value instanceof PyFloat) return value.toString();
  const plain = unwrap(value);
  if (plain === undefined) return '';
  if (plain === null) return 'None';
  if (typeof plain === 'boolean') return plain ? 'True' : 'False';
  if (typeof plain === 'number') return numberString(plain);
  if (typeof plain === 'string') return plain;
  if (Array.isArray(plain) && TUPLE in plain) return plain.length === 1 ? `(${pyRepr(plain[0])},)` : `(${plain.map(pyRepr).join(', ')})`;
  if (Array.isArray(plain)) return `[${plain.map(pyRepr).join(', ')}]`;
  if (isDict(plain)) {
    return `{${Object.entries(plain)
      .map(([key, item]) => `${stringRepr(key)}: ${pyRepr(item)}`)
      .join(', ')}}`;
  }
  if (typeof plain === 'function') return '<function>';
  return String(plain);
}

/** Python's `==`: True equals 1, '5' does not equal 5, lists and dicts compare by content. */
export function pyEquals(left: unknown, right: unknown): boolean {
  const equal = dunder(left, '__eq__', right);
  if (equal !== undefined) return equal === true;
  const a = unwrap(left);
  const b = unwrap(right);
  const numeric = (v: unknown) => typeof v === 'number' || typeof v === 'boolean';
  if (numeric(a) && numeric(b)) return Number(a) === Number(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => pyEquals(item, b[i]));
  if (isDict(a) && isDict(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && pyEquals(a[key], b[key]));
  }
  return a === b;
}

/** A value as Jinja's `if` judges it: empty lists and dicts are false, as are '', 0, none and false. */
export function jinjaTruthy(input: unknown): boolean {
  const value = unwrap(input);
  if (Array.isArray(value)) return value.length > 0;
  if (isDict(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

const isNumeric = (v: unknown): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';

function unsupported(op: string, a: unknown, b: unknown): never {
  return typeError(`unsupported operand type(s) for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
}

/** A number from Python's arithmetic: a float when either operand was one, as in Python. */
const arithmetic = (left: unknown, right: unknown, result: number): number | PyFloat =>
  isFloat(left) || isFloat(right) ? pyFloat(result) : result;

/** Python's operator methods of a value meterflow models as a class (a date, a timedelta): `__add__` and the rest. */
function dunder(value: unknown, name: string, other: unknown): unknown {
  const method = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
  return typeof method === 'function' ? (method as (o: unknown) => unknown).call(value, other) : undefined;
}

/** Python's `+`: numbers add, strings and lists concatenate, a date and a timedelta shift; anything else is a TypeError. */
export function pyAdd(left: unknown, right: unknown): unknown {
  const added = dunder(left, '__add__', right) ?? dunder(right, '__radd__', left);
  if (added !== undefined) return added;
  const a = unwrap(left);
  const b = unwrap(right);
  if (isNumeric(a) && isNumeric(b)) return arithmetic(left, right, Number(a) + Number(b));
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  return unsupported('+', a, b);
}

/** Python's `*`: numbers multiply, a string or list times a whole number repeats, a timedelta scales. */
export function pyMul(left: unknown, right: unknown): unknown {
  const scaled = dunder(left, '__mul__', right) ?? dunder(right, '__rmul__', left);
  if (scaled !== undefined) return scaled;
  const a = unwrap(left);
  const b = unwrap(right);
  if (isNumeric(a) && isNumeric(b)) return arithmetic(left, right, Number(a) * Number(b));
  const repeat = (seq: unknown, times: unknown) => {
    const n = Math.max(0, Number(times));
    if (typeof seq === 'string') return seq.repeat(n);
    return Array.from({ length: n }, () => seq as unknown[]).flat();
  };
  if ((typeof a === 'string' || Array.isArray(a)) && typeof b === 'number' && Number.isInteger(b)) return repeat(a, b);
  if ((typeof b === 'string' || Array.isArray(b)) && typeof a === 'number' && Number.isInteger(a)) return repeat(b, a);
  return unsupported('*', a, b);
}

function numbers(op: string, left: unknown, right: unknown): [number, number] {
  const a = unwrap(left);
  const b = unwrap(right);
  if (!isNumeric(a) || !isNumeric(b)) unsupported(op, a, b);
  if (['/', '//', '%'].includes(op) && Number(b) === 0) typeError('division by zero');
  return [Number(a), Number(b)];
}

export const pySub = (a: unknown, b: unknown) =>
  dunder(a, '__sub__', b) ??
  arithmetic(
    a,
    b,
    numbers('-', a, b).reduce((x, y) => x - y),
  );
/** Python's `/`: always a float (`4 / 2` is `2.0`); a timedelta divides by a number or a timedelta. */
export const pyDiv = (a: unknown, b: unknown) => dunder(a, '__truediv__', b) ?? pyFloat(numbers('/', a, b).reduce((x, y) => x / y));

/** Python's `**`: a float when either operand is one, or when an int's exponent is negative (`2 ** -1` is `0.5`). */
export function pyPow(left: unknown, right: unknown): number | PyFloat {
  const [a, b] = numbers('**', left, right);
  if (a === 0 && b < 0) return typeError('0.0 cannot be raised to a negative power');
  const result = a ** b;
  return isFloat(left) || isFloat(right) || b < 0 ? pyFloat(result) : result;
}
export const pyFloorDiv = (a: unknown, b: unknown) => arithmetic(a, b, Math.floor(numbers('//', a, b).reduce((x, y) => x / y)));

/** Python's unary `-`: a float stays a float (`-2.0`). */
export function pyNeg(value: unknown): unknown {
  const plain = unwrap(value);
  if (!isNumeric(plain)) return typeError(`bad operand type for unary -: '${typeName(value)}'`);
  return value instanceof PyFloat ? new PyFloat(-value.value) : -Number(plain);
}

/** Python's `%`: a string formats its arguments (`'%s_%s' % (a, b)`); numbers take the divisor's sign. */
export function pyMod(left: unknown, right: unknown): unknown {
  const a = unwrap(left);
  if (typeof a === 'string') return percentFormat(a, right);
  const [x, y] = numbers('%', a, right);
  return arithmetic(left, right, x - y * Math.floor(x / y));
}

const PERCENT = /%(\(([^)]*)\))?([-+ 0#]*)(\d+)?(\.(\d+))?([sdiufFrxXoeEgGc%])/g;

/** printf-style formatting as Python's str % args does it, for the conversions SQL templates use. */
export function percentFormat(format: string, args: unknown): string {
  // (a tuple is the arguments; any other value, a list too, is the one argument)
  const values = Array.isArray(args) && TUPLE in args ? args : [args];
  let next = 0;
  return format.replace(
    PERCENT,
    (
      _all,
      _named,
      name: string | undefined,
      flags: string,
      width: string | undefined,
      _p: string | undefined,
      precision: string | undefined,
      kind: string,
    ) => {
      if (kind === '%') return '%';
      const value =
        name !== undefined && isDict(args)
          ? args[name]
          : next < values.length
            ? values[next++]
            : typeError('not enough arguments for format string');
      const plain = unwrap(value);
      if (kind === 's' || kind === 'r' || (kind === 'c' && typeof plain === 'string')) {
        return formatValue(
          kind === 'r' ? pyRepr(value) : pyStr(value),
          percentSpec(flags, width, kind === 'c' ? undefined : precision, 's'),
        );
      }
      const x = Number(plain);
      const whole = 'diuxXoc'.includes(kind);
      return formatValue(whole ? Math.trunc(x) : x, percentSpec(flags, width, precision, kind), !whole && isFloat(value));
    },
  );
}

/** Python's `in`: an item of a list (by ==), a substring of a string, a key of a dict. */
export function pyIn(needle: unknown, haystack: unknown): boolean {
  const item = unwrap(needle);
  const container = unwrap(haystack);
  if (Array.isArray(container)) return container.some((candidate) => pyEquals(candidate, item));
  if (typeof container === 'string') {
    return typeof item === 'string'
      ? container.includes(item)
      : typeError(`'in <string>' requires string as left operand, not ${typeName(item)}`);
  }
  if (isDict(container)) return typeof item === 'string' && Object.prototype.hasOwnProperty.call(container, item);
  return typeError(`argument of type '${typeName(container)}' is not iterable`);
}

/** A dict literal: keys are values (strings, or numbers as their text, since JavaScript keys are text). */
export function pyDict(pairs: [unknown, unknown][]): Record<string, unknown> {
  const dict: Record<string, unknown> = {};
  for (const [key, value] of pairs) dict[pyStr(key)] = value;
  return dict;
}

/** `x[start:stop:step]` on a list or string, as Python slices. */
export function pySlice(value: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  const plain = unwrap(value);
  if (!Array.isArray(plain) && typeof plain !== 'string') return typeError(`'${typeName(plain)}' object is not subscriptable`);
  const items: unknown[] = typeof plain === 'string' ? [...plain] : plain;
  const length = items.length;
  const by = step === null || step === undefined ? 1 : Number(step);
  if (by === 0) typeError('slice step cannot be zero');
  const clamp = (bound: unknown, fallback: number, low: number, high: number) => {
    if (bound === null || bound === undefined) return fallback;
    const n = Number(bound) < 0 ? Number(bound) + length : Number(bound);
    return Math.min(Math.max(n, low), high);
  };
  const from = by > 0 ? clamp(start, 0, 0, length) : clamp(start, length - 1, -1, length - 1);
  const to = by > 0 ? clamp(stop, length, 0, length) : clamp(stop, -1, -1, length - 1);
  const picked: unknown[] = [];
  for (let i = from; by > 0 ? i < to : i > to; i += by) picked.push(items[i]);
  return typeof plain === 'string' ? picked.join('') : picked;
}

/** `f(*items)`: the items of a list, tuple, string or dict (its keys) as positional arguments. */
export function pySpread(items: unknown): unknown[] {
  const walked = loopItems(items);
  if (Array.isArray(walked)) return walked;
  return typeError(`argument after * must be an iterable, not ${typeName(items)}`);
}

/** `f(**mapping)`: a dict's items as keyword arguments. */
export function pyKeywords(mapping: unknown): Record<string, unknown> {
  const plain = unwrap(mapping);
  if (isDict(plain)) return plain;
  return typeError(`argument after ** must be a mapping, not ${typeName(plain)}`);
}

/** `for x in items if cond`: the items the condition keeps, before the loop counts them (loop.last). */
export function loopFilter(items: unknown, keep: (item: unknown) => boolean): unknown[] {
  const walked = loopItems(items);
  return Array.isArray(walked) ? walked.filter(keep) : [];
}

/** What a for loop walks: a dict's keys and a string's characters, as in Python. */
export function loopItems(value: unknown): unknown {
  const plain = unwrap(value);
  if (isDict(plain)) return Object.keys(plain);
  if (typeof plain === 'string') return [...plain];
  if (plain !== null && typeof plain === 'object' && !Array.isArray(plain) && Symbol.iterator in plain)
    return Array.from(plain as Iterable<unknown>);
  return plain;
}

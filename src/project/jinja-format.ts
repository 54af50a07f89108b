// Python's format-spec mini-language, as `'{:>8.2f}'.format(x)` and `'%08.3f' % x` use it in dbt's
// (Python's) Jinja: fill and alignment, sign, `#`, zero padding, width, grouping, precision and the
// types b c d e E f F g G n o s x X %. It takes plain values (a string, a number, a boolean): the
// callers (jinja-python's `%`, jinja-methods' str.format) unwrap Jinja's values first.

/** A format spec, parsed: `[[fill]align][sign][#][0][width][,|_][.precision][type]`. */
interface FormatSpec {
  readonly fill: string;
  readonly align?: string;
  readonly sign: string;
  readonly alternate: boolean;
  readonly zero: boolean;
  readonly width: number;
  readonly grouping?: string;
  readonly precision?: number;
  readonly type?: string;
}

const SPEC = /^(?:([\s\S])?([<>=^]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/;

function parseSpec(spec: string): FormatSpec {
  const match = SPEC.exec(spec);
  if (!match) throw new Error(`Invalid format specifier '${spec}'`);
  const [, fill, align, sign, alternate, zero, width, grouping, precision, type] = match;
  return {
    fill: fill ?? (zero && !align ? '0' : ' '),
    ...(align ? { align } : zero ? { align: '=' } : {}),
    sign: sign ?? '-',
    alternate: alternate !== undefined,
    zero: zero !== undefined,
    width: Number(width ?? 0),
    ...(grouping ? { grouping } : {}),
    ...(precision !== undefined ? { precision: Number(precision) } : {}),
    ...(type ? { type } : {}),
  };
}

/**
 * Python's round(): to the nearest of the double's exact decimal value (2.675 is 2.67499…, so 2.67),
 * and a true half to the even neighbour (0.5 is 0, 1.5 is 2), as Jinja's 'common' method gives.
 */
export function roundHalfEven(value: number, precision: number): number {
  if (!Number.isFinite(value)) return value;
  const digits = Math.max(0, precision);
  const [whole = '0', fraction = ''] = Math.abs(value)
    .toFixed(Math.min(100, digits + 60))
    .split('.');
  let kept = BigInt(whole + fraction.slice(0, digits));
  const rest = fraction.slice(digits);
  const half = rest.startsWith('5') && !/[1-9]/.test(rest.slice(1));
  if (rest > '5' && !half) kept += 1n;
  else if (half && kept % 2n === 1n) kept += 1n;
  return Math.sign(value) * Number(`${kept}e-${digits}`);
}

/** A non-negative finite number with `digits` decimals, rounded as Python rounds (an exact half to even). */
const fixed = (x: number, digits: number) => roundHalfEven(x, digits).toFixed(Math.min(100, digits));

/** `1.234568e+04`: the exponent signed and of two digits at least. */
function exponential(x: number, digits: number, upper: boolean): string {
  const [mantissa = '', exponent = '0'] = x.toExponential(Math.min(100, digits)).split('e');
  const power = Number(exponent);
  const text = `${mantissa}e${power < 0 ? '-' : '+'}${String(Math.abs(power)).padStart(2, '0')}`;
  return upper ? text.toUpperCase() : text;
}

/** `g`: fixed or exponential by the exponent, trailing zeros dropped (kept with `#`). */
function general(x: number, precision: number, { alternate, type }: FormatSpec, atLeastOneDecimal = false): string {
  const digits = precision === 0 ? 1 : precision;
  const power = x === 0 ? 0 : Number(x.toExponential(digits - 1).split('e')[1]);
  let text = power >= -4 && power < digits ? fixed(x, digits - 1 - power) : exponential(x, digits - 1, type === 'G');
  if (!alternate) text = text.replace(/(\.\d*?)0+(?=$|e|E)/, '$1').replace(/\.(?=$|e|E)/, '');
  if (atLeastOneDecimal && /^\d+$/.test(text)) text += '.0';
  return text;
}

/** `1,234,567`: the whole part's digits grouped by three. */
const grouped = (digits: string, separator: string) => {
  const [whole = '', rest] = digits.split(/(?=[.eE%])/, 2) as [string, string | undefined];
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, separator) + (rest === undefined ? '' : digits.slice(whole.length));
};

/** A number's digits (no sign) as the spec's type writes them, with its prefix (`0x` with `#`). */
function numberBody(x: number, float: boolean, spec: FormatSpec): { body: string; prefix: string } {
  const { type, precision, alternate } = spec;
  if (!Number.isFinite(x)) {
    const text = Number.isNaN(x) ? 'nan' : 'inf';
    return { body: type !== undefined && 'EFG'.includes(type) ? text.toUpperCase() : text, prefix: '' };
  }
  const whole = () => {
    if (float) throw new Error(`Unknown format code '${type}' for object of type 'float'`);
    return x;
  };
  const radix = (base: number, mark: string) => ({ body: whole().toString(base), prefix: alternate ? mark : '' });
  switch (type) {
    case 'b':
      return radix(2, '0b');
    case 'o':
      return radix(8, '0o');
    case 'x':
      return radix(16, '0x');
    case 'X':
      return { body: whole().toString(16).toUpperCase(), prefix: alternate ? '0X' : '' };
    case 'd':
    case 'n':
      return { body: String(whole()), prefix: '' };
    case 'e':
    case 'E':
      return { body: exponential(x, precision ?? 6, type === 'E'), prefix: '' };
    case 'f':
    case 'F':
      return { body: fixed(x, precision ?? 6), prefix: '' };
    case 'g':
    case 'G':
      return { body: general(x, precision ?? 6, spec), prefix: '' };
    case '%':
      return { body: `${fixed(x * 100, precision ?? 6)}%`, prefix: '' };
    default:
      // none: an int's digits; a float's repr, or `g` keeping one decimal where a precision is given
      if (!float) return { body: String(x), prefix: '' };
      return { body: precision === undefined ? floatRepr(x) : general(x, precision, spec, true), prefix: '' };
  }
}

/** A float as Python's repr() prints it: `1e+16`, `1e-05`, `2.0`, `nan`, `-inf`. */
export function floatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  const fixed = String(value);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/** Text padded to the spec's width by its fill and alignment (`=`: after the sign and prefix). */
function padded(head: string, body: string, spec: FormatSpec, defaultAlign: string): string {
  const room = spec.width - head.length - body.length;
  if (room <= 0) return head + body;
  const fill = spec.fill.repeat(room);
  switch (spec.align ?? defaultAlign) {
    case '<':
      return head + body + fill;
    case '^':
      return spec.fill.repeat(Math.floor(room / 2)) + head + body + spec.fill.repeat(Math.ceil(room / 2));
    case '=':
      return head + fill + body;
    default:
      return fill + head + body;
  }
}

/**
 * A value formatted as Python's format(value, spec) formats it: `text` a string's (or a value's str()
 * where the spec has no type, or `s`), `x` a number's (`float`: whether Python holds it as a float).
 */
export function formatValue(value: string | number | boolean, spec: string, float = false): string {
  const parsed = parseSpec(spec);
  const { type } = parsed;
  if (type === 'c' && typeof value === 'number') return padded('', String.fromCodePoint(value), parsed, '<');
  if (typeof value === 'string' || (typeof value === 'boolean' && (type === undefined || type === 's'))) {
    if (type !== undefined && type !== 's') throw new Error(`Unknown format code '${type}' for object of type 'str'`);
    const text = typeof value === 'boolean' ? (value ? 'True' : 'False') : value;
    return padded('', parsed.precision === undefined ? text : text.slice(0, parsed.precision), parsed, '<');
  }
  if (type === 's') throw new Error(`Unknown format code 's' for object of type '${float ? 'float' : 'int'}'`);
  const x = Number(value);
  const { body, prefix } = numberBody(Math.abs(x), float, parsed);
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? '-' : parsed.sign === '-' ? '' : parsed.sign;
  const digits = parsed.grouping ? grouped(body, parsed.grouping) : body;
  return padded(sign + prefix, digits, parsed, '>');
}

/**
 * One `%` conversion (`%-8.2f`: its flags, width, precision and conversion) as a format spec:
 * printf's `-` is left alignment, `0` zero padding, and text is right-aligned unless `-`.
 */
export function percentSpec(flags: string, width: string | undefined, precision: string | undefined, kind: string): string {
  const align = flags.includes('-') ? '<' : flags.includes('0') && !'sr'.includes(kind) ? '' : '>';
  const sign = flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
  const zero = align === '' ? '0' : '';
  const type = 'diu'.includes(kind) ? 'd' : 'sr'.includes(kind) ? '' : kind;
  return `${align}${sign}${flags.includes('#') ? '#' : ''}${zero}${width ?? ''}${precision === undefined ? '' : `.${precision}`}${type}`;
}

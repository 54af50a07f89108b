// Jinja's filters, tests and globals as dbt has them, where nunjucks' differ or are missing: filters
// that take an attribute or a test (`selectattr('t', 'equalto', 'y')`, `map(attribute='name')`,
// `join(', ', attribute='name')`), `unique`, `min`, `max`, `tojson`, `items`, Python's `round`, and
// the names dbt adds to every template (`return`, `zip`, `set`, `fromjson`, `tojson`, `log`,
// `local_md5`, `fromyaml`, `toyaml`, `exceptions`, `True`/`False`/`None`).
import { createHash } from 'node:crypto';
import nunjucks from 'nunjucks';
import YAML from 'yaml';
import { parseDbtYaml } from './dbt-yaml';
import { roundHalfEven } from './jinja-format';
import { MODULES } from './jinja-modules';
import { relationKeyOf } from './jinja-relation';
import { stripChars } from './jinja-methods';
import { checkAttribute } from './jinja-sandbox';
import {
  floatRepr,
  isDict,
  isFloat,
  jinjaTruthy,
  pyEquals,
  pyFloat,
  PyFloat,
  pyIn,
  pyMod,
  pyStr,
  pyTuple,
  splitCall,
  unwrap,
} from './jinja-python';

type Filter = (...args: unknown[]) => unknown;
type Test = (value: unknown, ...args: unknown[]) => boolean;

/** An item's attribute, or a dotted path of them (`'a.b'`), as Jinja's attribute filters read it. */
function attributeOf(item: unknown, attribute: unknown): unknown {
  let value = unwrap(item);
  for (const part of String(attribute).split('.')) {
    if (value === null || value === undefined) return undefined;
    checkAttribute(value, part);
    value = /^\d+$/.test(part) && Array.isArray(value) ? value[Number(part)] : (value as Record<string, unknown>)[part];
  }
  return value;
}

const number = (value: unknown): boolean => typeof unwrap(value) === 'number' || typeof unwrap(value) === 'boolean';

/** Jinja's tests, by name (with their aliases), as dbt's templates use them. */
export const TESTS: Record<string, Test> = {
  defined: (value) => value !== undefined,
  undefined: (value) => value === undefined,
  none: (value) => value === null,
  boolean: (value) => typeof value === 'boolean',
  true: (value) => value === true,
  false: (value) => value === false,
  integer: (value) => typeof value === 'number' && Number.isInteger(value),
  float: (value) => isFloat(value),
  number,
  string: (value) => typeof unwrap(value) === 'string',
  // a relation (ref(), source(), this) is one too, as dbt's Relation is
  mapping: (value) => isDict(value) || relationKeyOf(value) !== undefined,
  sequence: (value) => Array.isArray(value) || typeof unwrap(value) === 'string' || isDict(value),
  iterable: (value) => Array.isArray(value) || typeof unwrap(value) === 'string' || isDict(value),
  callable: (value) => typeof value === 'function',
  in: (value, container) => pyIn(value, container),
  eq: (value, other) => pyEquals(value, other),
  ne: (value, other) => !pyEquals(value, other),
  lt: (value, other) => (unwrap(value) as number) < (unwrap(other) as number),
  le: (value, other) => (unwrap(value) as number) <= (unwrap(other) as number),
  gt: (value, other) => (unwrap(value) as number) > (unwrap(other) as number),
  ge: (value, other) => (unwrap(value) as number) >= (unwrap(other) as number),
  odd: (value) => Number(value) % 2 !== 0,
  even: (value) => Number(value) % 2 === 0,
  divisibleby: (value, by) => Number(value) % Number(by) === 0,
  lower: (value) => String(unwrap(value)) === String(unwrap(value)).toLowerCase(),
  upper: (value) => String(unwrap(value)) === String(unwrap(value)).toUpperCase(),
  sameas: (value, other) => value === other,
};
for (const [alias, name] of [
  ['equalto', 'eq'],
  ['==', 'eq'],
  ['!=', 'ne'],
  ['lessthan', 'lt'],
  ['<', 'lt'],
  ['<=', 'le'],
  ['greaterthan', 'gt'],
  ['>', 'gt'],
  ['>=', 'ge'],
] as const) {
  TESTS[alias] = TESTS[name] as Test;
}

function testNamed(name: unknown): Test {
  const test = TESTS[String(name)];
  if (!test) throw new Error(`no test named '${String(name)}'`);
  return test;
}

/** select/reject and selectattr/rejectattr: keep the items a test (or truth) passes, or fails. */
function selecting(byAttribute: boolean, keep: boolean): Filter {
  return (items: unknown, ...args: unknown[]) => {
    const { positional } = splitCall(args);
    const [attribute, testName, ...testArgs] = byAttribute ? positional : [undefined, ...positional];
    const test: Test = testName === undefined ? jinjaTruthy : testNamed(testName);
    return toList(items).filter((item) => test(byAttribute ? attributeOf(item, attribute) : item, ...testArgs) === keep);
  };
}

function toList(value: unknown): unknown[] {
  const plain = unwrap(value);
  if (Array.isArray(plain)) return plain;
  if (typeof plain === 'string') return [...plain];
  if (isDict(plain)) return Object.keys(plain);
  if (plain === undefined || plain === null) return [];
  return Array.from(plain as Iterable<unknown>);
}

/** A dict as json.dumps writes it: its entries in order (a JavaScript object puts integer-like keys first). */
class JsonObject {
  constructor(readonly entries: readonly (readonly [string, unknown])[]) {}
}

/**
 * A value as json.dumps takes it: macro outputs as their strings, undefined as None, a whole float
 * kept a float, a dict's entries in its order (sorted with `sortKeys`, as strings); a date, a
 * timedelta or another object is not serializable, as in Python.
 */
function jsonable(value: unknown, sortKeys: boolean): unknown {
  if (value instanceof PyFloat) return value;
  const plain = unwrap(value);
  if (Array.isArray(plain)) return plain.map((item) => jsonable(item, sortKeys));
  if (isDict(plain) && [Object.prototype, null].includes(Object.getPrototypeOf(plain))) {
    const keys = Object.keys(plain);
    if (sortKeys) keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new JsonObject(keys.map((key) => [key, jsonable(plain[key], sortKeys)]));
  }
  if (plain !== null && typeof plain === 'object') {
    // (Python's name: timedelta, datetime, date)
    const type = ((plain as object).constructor?.name ?? 'object').replace(/^Py/, '').toLowerCase();
    throw new Error(`Object of type ${type} is not JSON serializable`);
  }
  return plain === undefined ? null : plain;
}

/** Python's json.dumps(…, sort_keys=True) as Jinja's tojson writes it, with its HTML-safe escapes. */
function toJson(value: unknown, indent?: number): string {
  const text = pythonJson(jsonable(value, true), indent);
  return text.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/'/g, '\\u0027');
}

/** A string as json.dumps writes it: ensure_ascii, every character past ASCII as \\uXXXX (UTF-16 units). */
const jsonString = (text: string): string =>
  JSON.stringify(text).replace(/[\u0080-\uffff]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** JSON as Python's json.dumps writes it: its separators (', ' and ': '; ',' and a new line with `indent`), ASCII only. */
function pythonJson(value: unknown, indent?: number, depth = 0): string {
  const items = Array.isArray(value)
    ? value.map((item) => pythonJson(item, indent, depth + 1))
    : value instanceof JsonObject
      ? value.entries.map(([key, item]) => `${jsonString(key)}: ${pythonJson(item, indent, depth + 1)}`)
      : undefined;
  if (items) {
    const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
    if (items.length === 0) return `${open}${close}`;
    if (indent === undefined) return `${open}${items.join(', ')}${close}`;
    const line = (level: number) => `\n${' '.repeat(indent * level)}`;
    return `${open}${line(depth + 1)}${items.join(`,${line(depth + 1)}`)}${line(depth)}${close}`;
  }
  if (isFloat(value)) {
    const x = Number(unwrap(value));
    return Number.isNaN(x) ? 'NaN' : Number.isFinite(x) ? floatRepr(x) : x > 0 ? 'Infinity' : '-Infinity';
  }
  return typeof value === 'string' ? jsonString(value) : JSON.stringify(value);
}

const lowerIfText = (value: unknown, caseSensitive: boolean) => {
  const plain = unwrap(value);
  return !caseSensitive && typeof plain === 'string' ? plain.toLowerCase() : plain;
};

function extreme(pick: 'min' | 'max'): Filter {
  return (items: unknown, ...args: unknown[]) => {
    const { keywords } = splitCall(args);
    const key = (item: unknown) =>
      lowerIfText(
        keywords.attribute === undefined ? item : attributeOf(item, keywords.attribute),
        keywords.case_sensitive === true,
      ) as number;
    const list = toList(items);
    if (list.length === 0) return undefined;
    return list.reduce((best, item) => ((pick === 'min' ? key(item) < key(best) : key(item) > key(best)) ? item : best));
  };
}

/** Jinja's text filters, whose arguments nunjucks reads otherwise: truncate, indent. */
const TEXT_FILTERS: Record<string, Filter> = {
  // Jinja's truncate: a text within `leeway` (5) of the length is kept whole; else cut at a word unless killwords
  truncate(value: unknown, ...args: unknown[]) {
    const { positional: p, keywords: k } = splitCall(args);
    const text = pyStr(value);
    const length = Number(p[0] ?? k.length ?? 255);
    const end = pyStr(p[2] ?? k.end ?? '...');
    const leeway = Number(p[3] ?? k.leeway ?? 5);
    if (text.length <= length + leeway) return text;
    const cut = text.slice(0, Math.max(0, length - end.length));
    if (jinjaTruthy(p[1] ?? k.killwords ?? false)) return cut + end;
    const space = cut.lastIndexOf(' ');
    return (space < 0 ? cut : cut.slice(0, space)) + end;
  },
  // Jinja's indent: every line but the first (and, with first, that too); blank lines stay blank unless blank
  indent(value: unknown, ...args: unknown[]) {
    const { positional: p, keywords: k } = splitCall(args);
    const width = p[0] ?? k.width ?? 4;
    const indention = typeof unwrap(width) === 'string' ? pyStr(width) : ' '.repeat(Number(width));
    const lines = `${pyStr(value)}\n`.split(/\r\n|\r|\n/).slice(0, -1);
    const blank = jinjaTruthy(p[2] ?? k.blank ?? false);
    const [head = '', ...rest] = lines;
    const indented = rest.map((line) => (line || blank ? indention + line : line));
    const text = [head, ...indented].join('\n');
    return jinjaTruthy(p[1] ?? k.first ?? false) ? indention + text : text;
  },
};

/** Jinja's list filters whose arguments nunjucks reads otherwise: dictsort (tuples, by key or value), batch (fill_with). */
const LIST_FILTERS: Record<string, Filter> = {
  dictsort(value: unknown, ...args: unknown[]) {
    const { positional: p, keywords: k } = splitCall(args);
    const caseSensitive = jinjaTruthy(p[0] ?? k.case_sensitive ?? false);
    const byValue = pyStr(p[1] ?? k.by ?? 'key') === 'value';
    const reverse = jinjaTruthy(p[2] ?? k.reverse ?? false);
    const plain = unwrap(value);
    if (!isDict(plain)) return [];
    const keyOf = (item: [string, unknown]) => {
      const picked = unwrap(byValue ? item[1] : item[0]);
      return !caseSensitive && typeof picked === 'string' ? picked.toLowerCase() : picked;
    };
    const items = Object.entries(plain).sort((a, b) => {
      const [x, y] = [keyOf(a), keyOf(b)] as [number | string, number | string];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    return (reverse ? items.reverse() : items).map((item) => pyTuple(item));
  },
  batch(value: unknown, ...args: unknown[]) {
    const { positional: p, keywords: k } = splitCall(args);
    const size = Number(p[0] ?? k.linecount);
    const fill = p[1] ?? k.fill_with ?? null;
    const batches: unknown[][] = [];
    for (const item of toList(value)) {
      if (batches.length === 0 || (batches[batches.length - 1] as unknown[]).length === size) batches.push([]);
      (batches[batches.length - 1] as unknown[]).push(item);
    }
    const last = batches[batches.length - 1];
    if (last && fill !== null && fill !== undefined) while (last.length < size) last.push(fill);
    return batches;
  },
};

/** The filters that replace or add to nunjucks' own. */
const RADIX: Readonly<Record<string, number>> = { '0x': 16, '0o': 8, '0b': 2 };

/** Python's int(text, base): a sign, digits of the base with `_` between them, a 0x/0o/0b prefix where the base allows it. */
function pyIntText(text: string, base: number): number | undefined {
  const match = /^\s*([-+]?)(0[xob])?([0-9a-z]+(?:_[0-9a-z]+)*)\s*$/i.exec(text);
  if (!match) return undefined;
  const prefix = (match[2] ?? '').toLowerCase();
  const radix = prefix ? (RADIX[prefix] as number) : base === 0 ? 10 : base;
  if (prefix && base !== 0 && base !== radix) return undefined;
  const digits = (match[3] as string).replace(/_/g, '').toLowerCase();
  if (![...digits].every((digit) => Number.parseInt(digit, 36) < radix)) return undefined;
  const value = Number.parseInt(digits, radix);
  return match[1] === '-' ? -value : value;
}

const defaultValue = (value: unknown, fallback: unknown = '', boolean: unknown = false) =>
  (boolean === true ? !jinjaTruthy(value) : value === undefined) ? fallback : value;

export const FILTERS: Record<string, Filter> = {
  ...TEXT_FILTERS,
  ...LIST_FILTERS,
  select: selecting(false, true),
  reject: selecting(false, false),
  selectattr: selecting(true, true),
  rejectattr: selecting(true, false),
  map(items: unknown, ...args: unknown[]) {
    const { positional, keywords } = splitCall(args);
    if (keywords.attribute !== undefined) {
      return toList(items).map((item) => attributeOf(item, keywords.attribute) ?? keywords.default);
    }
    const [name, ...filterArgs] = positional;
    const filter = (this as unknown as { env: nunjucks.Environment }).env.getFilter(String(name)) as Filter;
    return toList(items).map((item) => filter.call(this, item, ...filterArgs));
  },
  join(items: unknown, ...args: unknown[]) {
    const { positional, keywords } = splitCall(args);
    const separator = pyStr(positional[0] ?? keywords.d ?? '');
    const attribute = positional[1] ?? keywords.attribute;
    return toList(items)
      .map((item) => pyStr(attribute === undefined ? item : attributeOf(item, attribute)))
      .join(separator);
  },
  sum(items: unknown, ...args: unknown[]) {
    const { positional, keywords } = splitCall(args);
    const attribute = positional[0] ?? keywords.attribute;
    const start = positional[1] ?? keywords.start ?? 0;
    const terms = [start, ...toList(items).map((item) => (attribute === undefined ? item : attributeOf(item, attribute)))];
    const total = terms.reduce<number>((sum, term) => sum + Number(unwrap(term)), 0);
    return terms.some(isFloat) ? pyFloat(total) : total;
  },
  unique(items: unknown, ...args: unknown[]) {
    const { keywords } = splitCall(args);
    const seen: unknown[] = [];
    const kept: unknown[] = [];
    for (const item of toList(items)) {
      const key = lowerIfText(
        keywords.attribute === undefined ? item : attributeOf(item, keywords.attribute),
        keywords.case_sensitive === true,
      );
      if (!seen.some((other) => pyEquals(other, key))) {
        seen.push(key);
        kept.push(item);
      }
    }
    return kept;
  },
  // (grouper, list) tuples, sorted by grouper, each also answering .grouper and .list
  groupby(items: unknown, attribute: unknown) {
    const groups = new Map<string, { grouper: unknown; list: unknown[] }>();
    for (const item of toList(items)) {
      const grouper = attributeOf(item, attribute);
      const key = pyStr(grouper);
      if (!groups.has(key)) groups.set(key, { grouper, list: [] });
      groups.get(key)?.list.push(item);
    }
    return [...groups.values()]
      .sort((a, b) => ((a.grouper as number) < (b.grouper as number) ? -1 : (a.grouper as number) > (b.grouper as number) ? 1 : 0))
      .map((group) => Object.assign(pyTuple([group.grouper, group.list]), group));
  },
  min: extreme('min'),
  max: extreme('max'),
  tojson: (value: unknown, ...args: unknown[]) => {
    const { positional, keywords } = splitCall(args);
    const indent = keywords.indent ?? positional[0];
    return new nunjucks.runtime.SafeString(toJson(value, indent === undefined || indent === null ? undefined : Number(indent)));
  },
  items: (value: unknown) => (isDict(unwrap(value)) ? Object.entries(unwrap(value) as object).map(pyTuple) : []),
  list: (value: unknown) => [...toList(value)],
  string: (value: unknown) => pyStr(value),
  trim: (value: unknown, chars?: unknown) => {
    const text = pyStr(value);
    return chars === undefined || chars === null ? text.trim() : stripChars(text, chars, true, true);
  },
  // a float, as Jinja's round gives (`2.5 | round` is 2.0), but for an int rounded the common way (Python's round(3, 0) is 3)
  round: (value: unknown, precision: unknown = 0, method: unknown = 'common') => {
    const x = Number(unwrap(value));
    const digits = Number(precision);
    const scale = 10 ** digits;
    if (method === 'ceil') return pyFloat(Math.ceil(x * scale) / scale);
    if (method === 'floor') return pyFloat(Math.floor(x * scale) / scale);
    // (a negative precision rounds to tens, hundreds, …: `1234.5 | round(-2)` is 1200.0)
    const rounded = digits < 0 ? roundHalfEven(x / 10 ** -digits, 0) * 10 ** -digits : roundHalfEven(x, digits);
    return isFloat(value) ? pyFloat(rounded) : rounded;
  },
  // Jinja's default(value, default_value='', boolean=False): with `boolean`, any value Python takes for
  // false ([], {}, 0.0, '') gives the default (nunjucks' took JavaScript's falsy values only)
  default: defaultValue,
  d: defaultValue,
  abs: (value: unknown) => (isFloat(value) ? pyFloat(Math.abs(Number(unwrap(value)))) : Math.abs(Number(unwrap(value)))),
  int: (value: unknown, fallback: unknown = 0, base: unknown = 10) => {
    const plain = unwrap(value);
    // Jinja's int(): a string as Python's int(text, base) reads it ('1_000', '0x1A' with base 16 or 0), else as a float's
    const whole = typeof plain === 'string' ? pyIntText(plain, Number(base)) : undefined;
    if (whole !== undefined) return whole;
    const parsed =
      typeof plain === 'number' || typeof plain === 'boolean' ? Math.trunc(Number(plain)) : Math.trunc(Number.parseFloat(String(plain)));
    return Number.isNaN(parsed) || (typeof plain === 'string' && !/^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/.test(plain))
      ? fallback
      : parsed;
  },
  float: (value: unknown, fallback: unknown = new PyFloat(0)) => {
    const plain = unwrap(value);
    const parsed = Number(typeof plain === 'string' ? plain.trim() : plain);
    return typeof plain === 'string' && plain.trim() === '' ? fallback : Number.isNaN(parsed) ? fallback : pyFloat(parsed);
  },
  format: (value: unknown, ...args: unknown[]) => {
    const { positional, keywords } = splitCall(args);
    return pyMod(pyStr(value), Object.keys(keywords).length > 0 ? keywords : pyTuple(positional));
  },
  count: (value: unknown) => toList(value).length,
  length: (value: unknown) => toList(value).length,
  // Jinja's attr() reads an attribute, never a dict's item
  attr: (value: unknown, name: unknown) => (isDict(unwrap(value)) ? undefined : attributeOf(value, name)),
  title: (value: unknown) =>
    pyStr(value).replace(
      /([-\s({[<]+|^)([^-\s({[<]*)/g,
      (_m, before: string, word: string) => before + word.charAt(0).toUpperCase() + word.slice(1).toLowerCase(),
    ),
  lower: (value: unknown) => pyStr(value).toLowerCase(),
  upper: (value: unknown) => pyStr(value).toUpperCase(),
  // dbt's markers for its native rendering: in SQL text they print the value as it is
  as_text: (value: unknown) => value,
  as_bool: (value: unknown) => value,
  as_number: (value: unknown) => value,
  as_native: (value: unknown) => value,
};

/** dbt's `return(value)`: ends the macro it is in, which gives the value instead of its text. */
export class MacroReturn {
  constructor(readonly value: unknown) {}
  toString(): string {
    return 'return() was called outside a macro';
  }
}

/** The names dbt puts in every template's context beyond ref, source, var and config. */
export function dbtGlobals(file: string, fail: (message: string) => never): Record<string, unknown> {
  return {
    True: true,
    False: false,
    None: null,
    return: (value: unknown) => {
      throw new MacroReturn(value);
    },
    zip: (...lists: unknown[]) => {
      const columns = lists.map(toList);
      const length = Math.min(...columns.map((column) => column.length));
      return Array.from({ length }, (_v, i) => pyTuple(columns.map((column) => column[i])));
    },
    set: (items: unknown = []) => FILTERS.unique?.(items, { __keywords: true, case_sensitive: true }),
    dict: (...args: unknown[]) => {
      const { positional, keywords } = splitCall(args);
      const base = positional[0];
      const entries = Array.isArray(base) ? Object.fromEntries(base as [string, unknown][]) : isDict(base) ? base : {};
      return { ...entries, ...keywords };
    },
    fromjson: (text: unknown, fallback: unknown = null) => {
      try {
        return JSON.parse(String(unwrap(text)));
      } catch {
        return fallback;
      }
    },
    fromyaml: (text: unknown, fallback: unknown = null) => {
      try {
        return parseDbtYaml(pyStr(text));
      } catch {
        return fallback;
      }
    },
    toyaml: (value: unknown) => YAML.stringify(unwrap(value) ?? null),
    // dbt's tojson(value, default=None, sort_keys=False)
    tojson: (value: unknown, ...args: unknown[]) => {
      const { positional, keywords } = splitCall(args);
      return pythonJson(jsonable(value, jinjaTruthy(keywords.sort_keys ?? positional[1] ?? false)));
    },
    modules: MODULES,
    log: () => '',
    print: () => '',
    local_md5: (text: unknown) => createHash('md5').update(pyStr(text)).digest('hex'),
    // a test's failing rows are counted, never stored (dbt's --store-failures has no counterpart)
    should_store_failures: () => false,
    exceptions: {
      raise_compiler_error: (message: unknown) => fail(`${file}: raise_compiler_error: ${pyStr(message)}`),
      warn: () => '',
    },
  };
}

// The methods of Python's strings, lists and dicts that dbt templates call (`col.lower()`,
// `d.items()`, `{% do cols.append(c) %}`), as Python defines them: nunjucks alone gives JavaScript's
// (`replace` of the first match only, `split()` not on whitespace) or none (`upper`, `items`).
import { formatValue } from './jinja-format';
import { isDict, isFloat, pyEquals, pyRepr, pySlice, pyStr, pyTuple, splitCall, unwrap } from './jinja-python';

type Method = (self: never, ...args: unknown[]) => unknown;

/** What Python's mutating methods give: None, after the change. */
const none = (_change: unknown): null => null;

const WHITESPACE = ' \t\n\r\x0b\x0c';

export function stripChars(value: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? WHITESPACE : String(unwrap(chars));
  let start = 0;
  let end = value.length;
  while (left && start < end && set.includes(value[start] as string)) start++;
  while (right && end > start && set.includes(value[end - 1] as string)) end--;
  return value.slice(start, end);
}

function pySplit(value: string, sep: unknown, maxsplit: unknown): string[] {
  const limit = maxsplit === undefined || Number(maxsplit) < 0 ? Infinity : Number(maxsplit);
  if (sep === undefined || sep === null) {
    const words = value
      .trim()
      .split(/\s+/)
      .filter((word) => word !== '');
    if (words.length <= limit + 1) return words;
    // the rest after maxsplit words keeps its own whitespace, as Python's does
    let rest = value.trimStart();
    const head: string[] = [];
    for (let i = 0; i < limit; i++) {
      const match = /^(\S+)\s+/.exec(rest) as RegExpExecArray;
      head.push(match[1] as string);
      rest = rest.slice(match[0].length);
    }
    return [...head, rest];
  }
  const parts = value.split(String(unwrap(sep)));
  return parts.length <= limit + 1 ? parts : [...parts.slice(0, limit), parts.slice(limit).join(String(unwrap(sep)))];
}

function startsOrEnds(whole: string, affix: unknown, ends: boolean, start?: unknown, end?: unknown): boolean {
  // (Python's start and end: the slice whole[start:end] is looked at)
  const value = start === undefined && end === undefined ? whole : (pySlice(whole, start, end, null) as string);
  const options = Array.isArray(affix) ? affix : [affix];
  return options.some((option) => (ends ? value.endsWith(String(unwrap(option))) : value.startsWith(String(unwrap(option)))));
}

/** A str.format field's value: its argument, then each `.attr` and `[key]` of the field's name. */
function fieldValue(field: string, positional: unknown[], keywords: Record<string, unknown>, next: () => number): unknown {
  const [, head = '', rest = ''] = /^([^.[]*)(.*)$/.exec(field) ?? [];
  let value = head === '' ? positional[next()] : /^\d+$/.test(head) ? positional[Number(head)] : keywords[head];
  for (const [, attribute, key = ''] of rest.matchAll(/\.(\w+)|\[([^\]]*)\]/g)) {
    const plain = unwrap(value) as Record<string, unknown> | undefined;
    value = attribute !== undefined ? plain?.[attribute] : Array.isArray(plain) && /^\d+$/.test(key) ? plain[Number(key)] : plain?.[key];
  }
  return value;
}

/**
 * str.format as Python's: `{}`, `{0}`, `{name}`, `{0[1]}` and `{a.b}` fields, `!r`/`!s`, a format spec
 * of the mini-language (jinja-format.ts: `{:>8}`, `{:05d}`, `{:,}`, `{:.1%}`), and `{{`/`}}` escapes.
 */
function strFormat(template: string, args: unknown[]): string {
  const { positional, keywords } = splitCall(args);
  let next = 0;
  return template.replace(/\{\{|\}\}|\{([^{}!:]*)(?:!([rsa]))?(?::([^{}]*))?\}/g, (all, field = '', conversion?: string, spec = '') => {
    if (all === '{{') return '{';
    if (all === '}}') return '}';
    let value = fieldValue(field as string, positional, keywords, () => next++);
    if (conversion !== undefined) value = conversion === 's' ? pyStr(value) : pyRepr(value);
    const plain = unwrap(value);
    if (typeof plain === 'number' || typeof plain === 'boolean') return formatValue(plain, spec as string, isFloat(value));
    return spec === '' ? pyStr(value) : formatValue(pyStr(value), spec as string);
  });
}

const STRING_METHODS: Record<string, Method> = {
  upper: (s: string) => s.toUpperCase(),
  lower: (s: string) => s.toLowerCase(),
  strip: (s: string, chars?: unknown) => stripChars(s, chars, true, true),
  lstrip: (s: string, chars?: unknown) => stripChars(s, chars, true, false),
  rstrip: (s: string, chars?: unknown) => stripChars(s, chars, false, true),
  replace: (s: string, old: unknown, replacement: unknown, count?: unknown) => {
    // (an empty old text is found before every character and at the end, as in Python)
    const parts = String(unwrap(old)) === '' ? ['', ...s, ''] : s.split(String(unwrap(old)));
    const limit = count === undefined || Number(count) < 0 ? parts.length : Number(count) + 1;
    return [parts.slice(0, limit).join(String(unwrap(replacement))), ...parts.slice(limit)].join(String(unwrap(old)));
  },
  split: (s: string, sep?: unknown, maxsplit?: unknown) => pySplit(s, sep, maxsplit),
  startswith: (s: string, prefix: unknown, start?: unknown, end?: unknown) => startsOrEnds(s, prefix, false, start, end),
  endswith: (s: string, suffix: unknown, start?: unknown, end?: unknown) => startsOrEnds(s, suffix, true, start, end),
  join: (s: string, items: unknown) => (Array.isArray(items) ? items : [...String(unwrap(items))]).map(pyStr).join(s),
  format: (s: string, ...args: unknown[]) => strFormat(s, args),
  title: (s: string) =>
    s.toLowerCase().replace(/(^|[^A-Za-z])([a-z])/g, (_m, before: string, letter: string) => before + letter.toUpperCase()),
  capitalize: (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  count: (s: string, sub: unknown) => s.split(String(unwrap(sub))).length - 1,
  find: (s: string, sub: unknown) => s.indexOf(String(unwrap(sub))),
  rfind: (s: string, sub: unknown) => s.lastIndexOf(String(unwrap(sub))),
  isdigit: (s: string) => /^\d+$/.test(s),
  isalpha: (s: string) => /^[A-Za-z]+$/.test(s),
  isalnum: (s: string) => /^[A-Za-z0-9]+$/.test(s),
  isupper: (s: string) => /[A-Z]/.test(s) && s === s.toUpperCase(),
  islower: (s: string) => /[a-z]/.test(s) && s === s.toLowerCase(),
  isspace: (s: string) => /^\s+$/.test(s),
  zfill: (s: string, width: unknown) => s.padStart(Number(width), '0'),
  ljust: (s: string, width: unknown, fill?: unknown) => s.padEnd(Number(width), fill === undefined ? ' ' : String(fill)),
  rjust: (s: string, width: unknown, fill?: unknown) => s.padStart(Number(width), fill === undefined ? ' ' : String(fill)),
  removeprefix: (s: string, prefix: unknown) => (s.startsWith(String(prefix)) ? s.slice(String(prefix).length) : s),
  removesuffix: (s: string, suffix: unknown) =>
    String(suffix) !== '' && s.endsWith(String(suffix)) ? s.slice(0, -String(suffix).length) : s,
  splitlines: (s: string) => s.split(/\r\n|\r|\n/).filter((line, i, all) => i < all.length - 1 || line !== ''),
  swapcase: (s: string) => [...s].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join(''),
};

function indexOf(list: unknown[], item: unknown): number {
  const at = list.findIndex((candidate) => pyEquals(candidate, item));
  if (at < 0) throw new Error(`${pyRepr(item)} is not in list`);
  return at;
}

const LIST_METHODS: Record<string, Method> = {
  append: (l: unknown[], item: unknown) => none(l.push(item)),
  extend: (l: unknown[], items: unknown) => none(l.push(...(items as unknown[]))),
  insert: (l: unknown[], at: unknown, item: unknown) => none(l.splice(Number(at), 0, item)),
  pop: (l: unknown[], at?: unknown) => {
    if (l.length === 0) throw new Error('pop from empty list');
    const index = at === undefined ? l.length - 1 : Number(at) < 0 ? l.length + Number(at) : Number(at);
    if (index < 0 || index >= l.length) throw new Error('pop index out of range');
    return l.splice(index, 1)[0];
  },
  remove: (l: unknown[], item: unknown) => none(l.splice(indexOf(l, item), 1)),
  index: (l: unknown[], item: unknown) => indexOf(l, item),
  count: (l: unknown[], item: unknown) => l.filter((candidate) => pyEquals(candidate, item)).length,
  reverse: (l: unknown[]) => none(l.reverse()),
  sort: (l: unknown[], ...args: unknown[]) => {
    const { keywords } = splitCall(args);
    l.sort((a, b) => ((unwrap(a) as number) < (unwrap(b) as number) ? -1 : (unwrap(a) as number) > (unwrap(b) as number) ? 1 : 0));
    if (keywords.reverse === true) l.reverse();
    return null;
  },
  copy: (l: unknown[]) => [...l],
  clear: (l: unknown[]) => none(l.splice(0)),
};

const DICT_METHODS: Record<string, Method> = {
  items: (d: Record<string, unknown>) => Object.entries(d).map(pyTuple),
  keys: (d: Record<string, unknown>) => Object.keys(d),
  values: (d: Record<string, unknown>) => Object.values(d),
  get: (d: Record<string, unknown>, key: unknown, fallback: unknown = null) =>
    Object.prototype.hasOwnProperty.call(d, String(key)) ? d[String(key)] : fallback,
  update: (d: Record<string, unknown>, ...args: unknown[]) => {
    const { positional, keywords } = splitCall(args);
    for (const other of positional) if (isDict(other)) Object.assign(d, other);
    Object.assign(d, keywords);
    return null;
  },
  pop: (d: Record<string, unknown>, key: unknown, ...fallback: unknown[]) => {
    const name = String(key);
    if (!Object.prototype.hasOwnProperty.call(d, name)) {
      if (fallback.length > 0) return fallback[0];
      throw new Error(`KeyError: ${pyRepr(key)}`);
    }
    const value = d[name];
    delete d[name];
    return value;
  },
  setdefault: (d: Record<string, unknown>, key: unknown, fallback: unknown = null) => {
    const name = String(key);
    if (!Object.prototype.hasOwnProperty.call(d, name)) d[name] = fallback;
    return d[name];
  },
  copy: (d: Record<string, unknown>) => ({ ...d }),
  clear: (d: Record<string, unknown>) => {
    for (const key of Object.keys(d)) delete d[key];
    return null;
  },
};

/** `value.name` as Python gives it: a method of a string, list or dict, bound to it; undefined if none. */
export function pythonMethod(value: unknown, name: unknown): ((...args: unknown[]) => unknown) | undefined {
  if (typeof name !== 'string') return undefined;
  const plain = unwrap(value);
  const table = typeof plain === 'string' ? STRING_METHODS : Array.isArray(plain) ? LIST_METHODS : isDict(plain) ? DICT_METHODS : undefined;
  if (table === undefined || !Object.prototype.hasOwnProperty.call(table, name)) return undefined;
  // a dict's own key of that name is its value, as `d['items']` gives
  if (isDict(plain) && Object.prototype.hasOwnProperty.call(plain, name)) return undefined;
  const method = table[name] as (self: unknown, ...args: unknown[]) => unknown;
  return (...args: unknown[]) => method(plain, ...args);
}

/** `value[index]` with Python's negative indexes on lists and strings. */
export function negativeIndex(value: unknown, index: unknown): unknown {
  const plain = unwrap(value);
  if (typeof index !== 'number' || index >= 0 || !Number.isInteger(index)) return undefined;
  if (Array.isArray(plain) || typeof plain === 'string') return plain[plain.length + index];
  return undefined;
}

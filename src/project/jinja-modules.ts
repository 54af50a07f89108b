// dbt's `modules.re` (Python's re) for templates: match, search, fullmatch, sub, findall, split and
// compile, over JavaScript's RegExp, which reads the patterns dbt projects write the same way
// (`(?P<name>…)` is translated). `modules.datetime` is jinja-datetime.ts; the rest are not there: a template that uses
// them fails, naming the lookup.
import { pyTuple, splitCall, unwrap } from './jinja-python';

const IGNORECASE = 2;
const MULTILINE = 8;
const DOTALL = 16;

function regex(pattern: unknown, flags: unknown, anchor: '' | 'start' | 'full', global = false): RegExp {
  let source = String(unwrap(pattern))
    .replace(/\(\?P<(\w+)>/g, '(?<$1>')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  if (anchor === 'start') source = `^(?:${source})`;
  if (anchor === 'full') source = `^(?:${source})$`;
  const bits = Number(flags ?? 0);
  const options = `${global ? 'g' : ''}${bits & IGNORECASE ? 'i' : ''}${bits & MULTILINE ? 'm' : ''}${bits & DOTALL ? 's' : ''}`;
  return new RegExp(source, options);
}

/** Python's match object, for the methods templates call on it. */
function matchObject(found: RegExpExecArray | null): object | null {
  if (found === null) return null;
  return {
    group: (...which: unknown[]) => {
      if (which.length <= 1) return found[Number(which[0] ?? 0)] ?? null;
      return pyTuple(which.map((n) => found[Number(n)] ?? null));
    },
    groups: () => pyTuple(found.slice(1).map((g) => g ?? null)),
    groupdict: () => ({ ...(found.groups ?? {}) }),
    start: () => found.index,
    end: () => found.index + found[0].length,
  };
}

/** Python's replacement text: `\1` and `\g<name>` become JavaScript's `$1` and `$<name>`. */
const replacement = (text: unknown) =>
  String(unwrap(text))
    .replace(/\$/g, '$$$$')
    .replace(/\\g<(\d+)>/g, '$$$1')
    .replace(/\\g<(\w+)>/g, '$$<$1>')
    .replace(/\\(\d+)/g, '$$$1');

function functions(bound?: { pattern: unknown; flags: unknown }) {
  const args = (all: unknown[]) => (bound ? [bound.pattern, ...all] : all);
  const flagsOf = (given: unknown) => (bound ? bound.flags : given);
  return {
    match: (...all: unknown[]) => {
      const [p, s, f] = args(all);
      return matchObject(regex(p, flagsOf(f), 'start').exec(String(unwrap(s))));
    },
    search: (...all: unknown[]) => {
      const [p, s, f] = args(all);
      return matchObject(regex(p, flagsOf(f), '').exec(String(unwrap(s))));
    },
    fullmatch: (...all: unknown[]) => {
      const [p, s, f] = args(all);
      return matchObject(regex(p, flagsOf(f), 'full').exec(String(unwrap(s))));
    },
    sub: (...all: unknown[]) => {
      const { positional, keywords } = splitCall(args(all));
      const [p, repl, s, count = keywords.count ?? 0, f = keywords.flags] = positional;
      let left = Number(count) > 0 ? Number(count) : Infinity;
      const text = replacement(repl);
      return String(unwrap(s)).replace(regex(p, flagsOf(f), '', true), (...match: unknown[]) => {
        if (left <= 0) return match[0] as string;
        left--;
        return (match[0] as string).replace(regex(p, flagsOf(f), 'full'), text);
      });
    },
    findall: (...all: unknown[]) => {
      const [p, s, f] = args(all);
      return [...String(unwrap(s)).matchAll(regex(p, flagsOf(f), '', true))].map((m) =>
        m.length === 1 ? m[0] : m.length === 2 ? (m[1] ?? '') : pyTuple(m.slice(1).map((g) => g ?? '')),
      );
    },
    split: (...all: unknown[]) => {
      const [p, s, , f] = args(all);
      return String(unwrap(s)).split(regex(p, flagsOf(f), '', true));
    },
  };
}

/** dbt's `modules`: Python's re, with its flags. */
export const MODULES = {
  re: {
    ...functions(),
    compile: (pattern: unknown, flags: unknown = 0) => ({ pattern: unwrap(pattern), ...functions({ pattern, flags }) }),
    IGNORECASE,
    I: IGNORECASE,
    MULTILINE,
    M: MULTILINE,
    DOTALL,
    S: DOTALL,
  },
};

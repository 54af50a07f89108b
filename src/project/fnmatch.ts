// Python's fnmatch (what dbt's selectors match tags, names and files with) and pathlib's glob
// segment by segment (what dbt's `path:` method globs the project with): the same patterns select
// the same nodes as under dbt.

/** Text matched as itself in a RegExp. */
export const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const cache = new Map<string, RegExp>();

/** Python's fnmatch.translate: `*`, `?`, `[seq]` and `[!seq]`; anything else literal; case-sensitive, as on POSIX. */
function translate(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '!') j += 1;
      if (pattern[j] === ']') j += 1;
      while (j < pattern.length && pattern[j] !== ']') j += 1;
      if (j >= pattern.length) out += '\\[';
      else {
        const negated = pattern[i + 1] === '!';
        // (a `]` first in the set is a member, as in Python; JavaScript wants it and `[`, `\\` and `^` escaped)
        const body = pattern.slice(i + (negated ? 2 : 1), j).replace(/[\\\][^]/g, '\\$&');
        out += `[${negated ? '^' : ''}${body}]`;
        i = j;
      }
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^(?:${out})$`, 'su');
}

/** Whether `name` matches the shell-style `pattern`, as Python's fnmatch.fnmatch on POSIX. */
export function fnmatch(name: string, pattern: string): boolean {
  let re = cache.get(pattern);
  if (!re) {
    re = translate(pattern);
    cache.set(pattern, re);
  }
  return re.test(name);
}

/** Whether the path's segments match the pattern's, pathlib-style: `**` is any number of folders. */
function segmentsMatch(path: readonly string[], pattern: readonly string[]): boolean {
  if (pattern.length === 0) return path.length === 0;
  const [head, ...rest] = pattern;
  if (head === '**') return path.some((_p, i) => segmentsMatch(path.slice(i), rest)) || segmentsMatch([], rest);
  const [first, ...others] = path;
  return first !== undefined && fnmatch(first, head as string) && segmentsMatch(others, rest);
}

/**
 * Whether `file` (relative to the project, `/`-separated) is one of the paths dbt's `path:` method
 * globs from the project folder, or (withParents) lies under one of them.
 */
export function globMatches(pattern: string, file: string, withParents = true): boolean {
  const wanted = pattern.split('/').filter((part) => part !== '' && part !== '.');
  const parts = file.split('/');
  const candidates = withParents ? parts.map((_p, i) => parts.slice(0, i + 1)) : [parts];
  return candidates.some((candidate) => segmentsMatch(candidate, wanted));
}

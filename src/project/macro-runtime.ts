// Runs the project's macro files with nunjucks: compiles each once, finds the macros it defines, and
// gives a render those macros as functions of its own context (ref, source, var…), each able to
// call the others by name, as dbt's macros do.
import nunjucks from 'nunjucks';
import { ProjectError } from '../errors';
import type { MacroSource } from './macro-bundle';
import { DISPATCH_PREFIXES } from './dbt-adapter';

interface CompiledMacroFile {
  readonly template: nunjucks.Template;
  /** The macros the file defines, by name. */
  readonly names: readonly string[];
}

type Exported = Record<string, unknown>;
/** nunjucks runs a template's top level and hands back what it defines; @types/nunjucks leaves it out. */
interface Exporting {
  getExported(context: object, frame: null, callback: (err: Error | null, exported: Exported | null) => void): void;
}

const compiled = new Map<string, CompiledMacroFile>();

/** What a template's top level defines. Synchronous: meterflow registers no asynchronous filters. */
function exportsOf(template: nunjucks.Template, context: object): Exported {
  let failure: Error | null = null;
  let exported: Exported | null = null;
  (template as unknown as Exporting).getExported(context, null, (err, result) => {
    failure = err;
    exported = result;
  });
  if (failure) throw failure;
  if (!exported) throw new Error('nunjucks ran the macros asynchronously');
  return exported;
}

/**
 * Compile a macro file (once per content) and list its macros. Syntax errors, and text outside
 * `{% macro %}` blocks (which would be rendered into every model that uses the file), name the file.
 */
export function compileMacroFile(environment: nunjucks.Environment, macro: MacroSource): CompiledMacroFile {
  const key = `${macro.file}\0${macro.source}`;
  const known = compiled.get(key);
  if (known) return known;
  try {
    const template = new nunjucks.Template(macro.source, environment, macro.file, true);
    // SQL comments (-- and /* */) between macros are fine, as dbt ignores them; other text is a mistake to name
    const outside = template
      .render({})
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split('\n')
      .filter((line) => !/^\s*(--.*)?$/.test(line))
      .join('\n')
      .trim();
    if (outside !== '') {
      throw new ProjectError(
        `${macro.file}: text outside {% macro %} blocks ('${outside.slice(0, 60)}'): write comments as {# … #} or inside a macro`,
        macro.file,
      );
    }
    const exported = exportsOf(template, {});
    const names = Object.keys(exported).filter((name) => typeof exported[name] === 'function');
    const result = { template, names };
    compiled.set(key, result);
    return result;
  } catch (err) {
    if (err instanceof ProjectError) throw err;
    const message = (err as Error).message.replace(`(${macro.file})`, '').trim();
    throw new ProjectError(`${macro.file}: macro file error: ${message}`, macro.file);
  }
}

type Macro = (...args: unknown[]) => unknown;

/** A render's macros: what its template sees, and each package's own (for adapter.dispatch). */
export interface BoundMacros {
  /** The project's macros by name, and each installed package's under the package's name (`dbt_utils.star`). */
  readonly scope: Readonly<Record<string, unknown>>;
  /** The macros of a package (undefined: the project's own), or undefined when the render has none of it. */
  readonly of: (pkg?: string) => Readonly<Record<string, Macro>> | undefined;
}

/**
 * The adapter a package's macros see: `adapter.dispatch('x')` with no namespace looks in the package
 * first, then in the project, for each prefix in turn (dbt's order: local, root, dbt's own).
 */
function packageAdapter(adapter: unknown, local: Readonly<Record<string, Macro>>, root: Readonly<Record<string, Macro>>): unknown {
  if (typeof adapter !== 'object' || adapter === null) return adapter;
  const dispatch = (adapter as { dispatch: (name: unknown, namespace?: unknown) => unknown }).dispatch;
  const unnamespaced = (name: unknown) => {
    for (const prefix of DISPATCH_PREFIXES) {
      const found = local[`${prefix}__${String(name)}`] ?? root[`${prefix}__${String(name)}`];
      if (found) return found;
    }
    return undefined;
  };
  return new Proxy(adapter, {
    get: (target, key) =>
      key === 'dispatch'
        ? (name: unknown, namespace?: unknown) =>
            ((namespace === undefined || namespace === null) && unnamespaced(name)) || dispatch(name, namespace)
        : (target as Record<string | symbol, unknown>)[key],
  });
}

/**
 * The macros of these files, bound to a render's context; a macro calls another through the context.
 * A package's macros see the package's own by name too, before the project's, as in dbt.
 */
export function macroFunctions(
  environment: nunjucks.Environment,
  macros: readonly MacroSource[],
  context: Readonly<Record<string, unknown>>,
): BoundMacros {
  const files = macros.map((macro) => ({ pkg: macro.package, compiled: compileMacroFile(environment, macro) }));
  // NOTE: nunjucks copies the context a file runs in, so the macros look each other up late
  const defined = new Map<string | undefined, Exported>();
  const callable = new Map<string | undefined, Record<string, Macro>>();
  for (const { pkg, compiled } of files) {
    if (!defined.has(pkg)) defined.set(pkg, {});
    const exported = defined.get(pkg) as Exported;
    const table = callable.get(pkg) ?? {};
    callable.set(pkg, table);
    for (const name of compiled.names) table[name] = (...args: unknown[]) => (exported[name] as Macro)(...args);
  }
  const own = callable.get(undefined) ?? {};
  const namespaces = Object.fromEntries([...callable].filter(([pkg]) => pkg !== undefined));
  for (const { pkg, compiled } of files) {
    const local = pkg === undefined ? {} : { ...callable.get(pkg), adapter: packageAdapter(context.adapter, callable.get(pkg) ?? {}, own) };
    const scope = { ...context, ...namespaces, ...own, ...local };
    Object.assign(defined.get(pkg) as Exported, exportsOf(compiled.template, scope));
  }
  return { scope: { ...namespaces, ...own }, of: (pkg) => callable.get(pkg) };
}

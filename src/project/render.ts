// Renders dbt-style model SQL with a real Jinja-compatible engine (nunjucks) and the dbt functions
// meterflow supports: ref, source, config, var, env_var, is_incremental, `this` and `execute`
// (`target`, `flags` and `graph` refuse every lookup, naming the file), plus the
// project's macros (from `macro-paths`) that the template was bundled with.
import nunjucks from 'nunjucks';
import { ProjectError, RunValueMissingError } from '../errors';
import { dbtAdapter, type RelationColumns } from './dbt-adapter';
import { dbtRunValues } from './dbt-run-values';
import { SECRET_ENV_PREFIX } from './environment';
import { dispatchedCrossDbMacros } from './dbt-cross-db';
import { dbtGlobals, FILTERS, TESTS } from './jinja-filters';
import { plainNumbers, splitCall } from './jinja-python';
import { installJinjaSemantics, namespace } from './jinja-semantics';
import { installTags } from './jinja-tags';
import { identifierOf, relationValue } from './jinja-relation';
import { splitBundle, type MacroSource } from './macro-bundle';
import { queryFunctions, type RenderQueries } from './render-queries';
import { INVOCATION_ID_VAR, TARGET_NAME_VAR } from './types';
import { compileMacroFile, macroFunctions, type BoundMacros } from './macro-runtime';

/** How `ref` and `source` become relations: the warehouse, or a snapshot for analytics. */
export interface RelationResolver {
  ref(model: string): string;
  source(sourceName: string, table: string): string;
  /**
   * The relations read whole: dbt's `ref(…).render()` and `source(…).render()`, which opt out of the
   * event-time filter dbt puts on a microbatch model's inputs. Absent: the same as ref and source.
   */
  readonly whole?: RelationResolver;
  /** The name a model is published under (its alias), for `ref('x').identifier`; absent: the model's name. */
  identifier?(model: string): string;
}

/**
 * dbt's `ref(…).render()` and `source(…).render()`, the relation read whole, written as calls of their
 * own (`__meterflow_whole_ref(…)`), so that ref() and source() still give plain strings, which every
 * filter and test takes as text. A `.render()` elsewhere (on a variable) stays a template error.
 */
const RENDERED_RELATION = /\b(ref|source)(\((?:[^()'"]|'[^']*'|"[^"]*")*\))\.render\(\)/g;
const withWholeRelations = (text: string): string => text.replace(RENDERED_RELATION, '__meterflow_whole_$1$2');

export interface RenderedModel {
  readonly sql: string;
  /** Arguments of `config(...)` calls, merged in order. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The vars the model read, with the values it got: part of its state, for incremental runs. */
  readonly usedVars: Readonly<Record<string, unknown>>;
  /** The environment variables the model read with env_var(), with the values it got: part of its state too. */
  readonly usedEnv: Readonly<Record<string, string>>;
}

export interface RenderOptions {
  readonly file: string;
  /** The model's template, or the bundle of it and the macro files it uses (see macro-bundle.ts). */
  readonly template: string;
  readonly resolver: RelationResolver;
  readonly vars: Readonly<Record<string, unknown>>;
  /** The relation the model itself builds, for `{{ this }}`. */
  readonly self: string;
  /** What `is_incremental()` gives: true when an incremental model's rows are added to its table. */
  readonly incremental?: boolean;
  /** What `target` answers (a project's generate_schema_name reads `target.schema`); its other attributes are refused. */
  readonly target?: Readonly<Record<string, unknown>>;
  /**
   * The columns of the model's refs and sources, by relation key, for adapter.get_columns_in_relation
   * (build/columns.ts looks them up before a run renders the model); NO_COLUMNS where the project is
   * read or planned, where no column matters.
   */
  readonly columns?: RelationColumns;
  /**
   * The model's resolved config, what `config.get(name, default)` and `config.require(name)` answer
   * where its SQL runs (dbt's runtime config). Where a project is read (`queries: 'discover'`) they
   * give '' as at dbt's parse; elsewhere without it they are refused.
   */
  readonly nodeConfig?: Readonly<Record<string, unknown>>;
  /** dbt's `project_name`; refused where not given. */
  readonly projectName?: string;
  /**
   * What run_query, statement and load_relation get (render-queries.ts): the warehouse's answers where
   * the SQL runs now, `discover` where only refs, config and vars are read; refused where not given.
   */
  readonly queries?: RenderQueries;
}

installJinjaSemantics();
// an undefined name prints as nothing, as in dbt (Jinja's Undefined); calling one is an error
const environment = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
for (const [name, filter] of Object.entries(FILTERS)) environment.addFilter(name, filter);
// @types/nunjucks leaves addTest out
const withTests = environment as unknown as { addTest(name: string, test: (...args: unknown[]) => boolean): void };
for (const [name, test] of Object.entries(TESTS)) withTests.addTest(name, test);

installTags(environment);

/** The dbt functions a template sees; a macro may not take one of these names. */
export const DBT_FUNCTIONS: readonly string[] = ['this', 'ref', 'source', 'config', 'var', 'env_var', 'is_incremental'];

/** The macros a macro file defines. A syntax error, or text outside macros, is a ProjectError naming the file. */
export function macrosDefinedIn(macro: MacroSource): readonly string[] {
  return compileMacroFile(environment, macro).names;
}

function requireName(value: unknown, what: string, file: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ProjectError(`${file}: ${what} needs a name as a string`, file);
  }
  return value;
}

/**
 * dbt's `target`, `flags` and `graph`, which meterflow has no value for (it reads no profiles.yml and
 * runs no dbt command line): an object that refuses every lookup, naming the file, so that
 * `{% if target.name == 'prod' %}` is an error rather than quietly false (nunjucks' undefined).
 */
function unavailable(name: string, why: string, file: string, known: Readonly<Record<string, unknown>> = {}): object {
  const refuse = (key?: string | symbol): never => {
    const what = typeof key === 'string' && !['toString', 'valueOf', 'toJSON'].includes(key) ? `${name}.${key}` : name;
    throw new ProjectError(`${file}: ${what} has no value in meterflow: ${why}`, file);
  };
  // printed, iterated or judged true, it is read whole (its keys): refused as well
  // a symbol is JavaScript asking what kind of object it is (Symbol.toStringTag), not the template
  return new Proxy(
    {},
    {
      get: (_target, key) => (typeof key === 'symbol' ? undefined : key in known ? known[key] : refuse(key)),
      ownKeys: () => refuse(),
      has: () => refuse(),
    },
  );
}

/**
 * dbt's `target`: its type (the adapter's, as adapter.type() answers: every model runs on DuckDB), the
 * name the run gives it (`--target`; a template that reads it records the var, so its SQL's state
 * follows the target), and where tables are named, its schema. The rest is refused: profiles.yml is not read.
 */
function dbtTarget(options: RenderOptions, usedVars: Record<string, unknown>, missing: { error?: RunValueMissingError }): object {
  const named = options.vars[TARGET_NAME_VAR];
  const known: Record<string, unknown> = { type: 'duckdb', ...options.target };
  Object.defineProperty(known, 'name', {
    enumerable: true,
    get: () => {
      if (typeof named !== 'string') {
        // (kept apart from other refusals: a worker starts without a run's target, and runs give theirs)
        missing.error = new RunValueMissingError(
          `${options.file}: target.name has no value in meterflow: the run names no target; give it one with --target ` +
            "(as dbt's --target), the same on every run that should build the same tables",
          options.file,
        );
        throw missing.error;
      }
      usedVars[TARGET_NAME_VAR] = named;
      return named;
    },
  });
  const why = `it reads no profiles.yml: of target it has the name the run gives (--target) and the type; use a var() for what differs between warehouses`;
  return unavailable('target', why, options.file, known);
}

/**
 * dbt's context beyond the functions: what meterflow has a value for (the run's start and id, as every
 * worker renders them; the project's name; the model's schema; the flags it knows), and the rest
 * refused by name rather than printed as nothing.
 */
function dbtContext(
  options: RenderOptions,
  usedVars: Record<string, unknown>,
  missing: { error?: RunValueMissingError },
): Record<string, unknown> {
  const { file } = options;
  return {
    target: dbtTarget(options, usedVars, missing),
    // the flags whose value meterflow knows: it has no --empty (dbt_utils' recency asks), and every
    // run builds and tests; FULL_REFRESH and the rest stay refused
    flags: unavailable('flags', 'it runs no dbt command; a run asks for a full refresh with --full-refresh', file, {
      EMPTY: false,
      WHICH: 'build',
    }),
    graph: unavailable('graph', "it gives templates no graph of the project's nodes", file),
    ...dbtRunValues(options.vars, options.template, usedVars),
    schema: (relationValue(options.self, identifierOf(options.self), file) as { schema: string }).schema,
    project_name: options.projectName ?? unavailable('project_name', 'it is not known where this is rendered', file),
    database: unavailable('database', 'a run builds the one warehouse it names', file),
    dbt_version: unavailable('dbt_version', 'meterflow is not dbt; it renders as dbt-core 1.10 does', file),
    invocation_args_dict: unavailable('invocation_args_dict', 'it runs no dbt command', file),
  };
}

/** Render one model's SQL. Template and resolver errors name the file. */
export function renderModel(options: RenderOptions): RenderedModel {
  if (options.queries !== 'discover') return renderPass(options, true, () => undefined);
  // read for its refs and config only: a template whose use of a query's (absent) rows fails is read
  // again with execute false, as dbt's parse reads every template
  let queried = false;
  let rendered: RenderedModel;
  try {
    rendered = renderPass(options, true, () => (queried = true));
  } catch (err) {
    if (!queried) throw err;
    rendered = renderPass(options, false, () => undefined);
  }
  // its SQL depends on what the warehouse answers, which no state of its inputs records (a query may
  // read the clock, or a table by name): it reads the run's id, so it is built again on every run
  return queried
    ? { ...rendered, usedVars: { ...rendered.usedVars, [INVOCATION_ID_VAR]: options.vars[INVOCATION_ID_VAR] ?? null } }
    : rendered;
}

/**
 * dbt's `config.get(name, default=None)` and `config.require(name)`: the model's resolved config (with
 * its config() calls so far) where its SQL runs, '' where the project is read (as dbt's parse gives),
 * refused where neither is known.
 */
function configLookups(options: RenderOptions, called: Readonly<Record<string, unknown>>) {
  const { file } = options;
  const lookup = (args: unknown[], required: boolean) => {
    const { positional, keywords } = splitCall(args);
    const name = requireName(positional[0] ?? keywords.name, required ? 'config.require()' : 'config.get()', file);
    if (options.queries === 'discover') return '';
    if (options.nodeConfig === undefined) {
      throw new ProjectError(
        `${file}: config.${required ? 'require' : 'get'}('${name}') is not answered where this template renders`,
        file,
      );
    }
    const value = { ...options.nodeConfig, ...called }[name];
    if (value !== undefined) return value;
    if (required) throw new ProjectError(`${file}: config.require('${name}'): the model has no '${name}' config`, file);
    return positional[1] ?? keywords.default ?? null;
  };
  return { get: (...args: unknown[]) => lookup(args, false), require: (...args: unknown[]) => lookup(args, true) };
}

/** One rendering; `execute` is dbt's flag, `queried` is told of each query the template makes. */
function renderPass(options: RenderOptions, execute: boolean, queried: () => void): RenderedModel {
  const { file, resolver, vars } = options;
  const refOf = (from: RelationResolver, args: unknown[]) => {
    const { positional } = splitCall(args);
    // dbt allows ref('package', 'model'); the model is the last positional argument
    const model = requireName(positional[positional.length - 1], 'ref()', file);
    return relationValue(from.ref(model), resolver.identifier?.(model) ?? model, file, `ref:${model}`);
  };
  const sourceOf = (from: RelationResolver, args: unknown[]) => {
    const { positional } = splitCall(args);
    const table = requireName(positional[1], 'source()', file);
    const sourceName = requireName(positional[0], 'source()', file);
    return relationValue(from.source(sourceName, table), table, file, `source:${sourceName}.${table}`);
  };
  const config: Record<string, unknown> = {};
  const usedVars: Record<string, unknown> = {};
  const missing: { error?: RunValueMissingError } = {};
  const usedEnv: Record<string, string> = {};
  // the project's macros, bound once the context they run in is made (adapter.dispatch, dbt.x read them late)
  let bound: BoundMacros = { scope: {}, of: () => undefined };
  const crossDb = dispatchedCrossDbMacros(() => bound.of(undefined));
  const context = {
    this: relationValue(options.self, identifierOf(options.self), file, 'this'),
    ref: (...args: unknown[]) => refOf(resolver, args),
    source: (...args: unknown[]) => sourceOf(resolver, args),
    __meterflow_whole_ref: (...args: unknown[]) => refOf(resolver.whole ?? resolver, args),
    __meterflow_whole_source: (...args: unknown[]) => sourceOf(resolver.whole ?? resolver, args),
    config: Object.assign(
      (...args: unknown[]) => {
        const { positional, keywords } = splitCall(args);
        const dict = positional[0];
        // meterflow's code reads these: a whole float (256.0) is its number here
        Object.assign(config, plainNumbers(typeof dict === 'object' && dict !== null ? dict : {}), plainNumbers(keywords));
        return '';
      },
      configLookups(options, config),
    ),
    var: (...args: unknown[]) => {
      const { positional } = splitCall(args);
      const name = requireName(positional[0], 'var()', file);
      if (name in vars) return (usedVars[name] = vars[name]);
      if (positional.length > 1) return (usedVars[name] = positional[1]);
      // (a run may set it with --vars: a worker starts without, and runs give theirs)
      missing.error = new RunValueMissingError(`${file}: var('${name}') is not defined in dbt_project.yml vars and has no default`, file);
      throw missing.error;
    },
    env_var: (...args: unknown[]) => {
      const { positional } = splitCall(args);
      const name = requireName(positional[0], 'env_var()', file);
      if (name.startsWith(SECRET_ENV_PREFIX)) {
        throw new ProjectError(
          `${file}: env_var('${name}') is a secret (${SECRET_ENV_PREFIX}…), which dbt allows in profiles.yml and packages.yml only, not in a model's SQL`,
          file,
        );
      }
      const value = process.env[name] ?? positional[1];
      if (value === undefined) throw new ProjectError(`${file}: env_var('${name}') is not set and has no default`, file);
      usedEnv[name] = String(value);
      return value;
    },
    is_incremental: () => options.incremental === true,
    // true but where a template read for its refs cannot render without its queries' rows (renderModel)
    execute,
    namespace,
    // dbt's cross-database macros, as dbt.x and as x (dbt's global macros); the project's own win,
    // and its duckdb__x or default__x is what they dispatch to (a differential probe found them ignored)
    dbt: crossDb,
    ...crossDb,
    ...dbtGlobals(file, (message) => {
      throw new ProjectError(message, file);
    }),
    ...queryFunctions(
      file,
      options.queries ?? 'refuse',
      (message) => {
        throw new ProjectError(message, file);
      },
      queried,
    ),
    ...dbtContext(options, usedVars, missing),
  };
  const bundle = splitBundle(options.template);
  const model = withWholeRelations(bundle.model);
  const macros = bundle.macros.map((macro) => ({ ...macro, source: withWholeRelations(macro.source) }));
  try {
    const withAdapter = { ...context, adapter: dbtAdapter(file, (pkg) => bound.of(pkg), options.columns) };
    bound = macroFunctions(environment, macros, withAdapter);
    const sql = environment.renderString(model, { ...withAdapter, ...bound.scope });
    return { sql, config, usedVars, usedEnv };
  } catch (err) {
    if (missing.error) throw missing.error;
    if (err instanceof ProjectError) throw err;
    const cause = err as Error;
    // nunjucks wraps our own errors: keep their message, which already names the file
    const inner = /ProjectError: (.*)/s.exec(cause.message);
    if (inner?.[1]) throw new ProjectError(inner[1].trim(), file);
    const unknown = /Unable to call `(\w+)`, which is undefined/.exec(cause.message);
    if (unknown?.[1]) {
      // NOTE: nunjucks numbers the lines of a failed call from 0 and leaves out line 0; a call made
      // inside a macro is reported at the model's line that called the macro
      const line = Number(/\[Line (\d+)/.exec(cause.message)?.[1] ?? 0) + 1;
      const calls = new RegExp(`\\b${unknown[1]}\\s*\\(`);
      const inMacro = calls.test(model) ? undefined : macros.find((macro) => calls.test(macro.source));
      const at = inMacro ? ` (line ${line}, in ${inMacro.file})` : ` (line ${line})`;
      throw new ProjectError(`${file}: '${unknown[1]}' is neither a macro of the project (macro-paths) nor a dbt function${at}`, file);
    }
    throw new ProjectError(`${file}: template error: ${cause.message.replace('(unknown path)', '').trim()}`, file);
  }
}

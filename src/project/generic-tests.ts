// A project's own generic tests (`{% test name(model, column_name, …) %}` in macro-paths or in
// tests/generic), rendered once when the project loads: the YAML test's arguments passed to the
// test's macro, `ref('x')` among them as dbt renders it. The SQL keeps placeholders for the tested
// relation and each ref, which the run fills in (project/data-tests.ts).
import { ProjectError } from '../errors';
import { relation } from '../duckdb/sql';
import { bundleTemplate } from './macro-bundle';
import { macrosUsedBy, type MacroFile } from './macros';
import { renderModel, type RelationResolver } from './render';
import { parseTestConfig, type TestConfig } from './data-tests';
import type { DataTest, SourceTable } from './types';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const REF = /^\s*ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*$/;

/**
 * The generic tests a YAML test may name: the project's own by name (their macros are
 * `test_<name>`), an installed package's by the package's name and theirs
 * (`dbt_utils.expression_is_true`). dbt looks for an unqualified one in the project and in dbt
 * alone, never in a package, so neither does meterflow.
 */
export function genericTestNames(macros: readonly MacroFile[]): Set<string> {
  return new Set(
    macros.flatMap((macro) =>
      macro.names
        .filter((name) => name.startsWith('test_') && !macro.meterflowTests?.includes(name.slice(5)))
        .map((name) => (macro.package ? `${macro.package}.${name.slice(5)}` : name.slice(5))),
    ),
  );
}

/** The macro a generic test runs: `test_<name>`, or `<package>.test_<name>` for a package's. */
const testMacro = (name: string): string => {
  const dot = name.indexOf('.');
  return dot < 0 ? `test_${name}` : `${name.slice(0, dot)}.test_${name.slice(dot + 1)}`;
};

/**
 * An argument as Jinja: a `ref('x')` string as that call, a relation whose SQL is x's placeholder (the
 * resolver notes x), as dbt gives a test a Relation there; anything else as a literal.
 */
function argument(value: unknown): string {
  if (typeof value === 'string') {
    const ref = REF.exec(value)?.[1];
    if (ref) return `ref(${JSON.stringify(ref)})`;
  }
  return value === null || value === undefined ? 'none' : JSON.stringify(value);
}

/** Jinja in a text: `{{ … }}` or `{% … %}`. */
const JINJA = /\{\{|\{%/;

/** A test argument with every text holding Jinja rendered (in lists too), as dbt renders a test's arguments. */
function renderedArgument(value: unknown, render: (text: string) => string): unknown {
  if (typeof value === 'string') return JINJA.test(value) ? render(value) : value;
  if (Array.isArray(value)) return value.map((item) => renderedArgument(item, render));
  return value;
}

/**
 * A test with the Jinja in its arguments and its `where` rendered (`values: ["{{ var('v') }}"]`,
 * `where: "day > '{{ var('start') }}'"`): dbt renders each when it parses the test, where meterflow
 * compared the text as written (until 2026-12-08).
 */
function withRenderedArguments(test: DataTest, render: (text: string) => string): DataTest {
  const args = Object.fromEntries(Object.entries(test.args).map(([name, value]) => [name, renderedArgument(value, render)]));
  return { ...test, args, ...(test.where !== undefined && JINJA.test(test.where) ? { where: render(test.where) } : {}) };
}

const SOURCE_CALL = /^\s*source\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*$/;

/**
 * A relationships test whose `to` is a source (`to: source('raw', 'meters')`, which dbt allows) is
 * refused, naming it: meterflow orders a run by the refs of tests, and seeds only the sources its
 * models read (until 2026-12-08 it failed at run time, saying it needed a ref).
 */
function refuseSourceTarget(test: DataTest, file: string): void {
  const call = test.kind === 'relationships' ? SOURCE_CALL.exec(String(test.args.to ?? '')) : null;
  if (!call) return;
  throw new ProjectError(
    `${file}: test ${test.id} checks against source('${call[1]}', '${call[2]}'), which meterflow does not run: ` +
      "give it to: ref('x') of a model that reads the source, or write it as a singular test",
    file,
  );
}

/** The configs a generic test's macro may set with config(), as dbt reads them there. */
const MACRO_CONFIGS = ['severity', 'warn_if', 'error_if', 'limit', 'where', 'fail_calc'] as const;

/**
 * A custom generic test with the config its macro sets with config() (`{{ config(severity='warn') }}`):
 * over dbt_project.yml's data_tests: block, under the test's own YAML (ownConfig), as dbt layers them.
 * Until 2026-12-08 only fail_calc was read there.
 */
function withMacroConfig(test: DataTest, called: Readonly<Record<string, unknown>>, file: string): DataTest {
  const { ownConfig = [], ...rest } = test;
  const fromMacro = Object.fromEntries(
    MACRO_CONFIGS.filter((key) => key in called && !ownConfig.includes(key)).map((key) => [key, called[key]]),
  );
  if (Object.keys(fromMacro).length === 0) return rest;
  const current = {
    severity: test.severity,
    ...(test.warnIf !== undefined ? { warn_if: test.warnIf } : {}),
    ...(test.errorIf !== undefined ? { error_if: test.errorIf } : {}),
    ...(test.limit !== undefined ? { limit: test.limit } : {}),
    ...(test.where !== undefined ? { where: test.where } : {}),
    ...(test.failCalc !== undefined ? { fail_calc: test.failCalc } : {}),
  };
  const { severity, where, failCalc, thresholds } = parseTestConfig({ ...current, ...fromMacro } as TestConfig, file, `test ${test.id}`);
  const { warnIf: _w, errorIf: _e, limit: _l, where: _wh, failCalc: _f, ...kept } = rest;
  return { ...kept, severity, ...thresholds, ...(where !== undefined ? { where } : {}), ...(failCalc !== undefined ? { failCalc } : {}) };
}

/**
 * Each test among `tests` with the Jinja of its arguments rendered, and each custom generic one with its SQL rendered; and the models they read (refs in
 * their arguments or their SQL), which a run builds before it runs them.
 */
export function renderGenericTests(
  tests: readonly DataTest[],
  context: {
    readonly file: string;
    readonly macros: readonly MacroFile[];
    readonly vars: Readonly<Record<string, unknown>>;
    readonly sources: ReadonlyMap<string, SourceTable>;
    /** Told the names of the vars the tests read. */
    readonly varsRead?: Set<string>;
  },
): { tests: DataTest[]; refs: string[] } {
  const refs = new Set<string>();
  const resolver: RelationResolver = {
    ref: (model) => {
      refs.add(model);
      return `__METERFLOW_REF_${model}__`;
    },
    source: (sourceName, table) => {
      const source = context.sources.get(`${sourceName}.${table}`);
      if (!source) throw new ProjectError(`${context.file}: source('${sourceName}', '${table}') in a test is not declared`, context.file);
      return relation(source.schema, source.name);
    },
  };
  const render = (template: string) => {
    const rendered = renderModel({
      file: context.file,
      template: bundleTemplate(template, macrosUsedBy(template, context.macros)),
      vars: context.vars,
      self: '__METERFLOW_MODEL__',
      resolver,
    });
    for (const name of Object.keys(rendered.usedVars)) context.varsRead?.add(name);
    return rendered;
  };
  const rendered = tests.map((written) => {
    const test = withRenderedArguments(written, (text) => render(text).sql);
    refuseSourceTarget(test, context.file);
    if (test.kind !== 'generic' || !test.macro) return test;
    const args = { ...(test.column ? { column_name: test.column } : {}), ...test.args };
    // the tested model as a relation (`this`, whose SQL is its placeholder), as dbt_utils' _is_relation checks
    const call = ['model=this'].concat(
      Object.entries(args).map(([name, value]) => {
        if (!IDENTIFIER.test(name))
          throw new ProjectError(`${context.file}: argument '${name}' of test ${test.id} is not a name`, context.file);
        return `${name}=${argument(value)}`;
      }),
    );
    const { sql, config } = render(`{{ ${testMacro(test.macro)}(${call.join(', ')}) }}`);
    return { ...withMacroConfig(test, config, context.file), sql: sql.trim() };
  });
  return { tests: rendered, refs: [...refs] };
}

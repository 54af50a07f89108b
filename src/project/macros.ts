// Loads the project's macros as dbt does: every `{% macro %}` in the `.sql` files under `macro-paths`
// (default `macros`) is callable by name from every model and test, with no import line.
import { readdir, readFile } from 'node:fs/promises';
import { readBelow } from './skipped-folders';
import { isMeterflowDefinition } from './native-tests';
import { DISPATCH_PREFIXES } from './dbt-adapter';
import { isCrossDbImplementation } from './dbt-cross-db';
import path from 'node:path';
import { ProjectError } from '../errors';
import type { MacroSource } from './macro-bundle';
import { DBT_FUNCTIONS, macrosDefinedIn } from './render';

/** A macro file and the macros it defines. */
export interface MacroFile extends MacroSource {
  readonly names: readonly string[];
  /** The generic tests it defines as meterflow's own definition does: meterflow runs those natively. */
  readonly meterflowTests?: readonly string[];
}

// dbt's own generic tests as dbt defines them: each dispatches to `default__test_<name>` (or
// `duckdb__test_<name>`), which the project may define to change what the test checks
const BUILTIN_TEST_SIGNATURES: Readonly<Record<string, string>> = {
  unique: 'model, column_name',
  not_null: 'model, column_name',
  accepted_values: 'model, column_name, values, quote=True',
  relationships: 'model, column_name, to, field',
};

/**
 * Where the project defines `default__test_<name>` or `duckdb__test_<name>` for one of dbt's own
 * tests (not_null, unique, accepted_values, relationships), dbt's `test_<name>`, which dispatches to
 * it: the test then runs the project's definition, as under dbt, not meterflow's native one. (A
 * project that defines `test_<name>` itself overrides it already.)
 */
export function builtinTestDispatchers(own: readonly MacroFile[]): MacroFile[] {
  const defined = new Set(own.flatMap((file) => file.names));
  const names = Object.keys(BUILTIN_TEST_SIGNATURES).filter(
    (name) => !defined.has(`test_${name}`) && (defined.has(`default__test_${name}`) || defined.has(`duckdb__test_${name}`)),
  );
  if (names.length === 0) return [];
  const source = names
    .map((name) => {
      const signature = BUILTIN_TEST_SIGNATURES[name] as string;
      const args = signature.replace(/=\w+/g, '');
      return `{% macro test_${name}(${signature}) %}{{ return(adapter.dispatch('test_${name}', 'dbt')(${args})) }}{% endmacro %}`;
    })
    .join('\n');
  return [{ file: 'dbt:generic_tests.sql', source, names: names.map((name) => `test_${name}`) }];
}

// dbt-core's own naming macros a project's generate_schema_name or generate_alias_name may call
// (include/global_project/macros/get_custom_name), as dbt-core 1.10 defines them
const DBT_NAMING_MACROS: Readonly<Record<string, string>> = {
  default__generate_schema_name: `{% macro default__generate_schema_name(custom_schema_name, node) -%}
    {%- set default_schema = target.schema -%}
    {%- if custom_schema_name is none -%}{{ default_schema }}{%- else -%}{{ default_schema }}_{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}`,
  generate_schema_name_for_env: `{% macro generate_schema_name_for_env(custom_schema_name, node) -%}
    {%- set default_schema = target.schema -%}
    {%- if target.name == 'prod' and custom_schema_name is not none -%}{{ custom_schema_name | trim }}{%- else -%}{{ default_schema }}{%- endif -%}
{%- endmacro %}`,
  default__generate_alias_name: `{% macro default__generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}{{ custom_alias_name | trim }}{%- else -%}{{ node.name }}{%- endif -%}
{%- endmacro %}`,
};

/** dbt's naming macros the project does not define itself, for its own naming macros (where it has one) to call. */
export function builtinNamingMacros(own: readonly MacroFile[]): MacroFile[] {
  const defined = new Set(own.flatMap((file) => file.names));
  if (!defined.has('generate_schema_name') && !defined.has('generate_alias_name')) return [];
  const names = Object.keys(DBT_NAMING_MACROS).filter((name) => !defined.has(name));
  if (names.length === 0) return [];
  return [{ file: 'dbt:get_custom_name.sql', source: names.map((name) => DBT_NAMING_MACROS[name]).join('\n'), names }];
}

/**
 * dbt's generic tests (`{% test name(model, column_name, …) %}` … `{% endtest %}`) as the macros dbt
 * makes of them, `test_<name>`, so that nunjucks compiles them and a YAML test can call them.
 */
export function testBlocksAsMacros(source: string): string {
  return source
    .replace(/\{%(-?)\s*test\s+(\w+)\s*\(/g, '{%$1 macro test_$2(')
    .replace(/\{%(-?)\s*endtest\s*(-?)%\}/g, '{%$1 endmacro $2%}');
}

/**
 * A macro file without its `{% materialization %}` blocks: meterflow runs no custom materialization
 * (a model configured with one is refused, naming it), and one that no model uses is no error, as in
 * dbt. (A differential probe found any such block refused as an unknown tag.)
 */
export function withoutMaterializations(source: string): string {
  // (each block leaves its newlines, so that later macros keep their line numbers in messages)
  return source.replace(/\{%-?\s*materialization\b[\s\S]*?\{%-?\s*endmaterialization\s*-?%\}/g, (block) => block.replace(/[^\n]/g, ''));
}

/** The generic tests a file defines, by name. */
export function genericTestsIn(source: string): string[] {
  return [...source.matchAll(/\{%-?\s*test\s+(\w+)\s*\(/g)].map((match) => match[1] as string);
}

async function sqlFilesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.sql'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .filter((file) => readBelow(folder, file))
    .sort();
}

/**
 * Read and check every macro file: those under `macro-paths`, and the generic tests in `generic/`
 * folders under `test-paths` (but for files whose every test meterflow runs natively, `native`). A
 * folder may be absent, as in dbt; a macro may not be defined twice nor take the name of a dbt function.
 * `pkg`: the installed package the paths are of (its macros are called under its name).
 */
export async function loadMacros(
  dir: string,
  macroPaths: readonly string[],
  testPaths: readonly string[] = [],
  native: ReadonlySet<string> = new Set(),
  pkg?: string,
): Promise<MacroFile[]> {
  const files: MacroFile[] = [];
  const definedIn = new Map<string, string>();
  const listed = async (folder: string) =>
    sqlFilesUnder(path.join(dir, folder)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw new ProjectError(`dbt_project.yml: '${folder}' is not a folder that can be read`, path.join(dir, 'dbt_project.yml'));
    });
  const genericFiles = (await Promise.all(testPaths.map(listed))).flat().filter((file) => file.split(path.sep).includes('generic'));
  const candidates = [...(await Promise.all(macroPaths.map(listed))).flat(), ...genericFiles];
  for (const absolute of candidates) {
    const file = path.relative(dir, absolute);
    const text = await readFile(absolute, 'utf8');
    // a generic test file whose every test meterflow runs natively is dbt's alone (it may use dbt-only Jinja)
    const meterflowTests = genericTestsIn(text).filter((name) => native.has(name) && isMeterflowDefinition(name, text));
    if (genericFiles.includes(absolute) && genericTestsIn(text).every((name) => meterflowTests.includes(name))) continue;
    const source = testBlocksAsMacros(withoutMaterializations(text));
    const names = macrosDefinedIn({ file, source });
    for (const name of names) {
      if (DBT_FUNCTIONS.includes(name)) throw new ProjectError(`${file}: a macro may not be named '${name}', a dbt function`, file);
      const other = definedIn.get(name);
      if (other) throw new ProjectError(`${file}: macro '${name}' is already defined in ${other}`, file);
      definedIn.set(name, file);
    }
    files.push({ file, source, names, meterflowTests, ...(pkg ? { package: pkg } : {}) });
  }
  return files;
}

/** Whether a text names a macro; `duckdb__x` and `default__x` are named by `x`, as adapter.dispatch('x') finds them. */
const mentions = (text: string, name: string): boolean => {
  const dispatched = new RegExp(`^(?:${DISPATCH_PREFIXES.join('|')})__(\\w+)$`).exec(name)?.[1];
  return new RegExp(`\\b${name}\\b`).test(text) || (dispatched !== undefined && new RegExp(`\\b${dispatched}\\b`).test(text));
};

/**
 * Whether a text (the project's, or of the package `from`) may call a macro of this file: one of the
 * project's by its name; a package's by its name where the text names the package too
 * (`dbt_utils.star`, `adapter.dispatch('star', 'dbt_utils')`) or is of that package.
 */
function mayCall(text: string, from: string | undefined, macro: MacroFile): boolean {
  if (macro.package !== undefined && macro.package !== from && !new RegExp(`\\b${macro.package}\\b`).test(text)) return false;
  // (and a project's duckdb__concat where a template names concat: dbt's concat dispatches to it)
  return macro.names.some((name) => mentions(text, name) || (isCrossDbImplementation(name) && mentions(text, name.replace(/^\w+?__/, ''))));
}

/** The macro files a template needs: those whose macros it names, and theirs in turn, in load order. */
export function macrosUsedBy(template: string, macros: readonly MacroFile[]): MacroFile[] {
  const used = new Set<MacroFile>();
  const pending: { text: string; from?: string }[] = [{ text: template }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    for (const macro of macros) {
      if (used.has(macro) || !mayCall(next.text, next.from, macro)) continue;
      used.add(macro);
      pending.push({ text: macro.source, ...(macro.package ? { from: macro.package } : {}) });
    }
  }
  return macros.filter((macro) => used.has(macro));
}

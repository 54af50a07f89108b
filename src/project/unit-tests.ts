// dbt unit tests (`unit_tests:` in a model's YAML, dbt 1.8): a model's SQL run on fixtures given for
// its inputs, its rows compared with the expected ones. Read and checked here, when the project loads;
// run by build/unit-tests.ts once the model's inputs are built (their column types type the fixtures).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { ProjectError } from '../errors';
import { unitInputCall, type UnitTestRows, type UnitTestSpec } from './types';

/** A `unit_tests:` entry as YAML gives it, with the file it is in. */
export interface UnitTestEntry {
  readonly name?: unknown;
  readonly model?: unknown;
  readonly description?: unknown;
  readonly given?: unknown;
  readonly expect?: unknown;
  readonly overrides?: unknown;
  readonly config?: unknown;
  readonly versions?: unknown;
  readonly file: string;
}

const isDict = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A given's input as a relation key: `ref:<model>`, `source:<source>.<table>` or `this`. */
export function unitInputKey(input: unknown, fail: (what: string) => never): string {
  const text = typeof input === 'string' ? input.trim() : '';
  if (text === 'this') return 'this';
  const quoted = `\\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\\s*`;
  const ref = new RegExp(`^ref\\(${quoted}\\)$`).exec(text) ?? new RegExp(`^ref\\(${quoted},${quoted}\\)$`).exec(text);
  // (ref('project', 'model'): the model, a model of the project's own being all a unit test may read)
  if (ref) return `ref:${ref[2] ?? ref[1]}`;
  const source = new RegExp(`^source\\(${quoted},${quoted}\\)$`).exec(text);
  if (source) return `source:${source[1]}.${source[2]}`;
  return fail(`has a given input '${String(input)}': an input is ref('model'), source('source', 'table') or this`);
}

/** Where a `fixture:` is: `<test-path>/fixtures/…/<name>.<csv|sql>`, the first found (`fixtureFiles`: those under fixtures/ folders). */
async function fixtureText(
  name: string,
  format: 'csv' | 'sql',
  fixtureFiles: readonly string[],
  fail: (what: string) => never,
): Promise<string> {
  const found = fixtureFiles.filter((f) => path.basename(f) === `${name}.${format}`);
  if (found.length > 1) return fail(`names fixture '${name}', and two fixtures have that name (${found.join(', ')})`);
  const file = found[0];
  if (!file) return fail(`names fixture '${name}', but no ${name}.${format} is under the fixtures/ folder of a test path`);
  return readFile(file, 'utf8');
}

/** One given's or the expect's rows: dict rows, CSV (inline or a fixture file) or SQL. */
async function rowsOf(
  entry: Record<string, unknown>,
  what: string,
  fixtureFiles: readonly string[],
  fail: (what: string) => never,
): Promise<UnitTestRows | { absent: true }> {
  const format = entry.format ?? 'dict';
  if (format !== 'dict' && format !== 'csv' && format !== 'sql') fail(`has ${what} of format '${String(format)}' (dict, csv or sql)`);
  if (entry.fixture !== undefined && format === 'dict') fail(`has ${what} with a fixture, which takes format csv or sql`);
  const text =
    entry.fixture !== undefined ? await fixtureText(String(entry.fixture), format as 'csv' | 'sql', fixtureFiles, fail) : entry.rows;
  if (format === 'sql') {
    if (typeof text !== 'string' || text.trim() === '') return fail(`has ${what} of format sql without its SQL`);
    return { sql: text };
  }
  if (format === 'csv') {
    if (typeof text !== 'string') return fail(`has ${what} of format csv whose rows are not CSV text`);
    // (as Python's csv reads it: no cell trimmed)
    let records: Record<string, string>[];
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    } catch (err) {
      return fail(`has ${what} whose CSV does not parse: ${err instanceof Error ? err.message : String(err)}`);
    }
    // (an empty cell is NULL)
    return { rows: records.map((record) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v === '' ? null : v]))) };
  }
  if (text === undefined || text === null) return { absent: true };
  if (!Array.isArray(text) || !text.every(isDict)) return fail(`has ${what} whose rows are not a list of mappings`);
  return { rows: text as Record<string, unknown>[] };
}

/** `overrides:` as meterflow applies them: vars, and is_incremental among the macros. */
function overridesOf(value: unknown, fail: (what: string) => never): Pick<UnitTestSpec, 'vars' | 'incremental'> {
  if (value === undefined || value === null) return {};
  if (!isDict(value)) return fail('has overrides that are not a mapping');
  const { vars, macros, env_vars: envVars, ...other } = value;
  const unknown = Object.keys(other)[0];
  if (unknown) fail(`overrides '${unknown}' (vars, macros or env_vars)`);
  if (envVars !== undefined && !(isDict(envVars) && Object.keys(envVars).length === 0)) {
    fail('overrides env_vars, which meterflow does not apply: every worker reads its own environment (see env_var())');
  }
  if (vars !== undefined && !isDict(vars)) fail('overrides vars with something other than a mapping');
  const { is_incremental: incremental, ...otherMacros } = isDict(macros) ? macros : {};
  const otherMacro = Object.keys(otherMacros)[0];
  if (otherMacro) fail(`overrides the macro '${otherMacro}', which meterflow does not apply (is_incremental only)`);
  if (incremental !== undefined && typeof incremental !== 'boolean')
    fail('overrides is_incremental with something other than true or false');
  return { ...(isDict(vars) ? { vars } : {}), ...(typeof incremental === 'boolean' ? { incremental } : {}) };
}

/** A `unit_tests:` entry, read and checked: undefined when its config disables it. */
export async function unitTestOf(
  entry: UnitTestEntry,
  fixtureFiles: readonly string[],
): Promise<(UnitTestSpec & { name: string; seedsAsTheyAre?: string[] }) | undefined> {
  const { file } = entry;
  const name = typeof entry.name === 'string' ? entry.name : '';
  const fail = (what: string): never => {
    throw new ProjectError(`${file}: unit test '${name}' ${what}`, file);
  };
  if (!IDENTIFIER.test(name)) throw new ProjectError(`${file}: a unit test's name must be a plain name, not '${String(entry.name)}'`, file);
  if (isDict(entry.config) && entry.config.enabled === false) return undefined;
  if (typeof entry.model !== 'string' || entry.model === '') return fail('names no model');
  if (entry.versions !== undefined) fail('has versions, and meterflow does not run model versions');
  if (!Array.isArray(entry.given) || !entry.given.every(isDict)) return fail('has no given list of inputs');
  const given: UnitTestSpec['given'][number][] = [];
  const seedsAsTheyAre: string[] = [];
  for (const [i, input] of entry.given.entries()) {
    const key = unitInputKey(input.input, fail);
    const rows = await rowsOf(input, `given input ${i + 1}`, fixtureFiles, fail);
    // (no rows: a seed's own, checked against the model's inputs)
    if ('absent' in rows) seedsAsTheyAre.push(key);
    else given.push({ input: key, ...rows });
  }
  if (!isDict(entry.expect)) return fail('has no expect');
  const expect = await rowsOf(entry.expect, 'its expect', fixtureFiles, fail);
  if ('absent' in expect) return fail('has an expect without rows');
  return {
    name,
    model: entry.model,
    given,
    expect,
    ...overridesOf(entry.overrides, fail),
    ...(seedsAsTheyAre.length > 0 ? { seedsAsTheyAre } : {}),
  };
}

/** What a model reads directly, as its own template names it (ephemeral models not inlined). */
export interface DirectReads {
  /** Relation keys: `ref:<name>`, `source:<source>.<table>`. */
  readonly keys: ReadonlySet<string>;
  readonly seeds: ReadonlySet<string>;
  readonly ephemerals: ReadonlySet<string>;
}

/**
 * A unit test's inputs against what its model reads, as dbt checks them: every input is given but
 * seeds (read as they are), each given input is one the model reads (or `this`, for an incremental
 * run), and an ephemeral model's fixture is SQL.
 */
export function checkUnitInputs(
  spec: UnitTestSpec & { name: string; seedsAsTheyAre?: string[] },
  reads: DirectReads,
  file: string,
  incrementalModel: boolean,
): void {
  const fail = (what: string): never => {
    throw new ProjectError(`${file}: unit test '${spec.name}' of '${spec.model}' ${what}`, file);
  };
  const given = new Set(spec.given.map((g) => g.input));
  // (an input the model does not read is left unread, as dbt leaves it)
  if (incrementalModel && spec.incremental === undefined) {
    fail('is of an incremental model and does not set is_incremental (overrides: {macros: {is_incremental: …}}), as dbt requires');
  }
  if (spec.incremental === true && !given.has('this'))
    fail('sets is_incremental: true and gives no this (the table the model adds to), as dbt requires');
  for (const key of spec.seedsAsTheyAre ?? []) {
    if (!(key.startsWith('ref:') && reads.seeds.has(key.slice(4))))
      fail(`gives ${unitInputCall(key)} no rows (only a seed is read as it is)`);
  }
  for (const input of spec.given) {
    if (input.input === 'this' && spec.incremental !== true)
      fail('gives this, which a model reads only where overrides set is_incremental: true');
    if (input.input.startsWith('ref:') && reads.ephemerals.has(input.input.slice(4)) && !('sql' in input)) {
      fail(`gives the ephemeral model ${unitInputCall(input.input)} as rows: dbt takes an ephemeral input as format: sql`);
    }
  }
  for (const key of reads.keys) {
    if (!given.has(key) && !(key.startsWith('ref:') && reads.seeds.has(key.slice(4)))) {
      fail(`does not give ${unitInputCall(key)}, which the model reads: give every input but seeds (rows: [] for none)`);
    }
  }
}

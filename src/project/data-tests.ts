// dbt's generic data tests from YAML, parsed into DataTest records and turned into SQL that counts
// failing rows. `expression_is_true`, `row_count_between`, `accepted_range`, `on_time_grid` and
// `all_finite` are this project's own generic tests (tests/generic/ has them as dbt macros, so dbt
// runs the same YAML).
import { ProjectError } from '../errors';
import { quotedIdentifier, quotedString } from '../duckdb/sql';
import { contractMismatchSql } from './contracts';
import { pyStr } from './jinja-python';
import type { DataTest, DataTestKind, Freshness, Severity } from './types';

/** The generic tests meterflow runs natively (a project's tests/generic may define them for dbt). */
export const NATIVE_TESTS: readonly DataTestKind[] = [
  'not_null',
  'unique',
  'unique_combination_of_columns',
  'accepted_values',
  'relationships',
  'expression_is_true',
  'row_count_between',
  'accepted_range',
  'on_time_grid',
  'all_finite',
];
/**
 * dbt's own generic tests: a project that defines one of these names overrides dbt's, as in dbt, so
 * its definition is run, not meterflow's. (The others of NATIVE_TESTS are this project's generic
 * tests, which a project's tests/generic defines for dbt with the same meaning.)
 */
export const DBT_BUILTIN_TESTS: readonly DataTestKind[] = ['not_null', 'unique', 'accepted_values', 'relationships'];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

type YamlTest = string | Record<string, Record<string, unknown> | null>;

const KINDS = NATIVE_TESTS;

/** What a project's YAML tests are read with. */
export interface TestNames {
  /** The generic tests of the project and its packages, as a YAML test names them (genericTestNames). */
  readonly generics: ReadonlySet<string>;
  /** The config dbt_project.yml's `data_tests:` block gives the tests of a YAML file (under each test's own). */
  readonly defaultsFor: (file: string) => Readonly<Record<string, unknown>>;
}

const NO_TEST_NAMES: TestNames = { generics: new Set(), defaultsFor: () => ({}) };

/**
 * Parse the `data_tests:` (or older `tests:`) list of a model, column or source column. A test
 * named as one of `generics` is kind `generic`, before meterflow's own kinds.
 */
export function parseTests(
  entries: unknown,
  target: string,
  file: string,
  column?: string,
  { generics, defaultsFor }: TestNames = NO_TEST_NAMES,
): DataTest[] {
  const defaults = defaultsFor(file);
  if (entries === undefined || entries === null) return [];
  if (!Array.isArray(entries)) throw new ProjectError(`${file}: data_tests of ${target} must be a list`, file);
  return (entries as YamlTest[]).flatMap((entry): DataTest[] => {
    const { name, body, given } = testEntry(entry);
    const plain = name.replace(/^meterflow\./, '');
    const kind = testKind(plain, generics, () => `${file}: unknown data test '${name}' on ${target}`, file);
    const settings = (body ?? {}) as Record<string, unknown>;
    // dbt 1.10+ nests arguments under `arguments:`; older projects put them beside `config:`
    const {
      config,
      arguments: nested,
      column_name: columnName,
      name: named,
      ...inline
    } = settings as {
      config?: TestConfig;
      arguments?: Record<string, unknown>;
      column_name?: string;
      name?: unknown;
    };
    // config written beside the arguments (`- unique: {severity: warn}`), as dbt still takes it
    const { args: written, config: beside } = configBesideArguments(inline, config, file, `${name} on ${target}`);
    // a test its config disables is not run, as in dbt
    // dbt_project.yml's data_tests: block, under the test's own config
    const configured = { ...defaults, ...beside, ...(config ?? {}) } as TestConfig;
    if (configured.enabled === false) return [];
    const { severity, where, failCalc, thresholds } = parseTestConfig(configured, file, `${name} on ${target}`);
    const setAside = (configured.meta as { meterflow?: { set_aside?: unknown } } | undefined)?.meterflow?.set_aside === true;
    const testedColumn = column ?? columnName;
    return [
      {
        id: testId(
          { ownName: given ?? named, plain, target, column: testedColumn },
          `${file}: the name of test ${name} on ${target}`,
          file,
        ),
        ...((given ?? named) !== undefined ? { named: true as const } : {}),
        kind,
        ...(kind === 'generic' ? { macro: plain } : {}),
        target,
        ...(testedColumn ? { column: testedColumn } : {}),
        severity,
        ...(where !== undefined ? { where } : {}),
        ...(failCalc !== undefined ? { failCalc } : {}),
        ...thresholds,
        ...(setAside ? { setAside } : {}),
        ...(kind === 'generic' ? { ownConfig: Object.keys({ ...beside, ...(config ?? {}) }) } : {}),
        args: { ...written, ...nested },
      },
    ];
  });
}

/** A test's kind: one meterflow runs natively, or a generic test of the project's (which wins: see native-tests.ts). */
function testKind(plain: string, generics: ReadonlySet<string>, unknown: () => string, file: string): DataTestKind {
  const overridden = generics.has(plain);
  if (KINDS.includes(plain as DataTestKind) && !overridden) return plain as DataTestKind;
  if (overridden) return 'generic';
  const own = generics.size > 0 ? `, and the project's own ${[...generics].join(', ')}` : '';
  throw new ProjectError(`${unknown()} (meterflow runs ${KINDS.join(', ')}${own})`, file);
}

/**
 * A test's id, as dbt names it: its own name (`name:` in its body, or beside test_name:), else
 * `<test>_<target>_<column>` (a package's test `dbt_utils_expression_is_true_…`; a column's other
 * characters each run one `_`, none stripped, as dbt's synthesize_generic_test_names).
 */
function testId(test: { ownName: unknown; plain: string; target: string; column: string | undefined }, what: string, file: string): string {
  const { ownName, plain, target, column } = test;
  if (ownName !== undefined) {
    if (typeof ownName !== 'string' || !IDENTIFIER.test(ownName))
      throw new ProjectError(`${what} must be a plain name, not '${String(ownName)}'`, file);
    return ownName;
  }
  const suffix = column === undefined || column === '' ? '' : `_${IDENTIFIER.test(column) ? column : column.replace(/\W+/g, '_')}`;
  return `${plain.replace('.', '_')}_${target}${suffix}`;
}

/**
 * One entry of a data_tests list: `- unique`, `- unique: {…}`, or dbt 1.10's `- name: my_test` with
 * `test_name: unique` beside its other keys. `given`: the name that last form gives the test.
 */
function testEntry(entry: YamlTest): { name: string; body: unknown; given?: unknown } {
  if (typeof entry === 'string') return { name: entry, body: {} };
  const record = entry as Record<string, unknown>;
  if (typeof record.test_name === 'string') {
    const { test_name: testName, name: given, ...body } = record;
    return { name: testName, body, given };
  }
  const [name, body] = Object.entries(record)[0] ?? ['', {}];
  return { name, body };
}

/** dbt's test configs that may be written beside a test's arguments (its TestBuilder's CONFIG_ARGS). */
const CONFIG_BESIDE_ARGUMENTS = [
  'severity',
  'tags',
  'enabled',
  'where',
  'limit',
  'warn_if',
  'error_if',
  'fail_calc',
  'store_failures',
  'store_failures_as',
  'meta',
];

/**
 * A test's arguments and the config written among them (`- not_null: {where: "id > 1"}`), as dbt's
 * TestBuilder takes them out of the arguments; one given both there and under `config:` is refused,
 * as dbt refuses it. Until 2026-12-08 meterflow passed them to the test as arguments, so a
 * `severity: warn` there failed the run.
 */
function configBesideArguments(
  inline: Readonly<Record<string, unknown>>,
  config: object | undefined,
  file: string,
  test: string,
): { args: Record<string, unknown>; config: Record<string, unknown> } {
  const args: Record<string, unknown> = {};
  const beside: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(inline)) {
    if (!CONFIG_BESIDE_ARGUMENTS.includes(key)) args[key] = value;
    else if (config && key in config)
      throw new ProjectError(`${file}: ${test} gives '${key}' both beside its arguments and under config:, as dbt refuses`, file);
    else beside[key] = value;
  }
  return { args, config: beside };
}

/** A data test's `config:` in YAML, as dbt reads it. */
export interface TestConfig {
  severity?: string;
  where?: unknown;
  warn_if?: unknown;
  error_if?: unknown;
  limit?: unknown;
  enabled?: unknown;
  fail_calc?: unknown;
  store_failures?: unknown;
  store_failures_as?: unknown;
  meta?: unknown;
}

/**
 * dbt's store_failures (and store_failures_as table or view), refused rather than ignored: meterflow
 * keeps no audit tables. `test` names the test in the message.
 */
export function refuseStoreFailures(config: Readonly<Record<string, unknown>> | undefined, file: string, test: string): void {
  const as = config?.store_failures_as;
  const asked = (as !== undefined && as !== null && as !== 'ephemeral') || (as === undefined && config?.store_failures === true);
  if (!asked) return;
  throw new ProjectError(
    `${file}: ${test} has store_failures${as ? `_as: ${String(as)}` : ''}, which meterflow does not apply: it keeps no audit tables. ` +
      "A failing test's SQL and its first failing rows are in the run's report; remove the config",
    file,
  );
}

/** A test's severity, where, fail_calc and thresholds, checked; a bad one is a ProjectError naming the test. */
export function parseTestConfig(config: TestConfig | undefined, file: string, test: string) {
  refuseStoreFailures(config as Record<string, unknown> | undefined, file, test);
  const severity = (config?.severity ?? 'error').toLowerCase() as Severity;
  if (severity !== 'error' && severity !== 'warn') throw new ProjectError(`${file}: severity of ${test} must be error or warn`, file);
  const where = config?.where as string | undefined;
  if (where !== undefined && (typeof where !== 'string' || where.trim().length === 0))
    throw new ProjectError(`${file}: config.where of ${test} must be an SQL condition`, file);
  const failCalc = config?.fail_calc as string | undefined;
  if (failCalc !== undefined && (typeof failCalc !== 'string' || failCalc.trim().length === 0))
    throw new ProjectError(`${file}: config.fail_calc of ${test} must be an SQL aggregate`, file);
  return { severity, where, failCalc, thresholds: parseThresholds(config, `${file}: ${test}`) };
}

const CONDITION = /^\s*(!=|<>|==|=|>=|<=|>|<)\s*(\d+)\s*$/;

/** dbt's warn_if, error_if and limit of a test's config, checked. */
function parseThresholds(config: { warn_if?: unknown; error_if?: unknown; limit?: unknown } | undefined, where: string) {
  const condition = (key: 'warn_if' | 'error_if') => {
    const value = config?.[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || !CONDITION.test(value)) {
      throw new ProjectError(
        `${where}: config.${key} must compare the failing rows with a number, as '> 10' or '!= 0', not ${JSON.stringify(value)}`,
      );
    }
    return value.trim();
  };
  const warnIf = condition('warn_if');
  const errorIf = condition('error_if');
  const limit = config?.limit;
  // (0 too, as dbt takes it: no failing row is counted)
  if (limit !== undefined && limit !== null && !(typeof limit === 'number' && Number.isInteger(limit) && limit >= 0)) {
    throw new ProjectError(`${where}: config.limit must be a whole number, 0 or more`);
  }
  return {
    ...(warnIf ? { warnIf } : {}),
    ...(errorIf ? { errorIf } : {}),
    ...(typeof limit === 'number' ? { limit } : {}),
  };
}

/** Whether `failures` meets a warn_if or error_if condition. */
function meets(condition: string, failures: number): boolean {
  const [, op, value] = CONDITION.exec(condition) ?? [];
  const n = Number(value);
  switch (op) {
    case '!=':
    case '<>':
      return failures !== n;
    case '==':
    case '=':
      return failures === n;
    case '>=':
      return failures >= n;
    case '<=':
      return failures <= n;
    case '>':
      return failures > n;
    default:
      return failures < n;
  }
}

/**
 * A test's status from its failing rows, as dbt judges it: an error-severity test fails when
 * error_if holds; any test warns when warn_if holds (both `!= 0` unless configured).
 */
export function testStatus(test: Pick<DataTest, 'severity' | 'warnIf' | 'errorIf'>, failures: number): 'pass' | 'warn' | 'fail' {
  if (test.severity === 'error' && meets(test.errorIf ?? '!= 0', failures)) return 'fail';
  return meets(test.warnIf ?? '!= 0', failures) ? 'warn' : 'pass';
}

/** The model (or seed) a relationships test's `to: ref('x')` names; undefined for any other test. */
export function relationshipsTarget(test: Pick<DataTest, 'kind' | 'args'>): string | undefined {
  if (test.kind !== 'relationships') return undefined;
  return /ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)/.exec(String(test.args.to ?? ''))?.[1];
}

/** Parse a source table's `freshness:` (dbt's shape: warn_after/error_after with count and period). */
export function parseFreshness(value: unknown, loadedAtField: unknown, file: string, target: string): Freshness | undefined {
  if (!value) return undefined;
  if (typeof loadedAtField !== 'string' || !IDENTIFIER.test(loadedAtField)) {
    throw new ProjectError(`${file}: freshness of ${target} needs a loaded_at_field column`, file);
  }
  const hours = (rule: unknown): number | undefined => {
    if (!rule) return undefined;
    const { count, period } = rule as { count?: number; period?: string };
    const factor = { minute: 1 / 60, hour: 1, day: 24 }[period ?? ''];
    if (typeof count !== 'number' || factor === undefined)
      throw new ProjectError(`${file}: freshness of ${target} needs count and period (minute, hour, day)`, file);
    return count * factor;
  };
  const { warn_after: warn, error_after: error } = value as { warn_after?: unknown; error_after?: unknown };
  const warnAfterHours = hours(warn);
  const errorAfterHours = hours(error);
  return {
    loadedAtField,
    ...(warnAfterHours !== undefined ? { warnAfterHours } : {}),
    ...(errorAfterHours !== undefined ? { errorAfterHours } : {}),
  };
}

function columnSql(column: string): string {
  return IDENTIFIER.test(column) ? quotedIdentifier(column) : `(${column})`;
}

/**
 * An accepted value as dbt's macro prints it: Python's text of it (`True`, `1.0`, `None`), quoted, or
 * with quote: false as it is (a number, or SQL such as `'a'`).
 */
function literal(value: unknown, quote: boolean): string {
  const text = pyStr(value);
  return quote ? quotedString(text) : text;
}

/** Where the test needs to know the relation's columns: `all_finite` without a `columns` list. */
export function needsColumnTypes(test: DataTest): boolean {
  return (test.kind === 'all_finite' && test.args.columns === undefined) || test.kind === 'contract';
}

/** Floating-point column types, whose values can be NaN or ±Infinity. */
export function isFloatingType(type: string): boolean {
  return /^(DOUBLE|FLOAT|REAL|FLOAT4|FLOAT8)$/i.test(type.trim());
}

/** A row fails when any of these columns holds NaN or ±Infinity (NULL passes). */
export function nonFiniteCondition(columns: readonly string[]): string {
  if (columns.length === 0) return 'false';
  return columns.map((c) => `coalesce(not isfinite(${quotedIdentifier(c)}), false)`).join(' or ');
}

/** accepted_range's bound, a finite number or none; anything else is refused, naming the test. */
export function boundArg(test: DataTest, name: 'min_value' | 'max_value'): number | undefined {
  const value = test.args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ProjectError(`data test ${test.id} needs ${name} to be a number`);
  return value;
}

/** An ISO instant (`…Z`) as a TIMESTAMP literal in UTC. */
const utcTimestamp = (iso: unknown) => `timestamp ${quotedString(String(iso).replace(/Z$/, '').replace('T', ' '))}`;

function intervalMinutes(test: DataTest): number {
  const value = test.args.interval_minutes ?? 30;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ProjectError(`data test ${test.id} needs interval_minutes, a whole number of minutes`);
  return value;
}

/** The test's kind with its bounds, for messages: `accepted_range (min_value 0, max_value 1)`. */
export function describeTest(test: DataTest): string {
  switch (test.kind) {
    case 'accepted_range': {
      const bounds = (['min_value', 'max_value'] as const).flatMap((name) =>
        test.args[name] === undefined ? [] : [`${name} ${String(test.args[name])}`],
      );
      const exclusive = test.args.inclusive === false ? ', exclusive' : '';
      return `accepted_range (${bounds.join(', ')}${exclusive}${test.where ? `, where ${test.where}` : ''})`;
    }
    case 'on_time_grid':
      return `on_time_grid (${intervalMinutes(test)} minutes)`;
    case 'event_time_window':
      return `its event_time_window (from ${String(test.args.from)}, before ${String(test.args.to)})`;
    case 'generic':
      return test.where ? `${test.macro} (where ${test.where})` : (test.macro ?? 'generic');
    default:
      return test.where ? `${test.kind} (where ${test.where})` : test.kind;
  }
}

/**
 * For a test that judges each row on its own, the condition that makes a row fail (so failing rows
 * can be counted, shown or set aside); undefined for tests over several rows or the whole relation.
 * `columnTypes` (name -> DuckDB type) is needed by `all_finite` without a `columns` list.
 */
export function failingRowCondition(test: DataTest, columnTypes?: ReadonlyMap<string, string>): string | undefined {
  const column = test.column ? columnSql(test.column) : undefined;
  const needColumn = () => {
    if (!column) throw new ProjectError(`data test ${test.id} needs a column`);
    return column;
  };
  const condition = ((): string | undefined => {
    switch (test.kind) {
      case 'not_null':
        return `${needColumn()} is null`;
      case 'accepted_values': {
        const values = test.args.values;
        if (!Array.isArray(values) || values.length === 0) throw new ProjectError(`data test ${test.id} needs a list of values`);
        const quote = test.args.quote !== false;
        return `${needColumn()} is not null and ${needColumn()} not in (${values.map((v) => literal(v, quote)).join(', ')})`;
      }
      case 'expression_is_true': {
        const expression = test.args.expression;
        if (typeof expression !== 'string' || expression.length === 0) throw new ProjectError(`data test ${test.id} needs an expression`);
        return `not coalesce((${expression}), false)`;
      }
      case 'accepted_range': {
        // as dbt_utils: NULL passes; NaN fails a max_value (DuckDB orders NaN above every number)
        const min = boundArg(test, 'min_value');
        const max = boundArg(test, 'max_value');
        if (min === undefined && max === undefined) throw new ProjectError(`data test ${test.id} needs min_value or max_value`);
        const inclusive = test.args.inclusive !== false;
        const within = [
          ...(min === undefined ? [] : [`${needColumn()} ${inclusive ? '>=' : '>'} ${min}`]),
          ...(max === undefined ? [] : [`${needColumn()} ${inclusive ? '<=' : '<'} ${max}`]),
        ];
        return `not (${within.join(' and ')})`;
      }
      case 'event_time_window':
        // the bounds are UTC instants; event times are UTC timestamps without a zone (see DATA.md)
        return `${needColumn()} is not null and not (${needColumn()} >= ${utcTimestamp(test.args.from)} and ${needColumn()} < ${utcTimestamp(test.args.to)})`;
      case 'on_time_grid':
        return `${needColumn()} is not null and epoch_us(${needColumn()}) % ${intervalMinutes(test) * 60_000_000} <> 0`;
      case 'all_finite': {
        const listed = test.args.columns;
        if (listed !== undefined) {
          if (!Array.isArray(listed) || !listed.every((c) => typeof c === 'string' && IDENTIFIER.test(c)))
            throw new ProjectError(`data test ${test.id} takes columns, a list of column names`);
          return nonFiniteCondition(listed as string[]);
        }
        if (test.column) return nonFiniteCondition([test.column]);
        if (!columnTypes) throw new ProjectError(`data test ${test.id} needs the column types of what it tests`);
        return nonFiniteCondition([...columnTypes].filter(([, type]) => isFloatingType(type)).map(([name]) => name));
      }
      default:
        return undefined;
    }
  })();
  return condition === undefined ? undefined : test.where ? `(${test.where}) and (${condition})` : condition;
}

/**
 * SQL whose rows are a test's failures on a relation, as dbt compiles a test: the failing rows, the
 * duplicated values with their count, the orphaned children, or the row count out of range.
 * `resolveRef` turns a relationships test's `to: ref('x')` into a relation; `columnTypes` are the
 * relation's columns, for `all_finite`.
 */
export function failingRowsSql(
  test: DataTest,
  relation: string,
  resolveRef: (model: string) => string,
  columnTypes?: ReadonlyMap<string, string>,
): string {
  const rowCondition = failingRowCondition(test, columnTypes);
  if (test.kind === 'accepted_values' && rowCondition !== undefined) {
    // as dbt compiles it: a failure is a value not accepted, with its rows counted (under the
    // column's own name, not dbt's value_field, so that a sample says what it is)
    const column = columnSql(test.column as string);
    return `select ${column}, count(*) as n_records from ${relation} where ${rowCondition} group by 1`;
  }
  if (rowCondition !== undefined) return `select * from ${relation} where ${rowCondition}`;
  const tested = testedRelation(test, relation);
  const column = test.column ? columnSql(test.column) : undefined;
  const needColumn = () => {
    if (!column) throw new ProjectError(`data test ${test.id} needs a column`);
    return column;
  };
  switch (test.kind) {
    case 'generic':
      return genericTestSql(test, relation, resolveRef);
    case 'contract':
      if (!columnTypes) throw new ProjectError(`data test ${test.id} needs the model's column types`);
      return contractMismatchSql(test, columnTypes);
    case 'unique':
      return `select ${needColumn()} as value, count(*) as n_records from ${tested} where ${needColumn()} is not null group by 1 having count(*) > 1`;
    case 'unique_combination_of_columns': {
      // grouping on the columns themselves: no string concatenation over every row
      const list = combinationOf(test);
      return `select ${list}, count(*) as n_records from ${tested} group by ${list} having count(*) > 1`;
    }
    case 'relationships': {
      const model = relationshipsTarget(test);
      const field = String(test.args.field ?? '');
      if (!model || !IDENTIFIER.test(field)) throw new ProjectError(`data test ${test.id} needs to: ref('model') and a field`);
      return `select child.* from ${tested} as child left join ${resolveRef(model)} as parent on child.${needColumn()} = parent.${quotedIdentifier(field)} where child.${needColumn()} is not null and parent.${quotedIdentifier(field)} is null`;
    }
    case 'row_count_between': {
      const min = Number(test.args.min_value ?? 0);
      const max = test.args.max_value === undefined ? Number.MAX_SAFE_INTEGER : Number(test.args.max_value);
      return `select count(*) as row_count from ${tested} having not (count(*) between ${min} and ${max})`;
    }
    default:
      throw new ProjectError(`data test ${test.id}: no SQL for ${test.kind}`);
  }
}

/**
 * How a test's failures are counted among a relation's rows that meet its row condition: as dbt
 * counts the rows of the test's SQL, the values not accepted for accepted_values, the rows otherwise.
 */
export function failureCount(test: DataTest, condition: string): string {
  const counted = test.kind === 'accepted_values' && test.column ? `distinct ${columnSql(test.column)}` : '*';
  return `count(${counted}) filter (where ${condition})`;
}

/** dbt's where config: the rows of a relation a test sees (all of them without one). */
function testedRelation(test: DataTest, relation: string): string {
  return test.where ? `(select * from ${relation} where ${test.where})` : relation;
}

/** A custom generic test's rendered SQL with the tested relation and its refs put in. */
function genericTestSql(test: DataTest, relation: string, resolveRef: (model: string) => string): string {
  if (test.sql === undefined) throw new ProjectError(`data test ${test.id} (${test.macro ?? 'generic'}) was not rendered`);
  return test.sql
    .replace(/__METERFLOW_MODEL__/g, () => testedRelation(test, relation))
    .replace(/__METERFLOW_REF_(\w+?)__/g, (_match, name: string) => resolveRef(name));
}

/** A unique_combination_of_columns test's columns, quoted and comma-separated. */
function combinationOf(test: DataTest): string {
  const columns = test.args.combination_of_columns;
  if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string' && IDENTIFIER.test(c))) {
    throw new ProjectError(`data test ${test.id} needs combination_of_columns, a list of column names`);
  }
  return columns.map((c) => quotedIdentifier(c as string)).join(', ');
}

/**
 * For a uniqueness test, SQL whose one value is 0 only if nothing is duplicated: the rows (with a key)
 * against the distinct hashes of their keys (rows with the same key have the same hash, so no duplicate goes
 * unseen). Cheaper than grouping on the keys themselves; anything but 0 (a duplicate, or two keys
 * whose hashes collide) is settled by the test's own SQL. Undefined for the other tests.
 */
export function noDuplicatesSql(test: DataTest, relation: string): string | undefined {
  const tested = testedRelation(test, relation);
  if (test.kind === 'unique' && test.column) {
    const column = columnSql(test.column);
    // (the NULL rows are neither counted nor hashed: hash(NULL) is a value, which would take a duplicate's place)
    return `select count(${column}) - count(distinct hash(${column})) filter (where ${column} is not null) from ${tested}`;
  }
  if (test.kind === 'unique_combination_of_columns') return `select count(*) - count(distinct hash(${combinationOf(test)})) from ${tested}`;
  return undefined;
}

/** SQL that returns one row with the number of failing rows (`failures`) of a test on a relation. */
export function dataTestSql(
  test: DataTest,
  relation: string,
  resolveRef: (model: string) => string,
  columnTypes?: ReadonlyMap<string, string>,
): string {
  return `select ${failuresOf(test)} as failures from (${failingRowsSql(test, relation, resolveRef, columnTypes)})`;
}

/** The aggregate that counts a test's failures over its failing rows: dbt's fail_calc, `count(*)` by default. */
export function failuresOf(test: DataTest): string {
  return test.failCalc === undefined ? 'count(*)' : `coalesce((${test.failCalc}), 0)`;
}

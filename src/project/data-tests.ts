// dbt's generic data tests from YAML, parsed into DataTest records and turned into SQL that counts
// failing rows. `expression_is_true` and `row_count_between` are this project's own generic tests
// (tests/generic/ has them as dbt macros, so dbt runs the same YAML).
import { ProjectError } from '../errors';
import { quotedIdentifier, quotedString } from '../warehouse/sql';
import type { DataTest, DataTestKind, Freshness, Severity } from './types';

const KINDS: readonly DataTestKind[] = [
  'not_null',
  'unique',
  'unique_combination_of_columns',
  'accepted_values',
  'relationships',
  'expression_is_true',
  'row_count_between',
];
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

type YamlTest = string | Record<string, Record<string, unknown> | null>;

/** Parse the `data_tests:` (or older `tests:`) list of a model, column or source column. */
export function parseTests(entries: unknown, target: string, file: string, column?: string): DataTest[] {
  if (entries === undefined || entries === null) return [];
  if (!Array.isArray(entries)) throw new ProjectError(`${file}: data_tests of ${target} must be a list`, file);
  return (entries as YamlTest[]).map((entry) => {
    const [name, body] = typeof entry === 'string' ? [entry, {}] : (Object.entries(entry)[0] ?? ['', {}]);
    const kind = name.replace(/^meterflow\./, '') as DataTestKind;
    if (!KINDS.includes(kind))
      throw new ProjectError(`${file}: unknown data test '${name}' on ${target} (meterflow runs ${KINDS.join(', ')})`, file);
    const settings = (body ?? {}) as Record<string, unknown>;
    // dbt 1.10+ nests arguments under `arguments:`; older projects put them beside `config:`
    const {
      config,
      arguments: nested,
      column_name: columnName,
      ...inline
    } = settings as {
      config?: { severity?: string };
      arguments?: Record<string, unknown>;
      column_name?: string;
    };
    const severity = (config?.severity ?? 'error').toLowerCase() as Severity;
    if (severity !== 'error' && severity !== 'warn')
      throw new ProjectError(`${file}: severity of ${name} on ${target} must be error or warn`, file);
    const testedColumn = column ?? columnName;
    const suffix =
      testedColumn && IDENTIFIER.test(testedColumn)
        ? `_${testedColumn}`
        : testedColumn
          ? `_${testedColumn.replace(/\W+/g, '_').replace(/^_|_$/g, '')}`
          : '';
    return {
      id: `${kind}_${target}${suffix}`,
      kind,
      target,
      ...(testedColumn ? { column: testedColumn } : {}),
      severity,
      args: { ...inline, ...nested },
    };
  });
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

function literal(value: unknown, quote: boolean): string {
  if (!quote) {
    if (typeof value !== 'number' && typeof value !== 'boolean')
      throw new Error(`accepted_values with quote: false takes numbers or booleans, not ${JSON.stringify(value)}`);
    return String(value);
  }
  return quotedString(String(value));
}

/**
 * SQL that returns one row with the number of failing rows (`failures`) of a test on a relation.
 * `resolveRef` turns a relationships test's `to: ref('x')` into a relation.
 */
export function dataTestSql(test: DataTest, relation: string, resolveRef: (model: string) => string): string {
  const column = test.column ? columnSql(test.column) : undefined;
  const needColumn = () => {
    if (!column) throw new ProjectError(`data test ${test.id} needs a column`);
    return column;
  };
  switch (test.kind) {
    case 'not_null':
      return `select count(*) as failures from ${relation} where ${needColumn()} is null`;
    case 'unique':
      return `select count(*) as failures from (select ${needColumn()} as value from ${relation} where ${needColumn()} is not null group by 1 having count(*) > 1)`;
    case 'unique_combination_of_columns': {
      // grouping on the columns themselves: no string concatenation over every row
      const columns = test.args.combination_of_columns;
      if (!Array.isArray(columns) || columns.length === 0 || !columns.every((c) => typeof c === 'string' && IDENTIFIER.test(c))) {
        throw new ProjectError(`data test ${test.id} needs combination_of_columns, a list of column names`);
      }
      const list = columns.map((c) => quotedIdentifier(c as string)).join(', ');
      return `select count(*) as failures from (select ${list} from ${relation} group by ${list} having count(*) > 1)`;
    }
    case 'accepted_values': {
      const values = test.args.values;
      if (!Array.isArray(values) || values.length === 0) throw new ProjectError(`data test ${test.id} needs a list of values`);
      const quote = test.args.quote !== false;
      return `select count(*) as failures from ${relation} where ${needColumn()} is not null and ${needColumn()} not in (${values.map((v) => literal(v, quote)).join(', ')})`;
    }
    case 'relationships': {
      const to = String(test.args.to ?? '');
      const model = /ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)/.exec(to)?.[1];
      const field = String(test.args.field ?? '');
      if (!model || !IDENTIFIER.test(field)) throw new ProjectError(`data test ${test.id} needs to: ref('model') and a field`);
      return `select count(*) as failures from ${relation} as child left join ${resolveRef(model)} as parent on child.${needColumn()} = parent.${quotedIdentifier(field)} where child.${needColumn()} is not null and parent.${quotedIdentifier(field)} is null`;
    }
    case 'expression_is_true': {
      const expression = test.args.expression;
      if (typeof expression !== 'string' || expression.length === 0) throw new ProjectError(`data test ${test.id} needs an expression`);
      return `select count(*) as failures from ${relation} where not coalesce((${expression}), false)`;
    }
    case 'row_count_between': {
      const min = Number(test.args.min_value ?? 0);
      const max = test.args.max_value === undefined ? Number.MAX_SAFE_INTEGER : Number(test.args.max_value);
      return `select case when count(*) between ${min} and ${max} then 0 else 1 end as failures from ${relation}`;
    }
  }
}

// dbt's enforced model contracts (`contract: {enforced: true}`), checked as error tests on the run's
// new version of the model, before it is published, as dbt checks them before it builds: the model's
// columns and their types against the YAML's (`contract`), and each constraint a table can have that
// meterflow checks (not_null, unique, primary_key, check). A failing one fails the run and the published
// table stays as it was. Anything of a contract meterflow cannot check is refused, naming the file.
import { ProjectError } from '../errors';
import type { DataTest } from './types';

/** A column of a model's YAML, as a contract reads it. */
export interface ContractColumn {
  readonly name: string;
  readonly data_type?: unknown;
  readonly constraints?: unknown;
}

/** A YAML constraint (dbt's shape). */
interface Constraint {
  readonly type?: unknown;
  readonly expression?: unknown;
  readonly columns?: unknown;
}

/** A data type as YAML may give it and DuckDB reads it: a name, a size, an array or struct (no quotes, no statements). */
const TYPE = /^[A-Za-z][A-Za-z0-9_ ]*(\([0-9 ,]*\))?(\[\d*\])*$|^(STRUCT|MAP|UNION)\s*\(.*\)$/i;

const errorTest = (id: string, kind: DataTest['kind'], target: string, fields: Partial<DataTest>): DataTest => ({
  id,
  kind,
  target,
  severity: 'error',
  args: {},
  ...fields,
});

/** One constraint as the tests that check it (`columns`: the column it is on, or the model-level constraint's). */
function constraintTests(model: string, constraint: Constraint, columns: readonly string[], file: string): DataTest[] {
  const type = String(constraint.type ?? '');
  const label = columns.join('_');
  const notNull = columns.map((column) => errorTest(`contract_not_null_${model}_${column}`, 'not_null', model, { column }));
  const unique =
    columns.length === 1
      ? [errorTest(`contract_unique_${model}_${label}`, 'unique', model, { column: columns[0] as string })]
      : [
          errorTest(`contract_unique_${model}_${label}`, 'unique_combination_of_columns', model, {
            args: { combination_of_columns: columns },
          }),
        ];
  switch (type) {
    case 'not_null':
      return notNull;
    case 'unique':
      return unique;
    case 'primary_key':
      return [...notNull, ...unique];
    case 'check': {
      if (typeof constraint.expression !== 'string' || constraint.expression.trim() === '') {
        throw new ProjectError(`${file}: a check constraint of '${model}' needs an expression`, file);
      }
      const id = `contract_check_${model}${label ? `_${label}` : ''}`;
      return [errorTest(id, 'expression_is_true', model, { args: { expression: constraint.expression } })];
    }
    default:
      throw new ProjectError(
        `${file}: '${model}' has a ${type || 'typeless'} constraint, which meterflow does not check (it checks not_null, unique, primary_key and check)`,
        file,
      );
  }
}

/**
 * The tests of a model's enforced contract: none without one. Every YAML column needs its data_type
 * (as dbt requires); a view's constraints are not checked (as dbt does not enforce them on views);
 * an ephemeral model's contract is refused (as dbt refuses it).
 */
export function contractTests(
  model: { readonly name: string; readonly materialized: string; readonly file: string },
  contract: unknown,
  columns: readonly ContractColumn[],
  modelConstraints: unknown,
): DataTest[] {
  const { name, file } = model;
  if ((contract as { enforced?: unknown } | undefined)?.enforced !== true) return [];
  if (model.materialized === 'ephemeral')
    throw new ProjectError(`${file}: ephemeral model '${name}' has an enforced contract, as dbt refuses`, file);
  if (columns.length === 0) throw new ProjectError(`${file}: '${name}' has an enforced contract but no columns in its YAML`, file);
  const typed: [string, string][] = columns.map((column) => {
    const type = typeof column.data_type === 'string' ? column.data_type.trim() : '';
    if (!type)
      throw new ProjectError(`${file}: column '${column.name}' of '${name}' has no data_type, which its enforced contract needs`, file);
    if (!TYPE.test(type))
      throw new ProjectError(`${file}: column '${column.name}' of '${name}' has data_type '${type}', which is no type`, file);
    return [column.name, type];
  });
  const tests = [errorTest(`contract_${name}`, 'contract', name, { args: { columns: typed } })];
  if (model.materialized === 'view') return tests;
  for (const column of columns) {
    for (const constraint of asList(column.constraints, file, name)) tests.push(...constraintTests(name, constraint, [column.name], file));
  }
  for (const constraint of asList(modelConstraints, file, name)) {
    const on = Array.isArray(constraint.columns) ? constraint.columns.map(String) : [];
    if (on.length === 0 && constraint.type !== 'check') {
      throw new ProjectError(`${file}: a model-level ${String(constraint.type)} constraint of '${name}' needs its columns`, file);
    }
    tests.push(...constraintTests(name, constraint, on, file));
  }
  return tests;
}

function asList(value: unknown, file: string, model: string): Constraint[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ProjectError(`${file}: the constraints of '${model}' must be a list`, file);
  return value as Constraint[];
}

/**
 * The failing rows of a contract test: one per column whose name or type differs, as dbt lists them
 * (`column_name`, `definition_type` the model's, `contract_type` the YAML's, and why). `columnTypes`
 * are the model's columns as built; each YAML type is read by DuckDB (`typeof(cast(null as …))`).
 */
export function contractMismatchSql(test: DataTest, columnTypes: ReadonlyMap<string, string>): string {
  const expected = test.args.columns as [string, string][];
  const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const built = new Map([...columnTypes].map(([name, type]) => [name.toLowerCase(), { name, type }]));
  const rows = expected.map(([name, type]) => {
    const actual = built.get(name.toLowerCase());
    return `(${quote(name)}, ${actual ? quote(actual.type) : 'null'}, ${quote(type)}, typeof(cast(null as ${type})))`;
  });
  const inContract = new Set(expected.map(([name]) => name.toLowerCase()));
  for (const [lower, { name, type }] of built) {
    if (!inContract.has(lower)) rows.push(`(${quote(name)}, ${quote(type)}, null, null)`);
  }
  return (
    `select column_name, definition_type, contract_type, ` +
    `case when definition_type is null then 'missing in definition' when contract_type is null then 'missing in contract' else 'data type mismatch' end as mismatch_reason ` +
    `from (values ${rows.join(', ')}) as t(column_name, definition_type, contract_type, contract_duckdb_type) ` +
    `where definition_type is null or contract_type is null or definition_type <> contract_duckdb_type`
  );
}

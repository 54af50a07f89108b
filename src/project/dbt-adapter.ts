// dbt's `adapter` in templates, as far as rendering without querying the warehouse goes:
// `adapter.dispatch` (how dbt_utils-style macros pick their implementation: duckdb__name, else
// default__name, from the project's macros), `adapter.quote`, and `get_columns_in_relation` of a
// model's refs and sources, whose columns the caller looked up before rendering (build/columns.ts).
// Anything else that would query the warehouse while rendering (get_relation, …) is refused, naming
// the file and the call.
import { ProjectError } from '../errors';
import { relationKeyOf } from './jinja-relation';
import { pyStr } from './jinja-python';
import { CROSS_DB_MACROS } from './dbt-cross-db';

/** A column as dbt's Column answers in templates. */
export interface ColumnInfo {
  readonly name: string;
  readonly dataType: string;
}

/** The columns of the relations a render may ask about, by relation key (`ref:<model>`, `source:<source>.<table>`, `this`). */
export type RelationColumns = (key: string) => readonly ColumnInfo[] | undefined;

/**
 * Every relation without columns: where a project is read (for its refs and config) or planned (for
 * its state), as at dbt's parse, which gives no columns either (dbt_utils' star renders `*` there).
 */
export const NO_COLUMNS: RelationColumns = () => [];

/** dbt's Column object: `.name`, `.column`, `.quoted`, `.data_type`, `.dtype`. */
function columnObject({ name, dataType }: ColumnInfo): Record<string, unknown> {
  const quoted = `"${name.replace(/"/g, '""')}"`;
  return { name, column: name, quoted, data_type: dataType, dtype: dataType };
}

type Macro = (...args: unknown[]) => unknown;

/** The prefixes dbt-duckdb's adapter.dispatch tries, in order. */
export const DISPATCH_PREFIXES = ['duckdb', 'default'] as const;

/**
 * The adapter of a render: its macros are looked up when dispatch is called (they are bound late),
 * a package's (`macros('dbt_utils')`) or the project's own (`macros()`).
 */
export function dbtAdapter(
  file: string,
  macros: (pkg?: string) => Readonly<Record<string, Macro>> | undefined,
  columns?: RelationColumns,
): object {
  const members: Record<string, unknown> = {
    get_columns_in_relation: (relation: unknown) => {
      const key = relationKeyOf(relation);
      const known = key === undefined ? undefined : columns?.(key);
      if (known) return known.map(columnObject);
      throw new ProjectError(
        `${file}: adapter.get_columns_in_relation(${pyStr(relation)}) is answered for the model's own ref() and source() relations and this only` +
          (key === undefined ? ' (this is none of them)' : ''),
        file,
      );
    },
    type: () => 'duckdb',
    quote: (identifier: unknown) => `"${pyStr(identifier).replace(/"/g, '""')}"`,
    dispatch: (name: unknown, namespace?: unknown) => {
      // dbt's default search order: the project's own macros first (its override of a package's),
      // then the package's where the namespace is an installed package's; each duckdb__ before default__
      const pkg = namespace === undefined || namespace === null ? undefined : pyStr(namespace);
      const tables = [macros() ?? {}, ...(pkg === undefined ? [] : [macros(pkg) ?? {}])];
      const candidates = DISPATCH_PREFIXES.map((prefix) => `${prefix}__${pyStr(name)}`);
      for (const table of tables) {
        const found = candidates.find((candidate) => typeof table[candidate] === 'function');
        if (found) return table[found];
      }
      // dbt's own cross-database macros, which meterflow has (adapter.dispatch('concat', 'dbt'))
      const builtin = pkg === undefined || pkg === 'dbt' ? CROSS_DB_MACROS[pyStr(name)] : undefined;
      if (builtin) return builtin;
      const where = namespace === undefined || namespace === null ? '' : ` (namespace ${pyStr(namespace)})`;
      throw new ProjectError(
        `${file}: adapter.dispatch('${pyStr(name)}')${where} found no macro ${candidates.join(' or ')} in the project's macros: copy the one you use into macro-paths`,
        file,
      );
    },
  };
  return new Proxy(members, {
    get: (target, key) => {
      if (typeof key === 'symbol') return undefined;
      if (key in target) return target[key];
      throw new ProjectError(
        `${file}: adapter.${key} is not available in meterflow: it renders a model without querying the warehouse`,
        file,
      );
    },
  });
}

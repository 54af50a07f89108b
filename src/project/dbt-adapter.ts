// dbt's `adapter` in templates, as far as rendering without a warehouse goes: `adapter.dispatch`
// (how dbt_utils-style macros pick their implementation: duckdb__name, else default__name, from the
// project's macros) and `adapter.quote`. Anything that would query the warehouse while rendering
// (get_columns_in_relation, get_relation, …) is refused, naming the file and the call.
import { ProjectError } from '../errors';
import { pyStr } from './jinja-python';

type Macro = (...args: unknown[]) => unknown;

/** The prefixes dbt-duckdb's adapter.dispatch tries, in order. */
export const DISPATCH_PREFIXES = ['duckdb', 'default'] as const;

/** The adapter of a render: its macros are looked up when dispatch is called (they are bound late). */
export function dbtAdapter(file: string, macros: () => Readonly<Record<string, Macro>>): object {
  const members: Record<string, unknown> = {
    type: () => 'duckdb',
    quote: (identifier: unknown) => `"${pyStr(identifier).replace(/"/g, '""')}"`,
    dispatch: (name: unknown, namespace?: unknown) => {
      const table = macros();
      const candidates = DISPATCH_PREFIXES.map((prefix) => `${prefix}__${pyStr(name)}`);
      const found = candidates.find((candidate) => typeof table[candidate] === 'function');
      if (found) return table[found];
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

// dbt's cross-database macros (`dbt.concat`, `dbt.dateadd`, `dbt.type_string`, …), which every dbt
// project can call and packages such as dbt_utils are built on, as the SQL dbt-duckdb renders for
// them (its own macros where it has them, dbt's defaults otherwise). Each takes what the macro takes,
// by position or by name, and gives the SQL text.
import { pyStr, splitCall } from './jinja-python';
import { relationKeyOf } from './jinja-relation';

type Macro = (...args: unknown[]) => string;

/** A macro's arguments by name, from a call's positional and keyword arguments. */
function argumentsOf(names: readonly string[], args: unknown[]): Record<string, unknown> {
  const { positional, keywords } = splitCall(args);
  const named: Record<string, unknown> = { ...keywords };
  names.forEach((name, i) => {
    if (i < positional.length) named[name] = positional[i];
  });
  return named;
}

/** A macro of these parameters whose body is `render(arguments as text)`; an absent one is undefined. */
function macro(names: readonly string[], render: (a: Record<string, string | undefined>) => string): Macro {
  return (...args: unknown[]) => {
    const named = argumentsOf(names, args);
    const text = Object.fromEntries(
      names.map((name) => [name, named[name] === undefined || named[name] === null ? undefined : pyStr(named[name])]),
    );
    return render(text);
  };
}

const listOf = (value: unknown): string[] => (Array.isArray(value) ? value.map(pyStr) : [pyStr(value)]);

/** `x + n * interval 1 unit`, as dbt-duckdb's dateadd (a quarter, so spelled, is three months). */
const dateadd = macro(['datepart', 'interval', 'from_date_or_timestamp'], (a) => {
  const quarter = a.datepart === 'quarter';
  const amount = quarter ? `(cast(${a.interval} as bigint) * 3)` : `cast(${a.interval} as bigint)`;
  return `(${a.from_date_or_timestamp} + ${amount} * interval 1 ${quarter ? 'month' : a.datepart})`;
});

/** date_diff on timestamps; weeks (so spelled, as dbt-duckdb compares) whole weeks between, by day of week. */
const datediff = macro(['first_date', 'second_date', 'datepart'], (a) => {
  const days = `(date_diff('day', ${a.first_date}::timestamp, ${a.second_date}::timestamp ))`;
  if (a.datepart !== 'week') return `(date_diff('${a.datepart}', ${a.first_date}::timestamp, ${a.second_date}::timestamp ))`;
  return `(${days} // 7 + case when date_part('dow', (${a.first_date})::timestamp) <= date_part('dow', (${a.second_date})::timestamp) then case when ${a.first_date} <= ${a.second_date} then 0 else -1 end else case when ${a.first_date} <= ${a.second_date} then 1 else 0 end end)`;
});

const lastDay = macro(['date', 'datepart'], (a) => {
  const next = a.datepart === 'quarter' ? `cast(3 as bigint) * interval 1 month` : `cast(1 as bigint) * interval 1 ${a.datepart}`;
  return `cast(((date_trunc('${a.datepart}', ${a.date}) + ${next}) + cast(-1 as bigint) * interval 1 day) as date)`;
});

const listagg = macro(['measure', 'delimiter_text', 'order_by_clause', 'limit_num'], (a) => {
  const delimiter = a.delimiter_text ?? "','";
  if (a.limit_num !== undefined) {
    const order = a.order_by_clause ? ` ${a.order_by_clause}` : '';
    return `list_aggr((array_agg(${a.measure}${order}))[1:${a.limit_num}], 'string_agg', ${delimiter})`;
  }
  return `string_agg(${a.measure}, ${delimiter}${a.order_by_clause ? ` ${a.order_by_clause}` : ''})`;
});

/** The numbers 1 to n, as dbt's generate_series writes them (bits of a cross join). */
function generateSeries(upperBound: unknown): string {
  const bound = Number(pyStr(upperBound));
  const powers = Math.max(1, Math.ceil(Math.log2(Math.max(bound, 1))));
  const bits = Array.from({ length: powers }, (_v, i) => `p${i}.generated_number * power(2, ${i})`).join(' + ');
  const joins = Array.from({ length: powers }, (_v, i) => `p as p${i}`).join(' cross join ');
  return `with p as (select 0 as generated_number union all select 1), unioned as (select ${bits} + 1 as generated_number from ${joins}) select * from unioned where generated_number <= ${bound} order by generated_number`;
}

/** Every datepart from start (inclusive) to end (exclusive), as dbt's date_spine gives them. */
const dateSpine = (...args: unknown[]): string => {
  const a = argumentsOf(['datepart', 'start_date', 'end_date'], args);
  const part = pyStr(a.datepart);
  const start = pyStr(a.start_date);
  const end = pyStr(a.end_date);
  // dbt counts the periods with datediff when it renders; meterflow cannot query, so it counts in SQL
  const periods = `(select ${datediff(start, end, part)})`;
  return `with rawdata as (select range + 1 as generated_number from range(cast(${periods} as bigint))), all_periods as (select (${dateadd(part, 'row_number() over (order by 1) - 1', start)}) as date_${part} from rawdata), filtered as (select * from all_periods where date_${part} <= ${end}) select * from filtered`;
};

/** dbt's cross-database macros, by name. */
export const CROSS_DB_MACROS: Record<string, Macro> = {
  // its fields are a list, joined by ||
  concat: (...args: unknown[]) => listOf(argumentsOf(['fields'], args).fields ?? []).join(' || '),
  hash: macro(['field'], (a) => `md5(cast(${a.field} as TEXT))`),
  cast: macro(['field', 'type'], (a) => `cast(${a.field} as ${a.type})`),
  safe_cast: macro(['field', 'type'], (a) => `cast(${a.field} as ${a.type})`),
  dateadd,
  datediff,
  date_trunc: macro(['datepart', 'date'], (a) => `date_trunc('${a.datepart}', ${a.date})`),
  last_day: lastDay,
  current_timestamp: () => 'now()',
  split_part: macro(
    ['string_text', 'delimiter_text', 'part_number'],
    (a) => `string_split(${a.string_text}, ${a.delimiter_text})[ ${a.part_number} ]`,
  ),
  listagg,
  any_value: macro(['expression'], (a) => `arbitrary(${a.expression})`),
  bool_or: macro(['expression'], (a) => `bool_or(${a.expression})`),
  cast_bool_to_text: macro(['field'], (a) => `cast(${a.field} as TEXT)`),
  escape_single_quotes: macro(['expression'], (a) => String(a.expression).replace(/'/g, "''")),
  // (a relation as the table people read, as its render(): a run's unpublished version has another name)
  string_literal: (...args: unknown[]) => {
    const { value } = argumentsOf(['value'], args);
    const text = relationKeyOf(value) === undefined ? pyStr(value) : (value as { render(): string }).render();
    return `'${text}'`;
  },
  replace: macro(['field', 'old_chars', 'new_chars'], (a) => `replace(${a.field}, ${a.old_chars}, ${a.new_chars})`),
  length: macro(['expression'], (a) => `length(${a.expression})`),
  position: macro(['substring_text', 'string_text'], (a) => `position(${a.substring_text} in ${a.string_text})`),
  right: macro(['string_text', 'length_expression'], (a) => `right(${a.string_text}, ${a.length_expression})`),
  intersect: () => 'intersect',
  except: () => 'except',
  equals: macro(['expr1', 'expr2'], (a) => `(${a.expr1} = ${a.expr2})`),
  date: macro(['year', 'month', 'day'], (a) => {
    const pad = (value: string | undefined, width: number) => String(value).padStart(width, '0');
    return `to_date('${pad(a.year, 4)}-${pad(a.month, 2)}-${pad(a.day, 2)}', 'YYYY-MM-DD')`;
  }),
  array_construct: (...args: unknown[]) => `array[ ${listOf(argumentsOf(['inputs'], args).inputs ?? []).join(' , ')} ]`,
  array_append: macro(['array', 'new_element'], (a) => `array_append(${a.array}, ${a.new_element})`),
  array_concat: macro(['array_1', 'array_2'], (a) => `array_cat(${a.array_1}, ${a.array_2})`),
  generate_series: (...args: unknown[]) => generateSeries(argumentsOf(['upper_bound'], args).upper_bound),
  date_spine: dateSpine,
  type_string: () => 'TEXT',
  type_timestamp: () => 'timestamp',
  type_float: () => 'float',
  type_numeric: () => 'numeric(28,6)',
  type_bigint: () => 'bigint',
  type_int: () => 'integer',
  type_boolean: () => 'boolean',
};

/**
 * dbt's cross-database macros as dbt dispatches them: the project's own `duckdb__<name>`, else its
 * `default__<name>`, else dbt's (meterflow's own here). `own` gives the project's macros, bound late.
 */
export function dispatchedCrossDbMacros(
  own: () => Readonly<Record<string, (...args: unknown[]) => unknown>> | undefined,
): Record<string, (...args: unknown[]) => unknown> {
  return Object.fromEntries(
    Object.entries(CROSS_DB_MACROS).map(([name, builtin]) => [
      name,
      (...args: unknown[]) => {
        const macros = own() ?? {};
        const override = macros[`duckdb__${name}`] ?? macros[`default__${name}`];
        return (override ?? builtin)(...args);
      },
    ]),
  );
}

/** Whether `name` is dbt's implementation of a cross-database macro (`duckdb__concat`, `default__hash`): found when a template names `concat` or `hash`. */
export const isCrossDbImplementation = (name: string): boolean => {
  const match = /^(?:duckdb|default)__(\w+)$/.exec(name);
  return match?.[1] !== undefined && match[1] in CROSS_DB_MACROS;
};

// dbt's cross-database macros (dbt.concat, dbt.dateadd, …) give SQL that DuckDB runs to the values
// dbt-duckdb's own SQL for them gives (read from `dbt compile` of each, and run the same way).
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { renderModel } from '../../src/project/render';

const render = (template: string) =>
  renderModel({ file: 'models/m.sql', template, resolver: { ref: (m) => m, source: (_s, t) => t }, vars: {}, self: 'm' }).sql;

const CASES: [string, string][] = [
  [`{{ dbt.concat(["'a'", "'-'", "'b'"]) }}`, 'a-b'],
  [`{{ concat(["'a'", "'b'"]) }}`, 'ab'],
  [`{{ dbt.hash("'a'") }}`, '0cc175b9c0f1b6a831c399e269772661'],
  [`{{ dbt.dateadd('day', 3, "date '2024-01-30'") }}`, '2024-02-02 00:00:00'],
  [`{{ dbt.dateadd(datepart='quarter', interval=1, from_date_or_timestamp="date '2024-01-31'") }}`, '2024-04-30 00:00:00'],
  [`{{ dbt.datediff("date '2024-01-01'", "date '2024-03-01'", 'day') }}`, '60'],
  [`{{ dbt.datediff("date '2024-01-01'", "date '2024-01-20'", 'week') }}`, '2'],
  [`{{ dbt.datediff("date '2024-01-20'", "date '2024-01-01'", 'week') }}`, '-2'],
  // dbt-duckdb takes its week arithmetic only for 'week' so spelled; 'WEEK' is DuckDB's date_diff
  [`{{ dbt.datediff("date '2024-03-01'", "date '2024-03-04'", 'WEEK') }}`, '0'],
  [`{{ dbt.datediff("date '2024-03-01'", "date '2024-03-04'", 'week') }}`, '1'],
  [`{{ dbt.date_trunc('month', "date '2024-02-17'") }}`, '2024-02-01 00:00:00'],
  [`{{ dbt.last_day("date '2024-02-17'", 'month') }}`, '2024-02-29'],
  [`{{ dbt.last_day("date '2024-02-17'", 'quarter') }}`, '2024-03-31'],
  [`{{ dbt.split_part("'a,b,c'", "','", 2) }}`, 'b'],
  [`(select {{ dbt.listagg('x', "'|'", 'order by x desc', 2) }} from (values (1), (2), (3)) t(x))`, '3|2'],
  [`(select {{ dbt.listagg('x') }} from (values (1)) t(x))`, '1'],
  [`{{ dbt.position("'b'", "'abc'") }}`, '2'],
  [`{{ dbt.right("'abcdef'", 2) }}`, 'ef'],
  [`{{ dbt.safe_cast("'5'", dbt.type_int()) }}`, '5'],
  [`'{{ dbt.escape_single_quotes("it's") }}'`, "it's"],
  [
    `(select count(*) || ':' || min(date_day) || ':' || max(date_day) from ({{ dbt.date_spine('day', "cast('2024-01-01' as date)", "cast('2024-01-05' as date)") }}))`,
    '4:2024-01-01 00:00:00:2024-01-04 00:00:00',
  ],
  [`(select count(*) || ':' || max(generated_number) from ({{ dbt.generate_series(5) }}))`, '5:5.0'],
  [`{{ dbt.array_concat(dbt.array_construct([1, 2]), dbt.array_append(dbt.array_construct([3]), 4)) }}`, '[1, 2, 3, 4]'],
  [`{{ dbt.cast_bool_to_text('true') }}`, 'true'],
];

describe("dbt's cross-database macros", () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
  });
  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  it.each(CASES)('%s gives %s', async (template, expected) => {
    const reader = await connection.runAndReadAll(`select (${render(template)})::varchar as v`);
    expect(reader.getRowObjectsJS()[0]?.v).toBe(expected);
  });

  it('names the types dbt-duckdb names', () => {
    expect(render('{{ dbt.type_string() }} {{ dbt.type_timestamp() }} {{ dbt.type_numeric() }} {{ dbt.type_bigint() }}')).toBe(
      'TEXT timestamp numeric(28,6) bigint',
    );
  });
});

// What run_query gives a template, as dbt's agate table gives it: the values of a differential probe
// (dbt-core 1.10.15, dbt-duckdb 1.9.6), each printed as dbt printed it. Times came as microseconds and
// decimals without their scale until 2026-12-08.
import { DuckDBInstance } from '@duckdb/node-api';
import { renderAnswered } from '../../src/build/render-answered';
import { decimalText } from '../../src/project/jinja-python';
import { renderModel } from '../../src/project/render';

const COLUMNS = [
  ["time '10:11:12'", '10:11:12'],
  ["time '10:11:12.5'", '10:11:12.500000'],
  ['1.50::decimal(5,2)', '1.50'],
  ["timestamp '2024-01-01 10:11:12.5'", '2024-01-01 10:11:12.500000'],
  ["timestamptz '2024-01-01 10:11:12'", '2024-01-01 10:11:12+00:00'],
  ['1e20::double', '1E+20'],
  ['20.0::double', '20.0'],
  ['1e-7::double', '1E-7'],
  ['1e-5::double', '0.00001'],
  ['0.1::double', '0.1'],
  ['123.456::decimal(18,3)', '123.456'],
  ['3::bigint', '3'],
  ["date '2024-01-01'", '2024-01-01'],
  ['-2.5e-9::double', '-2.5E-9'],
  ['12345678901234567.0::double', '12345678901234568'],
  // a NULL is None whatever its type (a review found a NULL timestamp printed as null, text)
  ['null::timestamp', 'None'],
  ['null::time', 'None'],
  // Python's datetime holds microseconds: a nanosecond timestamp's fraction is cut to six digits
  ["timestamp_ns '2024-01-01 10:11:12.123456789'", '2024-01-01 10:11:12.123456'],
] as const;

describe('a query answered while a template renders', () => {
  it("gives each value as dbt's agate table prints it", async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const query = `select ${COLUMNS.map(([sql], i) => `${sql} as c${i}`).join(', ')}`;
      const template = `{% set r = run_query("${query}") %}{% for v in r.rows[0] %}{{ v }}|{% endfor %}`;
      const printed = await renderAnswered(
        connection,
        'models/v.sql',
        (queries) =>
          renderModel({ file: 'models/v.sql', template, resolver: { ref: (m) => m, source: (_s, t) => t }, vars: {}, self: 'v', queries })
            .sql,
      );
      expect(printed.split('|').slice(0, -1)).toEqual(COLUMNS.map(([, shown]) => shown));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it("prints a number's text as Python's str(Decimal(text)) does", () => {
    expect(['1e+20', '1.5e+16', '1e-05', '1e-07', '0.0001', '20.0', '0.0', '-0.5', 'inf', 'nan', '100'].map(decimalText)).toEqual([
      '1E+20',
      '1.5E+16',
      '0.00001',
      '1E-7',
      '0.0001',
      '20.0',
      '0.0',
      '-0.5',
      'Infinity',
      'NaN',
      '100',
    ]);
  });
});

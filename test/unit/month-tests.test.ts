// A test run a month at a time (a model's tests on each month's file, a singular test over timed
// inputs month by month): its months' results add up to what one run over the whole table reports.
import { DuckDBInstance } from '@duckdb/node-api';
import { runDataTests } from '../../src/warehouse/data-tests';
import type { DataTestResult } from '../../src/contract/activities';
import { failingRowsSql, parseTests } from '../../src/project/data-tests';
import { mergeMonthResults } from '../../src/workflows/month-tests';

const result = (failures: number, extra: Partial<DataTestResult> = {}): DataTestResult => ({
  id: 'unique_combination_of_columns_m',
  severity: 'error',
  failures,
  status: failures === 0 ? 'pass' : 'fail',
  ...extra,
});

describe('merging the months of a test', () => {
  it('passes when every month passed, and is null when no month ran the test', () => {
    expect(mergeMonthResults([result(0), result(0)])).toEqual(result(0));
    expect(mergeMonthResults([null, null])).toBeNull();
    expect(mergeMonthResults([])).toBeNull();
  });

  it('sums the failures, keeps ten samples in month order and the first failing SQL', () => {
    const rows = (month: string, n: number) => Array.from({ length: n }, (_, i) => ({ month, i }));
    const merged = mergeMonthResults([
      result(0),
      result(7, { sql: 'select 1 -- 2023-02', samples: rows('02', 7) }),
      null,
      result(5, { sql: 'select 1 -- 2023-04', samples: rows('04', 5) }),
    ]);
    expect(merged).toEqual({
      id: 'unique_combination_of_columns_m',
      severity: 'error',
      failures: 12,
      status: 'fail',
      sql: 'select 1 -- 2023-02',
      samples: [...rows('02', 7), ...rows('04', 3)],
    });
  });

  it("counts an accepted_values test's values, as dbt does: one failing in two months is one failure", () => {
    const [accepted] = parseTests([{ accepted_values: { values: ['a', 'b'] } }], 'm', 'models/m.yml', 'kind');
    const values = (...kinds: string[]) => kinds.map((kind) => ({ kind, n_records: 3 }));
    const months = [
      result(2, { id: 'accepted', samples: values('x', 'y') }),
      result(1, { id: 'accepted', samples: values('x') }),
      result(0, { id: 'accepted' }),
    ];
    expect(mergeMonthResults(months, accepted)?.failures).toBe(2);
    // without the test (runs recorded before), or where a month's samples do not hold all its values: the months added up
    expect(mergeMonthResults(months)?.failures).toBe(3);
    // the samples name the column as the table spells it
    const [upper] = parseTests([{ accepted_values: { values: ['a'] } }], 'm', 'models/m.yml', 'KIND');
    expect(mergeMonthResults(months, upper)?.failures).toBe(2);
    expect(
      mergeMonthResults([result(12, { samples: values(...'abcdefghij') }), result(1, { samples: values('a') })], accepted)?.failures,
    ).toBe(13);
  });

  it('warns, not fails, for a warn-severity test', () => {
    expect(mergeMonthResults([result(0, { severity: 'warn' }), result(2, { severity: 'warn', status: 'warn' })])?.status).toBe('warn');
  });
});

describe('the row-by-row tests of a relation, counted in one scan', () => {
  it('gives each test the failures it finds alone, with samples and SQL for the failing ones', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(
        `create table m as select * from (values ('a', 1.0::double), ('b', null), (null, 'nan'::double), ('a', 2.0)) v(k, x)`,
      );
      const tests = [
        ...parseTests(['not_null'], 'm', 'm.yml', 'k'),
        ...parseTests(['not_null'], 'm', 'm.yml', 'x'),
        ...parseTests(['all_finite', { expression_is_true: { arguments: { expression: 'x < 2' } } }], 'm', 'm.yml'),
        ...parseTests([{ unique_combination_of_columns: { arguments: { combination_of_columns: ['k'] } } }], 'm', 'm.yml'),
      ];
      const fused = await runDataTests(connection, tests, 'm', (model) => model);
      // each test on its own (no other row test beside it: the fused scan is not used)
      const alone = await Promise.all(tests.map((test) => runDataTests(connection, [test], 'm', (model) => model)));
      expect(fused.results).toEqual(alone.map((outcome) => outcome.results[0]));
      expect(fused.results.map((r) => [r.id, r.failures, r.status])).toEqual([
        ['not_null_m_k', 1, 'fail'],
        ['not_null_m_x', 1, 'fail'],
        ['all_finite_m', 1, 'fail'],
        // NULL and NaN are not below 2, nor is 2
        ['expression_is_true_m', 3, 'fail'],
        ['unique_combination_of_columns_m', 1, 'fail'],
      ]);
      expect(fused.results[3]?.samples).toHaveLength(3);
      expect(fused.results[3]?.sql).toContain('x < 2');
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe('uniqueness tests, asked first whether anything is duplicated at all', () => {
  it('finds what the grouping SQL finds: duplicates, NULL keys, where', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(
        `create table u as select * from (values
           ('a', 1, 'x'), ('a', 2, 'x'), ('b', 1, 'x'), ('b', 1, 'y'), (null, 3, 'x'), (null, 3, 'x'), (null, 4, 'y'), ('c', null, 'x'), ('c', null, 'x')
         ) v(k, n, tag)`,
      );
      const tests = [
        ...parseTests(['unique'], 'u', 'u.yml', 'k'),
        ...parseTests([{ unique: { config: { where: "tag = 'y'" } } }], 'u', 'u.yml', 'k'),
        ...parseTests([{ unique_combination_of_columns: { arguments: { combination_of_columns: ['k', 'n'] } } }], 'u', 'u.yml'),
        ...parseTests(
          [{ unique_combination_of_columns: { arguments: { combination_of_columns: ['k', 'n', 'tag'] }, config: { where: "tag = 'y'" } } }],
          'u',
          'u.yml',
        ),
      ];
      const outcome = await runDataTests(connection, tests, 'u', (model) => model);
      // the grouping SQL alone, as dbt compiles each test
      const grouped = await Promise.all(
        tests.map(async (test) =>
          Number((await connection.runAndReadAll(`select count(*) from (${failingRowsSql(test, 'u', (m) => m)})`)).getRows()[0]?.[0]),
        ),
      );
      expect(outcome.results.map((r) => r.failures)).toEqual(grouped);
      // k: a, b, c twice each (NULLs aside); (k, n): (b, 1), (NULL, 3) and (c, NULL) twice
      expect(grouped).toEqual([3, 0, 3, 0]);
      expect(outcome.results[2]?.samples).toHaveLength(3);
      // one duplicate and one NULL: the NULL's hash took the duplicate's place, and the test passed unrun (until 2026-12-08)
      await connection.run('create table w as select * from (values (1, 1), (1, 2), (null, 3), (2, 4)) v(id, k)');
      const onW = [...parseTests(['unique'], 'w', 'w.yml', 'id'), ...parseTests(['unique'], 'w', 'w.yml', 'id || k')];
      expect((await runDataTests(connection, onW, 'w', (model) => model)).results.map((r) => r.failures)).toEqual([1, 0]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

describe("accepted_values, compared as dbt's macro prints the values", () => {
  it("takes Python's text of a value, and SQL as written with quote: false", async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run("create table f as select * from (values ('True', 'a', 1), ('False', 'b', 2)) v(flag, s, n)");
      const tests = [
        ...parseTests([{ accepted_values: { values: [true, false] } }], 'f', 'f.yml', 'flag'),
        ...parseTests([{ accepted_values: { values: ["'a'", "'b'"], quote: false } }], 'f', 'f.yml', 's'),
        ...parseTests([{ accepted_values: { values: [1, 2], quote: false } }], 'f', 'f.yml', 'n'),
        // (JavaScript's text of true is 'true': this one fails, as under dbt)
        ...parseTests([{ accepted_values: { values: ['true', 'false'] } }], 'f', 'f.yml', 'flag'),
        // (limit 0, as dbt takes it: no failing row counted)
        ...parseTests([{ accepted_values: { values: ['true', 'false'], config: { limit: 0 } } }], 'f', 'f.yml', 'flag'),
      ];
      expect((await runDataTests(connection, tests, 'f', (model) => model)).results.map((r) => r.failures)).toEqual([0, 0, 0, 2, 0]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});

// A written file's column statistics decide the tests they prove to pass (not_null, all_finite,
// accepted_range on a DOUBLE column) and no others: every test gives the same result with them as when
// it is run on the file's rows, failing ones included, and a decided test reads no row.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileStatistics, passesByStatistics, type FileStatistics } from '../../src/warehouse/file-statistics';
import { failingRowCondition } from '../../src/project/data-tests';
import { columnTypesOf, runDataTests } from '../../src/warehouse/data-tests';
import type { DataTest } from '../../src/project/types';

/** A data test of the file's rows. */
const test = (kind: DataTest['kind'], column: string | undefined, args: Record<string, unknown> = {}, where?: string): DataTest => ({
  id: `${kind}_${column ?? 'all'}_${JSON.stringify(args)}${where ? '_where' : ''}`,
  kind,
  target: 'f',
  ...(column ? { column } : {}),
  severity: 'error',
  ...(where ? { where } : {}),
  args,
});

const TESTS: DataTest[] = [
  test('not_null', 'id'),
  test('not_null', 'some_null'),
  test('all_finite', undefined),
  test('all_finite', 'fine'),
  test('all_finite', undefined, { columns: ['fine', 'with_nan'] }),
  test('all_finite', 'with_inf'),
  test('all_finite', 'all_null'),
  test('accepted_range', 'fine', { min_value: -1e9, max_value: 1e9 }),
  test('accepted_range', 'fine', { min_value: 0.5, max_value: 9.5 }),
  test('accepted_range', 'fine', { min_value: 0.5, max_value: 9.5, inclusive: false }),
  test('accepted_range', 'fine', { min_value: 1 }),
  test('accepted_range', 'fine', { max_value: 9 }),
  test('accepted_range', 'with_nan', { max_value: 1e9 }),
  test('accepted_range', 'id', { min_value: 0 }),
  test('accepted_range', 'fine', { min_value: 0 }, 'id > 3'),
  test('expression_is_true', undefined, { expression: 'fine > 0' }),
];

describe("tests decided by a file's statistics", () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  let dir: string;
  let file: string;
  let statistics: FileStatistics;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'file-statistics-'));
    file = path.join(dir, 'f.parquet');
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    const copied = await connection.runAndReadAll(`copy (
      select range::bigint as id,
             (0.5 + range)::double as fine,
             case when range = 3 then null else range::double end as some_null,
             case when range = 4 then 'nan'::double else 1.0 end as with_nan,
             case when range = 5 then 'inf'::double else 2.0 end as with_inf,
             null::double as all_null,
             'x' as "we""ird",
             {'a': range} as nested
      from range(10)) to '${file}' (format parquet, return_stats true)`);
    statistics = fileStatistics(copied.getRowObjectsJson()[0]?.column_statistics);
  });

  afterAll(async () => {
    connection.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads each top-level column's statistics, quoted names included, nested ones left out", () => {
    expect(statistics.get('some_null')).toEqual({ nullCount: 1, hasNan: false, min: '0.0', max: '9.0' });
    expect(statistics.get('with_nan')?.hasNan).toBe(true);
    expect(statistics.get('we"ird')?.nullCount).toBe(0);
    expect([...statistics.keys()].sort()).toEqual(['all_null', 'fine', 'id', 'some_null', 'we"ird', 'with_inf', 'with_nan']);
    expect(fileStatistics(undefined).size).toBe(0);
  });

  it('decides only passes, every one of them a test with no failing row', async () => {
    const relation = `read_parquet('${file}')`;
    const columnTypes = await columnTypesOf(connection, relation);
    const decided = TESTS.filter((t) => passesByStatistics(t, statistics, columnTypes)).map((t) => t.id);
    expect(decided).toEqual([
      'not_null_id_{}',
      'all_finite_fine_{}',
      'all_finite_all_null_{}',
      'accepted_range_fine_{"min_value":-1000000000,"max_value":1000000000}',
      'accepted_range_fine_{"min_value":0.5,"max_value":9.5}',
    ]);
    for (const t of TESTS.filter((t) => decided.includes(t.id))) {
      const condition = failingRowCondition(t, columnTypes) as string;
      const failing = await connection.runAndReadAll(`select count(*)::integer from ${relation} where ${condition}`);
      expect([t.id, failing.getRows()[0]?.[0]]).toEqual([t.id, 0]);
    }
  });

  it('gives every test the result it gets on the rows, failures and samples included', async () => {
    const relation = `read_parquet('${file}')`;
    const noRefs = () => {
      throw new Error('no refs here');
    };
    const withStatistics = await runDataTests(connection, TESTS, relation, noRefs, statistics);
    const onRows = await runDataTests(connection, TESTS, relation, noRefs);
    expect(withStatistics).toEqual(onRows);
    expect(onRows.results.filter((r) => r.status === 'fail').length).toBeGreaterThan(3);
  });

  it('leaves a test to the rows when its arguments are for the rows to refuse', () => {
    expect(
      passesByStatistics(test('accepted_range', 'fine', { min_value: 'a', max_value: 1e9 }), statistics, new Map([['fine', 'DOUBLE']])),
    ).toBe(false);
    expect(passesByStatistics(test('all_finite', undefined, { columns: 'fine' }), statistics)).toBe(false);
    // a column of NULLs passes any range, but not a range the rows would refuse, or none
    const nullTypes = new Map([['all_null', 'DOUBLE']]);
    expect(passesByStatistics(test('accepted_range', 'all_null', { max_value: 1 }), statistics, nullTypes)).toBe(true);
    expect(passesByStatistics(test('accepted_range', 'all_null', { min_value: 'a' }), statistics, nullTypes)).toBe(false);
    expect(passesByStatistics(test('accepted_range', 'all_null', {}), statistics, nullTypes)).toBe(false);
    expect(passesByStatistics(test('not_null', undefined), statistics)).toBe(false);
  });
});

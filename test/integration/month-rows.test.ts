// A month's rows for a parts plan, from the lake's file statistics: equal to counting the rows where
// every row group lies within one month, within a few rows where one spans months (spread by time),
// and no answer (so a count) where they cannot tell: a table with deletes, an event time with a time zone.
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fullestMonthRows, monthRowsFromStatistics } from '../../src/build/month-rows';
import { filesOf } from '../../src/duckdb/lake-tables';
import { boundsFromFooters } from '../../src/build/key-statistics';
import { splitBounds } from '../../src/build/months';
import { Warehouse } from '../../src/warehouse/warehouse';
import { tempDir } from '../support/files';

/** Rows of `table` per month, counted: what the statistics must give. */
const COUNTED = (table: string) =>
  `select strftime(ts, '%Y-%m') as month, count(*)::integer as n from ${table} where ts is not null group by all order by all`;

describe('rows per month from file statistics', () => {
  let warehouse: Warehouse;

  beforeAll(async () => {
    warehouse = await Warehouse.open(path.join(await tempDir('month-rows'), 'warehouse'));
    await warehouse.withConnection(async (connection) => {
      // one file a month, as a month build writes them; a NULL event time in one (not counted)
      await connection.run('create table main.monthly (ts timestamp, v integer)');
      await connection.run(`insert into main.monthly select timestamp '2023-01-01' + to_minutes(30 * range), 1 from range(1488)`);
      await connection.run(`insert into main.monthly select timestamp '2023-02-01' + to_minutes(30 * range), 1 from range(1344)`);
      await connection.run(`insert into main.monthly values (timestamp '2023-02-05 10:00', 2), (null, 3)`);
      // a quarter's file sorted by meter, as a raw quarterly table is: its row group spans three months
      await connection.run('create table main.quarter (meter integer, ts timestamp)');
      await connection.run(
        `insert into main.quarter select meter, timestamp '2023-01-01' + to_minutes(30 * half_hour)
         from range(3) as m(meter), range(90 * 48) as h(half_hour) order by meter, half_hour`,
      );
      // a month's file, then a delete
      await connection.run('create table main.deleted (ts timestamp, v integer)');
      await connection.run(`insert into main.deleted select timestamp '2023-03-01' + to_minutes(30 * range), range from range(100)`);
      await connection.run('delete from main.deleted where v < 10');
      // an event time with a time zone: its month depends on the zone it is read in
      await connection.run('create table main.zoned (ts timestamptz, v integer)');
      await connection.run(`insert into main.zoned values (timestamptz '2023-04-01 00:30:00+00', 1)`);
      await connection.run('create view main.monthly_view as select * from main.monthly');
      await connection.run('create table main.empty (ts timestamp, v integer)');
      // a month's file, then the file gone from the data path
      await connection.run('create table main.gone (ts timestamp, v integer)');
      await connection.run(`insert into main.gone select timestamp '2023-05-01' + to_minutes(30 * range), 1 from range(10)`);
    });
  });

  afterAll(() => warehouse.close());

  const table = (name: string) => ({ schema: 'main', name });

  it('gives the counted rows of each month where every row group lies within one month', async () => {
    await warehouse.withConnection(async (connection) => {
      const fromStatistics = await monthRowsFromStatistics(connection, warehouse.alias, table('monthly'), 'ts');
      const counted = (await connection.runAndReadAll(COUNTED('main.monthly'))).getRowObjectsJS();
      expect(Object.fromEntries(fromStatistics ?? [])).toEqual(Object.fromEntries(counted.map((row) => [row.month, row.n])));
      expect(fromStatistics?.get('2023-02')).toBe(1345);
    });
  });

  it('spreads a row group across months over them by time: within a few rows of the count', async () => {
    await warehouse.withConnection(async (connection) => {
      const estimated = await monthRowsFromStatistics(connection, warehouse.alias, table('quarter'), 'ts');
      const counted = (await connection.runAndReadAll(COUNTED('main.quarter'))).getRowObjectsJS();
      expect(counted.map((row) => row.n)).toEqual([3 * 1488, 3 * 1344, 3 * 1488]);
      expect([...(estimated ?? new Map()).keys()]).toEqual(['2023-01', '2023-02', '2023-03']);
      for (const { month, n } of counted) expect(Math.abs((estimated?.get(String(month)) ?? 0) - Number(n))).toBeLessThanOrEqual(3);
    });
  });

  it('gives no answer where statistics cannot tell: deletes, a time zone, a view, no file, a file gone', async () => {
    await warehouse.withConnection(async (connection) => {
      // the rows are in files (not inlined in the catalog): it is their statistics that cannot tell
      for (const name of ['deleted', 'zoned']) expect((await filesOf(connection, warehouse.alias, name)).length).toBe(1);
      const [gone] = await filesOf(connection, warehouse.alias, 'gone');
      await rm(gone?.dataFile as string);
      // a file that cannot be read: no answer, and the count fails as it always did
      for (const name of ['deleted', 'zoned', 'monthly_view', 'empty', 'absent', 'gone'])
        expect(await monthRowsFromStatistics(connection, warehouse.alias, table(name), 'ts')).toBeUndefined();
    });
  });

  it('adds inputs up per month, counting those statistics cannot tell', async () => {
    await warehouse.withConnection(async (connection) => {
      const input = (name: string) => ({ sql: `main.${name}`, column: 'ts', table: table(name) });
      // January: 1,488 (monthly) + about 4,464 (the quarter, spread) + 1,488 (the view, counted)
      const fullest = await fullestMonthRows(connection, warehouse.alias, [input('monthly'), input('quarter'), input('monthly_view')]);
      expect(Math.abs(fullest - (1488 + 4464 + 1488))).toBeLessThanOrEqual(3);
      expect(await fullestMonthRows(connection, warehouse.alias, [])).toBe(0);
    });
  });
});

describe("a split key's facts from file footers", () => {
  let warehouse: Warehouse;

  beforeAll(async () => {
    warehouse = await Warehouse.open(path.join(await tempDir('key-footers'), 'warehouse'));
    await warehouse.withConnection(async (connection) => {
      // four files of 50 keys each, in key order, as a raw table sorted by meter is cut into row groups
      await connection.run('create table main.sorted_keys (meter integer, v integer)');
      for (const from of [1, 51, 101, 151]) await connection.run(`insert into main.sorted_keys select ${from} + range, 1 from range(50)`);
      // four files each holding keys from all over: every row group straddles any bound
      await connection.run('create table main.spread_keys (meter integer, v integer)');
      for (const offset of [0, 1, 2, 3])
        await connection.run(`insert into main.spread_keys select ${offset} + 4 * range + 1, 1 from range(50)`);
    });
  });

  afterAll(() => warehouse.close());

  const table = (name: string) => ({ schema: 'main', name });

  it('cuts a table sorted by the key at the least key of the first row group past each share, ordered as the key', async () => {
    await warehouse.withConnection(async (connection) => {
      // as numbers: 51 < 101 < 151 (as text, 101 < 151 < 51)
      expect(await boundsFromFooters(connection, warehouse.alias, table('sorted_keys'), 'meter', 4, 'INTEGER')).toEqual([
        '51',
        '101',
        '151',
      ]);
      expect(await boundsFromFooters(connection, warehouse.alias, table('sorted_keys'), 'meter', 2, 'INTEGER')).toEqual(['101']);
    });
  });

  it('gives no bounds where row groups overlap, or where the footers cannot tell: the keys are then read', async () => {
    await warehouse.withConnection(async (connection) => {
      expect(await boundsFromFooters(connection, warehouse.alias, table('spread_keys'), 'meter', 4, 'INTEGER')).toBeUndefined();
      // more parts than row groups give distinct bounds
      expect(await boundsFromFooters(connection, warehouse.alias, table('sorted_keys'), 'meter', 8, 'INTEGER')).toBeUndefined();
      expect(await boundsFromFooters(connection, warehouse.alias, table('absent'), 'meter', 4, 'INTEGER')).toBeUndefined();
      // and splitBounds then reads the keys: quantiles of the spread table's 200 keys
      const read = await splitBounds(
        connection,
        'meter',
        [{ sql: 'main.spread_keys', table: table('spread_keys') }],
        4,
        'INTEGER',
        warehouse.alias,
      );
      expect(read).toEqual(['50', '100', '150']);
    });
  });
});

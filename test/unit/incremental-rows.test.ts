// An incremental model without an event_time: which of its table's rows its new rows leave
// (src/build/incremental-rows.ts), and dbt's on_schema_change when their columns differ from the
// table's (src/build/schema-change.ts), run on DuckDB.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { keptRowsSql, refuseMissingKey } from '../../src/build/incremental-rows';
import { alterStatements, schemaChange, type Columns } from '../../src/build/schema-change';
import { columnTypesOf } from '../../src/warehouse/data-tests';
import { ModelBuildError } from '../../src/errors';
import type { IncrementalConfig, ModelNode, OnSchemaChange } from '../../src/project/types';

describe('an incremental model without an event_time', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    await connection.run(`create table kept as select * from (values (1, 'a', 10), (2, 'a', 20), (null, 'b', 30)) t(k, l, v)`);
    await connection.run(`create table added as select * from (values (2, 'a', 21), (null, 'b', 31), (3, 'c', 40)) t(k, l, v)`);
  });
  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });
  const rows = async (sql: string) => (await connection.runAndReadAll(`${sql} order by v`)).getRows().map((row) => Number(row[2]));

  it('keeps every row on append, and on delete+insert those no new row has the key of (a NULL key matches none)', async () => {
    expect(await rows(keptRowsSql({ uniqueKey: [] }, 'kept', 'added'))).toEqual([10, 20, 30]);
    expect(await rows(keptRowsSql({ uniqueKey: ['k'] }, 'kept', 'added'))).toEqual([10, 30]);
    expect(await rows(keptRowsSql({ uniqueKey: ['k', 'l'] }, 'kept', 'added'))).toEqual([10, 30]);
  });

  it("matches a unique_key that is an expression as dbt-core's delete does: (key) in (select (key) from the new rows)", async () => {
    const expression = (key: string) => keptRowsSql({ uniqueKey: [key], uniqueKeyIsExpression: true }, 'kept', 'added');
    // a NULL key (k is NULL in a kept and a new row) matches none
    expect(await rows(expression(`k::varchar || l`))).toEqual([10, 30]);
    // coalesced, it matches: only the row of key 1 is left
    expect(await rows(expression(`coalesce(k, 0) + 100`))).toEqual([10]);
  });

  const model = { name: 'log', file: 'models/log.sql' } as ModelNode;
  const TABLE: Columns = new Map([
    ['k', 'INTEGER'],
    ['l', 'VARCHAR'],
    ['v', 'INTEGER'],
  ]);
  const changed = (mode: OnSchemaChange, rows: [string, string][]) => schemaChange(model, mode, TABLE, new Map(rows));
  const WIDER: [string, string][] = [
    ['k', 'INTEGER'],
    ['l', 'VARCHAR'],
    ['v', 'DOUBLE'],
    ['w', 'INTEGER'],
  ];
  const NARROWER: [string, string][] = [
    ['k', 'INTEGER'],
    ['v', 'DOUBLE'],
    ['w', 'INTEGER'],
  ];

  it('changes nothing when the new rows have the same columns, and reads them in the table order when only their order differs', () => {
    expect(changed('fail', [...TABLE])).toBeUndefined();
    const reordered = changed('fail', [
      ['v', 'INTEGER'],
      ['k', 'INTEGER'],
      ['l', 'VARCHAR'],
    ]);
    expect(reordered).toEqual({ columns: TABLE, newRows: '"k", "l", "v"', keptRows: '"k", "l", "v"' });
  });

  it('matches column names as DuckDB does, case aside: a column renamed K is still k', () => {
    const renamed = changed('sync_all_columns', [
      ['K', 'INTEGER'],
      ['l', 'VARCHAR'],
      ['v', 'INTEGER'],
    ]);
    expect(renamed).toEqual({ columns: TABLE, newRows: '"k", "l", "v"', keptRows: '"k", "l", "v"' });
    expect(
      alterStatements(
        't',
        TABLE,
        new Map([
          ['K', 'INTEGER'],
          ['l', 'VARCHAR'],
          ['v', 'INTEGER'],
        ]),
      ),
    ).toEqual([]);
  });

  it('refuses a unique_key that is not a column of the new rows or of the table, naming it, whatever its case', () => {
    const keyed = (...uniqueKey: string[]) => ({ uniqueKey }) as unknown as IncrementalConfig;
    expect(() => refuseMissingKey(model, keyed('K', 'l'), TABLE, TABLE)).not.toThrow();
    expect(() => refuseMissingKey(model, keyed('id'), TABLE, TABLE)).toThrow(
      new ModelBuildError("model log (models/log.sql): its unique_key 'id' is not a column of its new rows (k, l, v)", 'log'),
    );
    expect(() => refuseMissingKey(model, keyed('w'), TABLE, new Map(WIDER))).toThrow(
      "model log (models/log.sql): its unique_key 'w' is not a column of its table (k, l, v)",
    );
  });

  it("keeps the table's columns under ignore (dbt's default), and fails as dbt's insert does when the new rows lack one", () => {
    expect(changed('ignore', WIDER)).toEqual({
      columns: TABLE,
      newRows: '"k", "l", cast("v" as INTEGER) as "v"',
      keptRows: '"k", "l", "v"',
    });
    expect(() => changed('ignore', NARROWER)).toThrow(
      'model log (models/log.sql): its new rows have the columns (k INTEGER, v DOUBLE, w INTEGER) where its table has ' +
        '(k INTEGER, l VARCHAR, v INTEGER): they lack l, which on_schema_change ignore',
    );
  });

  it('refuses any change of columns under fail, naming the model and both', () => {
    const error = (() => {
      try {
        return changed('fail', WIDER);
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ModelBuildError);
    expect((error as Error).message).toBe(
      'model log (models/log.sql): its new rows have the columns (k INTEGER, l VARCHAR, v DOUBLE, w INTEGER) where its table has ' +
        '(k INTEGER, l VARCHAR, v INTEGER), and its on_schema_change is fail; set append_new_columns or sync_all_columns, or run with --full-refresh',
    );
  });

  /** The ALTERs run on a copy of `kept`, and its columns and rows after them. */
  const altered = async (target: Columns) => {
    await connection.run('create or replace table altered as select * from kept');
    for (const statement of alterStatements('altered', await columnTypesOf(connection, 'altered'), target)) await connection.run(statement);
    const rows = (await connection.runAndReadAll('select * from altered order by 1 nulls last')).getRowsJS();
    return { columns: [...(await columnTypesOf(connection, 'altered'))], rows };
  };

  it('adds the new columns under append_new_columns, the rows without one NULL there, each column of its table type', async () => {
    const change = changed('append_new_columns', NARROWER);
    expect([...(change?.columns ?? [])]).toEqual([...TABLE, ['w', 'INTEGER']]);
    expect(change?.newRows).toBe('"k", cast(null as VARCHAR) as "l", cast("v" as INTEGER) as "v", "w"');
    expect(change?.keptRows).toBe('"k", "l", "v", cast(null as INTEGER) as "w"');
    expect(await altered(change?.columns as Columns)).toEqual({
      columns: [...TABLE, ['w', 'INTEGER']],
      rows: [
        [1, 'a', 10, null],
        [2, 'a', 20, null],
        [null, 'b', 30, null],
      ],
    });
  });

  it('adds, drops and retypes under sync_all_columns, a retyped column moved to the end as dbt-duckdb moves it', async () => {
    const change = changed('sync_all_columns', NARROWER);
    const columns: [string, string][] = [
      ['k', 'INTEGER'],
      ['w', 'INTEGER'],
      ['v', 'DOUBLE'],
    ];
    expect([...(change?.columns ?? [])]).toEqual(columns);
    expect(change?.newRows).toBe('"k", "w", "v"');
    expect(change?.keptRows).toBe('"k", cast(null as INTEGER) as "w", cast("v" as DOUBLE) as "v"');
    expect(await altered(change?.columns as Columns)).toEqual({
      columns,
      rows: [
        [1, null, 10],
        [2, null, 20],
        [null, null, 30],
      ],
    });
  });
});

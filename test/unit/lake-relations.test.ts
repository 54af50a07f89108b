// relationsOf lists a DuckLake's tables and views as information_schema.tables does (without its
// per-table cost): in a transaction, with views whose tables are gone, per schema or all.
import path from 'node:path';
import { relationsOf } from '../../src/duckdb/lake-tables';
import { openLake, type Lake } from '../../src/lake/lake';
import { tempDir } from '../support/files';

describe('the relations of a lake', () => {
  let lake: Lake;

  beforeAll(async () => {
    const dir = await tempDir('lake-relations');
    lake = await openLake({ catalog: { kind: 'sqlite', path: path.join(dir, 'catalog.sqlite') }, dataPath: path.join(dir, 'data') });
    await lake.withConnection(async (connection) => {
      await connection.run('create schema raw');
      await connection.run('create table raw.readings as select 1 as meter, 2.5 as kwh');
      await connection.run('create table main.daily as select * from raw.readings');
      await connection.run('create view main.daily_view as select * from main.daily');
      await connection.run('create table main.gone as select 1 as x');
      await connection.run('create view main.orphan as select * from main.gone');
      await connection.run('drop table main.gone');
    });
  });

  afterAll(() => lake.close());

  /** What information_schema.tables says, in relationsOf's shape. */
  const informationSchema = (connection: Parameters<Parameters<Lake['withConnection']>[0]>[0], schema?: string) =>
    connection
      .runAndReadAll(
        `select table_schema, table_name, table_type from information_schema.tables
         where table_catalog = current_database() ${schema ? `and table_schema = '${schema}'` : ''} order by all`,
      )
      .then((reader) =>
        reader.getRows().map(([s, name, type]) => ({ schema: String(s), name: String(name), kind: type === 'VIEW' ? 'view' : 'table' })),
      );

  it('lists every table and view, a view whose table is gone too, as information_schema does', async () => {
    await lake.withConnection(async (connection) => {
      const all = await relationsOf(connection);
      expect(all).toEqual([
        { schema: 'main', name: 'daily', kind: 'table' },
        { schema: 'main', name: 'daily_view', kind: 'view' },
        { schema: 'main', name: 'orphan', kind: 'view' },
        { schema: 'raw', name: 'readings', kind: 'table' },
      ]);
      expect(all).toEqual(await informationSchema(connection));
      expect(await relationsOf(connection, { schema: 'raw' })).toEqual(await informationSchema(connection, 'raw'));
    });
  });

  it("sees its own transaction's changes, and another attached database's by name", async () => {
    await lake.withConnection(async (connection) => {
      await connection.run('begin transaction');
      await connection.run('create table main.pending as select 1 as x');
      await connection.run('drop view main.daily_view');
      const names = (await relationsOf(connection, { schema: 'main' })).map((relation) => relation.name);
      expect(names).toEqual(['daily', 'orphan', 'pending']);
      await connection.run('rollback');
    });
    await lake.withConnection(async (connection) => {
      await connection.run("attach ':memory:' as other");
      await connection.run('create table other.main.elsewhere as select 1 as x');
      expect(await relationsOf(connection, { database: 'other' })).toEqual([{ schema: 'main', name: 'elsewhere', kind: 'table' }]);
      expect((await relationsOf(connection)).map((relation) => relation.name)).not.toContain('elsewhere');
      await connection.run('detach other');
    });
  });
});

// An incremental model without an event_time: which of its table's rows its new rows leave, and the
// refusal of new rows whose columns differ from the table's (src/build/incremental-rows.ts).
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { keptRowsSql, refuseOtherColumns } from '../../src/build/incremental-rows';
import { ModelBuildError } from '../../src/errors';
import type { ModelNode } from '../../src/project/types';

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

  it('refuses new rows whose columns differ from the table, naming the model and both', async () => {
    const model = { name: 'log', file: 'models/log.sql' } as ModelNode;
    await expect(refuseOtherColumns(connection, model, 'kept', 'added')).resolves.toBeUndefined();
    const error = await refuseOtherColumns(connection, model, 'kept', '(select k, l, v::double as v, 1 as w from added)').catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ModelBuildError);
    expect((error as Error).message).toBe(
      'model log (models/log.sql): its new rows have the columns (k INTEGER, l VARCHAR, v DOUBLE, w INTEGER) where its table has ' +
        "(k INTEGER, l VARCHAR, v INTEGER): meterflow does not change an incremental table's columns (dbt's on_schema_change); " +
        'run with --full-refresh to build it whole',
    );
  });
});

// A model's new version rebuilt over a window: the published rows outside it and the rebuilt ones. Its
// rows are counted from the window and the rebuilt rows, not by reading the view: the count must be
// the view's, rows without an event time (which the view leaves out) included.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createWindowedVersion } from '../../src/build/build-model';
import { pendingRelationOf } from '../../src/build/model-sql';
import type { ModelNode } from '../../src/project/types';

const model = { name: 'readings', eventTime: 'ts' } as ModelNode;
const window = { from: '2023-12-31 00:00:00', to: '2023-12-31 23:30:00' };

describe('a windowed version', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:');
    connection = await instance.connect();
    // published: 5 before the window, 3 in it, 2 after it, 2 without an event time
    await connection.run(`create table main.readings as
      select ts, 1 as v from (values
        (timestamp '2023-12-30 10:00'), (timestamp '2023-12-30 11:00'), (timestamp '2023-12-30 12:00'),
        (timestamp '2023-12-30 13:00'), (timestamp '2023-12-30 23:30'),
        (timestamp '2023-12-31 00:00'), (timestamp '2023-12-31 12:00'), (timestamp '2023-12-31 23:30'),
        (timestamp '2024-01-01 00:00'), (timestamp '2024-01-02 00:00'),
        (null), (null)) as t (ts)`);
    // rebuilt: 4 rows in the window
    await connection.run(`create table main.rebuilt as
      select timestamp '2023-12-31 00:00' + to_minutes(30 * range) as ts, 2 as v from range(4)`);
  });

  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  it('counts the rows the view holds, without reading the rows outside the window', async () => {
    const rows = await createWindowedVersion(connection, model, window, 'main.rebuilt', 'build-1');
    const view = await connection.runAndReadAll(`select count(*)::integer from ${pendingRelationOf(model, 'build-1')}`);
    expect(rows).toBe(view.getRows()[0]?.[0]);
    // 7 outside the window, none of the NULLs, and the 4 rebuilt
    expect(rows).toBe(11);
  });
});

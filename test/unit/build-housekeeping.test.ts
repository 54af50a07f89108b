// Housekeeping of runs' unpublished versions, called directly on in-memory DuckDB with no Temporal:
// which versions are listed, and which a plan drops as the owners it is given tell.
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { withConnection } from '../../src/duckdb/connections';
import { relation } from '../../src/duckdb/sql';
import { buildKey, dropLeftovers, pendingRelations, UNKNOWN_OWNERS, type BuildOwners } from '../../src/build/housekeeping';
import { BUILDS_TABLE, STATE_MIGRATIONS } from '../../src/warehouse/state-schema';

/** A fresh in-memory database with the state tables, and three runs' unpublished versions in it. */
async function withLeftovers<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    return await withConnection(instance, async (connection) => {
      for (const migration of STATE_MIGRATIONS) for (const statement of migration.statements) await connection.run(statement);
      // run-a (ended) built readings and a view over it; run-b (still going) and run-c (recorded by no one) built readings
      for (const key of ['runa', 'runb', 'runc']) {
        await connection.run(`create table ${relation('main', `__meterflow_pending_readings__${key}`)} as select 1 as meter`);
      }
      await connection.run(
        `create view ${relation('main', '__meterflow_pending_daily__runa')} as select * from ${relation('main', '__meterflow_pending_readings__runa')}`,
      );
      await connection.run(`create table main.readings as select 1 as meter`);
      // and run-a's version of a model with a schema config: beside its table, in its schema
      await connection.run('create schema main_marts');
      await connection.run(`create table ${relation('main_marts', '__meterflow_pending_orders__runa')} as select 1 as id`);
      await connection.run(
        `insert into ${BUILDS_TABLE} values ('runa', 'workflow-a', now()::timestamp), ('runb', 'workflow-b', now()::timestamp)`,
      );
      return work(connection);
    });
  } finally {
    instance.closeSync();
  }
}

const pendingNames = async (connection: DuckDBConnection) => (await pendingRelations(connection)).map((pending) => pending.name).sort();

/** Owners as a worker's Temporal client would tell them: this run is workflow-own, and workflow-b alone still runs. */
const owners: BuildOwners = {
  current: () => 'workflow-own',
  stillRunning: async (workflowId) => workflowId === 'workflow-b',
};

describe('housekeeping of unpublished versions', () => {
  it('keys a run by its build id, letters and digits only', () => {
    expect(buildKey('run-a')).toBe('runa');
    expect(buildKey('2026-12-05T09:00:00.000Z/a-long-build-id')).toBe('20261205T0900000');
  });

  it('lists every unpublished version of any run, with its kind and its run key, and no published relation', async () => {
    await withLeftovers(async (connection) => {
      expect((await pendingRelations(connection)).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { schema: 'main', name: '__meterflow_pending_daily__runa', kind: 'view', key: 'runa' },
        { schema: 'main_marts', name: '__meterflow_pending_orders__runa', kind: 'table', key: 'runa' },
        { schema: 'main', name: '__meterflow_pending_readings__runa', kind: 'table', key: 'runa' },
        { schema: 'main', name: '__meterflow_pending_readings__runb', kind: 'table', key: 'runb' },
        { schema: 'main', name: '__meterflow_pending_readings__runc', kind: 'table', key: 'runc' },
      ]);
    });
  });

  it("drops the versions of runs that no longer run (or that no one owns), keeps a running one's, and records its own owner", async () => {
    await withLeftovers(async (connection) => {
      const dropped = await dropLeftovers(connection, 'run-own', owners);
      expect(dropped.sort()).toEqual([
        '__meterflow_pending_daily__runa',
        '__meterflow_pending_orders__runa',
        '__meterflow_pending_readings__runa',
        '__meterflow_pending_readings__runc',
      ]);
      expect(await pendingNames(connection)).toEqual(['__meterflow_pending_readings__runb']);
      const recorded = (await connection.runAndReadAll(`select workflow_id from ${BUILDS_TABLE} where build_key = 'runown'`)).getRows();
      expect(recorded).toEqual([['workflow-own']]);
    });
  });

  it('drops nothing where no one can tell whether the owners still run (outside an activity)', async () => {
    await withLeftovers(async (connection) => {
      expect(await dropLeftovers(connection, 'run-own', UNKNOWN_OWNERS)).toEqual([]);
      expect(await pendingNames(connection)).toHaveLength(5);
      const recorded = (await connection.runAndReadAll(`select workflow_id from ${BUILDS_TABLE} where build_key = 'runown'`)).getRows();
      expect(recorded).toEqual([[null]]);
    });
  });
});

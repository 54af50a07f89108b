// The state schema's numbered migrations: which are pending, how a warehouse is brought up to date in
// one transaction, and that a warehouse newer than the code is refused. On in-memory DuckDB.
import { DuckDBInstance } from '@duckdb/node-api';
import { inTransaction, withConnection } from '../../src/duckdb/connections';
import { WarehouseSchemaError } from '../../src/errors';
import {
  migrateStateSchema,
  pendingMigrations,
  readStateSchema,
  STATE_MIGRATIONS,
  STATE_SCHEMA_VERSION,
  type MigratableWarehouse,
  type StateMigration,
} from '../../src/warehouse/state-schema';

/** A fresh in-memory database, migrated as a warehouse is. */
async function inMemoryWarehouse(): Promise<MigratableWarehouse & { query(sql: string): Promise<Record<string, unknown>[]> }> {
  const instance = await DuckDBInstance.create(':memory:');
  return {
    withConnection: (work) => withConnection(instance, work),
    transaction: (work) => inTransaction(instance, work),
    query: (sql) => withConnection(instance, async (connection) => (await connection.runAndReadAll(sql)).getRowObjectsJS()),
  };
}

const columnsOf = async (warehouse: Awaited<ReturnType<typeof inMemoryWarehouse>>, table: string) =>
  (
    await warehouse.query(
      `select column_name from information_schema.columns where table_schema = 'meterflow' and table_name = '${table}' order by ordinal_position`,
    )
  ).map((row) => row.column_name);

describe('the state schema', () => {
  it('numbers its migrations 1, 2, 3… in order, the last being the version the code writes', () => {
    expect(STATE_MIGRATIONS.map((migration) => migration.version)).toEqual(STATE_MIGRATIONS.map((_, index) => index + 1));
    expect(STATE_SCHEMA_VERSION).toBe(STATE_MIGRATIONS.length);
    expect(STATE_SCHEMA_VERSION).toBeGreaterThanOrEqual(3);
  });

  it('leaves pending the migrations after the recorded version: all of them for a warehouse with none', () => {
    expect(pendingMigrations('w', 0).map((migration) => migration.version)).toEqual([1, 2, 3]);
    expect(pendingMigrations('w', 1).map((migration) => migration.version)).toEqual([2, 3]);
    expect(pendingMigrations('w', STATE_SCHEMA_VERSION)).toEqual([]);
  });

  it('refuses a warehouse whose version is newer than the code knows, naming the warehouse and both versions', () => {
    const refusal = (() => {
      try {
        pendingMigrations('/data/warehouse', STATE_SCHEMA_VERSION + 4);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(WarehouseSchemaError);
    expect(refusal).toMatchObject({
      name: 'StorageError',
      warehouse: '/data/warehouse',
      version: STATE_SCHEMA_VERSION + 4,
      known: STATE_SCHEMA_VERSION,
      message: `warehouse /data/warehouse: its state schema is version ${STATE_SCHEMA_VERSION + 4}, newer than this meterflow knows (version ${STATE_SCHEMA_VERSION}): it was written by a later meterflow; nothing was changed: use that release or a newer one with it`,
    });
  });

  it('creates every state table in a new warehouse and records each migration', async () => {
    const warehouse = await inMemoryWarehouse();
    expect(await migrateStateSchema(warehouse, 'new')).toEqual({ version: 0, unversioned: false, applied: [1, 2, 3], to: 3 });
    const tables = await warehouse.query(`select table_name from duckdb_tables() where schema_name = 'meterflow' order by 1`);
    expect(tables.map((row) => row.table_name)).toEqual([
      'builds',
      'model_state',
      'rejected_rows',
      'schema_migrations',
      'source_files',
      'source_versions',
    ]);
    expect(await columnsOf(warehouse, 'source_files')).toEqual([
      'source',
      'uri',
      'size',
      'etag',
      'rows',
      'seeded_at',
      'event_from',
      'event_to',
      'content_sha256',
    ]);
    expect(await warehouse.query('select version, description from meterflow.schema_migrations order by version')).toEqual(
      STATE_MIGRATIONS.map(({ version, description }) => ({ version, description })),
    );
    expect(await warehouse.withConnection(readStateSchema)).toEqual({ version: 3, unversioned: false });
  });

  it('does nothing to a warehouse already at its version', async () => {
    const warehouse = await inMemoryWarehouse();
    await migrateStateSchema(warehouse, 'current');
    expect(await migrateStateSchema(warehouse, 'current')).toEqual({ version: 3, unversioned: false, applied: [], to: 3 });
    expect(await warehouse.query('select count(*)::integer as n from meterflow.schema_migrations')).toEqual([{ n: 3 }]);
  });

  it('brings tables written before versions were recorded up to date, keeping their rows', async () => {
    const warehouse = await inMemoryWarehouse();
    // as the oldest tables were: migration 1 alone, with a seeded file on record
    await warehouse.transaction(async (connection) => {
      for (const statement of (STATE_MIGRATIONS[0] as StateMigration).statements) await connection.run(statement);
      await connection.run(`insert into meterflow.source_files values ('q1', 's3://b/q1.parquet', 10, 'e1', 48, timestamp '2024-01-01')`);
    });
    expect(await migrateStateSchema(warehouse, 'old')).toEqual({ version: 0, unversioned: true, applied: [1, 2, 3], to: 3 });
    expect(await columnsOf(warehouse, 'source_files')).toContain('content_sha256');
    expect(await warehouse.query('select uri, rows::integer as rows, event_from, content_sha256 from meterflow.source_files')).toEqual([
      { uri: 's3://b/q1.parquet', rows: 48, event_from: null, content_sha256: null },
    ]);
  });

  it('applies only the pending migrations of a versioned warehouse', async () => {
    const warehouse = await inMemoryWarehouse();
    await migrateStateSchema(warehouse, 'w', STATE_MIGRATIONS.slice(0, 1));
    expect(await columnsOf(warehouse, 'source_files')).not.toContain('event_from');
    expect(await migrateStateSchema(warehouse, 'w')).toEqual({ version: 1, unversioned: false, applied: [2, 3], to: 3 });
    expect(await columnsOf(warehouse, 'source_files')).toContain('event_from');
  });

  it('writes nothing to a warehouse newer than the code', async () => {
    const warehouse = await inMemoryWarehouse();
    await migrateStateSchema(warehouse, 'w');
    await warehouse.query(`insert into meterflow.schema_migrations values (${STATE_SCHEMA_VERSION + 1}, 'from the future', now())`);
    await expect(migrateStateSchema(warehouse, 'w', STATE_MIGRATIONS.slice(0, 2))).rejects.toThrow(
      `warehouse w: its state schema is version ${STATE_SCHEMA_VERSION + 1}, newer than this meterflow knows (version 2)`,
    );
    await expect(migrateStateSchema(warehouse, 'w')).rejects.toBeInstanceOf(WarehouseSchemaError);
    expect(await warehouse.query('select count(*)::integer as n from meterflow.schema_migrations')).toEqual([{ n: 4 }]);
  });

  it('applies pending migrations in one transaction: a failing one leaves no trace of the others', async () => {
    const warehouse = await inMemoryWarehouse();
    const failing: StateMigration = { version: 4, description: 'broken', statements: ['alter table meterflow.nowhere add column x int'] };
    await expect(migrateStateSchema(warehouse, 'w', [...STATE_MIGRATIONS, failing])).rejects.toThrow(/nowhere/);
    expect(await warehouse.query(`select count(*)::integer as n from duckdb_tables() where schema_name = 'meterflow'`)).toEqual([{ n: 0 }]);
    expect(await warehouse.withConnection(readStateSchema)).toEqual({ version: 0, unversioned: false });
  });
});

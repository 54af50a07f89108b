// The warehouse's own state tables (schema `meterflow`), each defined here once, and the numbered
// migrations that bring a warehouse's tables to this code's version when the writer opens it.
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { relation } from '../duckdb/sql';
import { relationsOf } from '../duckdb/lake-tables';
import { WarehouseSchemaError } from '../errors';

/** The schema of meterflow's state: what it remembers between runs, beside the models and raw sources. */
export const STATE_SCHEMA = 'meterflow';

/** The provenance of every seeded file (URI, size, ETag, rows, event range, checksum). */
export const SOURCE_FILES_TABLE = relation(STATE_SCHEMA, 'source_files');
/** Rows set aside by a warn-severity source test, with the file and test that set them aside. */
export const REJECTED_ROWS_TABLE = relation(STATE_SCHEMA, 'rejected_rows');
/** Each published model's, analytics model's and singular test's built state. */
export const MODEL_STATE_TABLE = relation(STATE_SCHEMA, 'model_state');
/** Each raw source table's version: a new one whenever seeding changes its rows. */
export const SOURCE_VERSIONS_TABLE = relation(STATE_SCHEMA, 'source_versions');
/** Which run's builds are which: a build key (in pending names) and the workflow that owns it. */
export const BUILDS_TABLE = relation(STATE_SCHEMA, 'builds');
/** The migrations applied to the warehouse, one row each: its state-schema version is the highest. */
export const SCHEMA_MIGRATIONS_TABLE = relation(STATE_SCHEMA, 'schema_migrations');

/** One step of the state schema; its statements are safe to run on tables that already have it (`if not exists`). */
export interface StateMigration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

/**
 * Every change to the state tables, oldest first; a new one goes at the end with the next number.
 * NOTE: warehouses from before versions were recorded ran all of these on every write (with `if
 * not exists`), so every one of them holds the tables of the last listed here.
 */
export const STATE_MIGRATIONS: readonly StateMigration[] = [
  {
    version: 1,
    description: 'the state tables',
    statements: [
      `create schema if not exists ${STATE_SCHEMA}`,
      `create table if not exists ${SOURCE_FILES_TABLE} (source varchar, uri varchar, size bigint, etag varchar, rows bigint, seeded_at timestamp)`,
      `create table if not exists ${REJECTED_ROWS_TABLE} (source varchar, uri varchar, test varchar, column_name varchar, row json, run_at timestamp)`,
      `create table if not exists ${MODEL_STATE_TABLE} (model varchar, state_hash varchar, built_at timestamp, version varchar, inputs varchar)`,
      `create table if not exists ${SOURCE_VERSIONS_TABLE} (source varchar, version varchar)`,
      `create table if not exists ${BUILDS_TABLE} (build_key varchar, workflow_id varchar, started_at timestamp)`,
    ],
  },
  {
    version: 2,
    description: "each seeded file's event range, for incremental models",
    statements: [
      `alter table ${SOURCE_FILES_TABLE} add column if not exists event_from timestamp`,
      `alter table ${SOURCE_FILES_TABLE} add column if not exists event_to timestamp`,
    ],
  },
  {
    version: 3,
    description: "each seeded file's content checksum (null until the file is loaded again)",
    statements: [`alter table ${SOURCE_FILES_TABLE} add column if not exists content_sha256 varchar`],
  },
];

/** The state-schema version this code writes: its last migration's. */
export const STATE_SCHEMA_VERSION = STATE_MIGRATIONS[STATE_MIGRATIONS.length - 1]?.version ?? 0;

/**
 * The migrations a warehouse whose recorded version is `recorded` (0: none recorded) still needs.
 * A warehouse newer than this code is refused: an older meterflow would write tables it does not know.
 */
export function pendingMigrations(
  warehouse: string,
  recorded: number,
  migrations: readonly StateMigration[] = STATE_MIGRATIONS,
): StateMigration[] {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  if (recorded > known) {
    throw new WarehouseSchemaError(
      `warehouse ${warehouse}: its state schema is version ${recorded}, newer than this meterflow knows (version ${known}): ` +
        'it was written by a later meterflow; nothing was changed: use that release or a newer one with it',
      warehouse,
      recorded,
      known,
    );
  }
  return migrations.filter((migration) => migration.version > recorded);
}

/** Where a warehouse's state schema stands: its recorded version, and whether state tables were there without one. */
export interface RecordedStateSchema {
  /** The highest migration recorded; 0 when none is. */
  readonly version: number;
  /** State tables written before versions were recorded (migrated as version 0: every step is `if not exists`). */
  readonly unversioned: boolean;
}

/** The recorded version of the state schema of the connection's database: two reads at most. */
export async function readStateSchema(connection: DuckDBConnection): Promise<RecordedStateSchema> {
  const tables = (await relationsOf(connection, { schema: STATE_SCHEMA })).map((relation) => relation.name);
  if (!tables.includes('schema_migrations')) return { version: 0, unversioned: tables.length > 0 };
  const reader = await connection.runAndReadAll(`select coalesce(max(version), 0)::integer as version from ${SCHEMA_MIGRATIONS_TABLE}`);
  return { version: Number(reader.getRowObjectsJS()[0]?.version ?? 0), unversioned: false };
}

/** A warehouse as far as migrating it goes: connections, and a transaction that lands whole or not at all. */
export interface MigratableWarehouse {
  withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
  transaction<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T>;
}

/** What a migration did: the version found (0: none recorded) and the version left, and the steps applied. */
export interface StateSchemaMigration extends RecordedStateSchema {
  readonly applied: readonly number[];
  readonly to: number;
}

/**
 * Bring the warehouse's state tables to this code's version: the pending migrations and their record
 * in one transaction. A warehouse already there costs the reads of readStateSchema and nothing else.
 */
export async function migrateStateSchema(
  warehouse: MigratableWarehouse,
  name: string,
  migrations: readonly StateMigration[] = STATE_MIGRATIONS,
): Promise<StateSchemaMigration> {
  const recorded = await warehouse.withConnection(readStateSchema);
  const pending = pendingMigrations(name, recorded.version, migrations);
  if (pending.length === 0) return { ...recorded, applied: [], to: recorded.version };
  await warehouse.transaction(async (connection) => {
    for (const migration of pending) {
      for (const statement of migration.statements) await connection.run(statement);
    }
    await connection.run(
      `create table if not exists ${SCHEMA_MIGRATIONS_TABLE} (version integer, description varchar, applied_at timestamp)`,
    );
    await connection.run(
      `insert into ${SCHEMA_MIGRATIONS_TABLE} select unnest($versions::integer[]), unnest($descriptions::varchar[]), now()::timestamp`,
      {
        versions: listValue(pending.map((migration) => migration.version)),
        descriptions: listValue(pending.map((migration) => migration.description)),
      },
    );
  });
  return { ...recorded, applied: pending.map((migration) => migration.version), to: pending[pending.length - 1]?.version ?? 0 };
}

// What the warehouse remembers between runs: each model's built state and the latest snapshot, so
// that an incremental run rebuilds only what changed (like dbt's state:modified+).
import type { DuckDBConnection } from '@duckdb/node-api';
import { relation } from '../warehouse/sql';
import type { BuiltState, PublishedSnapshot } from '../contract/activities';
export type { BuiltState, PublishedSnapshot };

export const MODEL_STATE_TABLE = relation('meterflow', 'model_state');
export const SNAPSHOTS_TABLE = relation('meterflow', 'snapshots');
/** Each raw source table's version: a new one whenever seeding changes its rows. */
export const SOURCE_VERSIONS_TABLE = relation('meterflow', 'source_versions');

export async function ensureStateTables(connection: DuckDBConnection): Promise<void> {
  await connection.run(
    `create table if not exists ${MODEL_STATE_TABLE} (model varchar primary key, state_hash varchar, built_at timestamp)`,
  );
  // warehouses from before input versions gain them (and rebuild once, having none recorded)
  await connection.run(`alter table ${MODEL_STATE_TABLE} add column if not exists version varchar`);
  await connection.run(`alter table ${MODEL_STATE_TABLE} add column if not exists inputs varchar`);
  await connection.run(`create table if not exists ${SNAPSHOTS_TABLE} (snapshot_uri varchar, published_at timestamp)`);
  await connection.run(`alter table ${SNAPSHOTS_TABLE} add column if not exists versions varchar`);
  await connection.run(`create table if not exists ${SOURCE_VERSIONS_TABLE} (source varchar primary key, version varchar)`);
}

/**
 * Record what a published model, analytics model or singular test (`test:<name>`) was built from; call
 * inside the transaction that publishes it, so both land or neither.
 */
export async function recordBuiltState(connection: DuckDBConnection, node: string, state: BuiltState): Promise<void> {
  await ensureStateTables(connection);
  await connection.run(
    `insert or replace into ${MODEL_STATE_TABLE} (model, state_hash, built_at, version, inputs) values ($node, $hash, now()::timestamp, $version, $inputs)`,
    {
      node,
      hash: state.stateHash,
      version: state.version ?? null,
      inputs: state.inputs ? JSON.stringify(state.inputs) : null,
    },
  );
}

export async function readBuiltStates(connection: DuckDBConnection): Promise<Map<string, BuiltState>> {
  await ensureStateTables(connection);
  const reader = await connection.runAndReadAll(`select model, state_hash, version, inputs from ${MODEL_STATE_TABLE}`);
  return new Map(
    reader.getRowObjectsJS().map((row) => [
      String(row.model),
      {
        stateHash: String(row.state_hash),
        ...(row.version === null ? {} : { version: String(row.version) }),
        ...(row.inputs === null ? {} : { inputs: JSON.parse(String(row.inputs)) as Record<string, string> }),
      },
    ]),
  );
}

/** Record the snapshot a run's analytics read; inside the publishing transaction. */
export async function recordSnapshot(connection: DuckDBConnection, snapshot: PublishedSnapshot): Promise<void> {
  await ensureStateTables(connection);
  await connection.run(`insert into ${SNAPSHOTS_TABLE} (snapshot_uri, published_at, versions) values ($uri, now()::timestamp, $versions)`, {
    uri: snapshot.uri,
    versions: JSON.stringify(snapshot.versions),
  });
}

export async function latestSnapshot(connection: DuckDBConnection): Promise<PublishedSnapshot | undefined> {
  await ensureStateTables(connection);
  const reader = await connection.runAndReadAll(`select snapshot_uri, versions from ${SNAPSHOTS_TABLE} order by published_at desc limit 1`);
  const row = reader.getRowObjectsJS()[0];
  if (!row) return undefined;
  return {
    uri: String(row.snapshot_uri),
    versions: row.versions === null ? {} : (JSON.parse(String(row.versions)) as Record<string, string>),
  };
}

/** A source's current version, if it was ever seeded since versions were kept. */
export async function readSourceVersion(connection: DuckDBConnection, source: string): Promise<string | undefined> {
  await ensureStateTables(connection);
  const reader = await connection.runAndReadAll(`select version from ${SOURCE_VERSIONS_TABLE} where source = $source`, { source });
  const version = reader.getRowObjectsJS()[0]?.version;
  return version === undefined || version === null ? undefined : String(version);
}

/** Give a source a new version; inside the transaction that changed its rows. */
export async function recordSourceVersion(connection: DuckDBConnection, source: string, version: string): Promise<void> {
  await ensureStateTables(connection);
  await connection.run(`insert or replace into ${SOURCE_VERSIONS_TABLE} values ($source, $version)`, { source, version });
}

// What the warehouse remembers between runs: each model's built state and the latest snapshot, so
// that an incremental run rebuilds only what changed (like dbt's state:modified+).
import type { DuckDBConnection } from '@duckdb/node-api';
import { relation } from '../warehouse/sql';
import type { BuiltState } from '../contract/activities';
export type { BuiltState };

export const MODEL_STATE_TABLE = relation('meterflow', 'model_state');
/** Each raw source table's version: a new one whenever seeding changes its rows. */
export const SOURCE_VERSIONS_TABLE = relation('meterflow', 'source_versions');

export async function ensureStateTables(connection: DuckDBConnection): Promise<void> {
  await connection.run(
    `create table if not exists ${MODEL_STATE_TABLE} (model varchar, state_hash varchar, built_at timestamp, version varchar, inputs varchar)`,
  );
  await connection.run(`create table if not exists ${SOURCE_VERSIONS_TABLE} (source varchar, version varchar)`);
}

/**
 * Record what a published model, analytics model or singular test (`test:<name>`) was built from; call
 * inside the transaction that publishes it, so both land or neither.
 */
export async function recordBuiltState(connection: DuckDBConnection, node: string, state: BuiltState): Promise<void> {
  await ensureStateTables(connection);
  // NOTE: lake tables have no keys: a row is replaced by a delete and an insert in the same transaction
  await connection.run(`delete from ${MODEL_STATE_TABLE} where model = $node`, { node });
  await connection.run(
    `insert into ${MODEL_STATE_TABLE} (model, state_hash, built_at, version, inputs) values ($node, $hash, now()::timestamp, $version, $inputs)`,
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
  await connection.run(`delete from ${SOURCE_VERSIONS_TABLE} where source = $source`, { source });
  await connection.run(`insert into ${SOURCE_VERSIONS_TABLE} values ($source, $version)`, { source, version });
}

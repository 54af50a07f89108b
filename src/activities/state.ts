// What the warehouse remembers between runs: each model's built state and the latest snapshot, so
// that an incremental run rebuilds only what changed (like dbt's state:modified+).
import type { DuckDBConnection } from '@duckdb/node-api';
import { relation } from '../warehouse/sql';

export const MODEL_STATE_TABLE = relation('meterflow', 'model_state');
export const SNAPSHOTS_TABLE = relation('meterflow', 'snapshots');

export async function ensureStateTables(connection: DuckDBConnection): Promise<void> {
  await connection.run(
    `create table if not exists ${MODEL_STATE_TABLE} (model varchar primary key, state_hash varchar, built_at timestamp)`,
  );
  await connection.run(`create table if not exists ${SNAPSHOTS_TABLE} (snapshot_uri varchar, published_at timestamp)`);
}

/** Record a model's state; call inside the transaction that builds it, so both land or neither. */
export async function recordModelState(connection: DuckDBConnection, model: string, stateHash: string | undefined): Promise<void> {
  if (stateHash === undefined) return;
  await ensureStateTables(connection);
  await connection.run(`insert or replace into ${MODEL_STATE_TABLE} values ($model, $hash, now()::timestamp)`, { model, hash: stateHash });
}

export async function readModelStates(connection: DuckDBConnection): Promise<Map<string, string>> {
  await ensureStateTables(connection);
  const reader = await connection.runAndReadAll(`select model, state_hash from ${MODEL_STATE_TABLE}`);
  return new Map(reader.getRowObjectsJS().map((row) => [String(row.model), String(row.state_hash)]));
}

export async function recordSnapshot(connection: DuckDBConnection, snapshotUri: string): Promise<void> {
  await ensureStateTables(connection);
  await connection.run(`insert into ${SNAPSHOTS_TABLE} values ($uri, now()::timestamp)`, { uri: snapshotUri });
}

export async function latestSnapshot(connection: DuckDBConnection): Promise<string | undefined> {
  await ensureStateTables(connection);
  const reader = await connection.runAndReadAll(`select snapshot_uri from ${SNAPSHOTS_TABLE} order by published_at desc limit 1`);
  const uri = reader.getRowObjectsJS()[0]?.snapshot_uri;
  return uri === undefined ? undefined : String(uri);
}

// What the warehouse remembers between runs: each model's built state and the latest snapshot, so
// that an incremental run rebuilds only what changed (like dbt's state:modified+).
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { MODEL_STATE_TABLE, SOURCE_VERSIONS_TABLE } from './state-schema';
import type { BuiltState } from '../contract/activities';
export type { BuiltState };

/**
 * Record what published models, analytics models or singular tests (`test:<name>`) were built from;
 * call inside the transaction that publishes them, so both land or neither. One delete and one insert
 * for all of them: each statement on a lake table costs a catalog round of its own.
 */
export async function recordBuiltStates(
  connection: DuckDBConnection,
  entries: readonly { readonly node: string; readonly state: BuiltState }[],
): Promise<void> {
  if (entries.length === 0) return;
  // NOTE: lake tables have no keys: a row is replaced by a delete and an insert in the same transaction
  const latest = [...new Map(entries.map((entry) => [entry.node, entry.state])).entries()];
  const nodes = latest.map(([node]) => node);
  await connection.run(`delete from ${MODEL_STATE_TABLE} where list_contains($nodes::varchar[], model)`, { nodes: listValue(nodes) });
  await connection.run(
    `insert into ${MODEL_STATE_TABLE} (model, state_hash, built_at, version, inputs)
     select unnest($nodes::varchar[]), unnest($hashes::varchar[]), now()::timestamp, unnest($versions::varchar[]), unnest($inputs::varchar[])`,
    {
      nodes: listValue(nodes),
      hashes: listValue(latest.map(([, state]) => state.stateHash)),
      versions: listValue(latest.map(([, state]) => state.version ?? null)),
      inputs: listValue(latest.map(([, state]) => (state.inputs ? JSON.stringify(state.inputs) : null))),
    },
  );
}

export async function readBuiltStates(connection: DuckDBConnection): Promise<Map<string, BuiltState>> {
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
  const reader = await connection.runAndReadAll(`select version from ${SOURCE_VERSIONS_TABLE} where source = $source`, { source });
  const version = reader.getRowObjectsJS()[0]?.version;
  return version === undefined || version === null ? undefined : String(version);
}

/** Give a source a new version; inside the transaction that changed its rows. */
export async function recordSourceVersion(connection: DuckDBConnection, source: string, version: string): Promise<void> {
  await connection.run(`delete from ${SOURCE_VERSIONS_TABLE} where source = $source`, { source });
  await connection.run(`insert into ${SOURCE_VERSIONS_TABLE} values ($source, $version)`, { source, version });
}

// What a source was last loaded with (its files' provenance, its version, its table's contract), as
// the state tables and the lake's table comments record it.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { SourceTable } from '../project/types';
import { spanningWindow } from '../contract/time';
import type { EventWindow } from '../contract/activities';
import { readSourceVersion } from '../warehouse/state';
import { SOURCE_FILES_TABLE, SOURCE_VERSIONS_TABLE } from '../warehouse/state-schema';

/** A seeded file as meterflow.source_files records it. */
export interface Provenance {
  readonly uri: string;
  readonly size: number;
  readonly etag: string;
  readonly rows: number;
  /** The file's first and last event time, for a source with an event_time. */
  readonly eventFrom: string | null;
  readonly eventTo: string | null;
  /** SHA-256 of the content when it was loaded; null for files loaded before checksums were kept. */
  readonly contentSha256: string | null;
}

/** The smallest window holding every file's range (files without event times have none). */
export function spanningFiles(ranges: readonly { eventFrom: string | null; eventTo: string | null }[]): EventWindow | undefined {
  return spanningWindow(ranges.flatMap((r) => (r.eventFrom !== null && r.eventTo !== null ? [{ from: r.eventFrom, to: r.eventTo }] : [])));
}

/** What a source was last loaded with: its files, its version, and the contract its table carries. */
export interface SeedState {
  readonly known: Map<string, Provenance>;
  readonly previousVersion: string | undefined;
  readonly exists: boolean;
  /** The contract the table was loaded with (its comment): a change reloads everything. */
  readonly contractComment: string;
}

/** One source's seed state: its files' provenance, its version and its table's contract. */
export async function readSeedState(connection: DuckDBConnection, source: SourceTable): Promise<SeedState> {
  const known = await readProvenance(connection, source.name);
  const previousVersion = await readSourceVersion(connection, source.name);
  const comments = await tableComments(connection, `schema_name = $s and table_name = $t`, { s: source.schema, t: source.name });
  return seedStateOf(known, previousVersion, comments.get(`${source.schema}.${source.name}`));
}

/** A seed state from what was read; a table without a comment row does not exist. */
function seedStateOf(known: Map<string, Provenance>, previousVersion: string | undefined, comment: string | undefined): SeedState {
  return { known, previousVersion, exists: comment !== undefined, contractComment: comment ?? '' };
}

/** Every source's seed state in three reads, for a check of them all. */
export async function readSeedStates(connection: DuckDBConnection): Promise<(source: SourceTable) => SeedState> {
  const files = await connection.runAndReadAll(
    `select source, uri, size, etag, rows, event_from::varchar as event_from, event_to::varchar as event_to, content_sha256
     from ${SOURCE_FILES_TABLE}`,
  );
  const provenance = new Map<string, Map<string, Provenance>>();
  for (const row of files.getRowObjectsJS()) {
    const known = provenance.get(String(row.source)) ?? new Map<string, Provenance>();
    known.set(String(row.uri), provenanceOf(row));
    provenance.set(String(row.source), known);
  }
  const versions = new Map(
    (await connection.runAndReadAll(`select source, version from ${SOURCE_VERSIONS_TABLE}`))
      .getRowObjectsJS()
      .map((row) => [String(row.source), String(row.version)]),
  );
  const comments = await tableComments(connection, 'true', {});
  return (source) =>
    seedStateOf(provenance.get(source.name) ?? new Map(), versions.get(source.name), comments.get(`${source.schema}.${source.name}`));
}

/** The lake's tables' comments, by `schema.table`, where the condition holds. */
async function tableComments(connection: DuckDBConnection, where: string, values: Record<string, string>): Promise<Map<string, string>> {
  const reader = await connection.runAndReadAll(
    `select schema_name, table_name, comment from duckdb_tables() where database_name = current_database() and ${where}`,
    values,
  );
  return new Map(
    reader.getRowObjectsJS().map((row) => [`${String(row.schema_name)}.${String(row.table_name)}`, String(row.comment ?? '')]),
  );
}

function provenanceOf(row: Record<string, unknown>): Provenance {
  return {
    uri: String(row.uri),
    size: Number(row.size),
    etag: String(row.etag),
    rows: Number(row.rows),
    eventFrom: row.event_from === null ? null : String(row.event_from),
    eventTo: row.event_to === null ? null : String(row.event_to),
    contentSha256: row.content_sha256 === null ? null : String(row.content_sha256),
  };
}

async function readProvenance(connection: DuckDBConnection, source: string): Promise<Map<string, Provenance>> {
  const reader = await connection.runAndReadAll(
    `select uri, size, etag, rows, event_from::varchar as event_from, event_to::varchar as event_to, content_sha256
     from ${SOURCE_FILES_TABLE} where source = $source`,
    { source },
  );
  return new Map(reader.getRowObjectsJS().map((row) => [String(row.uri), provenanceOf(row)]));
}

// What a plan checks before a run writes: unpublished versions left by runs that died, and tables
// in the warehouse that meterflow did not create (and so must not replace).
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LoadedProject } from '../project/load';
import { tableOf } from '../project/types';
import { relation } from '../duckdb/sql';
import { relationsOf } from '../duckdb/lake-tables';
import { BUILDS_TABLE, SOURCE_FILES_TABLE } from '../warehouse/state-schema';
import type { BuiltState } from '../warehouse/state';

/** The prefix of every unpublished version: `__meterflow_pending_<model>__<build key>`. */
const PENDING_PREFIX = '__meterflow_pending_';

/** The short key a run's unpublished versions end with. */
export function buildKey(buildId: string): string {
  return buildId.replace(/[^A-Za-z0-9]/g, '').slice(0, 16);
}

interface PendingRelation {
  /** The schema it is in: its model's (main, unless a schema config says otherwise). */
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'view';
  readonly key: string;
}

/** Every unpublished version, of any run, in any schema (a model's is beside its table). */
export async function pendingRelations(connection: DuckDBConnection): Promise<PendingRelation[]> {
  return (await relationsOf(connection))
    .filter((pending) => pending.name.startsWith(PENDING_PREFIX))
    .map(({ schema, name, kind }) => ({ schema, name, kind, key: name.split('__').pop() ?? '' }));
}

/** Drop the given unpublished versions, views first (they read the tables). */
export async function dropRelations(connection: DuckDBConnection, relations: readonly PendingRelation[]): Promise<void> {
  const ordered = [...relations].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'view' ? -1 : 1));
  for (const pending of ordered) await connection.run(`drop ${pending.kind} if exists ${relation(pending.schema, pending.name)}`);
}

/**
 * Who owns a build's unpublished versions, as only the activity can tell (from Temporal): plain
 * callbacks, so that housekeeping needs no Temporal.
 */
export interface BuildOwners {
  /** The workflow this build runs in; undefined outside one. */
  current(): string | undefined;
  /** Whether the workflow that owns a build is still running; undefined where nothing can tell (nothing is dropped then). */
  stillRunning(workflowId: string | undefined): Promise<boolean | undefined>;
}

/** Outside an activity: no owner is known, and nothing can tell whether one still runs. */
export const UNKNOWN_OWNERS: BuildOwners = { current: () => undefined, stillRunning: async () => undefined };

/**
 * Record this run as the owner of its build key, and drop the unpublished versions of every other
 * build whose run is no longer running (killed, terminated, or lost with an in-memory server). The
 * versions of runs still going are kept: two runs may share a warehouse.
 */
export async function dropLeftovers(
  connection: DuckDBConnection,
  buildId: string,
  builds: BuildOwners = UNKNOWN_OWNERS,
): Promise<string[]> {
  const ownKey = buildKey(buildId);
  const workflowId = builds.current();
  await connection.run(`delete from ${BUILDS_TABLE} where build_key = $key`, { key: ownKey });
  await connection.run(`insert into ${BUILDS_TABLE} values ($key, $workflow, now()::timestamp)`, {
    key: ownKey,
    workflow: workflowId ?? null,
  });
  const others = (await pendingRelations(connection)).filter((pending) => pending.key !== ownKey);
  if (others.length === 0) return [];
  const owners = new Map(
    (await connection.runAndReadAll(`select build_key, workflow_id from ${BUILDS_TABLE}`))
      .getRowObjectsJS()
      .map((row) => [String(row.build_key), row.workflow_id === null ? undefined : String(row.workflow_id)]),
  );
  const dead: PendingRelation[] = [];
  for (const key of new Set(others.map((pending) => pending.key))) {
    if ((await builds.stillRunning(owners.get(key))) === false) dead.push(...others.filter((pending) => pending.key === key));
  }
  await dropRelations(connection, dead);
  return dead.map((pending) => pending.name);
}

/**
 * Tables this run would replace that meterflow did not create: a model's or analytics model's
 * relation with no recorded build, or a raw source table with no seeded files on record.
 */
export async function foreignTables(
  connection: DuckDBConnection,
  project: LoadedProject,
  selected: readonly string[],
  states: ReadonlyMap<string, BuiltState>,
): Promise<string[]> {
  const present = new Set((await relationsOf(connection)).map((existing) => `${existing.schema}.${existing.name}`));
  const foreign: string[] = [];
  for (const model of project.plan.models.filter((m) => selected.includes(m.name))) {
    const table = tableOf(model);
    if (present.has(`${table.schema}.${table.name}`) && !states.has(model.name)) foreign.push(`${table.schema}.${table.name}`);
  }
  const seededSources = new Set(
    (await connection.runAndReadAll(`select distinct source from ${SOURCE_FILES_TABLE}`))
      .getRowObjectsJS()
      .map((row) => String(row.source)),
  );
  const sources = new Set(project.plan.models.filter((model) => selected.includes(model.name)).flatMap((model) => model.sources));
  for (const source of project.plan.sources.filter((s) => sources.has(s.name))) {
    if (present.has(`${source.schema}.${source.name}`) && !seededSources.has(source.name)) foreign.push(`${source.schema}.${source.name}`);
  }
  return foreign;
}

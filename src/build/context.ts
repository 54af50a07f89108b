// What building on the writer is given: the worker's resources, and what only an activity knows
// (cancellation, the workflow that owns a build) as plain callbacks, so no Temporal is needed here.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import type { Warehouse } from '../warehouse/warehouse';
import type { BuildOwners } from './housekeeping';

/** Runs DuckDB work on a connection so that it can be interrupted (a cancelled activity's, say). */
export type Interruptible = <T>(connection: DuckDBConnection, work: () => Promise<T>) => Promise<T>;

/** Work that nothing interrupts: outside an activity. */
export const uninterruptible: Interruptible = (_connection, work) => work();

export interface ModelContext {
  readonly warehouse: Warehouse;
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  /** A cancelled activity interrupts its DuckDB work; by default nothing does. */
  readonly interruptible?: Interruptible;
  /** Who owns the warehouse's unpublished versions; by default nobody can tell, and none are dropped. */
  readonly owners?: BuildOwners;
}

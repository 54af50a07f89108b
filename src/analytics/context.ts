// What the analytics computation works with: the project, storage, DuckDB settings and the pinned
// versions of the lake, given by the analytics activities (activities/analytics.ts).
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import type { WithPinnedReader } from '../duckdb/readers';
import type { DuckdbSettings } from '../duckdb/settings';

export interface AnalyticsContext {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
  /** Where the lake is attached read-only at a pinned version. */
  readonly withPinnedReader: WithPinnedReader;
  /**
   * Runs a model's DuckDB work so that it can be stopped (an activity interrupts the connection when
   * it is cancelled); without it the work just runs.
   */
  readonly interruptible?: <T>(connection: DuckDBConnection, work: () => Promise<T>) => Promise<T>;
}

// The activities, grouped by concern and built by factories from the worker's resources.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import type { DuckdbSettings, Warehouse } from '../warehouse/warehouse';
import { createAnalyticsActivities, createAnalyticsTestActivities } from './analytics';
import { createModelActivities } from './models';
import { createReportActivities } from './report';
import { createSeedActivities } from './seed';
import { createSnapshotActivities } from './snapshot';

export * from './types';

export interface WriterDependencies {
  readonly warehouse: Warehouse;
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

/** Everything that writes the warehouse: registered on the single writer worker only. */
export function createWriterActivities(deps: WriterDependencies) {
  return {
    ...createModelActivities(deps),
    ...createSeedActivities(deps),
    ...createSnapshotActivities(deps),
  };
}

export interface AnalyticsWorkerDependencies {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
}

/** Read-only work over snapshots: registered on any number of analytics workers. */
export function createAnalyticsWorkerActivities(deps: AnalyticsWorkerDependencies) {
  return { ...createAnalyticsActivities(deps), ...createAnalyticsTestActivities(deps), ...createReportActivities(deps) };
}

export type WriterActivities = ReturnType<typeof createWriterActivities>;
export type AnalyticsActivities = ReturnType<typeof createAnalyticsWorkerActivities>;

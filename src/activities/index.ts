// The activities, grouped by concern and built by factories from the worker's resources.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import type { StorageResolver } from '../storage';
import { pinnedReaders, warehouseName, type DuckdbSettings, type Warehouse } from '../warehouse/warehouse';
import { WrongWarehouseError } from '../errors';
import { classifyFailure } from './context';
import type { WriterInput } from '../contract/activities';
import { createAnalyticsActivities, createAnalyticsTestActivities } from './analytics';
import { createModelActivities } from './models';
import { createReportActivities } from './report';
import { createSeedActivities } from './seed';
import { createMaintenanceActivities } from './maintenance';
import { createSnapshotActivities } from './snapshot';
import { createBuildActivities } from './build';

export * from '../contract/activities';

export interface WriterDependencies {
  readonly warehouse: Warehouse;
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

/**
 * Refuse work meant for another warehouse: a run names the warehouse its plan came from, so a second
 * writer polling the same queue for another file fails the run at once, naming both, instead of
 * building half of it in the wrong file.
 */
function forThisWarehouse<T extends Record<string, (input: never) => Promise<unknown>>>(warehouse: Warehouse, activities: T): T {
  const guarded: Record<string, (input: WriterInput) => Promise<unknown>> = {};
  for (const [name, activity] of Object.entries(activities)) {
    guarded[name] = async (input: WriterInput) => {
      if (input?.warehouse !== undefined && warehouseName(input.warehouse) !== warehouse.path) {
        throw classifyFailure(
          new WrongWarehouseError(
            `this run builds the warehouse ${input.warehouse}, but its ${name} activity reached the writer of ${warehouse.path}: ` +
              'one writer per warehouse and queue; give each warehouse its own writer queue (--writer-queue)',
            input.warehouse,
            warehouse.path,
          ),
          name,
        );
      }
      return (activity as (input: WriterInput) => Promise<unknown>)(input);
    };
  }
  return guarded as unknown as T;
}

/** Everything that writes the warehouse: registered on the single writer worker only. */
export function createWriterActivities(deps: WriterDependencies) {
  return forThisWarehouse(deps.warehouse, {
    ...createModelActivities(deps),
    ...createSeedActivities(deps),
    ...createSnapshotActivities(deps),
    ...createMaintenanceActivities(deps),
  });
}

export interface AnalyticsWorkerDependencies {
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
}

/** Read-only work over snapshots: registered on any number of analytics workers. */
export function createAnalyticsWorkerActivities(deps: AnalyticsWorkerDependencies) {
  // the report reads the version the run published where the analytics read the one it pinned
  const shared = { ...deps, withPinnedReader: pinnedReaders(deps.duckdb) };
  return { ...createAnalyticsActivities(shared), ...createAnalyticsTestActivities(shared), ...createReportActivities(shared) };
}

export interface BuildWorkerDependencies {
  readonly project: LoadedProject;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
}

/**
 * Per-month builds: they read the lake and write files, and commit nothing, so any number of build
 * workers may run them, on any machine that reaches the lake's catalog and data.
 */
export function createBuildWorkerActivities(deps: BuildWorkerDependencies) {
  return createBuildActivities(deps);
}

export type WriterActivities = ReturnType<typeof createWriterActivities>;
export type BuildActivities = ReturnType<typeof createBuildWorkerActivities>;
export type AnalyticsActivities = ReturnType<typeof createAnalyticsWorkerActivities>;

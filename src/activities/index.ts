// The activities, grouped by concern and built by factories from the worker's resources.
import type { Logger } from '../logger';
import type { LoadedProject } from '../project/load';
import { createStorageResolver, type StorageResolver } from '../storage';
import { ProjectSource } from '../project/source';
import type { DuckdbSettings } from '../duckdb/settings';
import { pinnedReaders, type Warehouse } from '../warehouse/warehouse';
import { runResolver, scopedActivities, servingOne, type RunResources, type WarehouseSource } from './run-scope';
import { createAnalyticsActivities, createAnalyticsTestActivities } from './analytics';
import { createModelActivities } from './models';
import { createReportActivities } from './report';
import { createSeedActivities } from './seed';
import { createMaintenanceActivities } from './maintenance';
import { createSnapshotActivities } from './snapshot';
import { createBuildActivities } from './build';
import { createNotifyActivities } from './notify';

export * from '../contract/activities';
export { servingAny, servingOne, type WarehouseSource } from './run-scope';
export { HEARTBEAT_INTERVAL_MS } from './context';

export interface WriterDependencies {
  /** The warehouse(s) this writer serves: a WarehouseSource, or one warehouse. */
  readonly warehouses?: WarehouseSource;
  readonly warehouse?: Warehouse;
  /** Where runs' projects are found; by default the folder of `project`, which runs naming none get. */
  readonly projects?: ProjectSource;
  /** The worker's own project, loaded at start: it names the activities. */
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
}

/** Everything that writes the warehouse: registered on the single writer worker only. */
export function createWriterActivities(deps: WriterDependencies) {
  const warehouses = deps.warehouses ?? servingOne(deps.warehouse as Warehouse);
  const build = ({ project, warehouse }: RunResources) => {
    const scoped = { storage: deps.storage, logger: deps.logger, project, warehouse: warehouse ?? warehouses.own };
    return {
      ...createModelActivities(scoped),
      ...createSeedActivities(scoped),
      ...createSnapshotActivities(scoped),
      ...createMaintenanceActivities(scoped),
    };
  };
  return scopedActivities(build({ project: deps.project }), build, runResolver(projectsOf(deps), warehouses), deps);
}

/** Where a worker finds runs' projects: given, or the folder of the project it was built with. */
function projectsOf(deps: { readonly projects?: ProjectSource; readonly project: LoadedProject }): ProjectSource {
  return deps.projects ?? new ProjectSource(deps.project.dir, deps.project);
}

export interface AnalyticsWorkerDependencies {
  readonly projects?: ProjectSource;
  readonly project: LoadedProject;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
}

/** Read-only work over snapshots: registered on any number of analytics workers. */
export function createAnalyticsWorkerActivities(deps: AnalyticsWorkerDependencies) {
  // the report reads the version the run published where the analytics read the one it pinned
  const withPinnedReader = pinnedReaders(deps.duckdb);
  const build = ({ project }: RunResources) => {
    const shared = { ...deps, project, withPinnedReader };
    return {
      ...createAnalyticsActivities(shared),
      ...createAnalyticsTestActivities(shared),
      ...createReportActivities(shared),
      ...createNotifyActivities(shared),
    };
  };
  return scopedActivities(build({ project: deps.project }), build, runResolver(projectsOf(deps)), deps);
}

export interface BuildWorkerDependencies {
  readonly projects?: ProjectSource;
  readonly project: LoadedProject;
  readonly logger: Logger;
  /** Where the run's logs are kept (S3 or disk): the environment's stores by default. */
  readonly storage?: StorageResolver;
  readonly duckdb: DuckdbSettings;
}

/**
 * Per-month builds: they read the lake and write files, and commit nothing, so any number of build
 * workers may run them, on any machine that reaches the lake's catalog and data.
 */
export function createBuildWorkerActivities(deps: BuildWorkerDependencies) {
  const build = ({ project }: RunResources) => createBuildActivities({ ...deps, project });
  // build workers keep their activities' logs in the run's folder, on whatever store it is
  const logs = { logger: deps.logger, storage: deps.storage ?? createStorageResolver() };
  return scopedActivities(build({ project: deps.project }), build, runResolver(projectsOf(deps)), logs);
}

export type WriterActivities = ReturnType<typeof createWriterActivities>;
export type BuildActivities = ReturnType<typeof createBuildWorkerActivities>;
export type AnalyticsActivities = ReturnType<typeof createAnalyticsWorkerActivities>;

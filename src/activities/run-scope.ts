// Each activity of a run works on the warehouse and the project the run names (RunScope): found, or
// refused non-retryably, naming what was asked and what this worker serves. Activities are built per
// (warehouse, project) by their factories and kept, so that their state lives as long as before.
import type { PlanRunInput, RunScope } from '../contract/activities';
import { EnvironmentMismatchError, WrongWarehouseError } from '../errors';
import { environmentDrift } from '../project/environment';
import type { LoadedProject } from '../project/load';
import type { ProjectSource } from '../project/source';
import { warehouseName } from '../warehouse/names';
import type { Warehouse } from '../warehouse/warehouse';
import type { Logger } from '../logger';
import { withActivityLog } from '../logs/run-logs';
import type { StorageResolver } from '../storage';
import { activityContext, classifyFailure } from './context';

type ActivityMap = Record<string, (input: never) => Promise<unknown>>;

/** The warehouses a writer serves: its one (`servingOne`), or any a run names (`meterflow dev`, `servingAny`). */
export interface WarehouseSource {
  /** The worker's own warehouse, open since it started. */
  readonly own: Warehouse;
  /** The warehouse a run names (undefined: a run from before runs named one, which builds this worker's own). */
  forRun(name: string | undefined, activity: string): Promise<Warehouse>;
  close(): void;
}

/** A writer of one warehouse: work for another is refused. */
export function servingOne(warehouse: Warehouse): WarehouseSource {
  return {
    own: warehouse,
    async forRun(name, activity) {
      if (name === undefined || warehouseName(name) === warehouse.path) return warehouse;
      throw new WrongWarehouseError(
        `this run builds the warehouse ${name}, but its ${activity} activity reached the writer of ${warehouse.path}: ` +
          `nothing was written; start a writer of ${name} (meterflow worker --role writer --db ${name}), ` +
          'or give each warehouse its own writer queue',
        name,
        warehouse.path,
      );
    },
    close: () => warehouse.close(),
  };
}

/** A writer of whichever warehouse a run names, each opened on first use and kept open (one writer each). */
export function servingAny(own: Warehouse, open: (name: string) => Promise<Warehouse>): WarehouseSource {
  const opened = new Map<string, Promise<Warehouse>>([[own.path, Promise.resolve(own)]]);
  return {
    own,
    forRun(name) {
      const key = name === undefined ? own.path : warehouseName(name);
      let warehouse = opened.get(key);
      if (!warehouse) {
        warehouse = open(key);
        warehouse.catch(() => opened.delete(key));
        opened.set(key, warehouse);
      }
      return warehouse;
    },
    close() {
      for (const warehouse of opened.values()) void warehouse.then((w) => w.close()).catch(() => undefined);
    },
  };
}

/** What a run's activities are built over. */
export interface RunResources {
  readonly project: LoadedProject;
  readonly warehouse?: Warehouse;
}

/**
 * Activities that resolve their run's scope first: `build` makes the activities for one warehouse and
 * project (kept per pair), `resolve` finds those a run names. `names` lists the activities (built once
 * for the worker's own project), so that the worker registers them before any run arrives.
 */
export function scopedActivities<T extends ActivityMap>(
  names: T,
  build: (resources: RunResources) => T,
  resolve: (scope: RunScope, activity: string) => Promise<RunResources>,
  logs?: { readonly logger: Logger; readonly storage: StorageResolver },
): T {
  const built = new WeakMap<object, WeakMap<LoadedProject, T>>();
  const noWarehouse = {};
  const activitiesFor = (resources: RunResources): T => {
    const byWarehouse = built.get(resources.warehouse ?? noWarehouse) ?? new WeakMap<LoadedProject, T>();
    built.set(resources.warehouse ?? noWarehouse, byWarehouse);
    let activities = byWarehouse.get(resources.project);
    if (!activities) byWarehouse.set(resources.project, (activities = build(resources)));
    return activities;
  };
  const scoped: Record<string, (input: RunScope | undefined) => Promise<unknown>> = {};
  for (const name of Object.keys(names)) {
    const run = async (input: RunScope | undefined) => {
      let resources: RunResources;
      try {
        resources = await resolve(input ?? {}, name);
      } catch (err) {
        throw classifyFailure(err, name);
      }
      const activity = activitiesFor(resources)[name] as unknown as (input: RunScope | undefined) => Promise<unknown>;
      return activity(input);
    };
    scoped[name] = async (input) => {
      // a run that names its logs folder gets each attempt's log lines kept there
      const info = activityContext()?.info;
      if (!input?.logs || !logs || !info) return run(input);
      const attempt = {
        activity: name,
        input,
        attempt: info.attempt,
        activityId: info.activityId,
        workflowId: info.workflowExecution?.workflowId ?? '',
      };
      return withActivityLog(input.logs, attempt, logs, () => run(input));
    };
  }
  return scoped as unknown as T;
}

/**
 * The activities that render no model's SQL: their worker's env_var values do not matter (the report
 * and the notice of a run that failed for another value still go out).
 */
const RENDERS_NO_MODEL = new Set([
  'renderReport',
  'notifyRun',
  'pinSnapshot',
  'checkSources',
  'seedSource',
  'discardPending',
  'maintainLake',
]);

/**
 * Refuse the work when this worker's environment gives a model's env_var() another value than the
 * plan's did: the worker would render other SQL than the rest of the run (a month part filtered for
 * another region, say). The values themselves are never named, only the variables.
 */
export function refuseEnvironmentDrift(scope: RunScope, activity: string, env: NodeJS.ProcessEnv = process.env): void {
  if (!scope.env || RENDERS_NO_MODEL.has(activity)) return;
  const differ = environmentDrift(scope.env, env);
  if (differ.length === 0) return;
  const names = differ.map(
    (name) => `${name} (${env[name] === undefined ? 'unset here' : scope.env?.[name] === null ? 'unset where planned' : 'another value'})`,
  );
  throw new EnvironmentMismatchError(
    `this worker's environment differs from the one the run was planned with, in ${names.join(', ')}, ` +
      `which the project's models read with env_var(): its ${activity} activity would render other SQL than the rest of the run, ` +
      'so nothing was done; give every worker (writer, build and analytics) the same values',
    differ,
  );
}

/** Resolve a run's project (and, for a writer, its warehouse), on a worker whose environment is the plan's. */
export function runResolver(projects: ProjectSource, warehouses?: WarehouseSource, env: NodeJS.ProcessEnv = process.env) {
  return async (scope: RunScope, activity: string): Promise<RunResources> => {
    refuseEnvironmentDrift(scope, activity, env);
    const warehouse = warehouses ? await warehouses.forRun(scope.warehouse, activity) : undefined;
    // the plan renders dbt_project.yml with the run's vars; the activities after it, with those it read
    const planning = activity === 'planRun';
    const vars = planning ? (scope as PlanRunInput).vars : scope.projectVars;
    const project = await projects.resolve(scope.project, vars, { exact: !planning });
    return warehouse ? { project, warehouse } : { project };
  };
}

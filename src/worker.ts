// The workers: one writer (concurrency 1, the lake's only committer), any number of analytics workers
// and of build workers (per-month builds: they write files, never commit). All run workflow tasks.
import type { Duration } from '@temporalio/common';
import {
  bundleWorkflowCode,
  DefaultLogger,
  type NativeConnection,
  Worker,
  type WorkerOptions,
  type WorkflowBundle,
} from '@temporalio/worker';
import path from 'node:path';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { RunValueMissingError, WarehouseLockedError } from './errors';
import { requireSearchAttributes } from './temporal/search-attributes';
import { devWriterIdentity, liveWriterPollers, writerIdentity } from './temporal/writer-pollers';
import {
  createAnalyticsWorkerActivities,
  createBuildWorkerActivities,
  createWriterActivities,
  HEARTBEAT_INTERVAL_MS,
  servingAny,
  servingOne,
  type WarehouseSource,
} from './activities';
import { createLogger, type Logger } from './logger';
import { ProjectSource, unloadableProject } from './project/source';
import type { LoadedProject } from './project/load';
import { createStorageResolver, type StorageResolver } from './storage';
import { keepCatalogsOpen, releaseKeptCatalogs } from './duckdb/catalog-keeper';
import { detachIdlePinnedReaders, warmReaders } from './duckdb/readers';
import { BUILD_MEMORY_LIMIT, duckdbSettingsFromEnv, type DuckdbSettings } from './duckdb/settings';
import { registerWarehouse } from './warehouse/names';
import { Warehouse } from './warehouse/warehouse';
import {
  ANALYTICS_QUEUE_NAME as ANALYTICS_QUEUE,
  buildQueueFor,
  DEV_WRITER_QUEUE_NAME,
  WORKFLOW_QUEUE_NAME as WORKFLOW_QUEUE,
  WRITER_QUEUE_NAME as WRITER_QUEUE,
  writerQueueFor,
} from './contract/queues';

export { ANALYTICS_QUEUE, WORKFLOW_QUEUE, WRITER_QUEUE };

/** writer: the lake's one committer (it builds months too, unless buildConcurrency is 0); build: months only. */
export type WorkerRole = 'writer' | 'analytics' | 'build' | 'all';

/** In-flight activities get this long to finish on shutdown before they are cancelled. */
const SHUTDOWN_GRACE_TIME: Duration = '30s';

/** What every worker of meterflow's activities is created with (tests that build their own workers too). */
export const WORKER_TIMING = {
  shutdownGraceTime: SHUTDOWN_GRACE_TIME,
  // NOTE: the SDK sends heartbeats at most every 0.8 x the heartbeat timeout (8 of its 10 s) unless
  // told otherwise: 2 s of slack, which a busy machine overran. Sending every interval leaves 8 s.
  maxHeartbeatThrottleInterval: HEARTBEAT_INTERVAL_MS,
} as const;

export interface WorkerSetOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  /** host:port of the connection, for messages. */
  readonly address?: string;
  readonly role: WorkerRole;
  /** The warehouse's location as given (--db): a folder, or `postgres:<conninfo>` with its password if it needs one. */
  readonly warehousePath: string;
  /**
   * The writer opens whichever warehouse a run names (`meterflow dev`), on the dev writer queue; else it
   * serves warehousePath alone, on that warehouse's own writer queue (`writerQueueFor`).
   */
  readonly serveAnyWarehouse?: boolean;
  /** The worker's own project: runs that name none run it, and a run's project is looked for here too. */
  readonly projectDir: string;
  readonly analyticsConcurrency?: number;
  /** Months built at once (build, writer and all roles; 0: a writer or all-in-one worker builds none). Default DEFAULT_BUILD_CONCURRENCY. */
  readonly buildConcurrency?: number;
  /** Queue names, for several warehouses (one writer queue each) or isolated tests; build defaults to the writer's. */
  readonly queues?: { readonly writer?: string; readonly analytics?: string; readonly workflows?: string; readonly build?: string };
  readonly storage?: StorageResolver;
  readonly duckdb?: DuckdbSettings;
  readonly logger?: Logger;
}

export interface WorkerSet {
  readonly warehouse?: Warehouse;
  /** The writer queue the writer polls (a writer or all-in-one set). */
  readonly writerQueue?: string;
  /** Runs until shutdown() or a fatal worker error. */
  run(): Promise<void>;
  shutdown(): void;
}

/** Run from TypeScript sources (tests, say): the workflows bundled once a process, not once a worker set. */
let sourcesBundle: Promise<WorkflowBundle> | undefined;

/** Workflow code: the prebuilt bundle when there is one (fast start), else the sources, bundled once. */
async function workflowSource(): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  const bundle = path.join(__dirname, 'workflow-bundle.js');
  if (__filename.endsWith('.js') && existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  if (!sourcesBundle) {
    sourcesBundle = bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: new DefaultLogger('WARN') });
    // a failed bundle is not kept: the next worker set tries again
    sourcesBundle.catch(() => (sourcesBundle = undefined));
  }
  return { workflowBundle: await sourcesBundle };
}

/**
 * One writer per warehouse and queue: a writer queue already polled by the writer of another
 * warehouse would hand this one half of that warehouse's runs. Refuse to start, naming both.
 */
async function refuseQueueOfAnotherWarehouse(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  warehousePath: string,
): Promise<void> {
  for (const poller of await liveWriterPollers(connection.workflowService, namespace, taskQueue)) {
    if (poller.warehouse === undefined || poller.warehouse === warehousePath) continue;
    throw new WarehouseLockedError(
      `writer queue ${taskQueue} is already served by the writer of ${poller.warehouse} (${poller.identity}); ` +
        `a writer of ${warehousePath} on the same queue would take half of its work: give this warehouse its own --writer-queue`,
      warehousePath,
    );
  }
}

/**
 * Months (or parts) a worker builds at once unless told: two. Small parts keep DuckDB's threads
 * waiting on each other; two builds at one thread each beat one at two on two cores (12 parts of the
 * master at 2,000 meters: 7.5 s against 8.8 s, docs/performance.md).
 */
export const DEFAULT_BUILD_CONCURRENCY = 2;

/**
 * A month, or a part of one, is bounded: its DuckDB gets less memory than the writer's (see
 * BUILD_MEMORY_LIMIT), and the cores shared between the builds running at once.
 */
function buildSettings(duckdb: DuckdbSettings, concurrency = DEFAULT_BUILD_CONCURRENCY): DuckdbSettings {
  const threads = Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, concurrency)));
  return { memoryLimit: BUILD_MEMORY_LIMIT, tempDirectory: path.join(os.tmpdir(), 'meterflow-spill'), threads, ...duckdb };
}

/**
 * Load DuckDB's lake extensions into the readers' instances that createWorkers would (the same
 * settings, so the same cached instances): an embedded run does it while its server starts.
 */
export async function prewarmWorkers(duckdb: DuckdbSettings = duckdbSettingsFromEnv()): Promise<void> {
  await Promise.all([warmReaders(duckdb, 'pinned'), warmReaders(buildSettings(duckdb), 'default')]);
}

/** What each role's worker is made from: the set's options, and what the set opened once for all. */
interface WorkerParts {
  readonly options: WorkerSetOptions;
  readonly common: Pick<WorkerOptions, 'connection' | 'namespace' | 'shutdownGraceTime' | 'maxHeartbeatThrottleInterval'>;
  readonly projects: ProjectSource;
  readonly project: Awaited<ReturnType<ProjectSource['own']>>;
  readonly storage: StorageResolver;
  readonly logger: Logger;
  readonly duckdb: DuckdbSettings;
  readonly writerQueue: string;
}

/** The writer: the warehouse opened (a second writer of the same file fails here, before it polls), one activity at a time. */
async function writerWorker(parts: WorkerParts): Promise<{ worker: Worker; warehouses: WarehouseSource }> {
  const { options, common, projects, project, storage, logger, duckdb, writerQueue } = parts;
  const warehouse = await Warehouse.open(options.warehousePath, duckdb);
  const warehouses = options.serveAnyWarehouse ? servingAny(warehouse, (name) => Warehouse.open(name, duckdb)) : servingOne(warehouse);
  try {
    if (!options.serveAnyWarehouse) await refuseQueueOfAnotherWarehouse(options.connection, options.namespace, writerQueue, warehouse.path);
    const worker = await Worker.create({
      ...common,
      identity: options.serveAnyWarehouse ? devWriterIdentity() : writerIdentity(warehouse.path),
      taskQueue: writerQueue,
      activities: createWriterActivities({ warehouses, projects, project, storage, logger }),
      // NOTE: DuckDB allows one writing process; one activity at a time keeps every write serial.
      maxConcurrentActivityTaskExecutions: 1,
    });
    return { worker, warehouses };
  } catch (err) {
    warehouses.close();
    throw err;
  }
}

/** An analytics worker: read-only models at pinned lake versions, and the reports. */
async function analyticsWorker({ options, common, projects, project, storage, logger, duckdb }: WorkerParts): Promise<Worker> {
  await warmReaders(duckdb, 'pinned');
  return Worker.create({
    ...common,
    taskQueue: options.queues?.analytics ?? ANALYTICS_QUEUE,
    activities: createAnalyticsWorkerActivities({ projects, project, storage, logger, duckdb }),
    maxConcurrentActivityTaskExecutions: options.analyticsConcurrency ?? 2,
  });
}

/** A build worker: months (or parts) written as files, `concurrency` at a time, never committed here. */
async function buildWorker(
  { options, common, projects, project, logger, duckdb, writerQueue }: WorkerParts,
  concurrency: number,
): Promise<Worker> {
  const buildDuckdb = buildSettings(duckdb, concurrency);
  await warmReaders(buildDuckdb, 'default');
  return Worker.create({
    ...common,
    taskQueue: options.queues?.build ?? buildQueueFor(writerQueue),
    activities: createBuildWorkerActivities({ projects, project, logger, duckdb: buildDuckdb }),
    maxConcurrentActivityTaskExecutions: concurrency,
  });
}

/**
 * The worker's own project, loaded at start; one that needs a run's values to be read (a target.name,
 * a var without a default) is left to the runs that give them, with a warning.
 */
async function ownProject(projects: ProjectSource, logger: Logger): Promise<LoadedProject> {
  try {
    return await projects.own();
  } catch (err) {
    if (!(err instanceof RunValueMissingError)) throw err;
    logger.warn(
      { project: projects.ownDir, reason: err.message },
      "the worker's own project cannot be read without a run's values; runs that name them are served",
    );
    return unloadableProject(err);
  }
}

/** What the workers of a set share, opened once: the project, storage, settings and the writer's queue. */
async function workerParts(options: WorkerSetOptions): Promise<WorkerParts> {
  const projects = new ProjectSource(options.projectDir);
  const warehouseName = registerWarehouse(options.warehousePath);
  return {
    options,
    common: { connection: options.connection, namespace: options.namespace, ...WORKER_TIMING },
    projects,
    project: await ownProject(projects, options.logger ?? createLogger('meterflow-worker')),
    storage: options.storage ?? createStorageResolver(),
    logger: options.logger ?? createLogger('meterflow-worker'),
    duckdb: options.duckdb ?? duckdbSettingsFromEnv(),
    writerQueue: options.queues?.writer ?? (options.serveAnyWarehouse ? DEV_WRITER_QUEUE_NAME : writerQueueFor(warehouseName)),
  };
}

export async function createWorkers(options: WorkerSetOptions): Promise<WorkerSet> {
  // a worker attaches catalogs many times a run: their SQLite files are kept open between attachments
  keepCatalogsOpen();
  // NOTE: checked, not registered: registering needs operator rights on the namespace (and on Temporal
  // Cloud is not done through this API), which a worker should not need; `meterflow setup` does it once.
  await requireSearchAttributes(options.connection.operatorService, options.namespace, options.address);
  const parts = await workerParts(options);
  const workers: Worker[] = [];
  let warehouses: WarehouseSource | undefined;
  try {
    if (options.role === 'writer' || options.role === 'all') {
      const writer = await writerWorker(parts);
      warehouses = writer.warehouses;
      workers.push(writer.worker);
    }
    if (options.role === 'analytics' || options.role === 'all') workers.push(await analyticsWorker(parts));
    const buildConcurrency = options.buildConcurrency ?? DEFAULT_BUILD_CONCURRENCY;
    if (options.role !== 'analytics' && buildConcurrency > 0) workers.push(await buildWorker(parts, buildConcurrency));
    workers.push(
      await Worker.create({ ...parts.common, taskQueue: options.queues?.workflows ?? WORKFLOW_QUEUE, ...(await workflowSource()) }),
    );
  } catch (err) {
    warehouses?.close();
    throw err;
  }
  return workerSet(workers, warehouses, parts.writerQueue);
}

/** The set's run and shutdown: every worker runs until one stops; then what the set holds is let go. */
function workerSet(workers: readonly Worker[], warehouses: WarehouseSource | undefined, writerQueue: string): WorkerSet {
  return {
    ...(warehouses ? { warehouse: warehouses.own, writerQueue } : {}),
    async run() {
      try {
        await Promise.all(workers.map((worker) => worker.run()));
      } finally {
        warehouses?.close();
        await detachIdlePinnedReaders();
        await releaseKeptCatalogs();
      }
    },
    shutdown() {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}

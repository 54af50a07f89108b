// Where `meterflow run` sends its run: the server at TEMPORAL_ADDRESS (its workers run elsewhere), or,
// without one, an embedded Temporal dev server with this process's own workers for the run's length.
import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { connectClient } from '../client';
import { DEFAULT_TEMPORAL_ADDRESS, defaultProjectDir, temporalNamespace } from '../config';
import { WarehouseLockedError } from '../errors';
import { createLogger } from '../logger';
import { probeAddress } from '../temporal/connection';
import { requireSearchAttributes } from '../temporal/search-attributes';
import type { WorkerSet, WorkerSetOptions } from '../worker';

/** What the target is opened with: the run command's options it needs, and how each step races a signal. */
export interface TargetOptions {
  readonly db: string;
  readonly projectDir?: string;
  readonly analyticsConcurrency?: number;
  readonly temporalHistory?: string;
  /** The queue names a run and `meterflow worker` both take from the environment. */
  readonly queues: NonNullable<WorkerSetOptions['queues']>;
  /** Races a step against the command's first signal (which rejects `interrupted`). */
  readonly step: <T>(work: Promise<T>) => Promise<T>;
  readonly interrupted: Promise<never>;
  readonly warn: (line: string) => void;
}

/** A server to start runs on, and what this command started to reach it. */
export interface RunTarget {
  readonly client: Client;
  /** The Web UI's base address, when known (the embedded server's, or TEMPORAL_UI_URL). */
  readonly uiBase: string | undefined;
  /**
   * Stops what this command started: its workers (given the full grace time, or a few seconds after a
   * signal, since the server goes too), its connections, the embedded server.
   */
  close(afterSignal: boolean): Promise<void>;
}

/** How long in-flight activities may take to finish when a signal stops an embedded run (after its cancel). */
const SIGNAL_GRACE_MS = 3_000;

/** The server at `address`, once it is known to have meterflow's search attributes. */
async function openRemote(address: string, { step }: TargetOptions): Promise<RunTarget> {
  const client = await step(connectClient({ address, namespace: temporalNamespace() }));
  const close = () => client.connection.close().catch(() => undefined);
  try {
    // a namespace without the search attributes fails every workflow task: say so before starting a run
    await step(requireSearchAttributes(client.connection.operatorService, client.options.namespace, address));
  } catch (err) {
    await close();
    throw err;
  }
  return { client, uiBase: process.env.TEMPORAL_UI_URL, close };
}

/** The embedded server, and this process's workers (every role) polling it. */
async function openEmbedded(options: TargetOptions): Promise<RunTarget> {
  const { step, warn, queues } = options;
  // the worker side is loaded only here: a run on TEMPORAL_ADDRESS starts without it
  const [{ NativeConnection }, { startDevServer }, { createWorkers, prewarmWorkers }] = await Promise.all([
    import('@temporalio/worker'),
    import('../temporal/dev-server'),
    import('../worker'),
  ]);
  // DuckDB's extensions load into the workers' reader instances while the server starts
  const warming = prewarmWorkers().catch(() => undefined);
  const starting = startDevServer(options.temporalHistory ? { dbFilename: options.temporalHistory } : {});
  let up = false;
  // a signal while the server starts: it is stopped as soon as it is up
  void options.interrupted.catch(() => (up ? undefined : starting.then((started) => started.stop()).catch(() => undefined)));
  const started = await step(starting);
  up = true;
  let connection: NativeConnection | undefined;
  let workers: WorkerSet | undefined;
  let workersDone: Promise<void> | undefined;
  const close = async (afterSignal: boolean) => {
    workers?.shutdown();
    const stopped = workersDone?.catch(() => undefined);
    await (afterSignal ? Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, SIGNAL_GRACE_MS).unref())]) : stopped);
    await connection?.close().catch(() => undefined);
    await started.stop();
  };
  try {
    warn(`embedded Temporal dev server at ${started.address}, Web UI ${started.uiUrl} (while this run lasts)`);
    connection = await step(NativeConnection.connect({ address: started.address }));
    await warming;
    workers = await step(
      besideRunningServer(
        createWorkers({
          connection,
          namespace: started.namespace,
          role: 'all',
          queues,
          warehousePath: options.db,
          projectDir: options.projectDir ?? defaultProjectDir(),
          ...(options.analyticsConcurrency ? { analyticsConcurrency: options.analyticsConcurrency } : {}),
          logger: createLogger('meterflow-worker', process.env.METERFLOW_LOG_LEVEL ?? 'warn'),
        }),
      ),
    );
    workersDone = workers.run();
  } catch (err) {
    await close(true);
    throw err;
  }
  return { client: started.environment.client, uiBase: started.uiUrl, close };
}

/** The server at `address` when one is given, else an embedded one with this process's workers. */
export function openRunTarget(address: string | undefined, options: TargetOptions): Promise<RunTarget> {
  return address ? openRemote(address, options) : openEmbedded(options);
}

/**
 * An embedded run whose warehouse another process writes (most often `meterflow dev`): one line saying
 * how to run it on that process's server instead, when a Temporal server answers at the default address.
 */
async function besideRunningServer<T>(starting: Promise<T>): Promise<T> {
  try {
    return await starting;
  } catch (err) {
    if (!(err instanceof WarehouseLockedError) || err.holder !== 'writer') throw err;
    if ((await probeAddress(DEFAULT_TEMPORAL_ADDRESS, 1_000)) !== undefined) throw err;
    throw new WarehouseLockedError(
      `${err.message}; a Temporal server answers at ${DEFAULT_TEMPORAL_ADDRESS} (meterflow dev?): run there with ` +
        `TEMPORAL_ADDRESS=${DEFAULT_TEMPORAL_ADDRESS} meterflow run …, whose workers serve this warehouse`,
      err.warehousePath,
      err.holder,
      err.holderPid,
    );
  }
}

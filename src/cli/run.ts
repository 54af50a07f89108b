// `meterflow run`: one full pipeline run, on an embedded Temporal server with in-process workers,
// or submitted to TEMPORAL_ADDRESS where workers run elsewhere.
import { NativeConnection } from '@temporalio/worker';
import path from 'node:path';
import { connectClient, describeFailure, startPipeline, waitForPipeline } from '../client';
import { defaultProjectDir, temporalAddress, temporalNamespace } from '../config';
import { createLogger } from '../logger';
import { parseLocation } from '../storage';
import { startDevServer } from '../temporal/dev-server';
import { createWorkers } from '../worker';
import type { PipelineInput, PipelineResult } from '../workflows/definitions';
import { liveProgressPrinter, plainProgressPrinter } from './progress';
import { summaryTable } from './summary';

export interface RunCommandOptions {
  readonly sources: string;
  readonly db: string;
  readonly out: string;
  readonly projectDir?: string;
  readonly analyticsConcurrency?: number;
  readonly select?: readonly string[];
  readonly exclude?: readonly string[];
  readonly fullRefresh?: boolean;
  readonly verify?: boolean;
  readonly force?: boolean;
  readonly logicalDate?: string;
  readonly write?: (line: string) => void;
}

/** Absolute local paths, so that workers with another working directory read the same files. */
function normaliseUri(uri: string): string {
  const location = parseLocation(uri);
  return location.kind === 'local' ? location.path : uri;
}

export async function runCommand(options: RunCommandOptions): Promise<{ ok: boolean; result?: PipelineResult }> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const input: PipelineInput = {
    sourcesUri: normaliseUri(options.sources),
    outUri: normaliseUri(options.out),
    ...(options.select?.length ? { select: options.select } : {}),
    ...(options.exclude?.length ? { exclude: options.exclude } : {}),
    ...(options.fullRefresh ? { fullRefresh: true } : {}),
    ...(options.verify ? { verify: true } : {}),
    ...(options.force ? { force: true } : {}),
    ...(options.logicalDate ? { logicalDate: new Date(options.logicalDate).toISOString() } : {}),
  };
  const address = temporalAddress();
  const server = address ? undefined : await startDevServer();
  let workers: Awaited<ReturnType<typeof createWorkers>> | undefined;
  let workersDone: Promise<void> | undefined;
  let workerConnection: NativeConnection | undefined;
  try {
    if (server) {
      write(`embedded Temporal dev server at ${server.address}, Web UI ${server.uiUrl} (while this run lasts)`);
      workerConnection = await NativeConnection.connect({ address: server.address });
      workers = await createWorkers({
        connection: workerConnection,
        namespace: server.namespace,
        role: 'all',
        warehousePath: path.resolve(options.db),
        projectDir: options.projectDir ?? defaultProjectDir(),
        ...(options.analyticsConcurrency ? { analyticsConcurrency: options.analyticsConcurrency } : {}),
        logger: createLogger('meterflow-worker', process.env.METERFLOW_LOG_LEVEL ?? 'warn'),
      });
      workersDone = workers.run();
    }
    const client = server ? server.environment.client : await connectClient({ address: address as string, namespace: temporalNamespace() });
    const handle = await startPipeline(client, input);
    const uiBase = server ? server.uiUrl : process.env.TEMPORAL_UI_URL;
    write(
      `run ${handle.workflowId} started${uiBase ? `: ${uiBase}/namespaces/${client.options.namespace}/workflows/${handle.workflowId}` : ''}`,
    );
    // a terminal gets the DAG redrawn in place; anything else (CI, a pipe) a line per change
    const live = options.write === undefined && process.stdout.isTTY ? liveProgressPrinter() : undefined;
    const printer = live ? live.update : plainProgressPrinter(write);
    try {
      const result = await waitForPipeline(handle, { onProgress: printer }).finally(() => live?.done());
      if (!live) printer({ workflowId: result.workflowId, startedAt: 0, logicalDate: result.logicalDate, nodes: result.nodes, done: true });
      write('');
      write(summaryTable(result.nodes));
      write('');
      if (uiBase) write(`web ui: ${uiBase}/namespaces/${client.options.namespace}/workflows/${handle.workflowId}`);
      if (result.snapshotUri) write(`snapshot: ${result.snapshotUri}`);
      write(`warehouse: ${result.warehousePath}`);
      write(`report: ${result.reportUri}`);
      return { ok: true, result };
    } catch (err) {
      const { node, reason } = describeFailure(err);
      write(`error: run ${handle.workflowId} failed${node ? ` at ${node}` : ''}: ${reason}`);
      // with remote workers the warehouse is the writer's, which a failed run may not have reached
      write(`warehouse: ${server ? path.resolve(options.db) : '(on the writer worker)'}`);
      return { ok: false };
    }
  } finally {
    workers?.shutdown();
    await workersDone?.catch(() => undefined);
    await workerConnection?.close();
    await server?.stop();
  }
}

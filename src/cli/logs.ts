// `meterflow logs <run> [node]`: what a run's activities logged, kept in the run's folder by the workers
// that ran them (any machine), as readable lines or the raw JSON lines.
import { connectClient, getRunInput } from '../client';
import { temporalAddressOrDefault, temporalNamespace } from '../config';
import { childUri, runFolderName } from '../contract/uri';
import { readRunLogs, readableLogLine } from '../logs/run-logs';
import { createStorageResolver } from '../storage';
import { parseLocation } from '../storage/uri';

export interface LogsOptions {
  /** The run's --out: where its folder is, when the server that ran it is gone (an embedded run). */
  readonly out?: string;
  readonly json?: boolean;
}

/** The run's --out, as its input on the Temporal server names it. */
async function outOfRun(run: string): Promise<string> {
  const address = temporalAddressOrDefault();
  let client;
  try {
    client = await connectClient({ address, namespace: temporalNamespace() });
  } catch (err) {
    throw new Error(
      `${(err as Error).message}; to read the logs of a run whose server is gone, give its --out: meterflow logs ${run} --out <dir>`,
    );
  }
  try {
    const input = await getRunInput(client.workflow.getHandle(run)).catch(() => undefined);
    if (!input) throw new Error(`no run ${run} at ${address} (meterflow runs lists them)`);
    return input.outUri;
  } finally {
    await client.connection.close();
  }
}

/** The log lines of a run, or of one of its nodes (`model:x`, or `x` for every node of x), oldest first. */
export async function logsCommand(
  run: string,
  node: string | undefined,
  options: LogsOptions,
  write: (line: string) => void,
): Promise<void> {
  const out = options.out ?? (await outOfRun(run));
  const location = parseLocation(out);
  const logsUri = childUri(location.kind === 'local' ? location.path : out, 'runs', runFolderName(run), 'logs');
  const lines = await readRunLogs(createStorageResolver(), logsUri, node);
  if (lines.length === 0) {
    throw new Error(
      node
        ? `no log lines of ${node} in run ${run} at ${logsUri} (node ids as \`meterflow status ${run}\` shows them, e.g. model:<name>, or a name)`
        : `no logs of run ${run} at ${logsUri} (runs before meterflow kept logs, or whose workers could not write there, have none)`,
    );
  }
  for (const line of lines) write(options.json ? line.raw : readableLogLine(line));
}

// A run's logs: each activity attempt's log lines (what the worker logged while it ran, at info or
// above, framed by a start and an end line) kept as one JSON-lines file in the run's folder, beside its
// report, wherever the worker ran: `<out>/runs/<run>/logs/<activity>--<subject>--<attempt>.jsonl`.
// `meterflow logs` reads them back, for the run or one node.
import { childUri } from '../contract/uri';
import type { NodeKind } from '../contract/run';
import { capturingLogs, type Logger } from '../logger';
import type { StorageResolver } from '../storage';

/** Which node kind each activity's log belongs to (the pipeline's node for that activity). */
const NODE_KIND_OF: Readonly<Record<string, NodeKind>> = {
  checkSources: 'seed',
  seedSource: 'seed',
  planBuildMonths: 'model',
  buildModel: 'model',
  buildMonth: 'model',
  commitBuiltMonths: 'model',
  planTestMonths: 'test',
  testModel: 'test',
  testMonth: 'test',
  testBuiltModel: 'test',
  runSingularTest: 'test',
  testAnalyticsResult: 'test',
  pinSnapshot: 'snapshot',
  runAnalyticsModel: 'analytics',
  publishRun: 'publish',
  renderReport: 'report',
  notifyRun: 'report',
};

/** What an activity works on, from its input: a source, a model or a test (nothing for run-wide ones). */
export function subjectOf(input: unknown): string {
  const fields = (input ?? {}) as { source?: { name?: string } | string; model?: string; test?: string };
  const source = typeof fields.source === 'object' ? fields.source?.name : fields.source;
  return source ?? fields.model ?? fields.test ?? 'run';
}

/** A file name part that stays one path segment on every store. */
const segment = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, '_');

/** The file of one attempt of one activity in a run's logs folder. */
export function logFileName(activity: string, subject: string, attempt: number, activityId: string): string {
  return `${segment(activity)}--${segment(subject)}--${attempt}--${segment(activityId)}.jsonl`;
}

export interface ActivityAttempt {
  readonly activity: string;
  readonly input: unknown;
  readonly attempt: number;
  readonly activityId: string;
  readonly workflowId: string;
}

/**
 * Run an activity attempt with its log lines kept in `logsUri`: a start line, what it logs, an end line
 * (its time, or its error). Keeping them is best effort: a store that refuses them is logged, and the
 * activity's own outcome stands.
 */
export async function withActivityLog<T>(
  logsUri: string,
  attempt: ActivityAttempt,
  deps: { readonly logger: Logger; readonly storage: StorageResolver },
  work: () => Promise<T>,
): Promise<T> {
  const lines: string[] = [];
  const subject = subjectOf(attempt.input);
  const log = deps.logger.child({ activity: attempt.activity, subject, attempt: attempt.attempt, workflowId: attempt.workflowId });
  const started = Date.now();
  try {
    return await capturingLogs(lines, async () => {
      log.info('started');
      try {
        const result = await work();
        log.info({ ms: Date.now() - started }, 'finished');
        return result;
      } catch (err) {
        log.error({ ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) }, 'failed');
        throw err;
      }
    });
  } finally {
    const uri = childUri(logsUri, logFileName(attempt.activity, subject, attempt.attempt, attempt.activityId));
    await deps.storage
      .forUri(uri)
      .write(uri, lines.join(''))
      .catch((err: unknown) =>
        log.warn({ uri, error: err instanceof Error ? err.message : String(err) }, "could not keep the activity's log"),
      );
  }
}

/** One line of a run's logs, as read back. */
export interface RunLogLine {
  readonly time: number;
  readonly level: number;
  readonly msg: string;
  readonly activity: string;
  readonly subject: string;
  readonly attempt: number;
  readonly fields: Readonly<Record<string, unknown>>;
  /** The line as it was written. */
  readonly raw: string;
}

/** Whether a log file belongs to a node: `kind:name`, or just a name (any node of it). */
export function fileIsOfNode(fileName: string, node: string): boolean {
  const [activity = '', subject = ''] = fileName.split('--');
  const [kind, name] = node.includes(':') ? node.split(/:(.*)/s) : [undefined, node];
  if (segment(name ?? '') !== subject) return false;
  return kind === undefined || NODE_KIND_OF[activity] === kind;
}

const BOOK_KEEPING = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'name', 'activity', 'subject', 'attempt', 'workflowId']);

/** A run's log lines (a node's only, when named), oldest first. */
export async function readRunLogs(storage: StorageResolver, logsUri: string, node?: string): Promise<RunLogLine[]> {
  const store = storage.forUri(logsUri);
  const files = (await store.list(logsUri)).filter((file) => file.name.endsWith('.jsonl') && (!node || fileIsOfNode(file.name, node)));
  const lines: RunLogLine[] = [];
  for (const file of files) {
    // lines the activity's own code logged carry no activity fields: the file's name says them
    const [activity = '', subject = '', attempt = '1'] = file.name.split('--');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read(file.uri)) chunks.push(Buffer.from(chunk as Buffer));
    for (const raw of Buffer.concat(chunks).toString('utf8').split('\n')) {
      if (raw.trim() === '') continue;
      const parsed = JSON.parse(raw) as Record<string, unknown>;
      const fields = Object.fromEntries(Object.entries(parsed).filter(([key]) => !BOOK_KEEPING.has(key)));
      lines.push({
        time: Number(parsed.time),
        level: Number(parsed.level),
        msg: String(parsed.msg ?? ''),
        activity: String(parsed.activity ?? activity),
        subject: String(parsed.subject ?? subject),
        attempt: Number(parsed.attempt ?? attempt),
        fields,
        raw,
      });
    }
  }
  return lines.sort((a, b) => a.time - b.time);
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A log line for a person: local time, level, where (activity, subject, attempt), message, fields. */
export function readableLogLine(line: RunLogLine): string {
  const at = new Date(line.time);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const time = `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())} ${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`;
  const fields = Object.entries(line.fields).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const where = `${line.activity} ${line.subject}${line.attempt > 1 ? ` (attempt ${line.attempt})` : ''}`;
  return [time, (LEVEL_NAMES[line.level] ?? String(line.level)).padEnd(5), `[${where}]`, line.msg, ...fields].join(' ');
}

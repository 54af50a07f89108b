// One structured logger for the whole process (pino; METERFLOW_LOG_LEVEL sets the level): JSON lines
// on stderr, for a log collector, or readable lines (local time, level, message, fields) when stderr
// is a terminal, as `meterflow dev` and `meterflow worker` are run by hand. METERFLOW_LOG_FORMAT=json
// or =pretty chooses; NO_COLOR leaves the colour out.
import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Readable lines instead of JSON; by default when stderr is a terminal and METERFLOW_LOG_FORMAT is not json. */
  readonly pretty?: boolean;
  /** Where the lines go: stderr by default. */
  readonly destination?: NodeJS.WritableStream;
}

const REDACT = ['*.secretAccessKey', '*.sessionToken', '*.apiKey'];

/** Whether this process's logs are for a person: METERFLOW_LOG_FORMAT, else stderr being a terminal. */
export function prettyByDefault(env: NodeJS.ProcessEnv = process.env, stderrIsTerminal = process.stderr.isTTY === true): boolean {
  if (env.METERFLOW_LOG_FORMAT === 'json') return false;
  if (env.METERFLOW_LOG_FORMAT === 'pretty') return true;
  return stderrIsTerminal;
}

/** The lines logged from within `capturingLogs`' work, by async context. */
const captured = new AsyncLocalStorage<string[]>();

/**
 * Run `work` with every line any logger of this process writes from it (and what it awaits) at info or
 * above, as JSON, also pushed onto `lines`, whatever the logger's own level: an activity's log.
 */
export function capturingLogs<T>(lines: string[], work: () => Promise<T>): Promise<T> {
  return captured.run(lines, work);
}

/** A stream that hands each JSON line to the capture of the async context it is written from. */
const captureStream = { write: (line: string) => void captured.getStore()?.push(line) };

export function createLogger(name = 'meterflow', level = process.env.METERFLOW_LOG_LEVEL ?? 'info', options: LoggerOptions = {}): Logger {
  const output = outputStream(options);
  // the process logs at its level; what an activity logs at info or above is also captured for its run
  const levels = pino.levels.values;
  const lowest = (levels[level] ?? Infinity) < (levels.info as number) ? level : 'info';
  const streams: pino.StreamEntry[] = [{ level: 'info', stream: captureStream }];
  if (level !== 'silent') streams.push({ level: level as pino.Level, stream: output });
  return pino({ name, level: lowest, redact: REDACT }, pino.multistream(streams));
}

/** Where a logger's own lines go: JSON on stderr, or readable lines for a person. */
function outputStream(options: LoggerOptions): pino.DestinationStream {
  if (!(options.pretty ?? prettyByDefault())) {
    return (options.destination as pino.DestinationStream | undefined) ?? pino.destination(2);
  }
  return pretty({
    destination: options.destination ?? 2,
    sync: true,
    colorize: options.destination === undefined && !process.env.NO_COLOR,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
    ignore: 'pid,hostname',
  });
}

// One structured logger for the whole process (pino; METERFLOW_LOG_LEVEL sets the level): JSON lines
// on stderr, for a log collector, or readable lines (local time, level, message, fields) when stderr
// is a terminal, as `meterflow dev` and `meterflow worker` are run by hand. METERFLOW_LOG_FORMAT=json
// or =pretty chooses; NO_COLOR leaves the colour out.
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

export function createLogger(name = 'meterflow', level = process.env.METERFLOW_LOG_LEVEL ?? 'info', options: LoggerOptions = {}): Logger {
  const settings = { name, level, redact: REDACT };
  if (!(options.pretty ?? prettyByDefault())) {
    return options.destination ? pino(settings, options.destination) : pino(settings, pino.destination(2));
  }
  const readable = pretty({
    destination: options.destination ?? 2,
    sync: true,
    colorize: options.destination === undefined && !process.env.NO_COLOR,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss',
    ignore: 'pid,hostname',
  });
  return pino(settings, readable);
}

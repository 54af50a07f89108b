// One structured logger for the whole process (pino, JSON to stderr; METERFLOW_LOG_LEVEL sets the level).
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(name = 'meterflow', level = process.env.METERFLOW_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: ['*.secretAccessKey', '*.sessionToken', '*.apiKey'] }, pino.destination(2));
}

// Structured JSON logs (pino). Callers pass an `event` key and ids, never passwords or tokens.
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(options: { level?: string; node?: string } = {}): Logger {
  return pino({
    level: options.level ?? process.env.ROOKERY_LOG_LEVEL ?? 'info',
    base: options.node ? { node: options.node } : null,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'credentials'], censor: '[redacted]' },
  });
}

/** A logger that writes nothing, for tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

// Structured JSON logs (pino). Callers pass an `event` key and ids, never passwords or tokens.
// Each line carries its level by name ("level":"info") and a `msg`, so that log tools that know
// neither pino's numbers nor our events still show something readable.
import { pino } from 'pino';

export type Logger = pino.Logger;

/** Short messages for the events an operator looks for first; others read as the event's words. */
const MESSAGES: Readonly<Record<string, string>> = {
  starting: 'starting',
  listening: 'listening for clients',
  http_listening: 'HTTP port listening',
  start_failed: 'cannot start',
  stopping: 'stopping',
  stopped: 'stopped',
  draining: 'handing clients over',
  drained: 'clients handed over',
  redis_error: 'Redis connection error',
  tls_self_signed: 'no TLS certificate configured: using a self-signed one',
};

/** The msg of a line logged with an event and no message of its own. */
export function messageOf(event: string): string {
  return MESSAGES[event] ?? event.replaceAll('_', ' ');
}

export function createLogger(options: { level?: string; node?: string; destination?: pino.DestinationStream } = {}): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? process.env.ROOKERY_LOG_LEVEL ?? 'info',
    base: options.node ? { node: options.node } : null,
    messageKey: 'msg',
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      logMethod(args, method) {
        const [first] = args;
        const event = typeof first === 'object' && first !== null && 'event' in first ? first.event : undefined;
        if (args.length === 1 && typeof event === 'string') {
          method.call(this, first as object, messageOf(event));
          return;
        }
        method.apply(this, args);
      },
    },
    redact: { paths: ['password', '*.password', 'token', '*.token', 'credentials'], censor: '[redacted]' },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that writes nothing, for tests and tools. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

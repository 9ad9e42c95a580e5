// What the `rookery` command says when it stops on an error: one line naming what to fix, and
// the exit code (2: the configuration is wrong; 1: something at run time failed). The errors
// come from deep inside (node:net listen, OpenSSL, ioredis); they are mapped here, at the edge.
import { AdminError } from '../core/admin-error.js';
import type { Config } from '../config.js';
import { SETTINGS } from '../config/schema.js';
import { ConfigError, RookeryError } from '../errors.js';

export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export interface Failure {
  /** One line, without the `rookery:` prefix. */
  message: string;
  /** A stable code for the JSON log line (ROOKERY_…, or the system's, e.g. EADDRINUSE). */
  code: string;
  exitCode: typeof EXIT_FAILURE | typeof EXIT_CONFIG;
}

type SystemError = Error & { code?: unknown; syscall?: unknown; address?: unknown; port?: unknown };

const PORT_SETTINGS = ['c2sPort', 'c2sTlsPort', 'httpPort'] as const;

/** A known failure, or undefined for one that is a bug (its stack is worth showing). */
export function describeFailure(error: unknown, config: Config | undefined): Failure | undefined {
  if (error instanceof ConfigError) return { message: error.message, code: error.code, exitCode: EXIT_CONFIG };
  if (error instanceof AdminError) return { message: error.message, code: `ROOKERY_ADMIN_${error.failure.toUpperCase().replaceAll('-', '_')}`, exitCode: EXIT_FAILURE };
  if (error instanceof RookeryError) {
    const hint = error.code.startsWith('ROOKERY_TLS_') ? ' (check ROOKERY_TLS_CERT and ROOKERY_TLS_KEY)' : '';
    return { message: `${error.message}${hint}`, code: error.code, exitCode: EXIT_FAILURE };
  }
  if (!(error instanceof Error)) return undefined;
  const { code, syscall, address, port } = error as SystemError;
  if (typeof code !== 'string') return undefined;
  if (syscall === 'listen') return listenFailure(code, String(address), Number(port), config);
  // cluster/redis/errors.ts: RedisStateError; its message never holds the password.
  if (code === 'ROOKERY_REDIS_NO_DEPLOYMENT' || code === 'ROOKERY_REDIS_DEPLOYMENT_MISMATCH') {
    // The message already names the setting to change.
    return { message: error.message, code, exitCode: EXIT_FAILURE };
  }
  if (code.startsWith('ROOKERY_REDIS_')) {
    const fix = code === 'ROOKERY_REDIS_VERSION' ? 'upgrade Redis' : 'check ROOKERY_REDIS_URL (and ROOKERY_REDIS_PASSWORD), and that Redis is running';
    return { message: `${error.message}: ${fix}`, code, exitCode: EXIT_FAILURE };
  }
  return undefined;
}

function listenFailure(code: string, address: string, port: number, config: Config | undefined): Failure | undefined {
  const key = PORT_SETTINGS.find((name) => config?.[name] === port);
  const variable = key ? ` (${SETTINGS[key].env})` : '';
  switch (code) {
    case 'EADDRINUSE':
      return { message: `port ${port} on ${address} is already in use${variable}: stop what holds it or choose another port`, code, exitCode: EXIT_FAILURE };
    case 'EADDRNOTAVAIL':
      return { message: `${address} is not an address of this machine (ROOKERY_BIND_ADDRESS): use one of its addresses, or 0.0.0.0 for all`, code, exitCode: EXIT_FAILURE };
    case 'EACCES':
      return { message: `no permission to listen on port ${port}${variable}: ports below 1024 need privileges; choose a higher port`, code, exitCode: EXIT_FAILURE };
    default:
      return undefined;
  }
}

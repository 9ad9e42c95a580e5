// How the command words a failure (src/cli/failures.ts) and what its log lines look like
// (src/log.ts), without starting processes.
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RedisStateError } from '../../cluster/redis/errors.js';
import { describeFailure, EXIT_CONFIG, EXIT_FAILURE } from '../../src/cli/failures.js';
import { defaultConfig } from '../../src/config.js';
import { ConfigError, RookeryError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';

/** The error node:net gives when listening on `address` fails. */
function listenError(address: string, port: number): Promise<Error> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', resolve);
    server.listen(port, address, () => server.close(() => reject(new Error(`listening on ${address} worked`))));
  });
}

describe('describing a failure', () => {
  const config = { ...defaultConfig(), bindAddress: '192.0.2.1', httpPort: 5280 };

  it('gives a configuration error exit code 2 and its message as it is', () => {
    expect(describeFailure(new ConfigError('ROOKERY_CONFIG_INVALID', 'ROOKERY_DOMAIN: expected …'), undefined)).toEqual({
      message: 'ROOKERY_DOMAIN: expected …',
      code: 'ROOKERY_CONFIG_INVALID',
      exitCode: EXIT_CONFIG,
    });
  });

  it('names the bind address setting when the address is not on this machine', async () => {
    const failure = describeFailure(await listenError('192.0.2.1', 0), config);
    expect(failure).toEqual({
      message: '192.0.2.1 is not an address of this machine (ROOKERY_BIND_ADDRESS): use one of its addresses, or 0.0.0.0 for all',
      code: 'EADDRNOTAVAIL',
      exitCode: EXIT_FAILURE,
    });
  });

  it('names the port setting whose port is in use', () => {
    const error = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE', syscall: 'listen', address: '0.0.0.0', port: 5280 });
    expect(describeFailure(error, config)?.message).toBe('port 5280 on 0.0.0.0 is already in use (ROOKERY_HTTP_PORT): stop what holds it or choose another port');
  });

  it('points at the TLS settings for an unusable certificate and at the Redis settings for Redis', () => {
    expect(describeFailure(new RookeryError('ROOKERY_TLS_INVALID', 'the TLS certificate or key cannot be used: key values mismatch'), config)?.message).toBe(
      'the TLS certificate or key cannot be used: key values mismatch (check ROOKERY_TLS_CERT and ROOKERY_TLS_KEY)',
    );
    const redis = describeFailure(new RedisStateError('ROOKERY_REDIS_CONNECT', 'Cannot connect to Redis at redis://redis:6379: connect ECONNREFUSED'), config);
    expect(redis).toEqual({
      message: 'Cannot connect to Redis at redis://redis:6379: connect ECONNREFUSED: check ROOKERY_REDIS_URL (and ROOKERY_REDIS_PASSWORD), and that Redis is running',
      code: 'ROOKERY_REDIS_CONNECT',
      exitCode: EXIT_FAILURE,
    });
  });

  it('leaves an unknown error undescribed, so that its stack is shown', () => {
    expect(describeFailure(new TypeError('x is undefined'), config)).toBeUndefined();
  });
});

describe('log lines', () => {
  it('carry the level by name and a msg, also for lines logged with an event only', () => {
    const lines: Array<Record<string, unknown>> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const log = createLogger({ level: 'info', node: 'n1', destination });
    log.info({ event: 'listening', port: 5222 });
    log.warn({ event: 'bus_send_deferred' });
    log.error({ event: 'start_failed' }, 'port in use');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', node: 'n1', event: 'listening', msg: 'listening for clients' }),
      expect.objectContaining({ level: 'warn', event: 'bus_send_deferred', msg: 'bus send deferred' }),
      expect.objectContaining({ level: 'error', event: 'start_failed', msg: 'port in use' }),
    ]);
  });
});

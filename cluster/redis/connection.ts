// The ioredis client: creation from a URL, the start-up version check, and key scanning.
import { Cluster, Redis } from 'ioredis';
import { RedisStateError } from './errors.js';

/** A single Redis (standalone, or a primary) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  /** Treat the URL's host as a seed node of a Redis Cluster. */
  cluster?: boolean;
  /** Connection errors after start-up (ioredis reconnects by itself); by default they are ignored here. */
  onError?: (error: Error) => void;
}

/** GETDEL, LPOP count, SET GET… and the Lua/cjson behaviour relied on are there from 6.2. */
export const MIN_REDIS_VERSION: readonly [number, number] = [6, 2];

/**
 * Connects to `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS), checks that every
 * primary runs Redis ≥ 6.2, and returns the ready client. Throws RedisStateError with code
 * ROOKERY_REDIS_URL, ROOKERY_REDIS_CONNECT or ROOKERY_REDIS_VERSION.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<RedisClient> {
  const parsed = parseRedisUrl(url);
  const client: RedisClient = options.cluster
    ? new Cluster([{ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }], {
        lazyConnect: true,
        redisOptions: {
          ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
          ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
          ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
        },
      })
    : new Redis(url, { lazyConnect: true });
  // Until start-up is done, remember the socket error: connect() itself only says "Connection is closed".
  let startupError: unknown;
  const onStartupError = (error: unknown): void => { startupError ??= error; };
  client.on('error', onStartupError);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const cause = startupError ?? error;
    throw new RedisStateError('ROOKERY_REDIS_CONNECT', `Cannot connect to Redis at ${redact(parsed)}: ${messageOf(cause)}`, { cause });
  } finally {
    client.removeListener('error', onStartupError);
  }
  client.on('error', options.onError ?? (() => {}));
  try {
    const servers: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
    for (const server of servers) checkRedisVersion(await server.info('server'), redact(parsed));
  } catch (error) {
    client.disconnect();
    if (error instanceof RedisStateError) throw error;
    throw new RedisStateError('ROOKERY_REDIS_CONNECT', `Cannot query Redis at ${redact(parsed)}: ${messageOf(error)}`, { cause: error });
  }
  return client;
}

/** Throws ROOKERY_REDIS_VERSION unless the INFO text reports Redis ≥ 6.2. */
export function checkRedisVersion(info: string, where = 'the server'): void {
  const match = /^redis_version:(\d+)\.(\d+)(?:\.(\d+))?/m.exec(info);
  if (!match) throw new RedisStateError('ROOKERY_REDIS_VERSION', `Cannot tell the Redis version of ${where}: INFO has no redis_version`);
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const [wantMajor, wantMinor] = MIN_REDIS_VERSION;
  if (major < wantMajor || (major === wantMajor && minor < wantMinor)) {
    throw new RedisStateError(
      'ROOKERY_REDIS_VERSION',
      `Redis ${match[0].slice('redis_version:'.length)} at ${where} is too old: Rookery needs Redis ${wantMajor}.${wantMinor} or newer`,
    );
  }
}

/**
 * Every key matching `pattern` (a SCAN MATCH glob), via SCAN on a single Redis and on every
 * primary of a Cluster; never KEYS. As with SCAN, a key present throughout is yielded at least
 * once, and may be yielded twice if the keyspace is rehashed meanwhile.
 */
export async function* scanKeys(client: RedisClient, pattern: string, count = 500): AsyncGenerator<string> {
  const servers: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      yield* keys;
    } while (cursor !== '0');
  }
}

/** Closes the connection, waiting for replies in flight; falls back to dropping it. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

function parseRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new RedisStateError('ROOKERY_REDIS_URL', 'The Redis URL cannot be parsed', { cause: error });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisStateError('ROOKERY_REDIS_URL', `The Redis URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  if (!parsed.hostname) throw new RedisStateError('ROOKERY_REDIS_URL', 'The Redis URL has no host');
  return parsed;
}

/** The URL without credentials, for messages. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A second connection with the same settings (for blocking reads and subscriptions). */
export function duplicateClient(client: RedisClient): RedisClient {
  return client instanceof Cluster ? client.duplicate() : client.duplicate();
}

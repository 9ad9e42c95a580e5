// The ioredis client: creation from a URL, the start-up version check, and key scanning.
import { Cluster, Redis } from 'ioredis';
import { RedisStateError } from './errors.js';

/** A single Redis (standalone, or a primary) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  /** Overrides the URL's password (kept out of the URL, e.g. from a Kubernetes Secret). */
  password?: string;
  /** Treat the URL's host as a seed node of a Redis Cluster. */
  cluster?: boolean;
  /** Connection errors after start-up (ioredis reconnects by itself); by default they are ignored here. */
  onError?: (error: Error) => void;
}

/**
 * Reconnection attempts a command issued while the connection is down waits through before it
 * fails (ioredis's default, 20, is about ten seconds). Few: while Redis is away a login is
 * refused and a stanza answered with an error at once, instead of every client stalling; a
 * blip shorter than the first attempts still goes unnoticed.
 */
const COMMAND_RETRIES = 2;

/** GETDEL, LPOP count, SET GET… and the Lua/cjson behaviour relied on are there from 6.2. */
export const MIN_REDIS_VERSION: readonly [number, number] = [6, 2];

/**
 * Connects to `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS), checks that every
 * primary runs Redis ≥ 6.2, and returns the ready client. Throws RedisStateError with code
 * ROOKERY_REDIS_URL, ROOKERY_REDIS_CONNECT or ROOKERY_REDIS_VERSION.
 */
export async function connectRedis(url: string, options: ConnectOptions = {}): Promise<RedisClient> {
  const parsed = describeUrl(url);
  const client = createRedisClient(url, { maxRetriesPerRequest: COMMAND_RETRIES, ...options, lazyConnect: true });
  // Until start-up is done, remember the socket error: connect() itself only says "Connection is closed".
  let startupError: unknown;
  const onStartupError = (error: unknown): void => { startupError ??= error; };
  client.on('error', onStartupError);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const cause = startupError ?? error;
    throw new RedisStateError('ROOKERY_REDIS_CONNECT', `Cannot connect to Redis at ${parsed}: ${messageOf(cause)}`, { cause });
  } finally {
    client.removeListener('error', onStartupError);
  }
  client.on('error', options.onError ?? (() => {}));
  try {
    const servers: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
    for (const server of servers) checkRedisVersion(await server.info('server'), parsed);
  } catch (error) {
    client.disconnect();
    if (error instanceof RedisStateError) throw error;
    throw new RedisStateError('ROOKERY_REDIS_CONNECT', `Cannot query Redis at ${parsed}: ${messageOf(error)}`, { cause: error });
  }
  return client;
}

/**
 * No enableAutoPipelining: callers rely on one connection running their commands in the order
 * they sent them (a write, then reads that must see it: cluster/redis/sessions.ts), and ioredis
 * holds auto-pipelined commands back while a batch is in flight but sends a MULTI at once.
 *
 * A client for `redis://` / `rediss://` (one server, or a Cluster seed with `cluster`) or
 * `redis-sentinel://[:password@]host1:26379,host2:26379/masterName` (replicas behind Sentinel;
 * ioredis follows failovers).
 */
export function createRedisClient(
  url: string,
  options: ConnectOptions & { lazyConnect?: boolean; maxRetriesPerRequest?: number | null } = {},
): RedisClient {
  const common = {
    ...(options.lazyConnect ? { lazyConnect: true } : {}),
    ...(options.maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest: options.maxRetriesPerRequest } : {}),
  };
  if (url.startsWith('redis-sentinel://')) {
    const sentinel = parseSentinelUrl(url);
    const password = options.password ?? sentinel.password;
    return new Redis({
      ...common,
      sentinels: sentinel.hosts,
      name: sentinel.master,
      ...(password !== undefined ? { password, sentinelPassword: password } : {}),
    });
  }
  const { url: single, seeds } = splitSeeds(url);
  const parsed = parseRedisUrl(single);
  const username = parsed.username ? decodeURIComponent(parsed.username) : undefined;
  const password = options.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
  const auth = { ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}) };
  if (options.cluster) {
    // Every seed is tried when the client (re)connects: with one seed only, losing that server
    // would leave the client unable to find the others.
    return new Cluster(seeds ?? [{ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) }], {
      ...(options.lazyConnect ? { lazyConnect: true } : {}),
      redisOptions: { ...auth, ...common, ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}) },
    });
  }
  return new Redis(single, { ...auth, ...common });
}

/**
 * `redis://[user:password@]host1:port1,host2:port2/…` names several seeds of a Redis Cluster:
 * the first one stands for the URL (credentials, TLS), all of them are seeds.
 */
function splitSeeds(url: string): { url: string; seeds?: Array<{ host: string; port: number }> } {
  const match = /^(rediss?:\/\/(?:[^@/]*@)?)([^/?#]+)(.*)$/.exec(url);
  if (!match || !(match[2] as string).includes(',')) return { url };
  const hosts = (match[2] as string).split(',');
  const seeds = hosts.map((entry) => {
    const colon = entry.lastIndexOf(':');
    const host = colon > 0 && !entry.endsWith(']') ? entry.slice(0, colon) : entry;
    const port = colon > 0 && !entry.endsWith(']') ? Number(entry.slice(colon + 1)) : 6379;
    if (!host || !Number.isInteger(port)) throw new RedisStateError('ROOKERY_REDIS_URL', `Bad Redis Cluster seed ${entry}`);
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
  return { url: `${match[1]}${hosts[0]}${match[3]}`, seeds };
}

interface SentinelUrl {
  hosts: Array<{ host: string; port: number }>;
  master: string;
  password?: string;
}

function parseSentinelUrl(url: string): SentinelUrl {
  const match = /^redis-sentinel:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/]+)\/([^/?#]+)$/.exec(url);
  if (!match) throw new RedisStateError('ROOKERY_REDIS_URL', 'A Sentinel URL reads redis-sentinel://[:password@]host:port[,host:port…]/masterName');
  const hosts = (match[2] as string).split(',').map((entry) => {
    const colon = entry.lastIndexOf(':');
    const host = colon > 0 ? entry.slice(0, colon) : entry;
    const port = colon > 0 ? Number(entry.slice(colon + 1)) : 26379;
    if (!host || !Number.isInteger(port)) throw new RedisStateError('ROOKERY_REDIS_URL', `Bad Sentinel address ${entry}`);
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
  return { hosts, master: decodeURIComponent(match[3] as string), ...(match[1] ? { password: decodeURIComponent(match[1]) } : {}) };
}

/** The URL without credentials, for messages. */
function describeUrl(url: string): string {
  if (url.startsWith('redis-sentinel://')) return url.replace(/\/\/[^@/]*@/, '//');
  return redact(parseRedisUrl(splitSeeds(url).url));
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

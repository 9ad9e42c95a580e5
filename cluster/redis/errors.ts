// Errors raised by the Redis state backend. Each carries a stable `code` for logs and callers.

export type RedisStateErrorCode =
  /** The URL is not redis:// or rediss://, or cannot be parsed. */
  | 'ROOKERY_REDIS_URL'
  /** The server could not be reached at start-up. */
  | 'ROOKERY_REDIS_CONNECT'
  /** The server is older than the minimum supported version (6.2). */
  | 'ROOKERY_REDIS_VERSION'
  /** The key prefix or a key part cannot be used. */
  | 'ROOKERY_REDIS_KEY'
  /** A stored value could not be decoded (corrupt, or written by another schema version). */
  | 'ROOKERY_REDIS_CORRUPT'
  /** The connection is down (Redis restarting or failing over): the call was not attempted. */
  | 'ROOKERY_REDIS_UNREACHABLE'
  /** A Lua script was missing, given bad arguments or answered something unexpected. */
  | 'ROOKERY_REDIS_SCRIPT'
  /** The prefix holds no deployment record and the caller may not write one (no domain was given). */
  | 'ROOKERY_REDIS_NO_DEPLOYMENT'
  /** The prefix's deployment record names another domain or a newer data format. */
  | 'ROOKERY_REDIS_DEPLOYMENT_MISMATCH';

export class RedisStateError extends Error {
  override readonly name = 'RedisStateError';

  constructor(readonly code: RedisStateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

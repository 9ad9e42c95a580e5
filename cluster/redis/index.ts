// The Redis state backend: every port on one shared Redis (standalone or Cluster).
import type { StateBackend } from '../../src/state/backend.js';
import { RedisAccountStore } from './accounts.js';
import { RedisAttemptCounters } from './attempts.js';
import { RedisBlocklistStore } from './blocklist.js';
import { closeRedis, connectRedis, type RedisClient } from './connection.js';
import { checkDeployment, type Deployment, type DeploymentExpectation } from './deployment.js';
import { KeyBuilder } from './keys.js';
import { RedisMucStore } from './muc.js';
import { RedisOfflineStore } from './offline.js';
import { RedisPepStore } from './pep.js';
import { RedisCapsStore } from './caps.js';
import { RedisRemoteResourceStore } from './remote-resources.js';
import { RedisPersonalStore } from './personal.js';
import { RedisArchiveStore } from './archive.js';
import { RedisSharedSecrets } from './secrets.js';
import { RedisFastTokenStore } from './fast-tokens.js';
import { RedisRosterStore } from './roster.js';
import { loadScripts, type Scripts } from './scripts.js';
import { RedisSessionRegistry } from './sessions.js';
import { RedisResumptionStore } from './resumption.js';
import { RedisComponentRegistry } from './components.js';
import { RedisPushStore } from './push.js';

export { RedisStateError, type RedisStateErrorCode } from './errors.js';
export { KeyBuilder } from './keys.js';
export { DATA_FORMAT, type Deployment, type DeploymentExpectation } from './deployment.js';

export interface RedisBackendOptions {
  /** redis://[user:password@]host[:port][/db] or rediss://… */
  url: string;
  /** Key prefix, default 'rk' (letters, digits, '_', '.', ':', '-'). */
  prefix?: string;
  /** The URL names a seed node of a Redis Cluster. */
  cluster?: boolean;
  /** Overrides the URL's password. */
  password?: string;
  /** Connection errors after start-up (ioredis reconnects by itself). */
  onError?: (error: Error) => void;
  /** Checks (and on first use writes) the prefix's deployment record; tests that own their prefix leave it out. */
  deployment?: DeploymentExpectation;
}

/**
 * Connects (refusing Redis < 6.2), loads the Lua scripts and returns the backend.
 * Throws RedisStateError (codes ROOKERY_REDIS_*) when that is not possible.
 */
export async function createRedisBackend(options: RedisBackendOptions): Promise<StateBackend> {
  return (await openDeployment(options)).state;
}

/** createRedisBackend, also returning the deployment record it checked (when asked to). */
export async function openDeployment(options: RedisBackendOptions): Promise<{ state: StateBackend; deployment: Deployment | undefined }> {
  const keys = new KeyBuilder(options.prefix);
  const client = await connectRedis(options.url, {
    ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  try {
    const deployment = options.deployment ? await checkDeployment(client, keys, options.deployment) : undefined;
    return { state: await openRedisBackend(client, keys, () => closeRedis(client)), deployment };
  } catch (error) {
    client.disconnect();
    throw error;
  }
}

/** The backend over a client that is already connected; `close` runs `closeClient` once. */
export async function openRedisBackend(client: RedisClient, keys: KeyBuilder, closeClient: () => Promise<void>): Promise<StateBackend> {
  const scripts: Scripts = await loadScripts(client);
  let closing: Promise<void> | undefined;
  return {
    kind: 'redis',
    accounts: new RedisAccountStore(client, keys, scripts),
    rosters: new RedisRosterStore(client, keys, scripts),
    registry: new RedisSessionRegistry(client, keys, scripts),
    offline: new RedisOfflineStore(client, keys, scripts),
    blocklists: new RedisBlocklistStore(client, keys, scripts),
    personal: new RedisPersonalStore(client, keys, scripts),
    archive: new RedisArchiveStore(client, keys, scripts),
    muc: new RedisMucStore(client, keys, scripts),
    pep: new RedisPepStore(client, keys, scripts),
    caps: new RedisCapsStore(client, keys),
    remoteResources: new RedisRemoteResourceStore(client, keys, scripts),
    fastTokens: new RedisFastTokenStore(client, keys, scripts),
    push: new RedisPushStore(client, keys, scripts),
    components: new RedisComponentRegistry(client, keys, scripts),
    resumption: new RedisResumptionStore(client, keys, scripts),
    attempts: new RedisAttemptCounters(client, keys),
    secrets: new RedisSharedSecrets(client, keys),
    reachable: () => client.status === 'ready',
    // The first call's promise is kept.
    close: () => (closing ??= closeClient()),
  };
}

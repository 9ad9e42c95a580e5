// Configuration: defaults, then a YAML file, then ROOKERY_* environment variables.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';

export interface Limits {
  /** RFC 6120 §13.12: bytes of one stanza once authenticated. */
  maxStanzaBytes: number;
  /** The same before authentication, much smaller (as Prosody does). */
  maxStanzaBytesUnauthenticated: number;
  /** Element nesting depth inside one stanza. */
  maxDepth: number;
  /** XEP-0160: messages stored per account before new ones bounce. */
  offlineMessages: number;
  /** Outbound bytes queued for one slow client before it is disconnected. */
  maxOutboundBytes: number;
  /** Seconds an unauthenticated connection may stay open. */
  authTimeoutSeconds: number;
  /** Failed authentications per address or account before replies are slowed down. */
  authFailuresBeforeDelay: number;
  /** XEP-0198: unacknowledged stanzas kept for one client before it is disconnected. */
  smMaxQueue: number;
  /** Stanzas for other nodes held while Redis is unreachable; past it they bounce (resource-constraint). */
  busPendingEnvelopes: number;
  /** Bytes of those stanzas held at most. */
  busPendingBytes: number;
  /** Seconds one of them waits for Redis before it bounces (recipient-unavailable). */
  busPendingSeconds: number;
  /**
   * Bytes a second one authenticated client may send, and the burst it may send at once (a
   * token bucket, as Prosody's mod_limits). Past it the server stops reading from the client
   * until the budget refills: slowed down, nothing dropped. 0: unlimited.
   */
  c2sBytesPerSecond: number;
  c2sBurstBytes: number;
  /** The same before authentication (smaller, as Prosody's c2s_unauthed). 0: unlimited. */
  c2sUnauthedBytesPerSecond: number;
  c2sUnauthedBurstBytes: number;
  /** Top-level elements (stanzas and nonzas) a second one client may send, and its burst; enforced the same way. 0: unlimited. */
  c2sStanzasPerSecond: number;
  c2sStanzaBurst: number;
  /** New connections a minute from one address (IPv6: one /64), and its burst; past it, refused. 0: unlimited. */
  addressConnectionsPerMinute: number;
  addressConnectionBurst: number;
  /** Client connections one node holds at most; past it, new ones are refused. 0: unlimited. */
  maxConnections: number;
}

/** Limits where 0 means "unlimited"; every other one must be positive. */
const ZERO_IS_UNLIMITED: ReadonlySet<keyof Limits> = new Set<keyof Limits>([
  'c2sBytesPerSecond',
  'c2sUnauthedBytesPerSecond',
  'c2sStanzasPerSecond',
  'addressConnectionsPerMinute',
  'maxConnections',
]);

export interface Config {
  domain: string;
  nodeId: string;
  bindAddress: string;
  c2sPort: number;
  c2sTlsPort: number;
  httpPort: number;
  /** Unset: the embedded store, kept in dataDir. */
  redisUrl: string | undefined;
  /** Where the embedded store keeps its data (unused with Redis); relative paths are from the working directory. */
  dataDir: string;
  redisPrefix: string;
  /** Redis password kept out of the URL (e.g. from a Kubernetes Secret). */
  redisPassword: string | undefined;
  /** The Redis URL names a seed node of a Redis Cluster. */
  redisCluster: boolean;
  /** XEP-0198: how long a resumable session waits for its client to come back. */
  smHibernationSeconds: number;
  /** After a drain, how long contacts are not told that a client without stream management left (it may log in again). */
  shutdownPresenceGraceSeconds: number;
  /** On SIGTERM, the longest a node takes to hand its clients over before it exits. */
  drainTimeoutSeconds: number;
  /** How often a node writes its heartbeat. */
  heartbeatMs: number;
  /** A node whose heartbeat is older than this is cleaned up after (its sessions removed). */
  nodeDeadAfterMs: number;
  /** How often the dead-node sweep runs. */
  sweepEveryMs: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  allowPlaintextAuth: boolean;
  /** XEP-0077 in-band registration. */
  allowRegistration: boolean;
  /** Token for the admin API; without one it answers loopback clients only. */
  adminToken: string | undefined;
  logLevel: string;
  limits: Limits;
}

export const DEFAULT_LIMITS: Limits = {
  maxStanzaBytes: 256 * 1024,
  maxStanzaBytesUnauthenticated: 10_000,
  maxDepth: 64,
  offlineMessages: 1000,
  maxOutboundBytes: 4 * 1024 * 1024,
  authTimeoutSeconds: 60,
  authFailuresBeforeDelay: 3,
  smMaxQueue: 1000,
  busPendingEnvelopes: 10_000,
  busPendingBytes: 16 * 1024 * 1024,
  busPendingSeconds: 30,
  // Prosody's default configuration allows c2s 10 kB/s; the burst lets a stanza of the largest
  // allowed size (and a whole login) through without a pause.
  c2sBytesPerSecond: 10_000,
  c2sBurstBytes: 256 * 1024,
  c2sUnauthedBytesPerSecond: 2_000,
  c2sUnauthedBurstBytes: 16_000,
  c2sStanzasPerSecond: 50,
  c2sStanzaBurst: 200,
  addressConnectionsPerMinute: 600,
  addressConnectionBurst: 100,
  maxConnections: 50_000,
};

export function defaultConfig(): Config {
  return {
    domain: 'localhost',
    nodeId: hostname(),
    bindAddress: '0.0.0.0',
    c2sPort: 5222,
    c2sTlsPort: 5223,
    httpPort: 5280,
    redisUrl: undefined,
    dataDir: './data',
    redisPrefix: 'rk',
    redisPassword: undefined,
    redisCluster: false,
    smHibernationSeconds: 300,
    drainTimeoutSeconds: 25,
    shutdownPresenceGraceSeconds: 30,
    heartbeatMs: 2000,
    nodeDeadAfterMs: 10_000,
    sweepEveryMs: 2000,
    tlsCert: undefined,
    tlsKey: undefined,
    allowPlaintextAuth: false,
    allowRegistration: false,
    adminToken: undefined,
    logLevel: 'info',
    limits: { ...DEFAULT_LIMITS },
  };
}

type Env = Record<string, string | undefined>;

/** Reads the YAML file (if any), applies the environment, validates. */
export function loadConfig(options: { file?: string; env?: Env } = {}): Config {
  const env = options.env ?? process.env;
  const config = defaultConfig();
  const file = options.file ?? env.ROOKERY_CONFIG;
  if (file) applyFile(config, file);
  applyEnv(config, env);
  validate(config);
  return config;
}

function applyFile(config: Config, file: string): void {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError('ROOKERY_CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError('ROOKERY_CONFIG_INVALID', `${file}: expected a mapping at the top level`);
  }
  const { limits, ...rest } = parsed as Record<string, unknown>;
  for (const [key, value] of Object.entries(rest)) {
    if (!(key in config) || key === 'limits') throw new ConfigError('ROOKERY_CONFIG_INVALID', `${file}: unknown setting ${key}`);
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  if (limits !== undefined) {
    if (typeof limits !== 'object' || limits === null) throw new ConfigError('ROOKERY_CONFIG_INVALID', `${file}: limits must be a mapping`);
    for (const [key, value] of Object.entries(limits)) {
      if (!(key in config.limits)) throw new ConfigError('ROOKERY_CONFIG_INVALID', `${file}: unknown limit ${key}`);
      (config.limits as unknown as Record<string, unknown>)[key] = value;
    }
  }
}

function applyEnv(config: Config, env: Env): void {
  const text = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const int = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new ConfigError('ROOKERY_CONFIG_INVALID', `${name} must be a non-negative integer`);
    return Number(value);
  };
  const bool = (name: string): boolean | undefined => {
    const value = text(name)?.toLowerCase();
    if (value === undefined) return undefined;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    throw new ConfigError('ROOKERY_CONFIG_INVALID', `${name} must be true or false`);
  };
  config.domain = text('ROOKERY_DOMAIN') ?? config.domain;
  config.nodeId = text('ROOKERY_NODE_ID') ?? config.nodeId;
  config.bindAddress = text('ROOKERY_BIND_ADDRESS') ?? config.bindAddress;
  config.c2sPort = int('ROOKERY_C2S_PORT') ?? config.c2sPort;
  config.c2sTlsPort = int('ROOKERY_C2S_TLS_PORT') ?? config.c2sTlsPort;
  config.httpPort = int('ROOKERY_HTTP_PORT') ?? config.httpPort;
  config.redisUrl = text('ROOKERY_REDIS_URL') ?? config.redisUrl;
  config.dataDir = text('ROOKERY_DATA_DIR') ?? config.dataDir;
  config.redisPrefix = text('ROOKERY_REDIS_PREFIX') ?? config.redisPrefix;
  config.redisPassword = text('ROOKERY_REDIS_PASSWORD') ?? config.redisPassword;
  config.redisCluster = bool('ROOKERY_REDIS_CLUSTER') ?? config.redisCluster;
  config.drainTimeoutSeconds = int('ROOKERY_DRAIN_TIMEOUT_SECONDS') ?? config.drainTimeoutSeconds;
  config.smHibernationSeconds = int('ROOKERY_SM_HIBERNATION_SECONDS') ?? config.smHibernationSeconds;
  config.shutdownPresenceGraceSeconds = int('ROOKERY_SHUTDOWN_PRESENCE_GRACE_SECONDS') ?? config.shutdownPresenceGraceSeconds;
  config.heartbeatMs = int('ROOKERY_HEARTBEAT_MS') ?? config.heartbeatMs;
  config.nodeDeadAfterMs = int('ROOKERY_NODE_DEAD_AFTER_MS') ?? config.nodeDeadAfterMs;
  config.sweepEveryMs = int('ROOKERY_SWEEP_EVERY_MS') ?? config.sweepEveryMs;
  config.tlsCert = text('ROOKERY_TLS_CERT') ?? config.tlsCert;
  config.tlsKey = text('ROOKERY_TLS_KEY') ?? config.tlsKey;
  config.allowPlaintextAuth = bool('ROOKERY_ALLOW_PLAINTEXT_AUTH') ?? config.allowPlaintextAuth;
  config.allowRegistration = bool('ROOKERY_ALLOW_REGISTRATION') ?? config.allowRegistration;
  config.adminToken = text('ROOKERY_ADMIN_TOKEN') ?? config.adminToken;
  config.logLevel = text('ROOKERY_LOG_LEVEL') ?? config.logLevel;
  config.limits.maxStanzaBytes = int('ROOKERY_MAX_STANZA_BYTES') ?? config.limits.maxStanzaBytes;
  config.limits.offlineMessages = int('ROOKERY_OFFLINE_LIMIT') ?? config.limits.offlineMessages;
  // Every limit also as ROOKERY_LIMIT_<NAME>: c2sBytesPerSecond is ROOKERY_LIMIT_C2S_BYTES_PER_SECOND.
  for (const key of Object.keys(config.limits) as (keyof Limits)[]) {
    config.limits[key] = int(limitEnvName(key)) ?? config.limits[key];
  }
}

/** The environment variable of a limit: ROOKERY_LIMIT_ and its name in upper snake case. */
export function limitEnvName(key: keyof Limits): string {
  return `ROOKERY_LIMIT_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

function validate(config: Config): void {
  const port = (name: string, value: unknown): void => {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
      throw new ConfigError('ROOKERY_CONFIG_INVALID', `${name} must be a port number (0-65535)`);
    }
  };
  port('c2sPort', config.c2sPort);
  port('c2sTlsPort', config.c2sTlsPort);
  port('httpPort', config.httpPort);
  if (typeof config.dataDir !== 'string' || config.dataDir.length === 0) throw new ConfigError('ROOKERY_CONFIG_INVALID', 'dataDir must be a path');
  if (typeof config.domain !== 'string' || config.domain.length === 0) throw new ConfigError('ROOKERY_CONFIG_INVALID', 'domain must be set');
  if (typeof config.nodeId !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(config.nodeId)) {
    throw new ConfigError('ROOKERY_CONFIG_INVALID', 'nodeId must be 1-128 characters of A-Z a-z 0-9 . _ -');
  }
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('ROOKERY_CONFIG_INVALID', 'ROOKERY_TLS_CERT and ROOKERY_TLS_KEY go together');
  }
  for (const key of ['heartbeatMs', 'nodeDeadAfterMs', 'sweepEveryMs', 'drainTimeoutSeconds', 'smHibernationSeconds'] as const) {
    if (!Number.isInteger(config[key]) || config[key] <= 0) throw new ConfigError('ROOKERY_CONFIG_INVALID', `${key} must be a positive integer`);
  }
  if (config.nodeDeadAfterMs < 2 * config.heartbeatMs) {
    throw new ConfigError('ROOKERY_CONFIG_INVALID', 'nodeDeadAfterMs must be at least twice heartbeatMs');
  }
  for (const [key, value] of Object.entries(config.limits)) {
    if (ZERO_IS_UNLIMITED.has(key as keyof Limits)) {
      if (!Number.isInteger(value) || value < 0) throw new ConfigError('ROOKERY_CONFIG_INVALID', `limits.${key} must be a non-negative integer (0: unlimited)`);
    } else if (!Number.isInteger(value) || value <= 0) {
      throw new ConfigError('ROOKERY_CONFIG_INVALID', `limits.${key} must be a positive integer`);
    }
  }
}

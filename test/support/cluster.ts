// A real Rookery cluster for tests: N node processes (`node bin/rookery.js start`) on free
// loopback ports, sharing one Redis under a key prefix of their own, with short liveness
// settings so that a dead node is noticed within a couple of seconds.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from 'selfsigned';
import { inject } from 'vitest';
import { ports } from '../../tools/local-cluster.js';
import { closeRedis, connectRedis, scanKeys } from '../../cluster/redis/connection.js';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { createAccount } from '../../src/core/accounts.js';
import type { StateBackend } from '../../src/state/backend.js';
import type { SessionRecord } from '../../src/state/sessions.js';
import { RawClient } from './client.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = join(ROOT, 'bin', 'rookery.js');
const DEFAULT_DOMAIN = 'localhost';
export const CLUSTER_PASSWORD = 'cluster-secret';

/** Liveness settings short enough for tests; the bound a test may assert on follows from them. */
export const HEARTBEAT_MS = 300;
export const DEAD_AFTER_MS = 1500;
export const SWEEP_EVERY_MS = 300;

const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 50;
const EXIT_TIMEOUT_MS = 5_000;
/** Output kept per node process (the tail), for failure reports. */
const OUTPUT_LIMIT = 64 * 1024;

export interface ClusterOptions {
  nodes: number;
  /** Default: the run's shared redis-server (global setup). */
  redisUrl?: string;
  /** The URL names a seed of a Redis Cluster (ROOKERY_REDIS_CLUSTER). */
  redisCluster?: boolean;
  /** Extra environment for every node (overrides the defaults above). */
  env?: Record<string, string>;
  /** The XMPP domain served (default `localhost`); the nodes' certificate names it. */
  domain?: string;
  /** Federation on: each node listens for s2s on a port of its own (NodeHandle.s2sPort). Default off. */
  s2s?: boolean;
  /** Each node takes external components (XEP-0114) on a port of its own (`componentPort`). */
  components?: boolean;
}

export interface NodeHandle {
  readonly index: number;
  readonly id: string;
  readonly c2sPort: number;
  readonly c2sTlsPort: number;
  readonly httpPort: number;
  /** Its server-to-server port; 0 without `s2s`. */
  readonly s2sPort: number;
  /** The XEP-0114 port, with `components`; 0 otherwise. */
  readonly componentPort: number;
  /** Whether a process runs (or is frozen) for this node. */
  readonly running: boolean;
  readonly frozen: boolean;
  /** The tail of the node's stdout and stderr, across restarts. */
  output(): string;
}

export interface TestCluster {
  readonly prefix: string;
  readonly redisUrl: string;
  readonly domain: string;
  /** Indexes of every node ever started (stopped ones included). */
  readonly size: number;
  node(index: number): NodeHandle;
  /** Sends a signal; for SIGKILL, SIGTERM and SIGINT waits for the process to exit. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM and wait for the exit (SIGKILL if it takes too long). */
  stop(index: number): Promise<void>;
  /** Starts a stopped or killed node again, with its id and ports; resolves once /readyz answers. */
  start(index: number): Promise<void>;
  /** A late joiner; resolves with its index once it is ready. */
  addNode(): Promise<number>;
  /** SIGSTOP: the process holds its sockets but does nothing, as a node in a long GC pause or partition. */
  freeze(index: number): void;
  /** SIGCONT. */
  thaw(index: number): void;
  /** An account (local part), created in Redis directly. Returns the bare JID. */
  createUser(local: string, password?: string): Promise<string>;
  /** A connected, unauthenticated client of a node. */
  connect(index: number): Promise<RawClient>;
  /** A client logged in (STARTTLS + PLAIN) and bound on a node. */
  login(index: number, local: string, resource?: string, password?: string): Promise<RawClient>;
  /** The shared state, as `rookery sessions` and the account commands see it. */
  readonly state: StateBackend;
  /** Every session record in the registry (what `rookery sessions` lists). */
  sessions(): Promise<SessionRecord[]>;
  /** Every node's captured output, for failure reports. */
  output(): string;
  /** Closes the clients, stops every node (SIGKILL for stragglers), deletes the prefix's keys. Idempotent. */
  stopAll(): Promise<void>;
}

interface NodeSlot {
  index: number;
  id: string;
  c2sPort: number;
  c2sTlsPort: number;
  httpPort: number;
  s2sPort: number;
  componentPort: number;
  child: ChildProcess | undefined;
  exited: Promise<void> | undefined;
  frozen: boolean;
  output: string;
}

/** Starts `nodes` node processes and waits until each is ready. */
export async function startCluster(options: ClusterOptions): Promise<TestCluster> {
  const redisUrl = options.redisUrl ?? inject('redisUrl');
  const redisCluster = options.redisCluster === true;
  const domain = options.domain ?? DEFAULT_DOMAIN;
  const prefix = `rkc${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'rookery-cluster-'));
  // One certificate for every node, so no node spends its start-up generating one.
  const tls = await generate([{ name: 'commonName', value: domain }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: domain }] }],
  });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  writeFileSync(certFile, tls.cert);
  writeFileSync(keyFile, tls.private);

  const state = await createRedisBackend({ url: redisUrl, prefix, cluster: redisCluster });
  const slots: NodeSlot[] = [];
  const clients = new Set<RawClient>();
  const killOnExit = (): void => {
    for (const slot of slots) {
      if (slot.child?.pid === undefined) continue;
      try {
        if (slot.frozen) process.kill(slot.child.pid, 'SIGCONT');
        slot.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);

  const baseEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    // The test runner's own ROOKERY_* settings (if any) must not leak into the nodes.
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('ROOKERY_')) env[key] = value;
    return {
      ...env,
      ROOKERY_DOMAIN: domain,
      ROOKERY_BIND_ADDRESS: '127.0.0.1',
      ROOKERY_REDIS_URL: redisUrl,
      ROOKERY_REDIS_CLUSTER: String(redisCluster),
      ROOKERY_REDIS_PREFIX: prefix,
      ROOKERY_ALLOW_PLAINTEXT_AUTH: 'true',
      ROOKERY_HEARTBEAT_MS: String(HEARTBEAT_MS),
      ROOKERY_NODE_DEAD_AFTER_MS: String(DEAD_AFTER_MS),
      ROOKERY_SWEEP_EVERY_MS: String(SWEEP_EVERY_MS),
      ROOKERY_TLS_CERT: certFile,
      ROOKERY_TLS_KEY: keyFile,
      ROOKERY_LOG_LEVEL: 'info',
      ...options.env,
    };
  };

  const slot = (index: number): NodeSlot => {
    const found = slots[index];
    if (!found) throw new Error(`no node ${index} in this cluster (it has ${slots.length})`);
    return found;
  };

  const append = (node: NodeSlot, text: string): void => {
    node.output += text;
    if (node.output.length > OUTPUT_LIMIT) node.output = node.output.slice(-OUTPUT_LIMIT);
  };

  /** Spawns the node's process and waits for /readyz; throws (with its output) if it exits first. */
  const launch = async (node: NodeSlot): Promise<void> => {
    if (node.child) throw new Error(`node ${node.index} is already running`);
    append(node, `--- start ${node.id} (c2s ${node.c2sPort}, http ${node.httpPort})\n`);
    const child = spawn(process.execPath, [ENTRY, 'start'], {
      cwd: ROOT,
      env: {
        ...baseEnv(),
        ROOKERY_NODE_ID: node.id,
        ROOKERY_C2S_PORT: String(node.c2sPort),
        ROOKERY_C2S_TLS_PORT: String(node.c2sTlsPort),
        // Without a port of its own, no federation: nodes on one machine would contend for 5269.
        ROOKERY_S2S_PORT: options.s2s === true ? String(node.s2sPort) : (process.env.ROOKERY_S2S_PORT ?? '0'),
        ROOKERY_HTTP_PORT: String(node.httpPort),
        ...(node.componentPort > 0 ? { ROOKERY_COMPONENT_PORT: String(node.componentPort) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    node.child = child;
    node.frozen = false;
    child.stdout?.on('data', (chunk: Buffer) => append(node, chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => append(node, chunk.toString()));
    let gone = false;
    node.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        gone = true;
        append(node, `--- ${node.id} exited (code ${code}, signal ${signal})\n`);
        if (node.child === child) {
          node.child = undefined;
          node.frozen = false;
        }
        resolve();
      });
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!gone) {
      if (await ready(node.httpPort)) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await node.exited;
        throw new Error(`node ${node.id} was not ready after ${READY_TIMEOUT_MS} ms:\n${node.output}`);
      }
      await Promise.race([node.exited, delay(READY_POLL_MS)]);
    }
    throw new Error(`node ${node.id} exited during start-up:\n${node.output}`);
  };

  /** A new slot on fresh ports; a port taken between finding and binding it gets new ports once more. */
  const addSlot = async (): Promise<number> => {
    const index = slots.length;
    // Taken before the first await, so nodes added together get distinct indexes.
    const node: NodeSlot = { index, id: `n${index}`, c2sPort: 0, c2sTlsPort: 0, httpPort: 0, s2sPort: 0, componentPort: 0, child: undefined, exited: undefined, frozen: false, output: '' };
    slots[index] = node;
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const wanted = 3 + (options.s2s === true ? 1 : 0) + (options.components === true ? 1 : 0);
      const found = (await freePorts(wanted)) as number[];
      [node.c2sPort, node.c2sTlsPort, node.httpPort] = found as [number, number, number];
      node.s2sPort = options.s2s === true ? (found[3] as number) : 0;
      node.componentPort = options.components === true ? (found[wanted - 1] as number) : 0;
      try {
        await launch(node);
        return index;
      } catch (error) {
        lastError = error;
        if (!/EADDRINUSE/.test(node.output)) break;
      }
    }
    throw lastError;
  };

  const waitExit = async (node: NodeSlot): Promise<void> => {
    const child = node.child;
    const exited = node.exited;
    if (!child || !exited) return;
    if (node.frozen) {
      child.kill('SIGCONT');
      node.frozen = false;
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), EXIT_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      append(node, `--- ${node.id} did not exit in ${EXIT_TIMEOUT_MS} ms: SIGKILL\n`);
      child.kill('SIGKILL');
      await exited;
    }
  };

  let stopping: Promise<void> | undefined;
  const cluster: TestCluster = {
    prefix,
    redisUrl,
    domain,
    state,
    get size() {
      return slots.length;
    },
    node(index) {
      const node = slot(index);
      return {
        index,
        id: node.id,
        c2sPort: node.c2sPort,
        c2sTlsPort: node.c2sTlsPort,
        httpPort: node.httpPort,
        s2sPort: node.s2sPort,
        componentPort: node.componentPort,
        get running() {
          return node.child !== undefined;
        },
        get frozen() {
          return node.frozen;
        },
        output: () => node.output,
      };
    },
    async kill(index, signal = 'SIGKILL') {
      const node = slot(index);
      const child = node.child;
      if (!child) throw new Error(`node ${index} is not running`);
      if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') {
        const exited = node.exited;
        // A stopped process only acts on SIGTERM once it runs again; SIGKILL needs no SIGCONT.
        if (node.frozen && signal !== 'SIGKILL') child.kill('SIGCONT');
        child.kill(signal);
        await exited;
      } else {
        child.kill(signal);
      }
    },
    async stop(index) {
      const node = slot(index);
      if (!node.child) return;
      if (node.frozen) {
        node.child.kill('SIGCONT');
        node.frozen = false;
      }
      node.child.kill('SIGTERM');
      await waitExit(node);
    },
    start: (index) => launch(slot(index)),
    addNode: () => addSlot(),
    freeze(index) {
      const node = slot(index);
      if (!node.child) throw new Error(`node ${index} is not running`);
      node.child.kill('SIGSTOP');
      node.frozen = true;
    },
    thaw(index) {
      const node = slot(index);
      if (!node.child) throw new Error(`node ${index} is not running`);
      node.child.kill('SIGCONT');
      node.frozen = false;
    },
    async createUser(local, password = CLUSTER_PASSWORD) {
      const bare = `${local}@${domain}`;
      await createAccount(state, bare, password);
      return bare;
    },
    async connect(index) {
      const client = await RawClient.connect({ port: slot(index).c2sPort, domain: domain });
      clients.add(client);
      return client;
    },
    async login(index, local, resource, password = CLUSTER_PASSWORD) {
      const client = await cluster.connect(index);
      await client.login(local, password, resource);
      return client;
    },
    async sessions() {
      const all: SessionRecord[] = [];
      for await (const record of state.registry.all()) all.push(record);
      return all;
    },
    output() {
      return slots.map((node) => `===== ${node.id}\n${node.output}`).join('\n');
    },
    stopAll() {
      stopping ??= (async () => {
        for (const client of clients) client.destroy();
        await Promise.all(
          slots.map(async (node) => {
            if (!node.child) return;
            if (node.frozen) {
              node.child.kill('SIGCONT');
              node.frozen = false;
            }
            node.child.kill('SIGTERM');
            await waitExit(node);
          }),
        );
        process.removeListener('exit', killOnExit);
        try {
          await deleteKeys(redisUrl, redisCluster, prefix);
        } finally {
          await state.close();
          rmSync(dir, { recursive: true, force: true });
        }
      })();
      return stopping;
    },
  };

  try {
    // Started together: a node's start-up (mostly compiling the sources) is independent of the others'.
    await Promise.all(Array.from({ length: options.nodes }, () => addSlot()));
  } catch (error) {
    await cluster.stopAll();
    throw error;
  }
  return cluster;
}

/** Polls `check` until it returns true; throws with `what` once `timeoutMs` has passed. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000, everyMs = 50): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(everyMs);
  }
}

/** Deletes every key of the prefix: the state's keys and BullMQ's (which sit under a hash tag). */
async function deleteKeys(url: string, cluster: boolean, prefix: string): Promise<void> {
  const client = await connectRedis(url, { cluster });
  try {
    for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
      const batch: string[] = [];
      for await (const key of scanKeys(client, pattern)) batch.push(key);
      // One key per command: on a Redis Cluster the keys sit in many slots.
      await Promise.all(batch.map((key) => client.unlink(key)));
    }
  } finally {
    await closeRedis(client);
  }
}

/** Whether the node on `port` answers /readyz with 200 (as the kubelet and a balancer ask). */
export function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

/** `count` distinct free loopback ports (all held open until every one is found). */
export function freePorts(count: number): Promise<number[]> {
  return ports(...new Array<number>(count).fill(0));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Starts a real Rookery deployment on free loopback ports: one node on the embedded or the Redis
// backend, or ('cluster') two nodes of one cluster in this process, each started by the
// composition root with its own node id, so the parties of a test sit on different nodes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { type Config, defaultConfig } from '../../src/config.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { RookeryServer } from '../../src/server.js';
import type { StateBackend } from '../../src/state/backend.js';
import { createMemoryBackend } from '../../src/state/memory/index.js';
import { type ConnectOptions, RawClient } from './client.js';
import { crossNodeBarrier, Placement } from './cross-node.js';

/** Where the state lives, for tests of one node or of the stores themselves. */
export type StoreKind = 'memory' | 'redis';
export const STORES: StoreKind[] = ['memory', 'redis'];
/** A store on one node, or two nodes of one cluster: what the protocol suites run on. */
export type BackendKind = StoreKind | 'cluster';
export const BACKENDS: BackendKind[] = [...STORES, 'cluster'];

export interface TestServer {
  /** The first node (the only one outside 'cluster'). */
  server: RookeryServer;
  /** Every node; login() and connect() spread the clients over them (cross-node.ts: Placement). */
  nodes: RookeryServer[];
  config: Config;
  /** The first node's ports. */
  port: number;
  tlsPort: number;
  /** Each node's HTTP port ('cluster' only: its nodes run through the composition root, which serves HTTP). */
  httpPorts: number[];
  createUser(local: string, password?: string): Promise<string>;
  /** A client that has logged in and bound (STARTTLS + PLAIN). */
  login(local: string, resource?: string, password?: string): Promise<RawClient>;
  connect(options?: Partial<ConnectOptions>): Promise<RawClient>;
  /** The node a client of this server is connected to. */
  nodeOf(client: RawClient): RookeryServer;
  /** Where the next login of this account goes (login() asks this; so may other clients). */
  placeLogin(local: string): RookeryServer;
  stop(): Promise<void>;
}

export const PASSWORD = 'secret-password';

export async function makeBackend(kind: StoreKind): Promise<StateBackend> {
  if (kind === 'memory') return createMemoryBackend();
  return createRedisBackend({ url: inject('redisUrl'), prefix: `t${randomBytes(4).toString('hex')}` });
}

interface Deployment {
  nodes: RookeryServer[];
  httpPorts: number[];
  state: StateBackend;
  /** Each client's socket goes through this (the cluster's cross-node barrier). */
  adopt(client: RawClient, node: RookeryServer): void;
  stop(): Promise<void>;
}

export async function startTestServer(options: { backend?: BackendKind; config?: Partial<Config>; log?: Logger } = {}): Promise<TestServer> {
  const config: Config = {
    ...defaultConfig(),
    bindAddress: '127.0.0.1',
    c2sPort: 0,
    c2sTlsPort: 0,
    s2sPort: 0,
    httpPort: 0,
    nodeId: `test-${randomBytes(3).toString('hex')}`,
    ...options.config,
  };
  const backend = options.backend ?? 'memory';
  const deployment = backend === 'cluster' ? await startCluster(config) : await startSingle(config, backend, options.log ?? silentLogger());
  const { nodes, state } = deployment;
  const first = nodes[0] as RookeryServer;
  const placement = new Placement(nodes.length);
  const clients: RawClient[] = [];
  const owners = new Map<RawClient, RookeryServer>();
  const placeLogin = (local: string): RookeryServer => nodes[placement.forLogin(local)] as RookeryServer;
  const connectTo = async (node: RookeryServer, extra: Partial<ConnectOptions>): Promise<RawClient> => {
    const { c2s, c2sTls } = node.ports();
    const client = await RawClient.connect({ port: extra.directTls ? c2sTls : c2s, domain: config.domain, ...extra });
    clients.push(client);
    owners.set(client, node);
    deployment.adopt(client, node);
    return client;
  };
  /** A port the test names picks its node; otherwise the placement does. */
  const nodeForConnection = (port: number | undefined): RookeryServer => {
    if (port === undefined) return nodes[placement.forConnection()] as RookeryServer;
    const node = nodes.find((candidate) => [candidate.ports().c2s, candidate.ports().c2sTls].includes(port));
    if (!node) throw new Error(`no node of this test server listens on ${port}`);
    return node;
  };
  return {
    server: first,
    nodes,
    config,
    port: first.ports().c2s,
    tlsPort: first.ports().c2sTls,
    httpPorts: deployment.httpPorts,
    async createUser(local, password = PASSWORD) {
      const jid = `${local}@${config.domain}`;
      await state.accounts.create(jid, await deriveCredentials(password, 4096));
      return jid;
    },
    async login(local, resource, password = PASSWORD) {
      const client = await connectTo(placeLogin(local), {});
      await client.login(local, password, resource);
      return client;
    },
    connect: (extra = {}) => connectTo(nodeForConnection(extra.port), extra),
    placeLogin,
    nodeOf(client) {
      const node = owners.get(client);
      if (!node) throw new Error('not a client of this test server');
      return node;
    },
    async stop() {
      for (const client of clients) client.destroy();
      await deployment.stop();
    },
  };
}

async function startSingle(config: Config, backend: StoreKind, log: Logger): Promise<Deployment> {
  const state = await makeBackend(backend);
  const server = new RookeryServer(config, state, log);
  await server.start();
  return {
    nodes: [server],
    httpPorts: [],
    state,
    adopt() {},
    async stop() {
      await server.close();
      await state.close();
    },
  };
}

/** Two nodes through the composition root, sharing the run's redis-server under a fresh prefix. */
async function startCluster(config: Config): Promise<Deployment> {
  const shared: Config = { ...config, redisUrl: inject('redisUrl'), redisPrefix: `tc${randomBytes(4).toString('hex')}` };
  const running: RunningNode[] = [];
  try {
    for (const name of ['a', 'b']) running.push(await startNode({ ...shared, nodeId: `${config.nodeId}-${name}` }, silentLogger()));
  } catch (error) {
    await Promise.allSettled(running.map((node) => node.stop()));
    throw error;
  }
  return {
    nodes: running.map((node) => node.server),
    httpPorts: running.map((node) => node.httpPort),
    state: (running[0] as RunningNode).state,
    adopt: crossNodeBarrier,
    async stop() {
      for (const node of [...running].reverse()) await node.stop();
    },
  };
}

/** One test server for a describe block, with fresh accounts on it: `user('alice')` creates alice1, alice2, … */
export interface TestServerFixture {
  readonly server: TestServer;
  user(prefix: string): Promise<string>;
}

/** Starts the server before the block's tests and stops it after them. */
export function useTestServer(options: Parameters<typeof startTestServer>[0] = {}): TestServerFixture {
  let server: TestServer | undefined;
  let n = 0;
  beforeAll(async () => {
    server = await startTestServer(options);
  });
  afterAll(() => server?.stop());
  const started = (): TestServer => {
    if (!server) throw new Error('the test server is not started yet (use it inside a test)');
    return server;
  };
  return {
    get server() {
      return started();
    },
    async user(prefix) {
      const local = `${prefix}${++n}`;
      await started().createUser(local);
      return local;
    },
  };
}

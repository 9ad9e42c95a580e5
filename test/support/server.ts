// Starts a real Rookery node on free loopback ports, on the embedded or the Redis backend.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { type Config, defaultConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { RookeryServer } from '../../src/server.js';
import type { StateBackend } from '../../src/state/backend.js';
import { createMemoryBackend } from '../../src/state/memory/index.js';
import { type ConnectOptions, RawClient } from './client.js';

export type BackendKind = 'memory' | 'redis';
export const BACKENDS: BackendKind[] = ['memory', 'redis'];

export interface TestServer {
  server: RookeryServer;
  config: Config;
  port: number;
  tlsPort: number;
  createUser(local: string, password?: string): Promise<string>;
  /** A client that has logged in and bound (STARTTLS + PLAIN). */
  login(local: string, resource?: string, password?: string): Promise<RawClient>;
  connect(options?: Partial<ConnectOptions>): Promise<RawClient>;
  stop(): Promise<void>;
}

export const PASSWORD = 'secret-password';

export async function makeBackend(kind: BackendKind): Promise<StateBackend> {
  if (kind === 'memory') return createMemoryBackend();
  return createRedisBackend({ url: inject('redisUrl'), prefix: `t${randomBytes(4).toString('hex')}` });
}

export async function startTestServer(options: { backend?: BackendKind; config?: Partial<Config> } = {}): Promise<TestServer> {
  const config: Config = {
    ...defaultConfig(),
    bindAddress: '127.0.0.1',
    c2sPort: 0,
    c2sTlsPort: 0,
    httpPort: 0,
    nodeId: `test-${randomBytes(3).toString('hex')}`,
    ...options.config,
  };
  const state = await makeBackend(options.backend ?? 'memory');
  const server = new RookeryServer(config, state, silentLogger());
  await server.start();
  const { c2s, c2sTls } = server.ports();
  const clients: RawClient[] = [];
  const connect = async (extra: Partial<ConnectOptions> = {}): Promise<RawClient> => {
    const client = await RawClient.connect({ port: extra.directTls ? c2sTls : c2s, domain: config.domain, ...extra });
    clients.push(client);
    return client;
  };
  return {
    server,
    config,
    port: c2s,
    tlsPort: c2sTls,
    async createUser(local, password = PASSWORD) {
      const jid = `${local}@${config.domain}`;
      await state.accounts.create(jid, await deriveCredentials(password, 4096));
      return jid;
    },
    async login(local, resource, password = PASSWORD) {
      const client = await connect();
      await client.login(local, password, resource);
      return client;
    },
    connect,
    async stop() {
      for (const client of clients) client.destroy();
      await server.close();
      await state.close();
    },
  };
}

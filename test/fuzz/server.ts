// A real node (memory store) for the socket fuzz, in this process so its heap can be measured,
// with a logger that records every warning and error: a handler that throws is logged and
// skipped by design, so the log is where a crash caused by an input shows.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { type Config, DEFAULT_LIMITS, defaultConfig } from '../../src/config.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { RookeryServer } from '../../src/server.js';
import { createMemoryBackend } from '../../src/state/memory/index.js';
import { RawClient } from '../support/client.js';

export const PASSWORD = 'fuzz-password';

export interface FuzzServer {
  server: RookeryServer;
  port: number;
  domain: string;
  /** Log entries at warn level or above, as written. */
  problems: Array<Record<string, unknown>>;
  createUser(local: string): Promise<void>;
  login(local: string, resource?: string): Promise<RawClient>;
  /** A plain TCP connection, nothing sent yet. */
  connect(): Promise<RawClient>;
  stop(): Promise<void>;
}

/** Limits as deployed, except the rates: the fuzz sends thousands of stanzas a second from one address. */
const FUZZ_LIMITS = {
  ...DEFAULT_LIMITS,
  c2sBytesPerSecond: 0,
  c2sUnauthedBytesPerSecond: 0,
  c2sStanzasPerSecond: 0,
  addressConnectionsPerMinute: 0,
};

export async function startFuzzServer(): Promise<FuzzServer> {
  const config: Config = {
    ...defaultConfig(),
    bindAddress: '127.0.0.1',
    c2sPort: 0,
    c2sTlsPort: 0,
    httpPort: 0,
    // Federation off: a stanza to another domain is answered remote-server-not-found at once,
    // instead of after a connection attempt (test/s2s covers federation).
    s2sPort: 0,
    nodeId: `fuzz-${randomBytes(3).toString('hex')}`,
    limits: FUZZ_LIMITS,
  };
  const problems: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void problems.push(JSON.parse(line) as Record<string, unknown>) });
  const state = createMemoryBackend();
  const server = new RookeryServer(config, state, logger);
  await server.start();
  const port = server.ports().c2s;
  const clients: RawClient[] = [];
  const connect = async (): Promise<RawClient> => {
    const client = await RawClient.connect({ port, domain: config.domain });
    clients.push(client);
    return client;
  };
  return {
    server,
    port,
    domain: config.domain,
    problems,
    async createUser(local) {
      await state.accounts.create(`${local}@${config.domain}`, await deriveCredentials(PASSWORD, 4096));
    },
    async login(local, resource) {
      const client = await connect();
      await client.login(local, PASSWORD, resource);
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

// Federation with a real Prosody (Debian's package) on loopback: Rookery serves the domain
// 127.20.0.1 on 127.20.0.1:5269 (Prosody reaches an IP-literal domain on 5269, RFC 6120 §3.2.2),
// and reaches prosody.test by a static route (ROOKERY_S2S_ROUTES). Self-signed certificates both
// ways: TLS is used, and dialback authenticates (s2sSecureAuth off, as Prosody's default).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { destination } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { RawClient } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import { prosodyAvailable, startProsody, type Prosody } from '../support/prosody.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { federationSuite, type Peer } from './suite.js';

const ROOKERY = '127.20.0.1';
const PEER = 'prosody.test';

describe.skipIf(!prosodyAvailable())('federation with Prosody', () => {
  let prosody: Prosody;
  let rookery: TestServer;

  beforeAll(async () => {
    const [c2s, s2s] = (await freePorts(2)) as [number, number];
    prosody = await startProsody(mkdtempSync(join(tmpdir(), 'rk-s2s-')), PEER, c2s, s2s);
    rookery = await startTestServer({
      ...(process.env.S2S_LOG ? { log: createLogger({ level: 'debug', destination: destination(process.env.S2S_LOG) }) } : {}),
      config: { domain: ROOKERY, bindAddress: ROOKERY, s2sPort: 5269, s2sRoutes: `${PEER}=127.0.0.1:${s2s}`, logLevel: 'debug' },
    });
  }, 60_000);
  afterAll(async () => {
    await rookery?.stop();
    await prosody?.stop();
    if (process.env.S2S_LOG) console.log(prosody?.log());
  });

  const peer = (): Peer => ({
    domain: PEER,
    async login(user: string, resource?: string): Promise<RawClient> {
      const { RawClient } = await import('../support/client.js');
      const client = await RawClient.connect({ port: prosody.c2sPort, domain: PEER });
      await client.login(user, PASSWORD, resource);
      return client;
    },
    register: (user: string) => prosody.register(user, PASSWORD),
    stop: () => prosody.stop(),
    start: () => prosody.start(),
    log: () => prosody.log(),
  });

  federationSuite(Object.assign(() => ({ rookery, peer: peer(), rookeryHost: ROOKERY }), { restartable: true }));
});

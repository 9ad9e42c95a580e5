// Federation with a real ejabberd (Debian's package) on loopback, as with Prosody
// (prosody.test.ts): Rookery serves the IP-literal domain 127.20.0.2 on 127.20.0.2:5269, and
// reaches ejabberd.test by a static route. ejabberd takes long to start, so it is not restarted.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { RawClient } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import { type Ejabberd, ejabberdAvailable, startEjabberd } from '../support/ejabberd.js';
import { selfSignedFiles } from '../support/prosody.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { federationSuite, type Peer } from './suite.js';

const ROOKERY = '127.20.0.2';
const PEER = 'ejabberd.test';

describe.skipIf(!ejabberdAvailable())('federation with ejabberd', () => {
  let ejabberd: Ejabberd;
  let rookery: TestServer;
  let c2sPort: number;

  beforeAll(async () => {
    const [c2s, s2s] = (await freePorts(2)) as [number, number];
    c2sPort = c2s;
    const scratch = mkdtempSync(join(tmpdir(), 'rk-s2s-'));
    ejabberd = await startEjabberd(scratch, PEER, c2s, async (dir) => {
      const files = await selfSignedFiles(dir, PEER);
      const pem = join(dir, 'ejabberd.pem');
      writeFileSync(pem, readFileSync(files.key, 'utf8') + readFileSync(files.cert, 'utf8'));
      return { port: s2s, pem };
    });
    rookery = await startTestServer({ config: { domain: ROOKERY, bindAddress: ROOKERY, s2sPort: 5269, s2sRoutes: `${PEER}=127.0.0.1:${s2s}` } });
  }, 120_000);
  afterAll(async () => {
    await rookery?.stop();
    await ejabberd?.stop();
  });

  const peer = (): Peer => ({
    domain: PEER,
    async login(user: string, resource?: string): Promise<RawClient> {
      const client = await RawClient.connect({ port: c2sPort, domain: PEER });
      await client.login(user, PASSWORD, resource);
      return client;
    },
    register: (user: string) => void ejabberd.ctl('register', user, PEER, PASSWORD),
    log: () => readFileSync(join(ejabberd.dir, 'logs', 'ejabberd.log'), 'utf8').split('\n').slice(-80).join('\n'),
  });

  federationSuite(() => ({ rookery, peer: peer(), rookeryHost: ROOKERY }));
});

// Federation with a real ejabberd (Debian's package) on loopback, as with Prosody
// (prosody.test.ts): Rookery serves the IP-literal domain 127.20.0.2 on 127.20.0.2:5269, and
// reaches ejabberd.test by a static route. ejabberd takes long to start, so it is not restarted.
// ejabberd's certificate comes from a CA made for the run, which it trusts (`s2s_cafile`):
// - 127.20.0.2 (self-signed, trusts no test CA): dialback both ways (the shared suite);
// - 127.20.0.7 (a certificate from that CA, which it trusts): SASL EXTERNAL both ways;
// - 127.20.0.10 (a certificate from another CA, which it trusts besides; ejabberd does not): it
//   tries EXTERNAL, ejabberd refuses, and dialback on the same stream takes over.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { RawClient } from '../support/client.js';
import { freePorts } from '../support/cluster.js';
import { type Ejabberd, ejabberdAvailable, startEjabberd } from '../support/ejabberd.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';
import { federationSuite, type Peer } from './suite.js';

const ROOKERY = '127.20.0.2';
const VERIFIED = '127.20.0.7';
const FOREIGN = '127.20.0.10';
const PEER = 'ejabberd.test';

describe.skipIf(!ejabberdAvailable())('federation with ejabberd', () => {
  let ejabberd: Ejabberd;
  let rookery: TestServer;
  let verified: TestServer;
  let foreign: TestServer;
  let c2sPort: number;

  beforeAll(async () => {
    const [c2s, s2s] = (await freePorts(2)) as [number, number];
    c2sPort = c2s;
    const scratch = mkdtempSync(join(tmpdir(), 'rk-s2s-'));
    let ca: TestCa | undefined;
    ejabberd = await startEjabberd(scratch, PEER, c2s, async (dir) => {
      ca = await createTestCa(dir);
      const files = await ca.issue(PEER);
      const pem = join(dir, 'ejabberd.pem');
      writeFileSync(pem, files.keyPem + files.certPem);
      return { port: s2s, pem, cafile: ca.caFile };
    });
    if (!ca) throw new Error('no CA');
    const route = `${PEER}=127.0.0.1:${s2s}`;
    const server = (domain: string, config: Partial<Config> = {}) => startTestServer({ config: { domain, bindAddress: domain, s2sPort: 5269, s2sRoutes: route, ...config } });
    rookery = await server(ROOKERY);
    const own = await ca.issue(VERIFIED);
    verified = await server(VERIFIED, { tlsCert: own.cert, tlsKey: own.key, s2sCaFile: ca.caFile, s2sSecureAuth: true });
    const other = await createTestCa(scratch, 'Another test CA');
    const otherFiles = await other.issue(FOREIGN);
    const both = join(scratch, 'both-cas.crt');
    writeFileSync(both, readFileSync(ca.caFile, 'utf8') + readFileSync(other.caFile, 'utf8'));
    foreign = await server(FOREIGN, { tlsCert: otherFiles.cert, tlsKey: otherFiles.key, s2sCaFile: both });
  }, 120_000);
  afterAll(async () => {
    await rookery?.stop();
    await verified?.stop();
    await foreign?.stop();
    await ejabberd?.stop();
  });

  const login = async (user: string, resource?: string): Promise<RawClient> => {
    const client = await RawClient.connect({ port: c2sPort, domain: PEER });
    await client.login(user, PASSWORD, resource);
    return client;
  };
  const peer = (): Peer => ({
    domain: PEER,
    login,
    register: (user: string) => void ejabberd.ctl('register', user, PEER, PASSWORD),
    log: () => readFileSync(join(ejabberd.dir, 'logs', 'ejabberd.log'), 'utf8').split('\n').slice(-80).join('\n'),
  });

  federationSuite(() => ({ rookery, peer: peer(), rookeryHost: ROOKERY }));

  /** A message each way between a client of `server` and one of ejabberd; returns the streams after. */
  const exchange = async (server: TestServer, domain: string, name: string) => {
    await server.createUser(name);
    ejabberd.ctl('register', name, PEER, PASSWORD);
    const local = await server.connect({ host: domain });
    await local.login(name, PASSWORD, 'r');
    const remote = await login(name, 'p');
    local.send('<presence/>');
    remote.send('<presence/>');
    local.send(`<message type='chat' to='${remote.bare}' id='x1'><body>out</body></message>`);
    expect((await remote.expect((el) => el.name === 'message' && el.attrs.id === 'x1', 20_000)).attrs.from).toBe(local.jid);
    remote.send(`<message type='chat' to='${local.bare}' id='x2'><body>in</body></message>`);
    expect((await local.expect((el) => el.name === 'message' && el.attrs.id === 'x2', 20_000)).attrs.from).toBe(remote.jid);
    return server.server.s2s?.streams() ?? [];
  };

  it('authenticates with SASL EXTERNAL each way when both certificates verify', async () => {
    const streams = await exchange(verified, VERIFIED, `ext${process.pid}`);
    expect(streams).toContainEqual({ direction: 'out', remote: PEER, ready: true, secure: true, directTls: false, auth: 'external' });
    expect(streams).toContainEqual({ direction: 'in', remote: PEER, ready: true, secure: true, directTls: false, auth: 'external' });
  }, 40_000);

  it('falls back to dialback on the same stream when the peer refuses our EXTERNAL', async () => {
    expect(foreign.server.s2s?.certificateValid).toBe(true);
    const streams = await exchange(foreign, FOREIGN, `fb${process.pid}`);
    expect(streams).toContainEqual({ direction: 'out', remote: PEER, ready: true, secure: true, directTls: false, auth: 'dialback' });
    // ejabberd's certificate verifies here: its stream to us used EXTERNAL.
    expect(streams).toContainEqual({ direction: 'in', remote: PEER, ready: true, secure: true, directTls: false, auth: 'external' });
    // ejabberd's side (its log is written asynchronously: waited for).
    const refused = `Failed inbound s2s EXTERNAL authentication ${FOREIGN} -> ${PEER}`;
    const accepted = `Accepted inbound s2s dialback authentication ${FOREIGN} -> ${PEER}`;
    const log = () => readFileSync(join(ejabberd.dir, 'logs', 'ejabberd.log'), 'utf8');
    for (let wait = 0; wait < 50 && !log().includes(accepted); wait++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(log()).toContain(refused);
    expect(log()).toContain(accepted);
  }, 40_000);
});

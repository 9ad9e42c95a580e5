// Federation between two Rookery servers in this process, for what neither Prosody nor ejabberd
// drives here: an incoming stream on our direct TLS port (XEP-0368; both peers would only use it
// when SRV says so, and an IP-literal domain has no SRV). 127.20.0.8 reaches 127.20.0.9 by a
// static route to its direct TLS port; 127.20.0.9 reaches 127.20.0.8 on 5269 (STARTTLS).
// Certificates come from a CA both trust: SASL EXTERNAL both ways. Then two servers whose
// certificates (made by openssl) name their domain only in XMPP's own subjectAltName entries, one
// an id-on-xmppAddr, the other an _xmpp-server SRV-ID (RFC 6120 §13.7.1.2): each verifies the
// other's, SASL EXTERNAL both ways, with s2sSecureAuth on (dialback would not do).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { destination } from 'pino';
import { createLogger } from '../../src/log.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { freePorts } from '../support/cluster.js';
import { createTestCa } from '../support/test-ca.js';
import { createOpensslCa, opensslAvailable, srvName, xmppAddr } from '../support/openssl-ca.js';

const ONE = '127.20.0.8';
const TWO = '127.20.0.9';

describe('federation between two Rookery servers', () => {
  let one: TestServer;
  let two: TestServer;
  let tlsPort: number;

  beforeAll(async () => {
    const ca = await createTestCa(mkdtempSync(join(tmpdir(), 'rk-s2s-')));
    [tlsPort] = (await freePorts(1)) as [number];
    const server = async (domain: string, config: Partial<Config>) => {
      const files = await ca.issue(domain);
      return startTestServer({ ...(process.env.S2S_LOG ? { log: createLogger({ level: 'debug', destination: destination(`${process.env.S2S_LOG}.${domain}`) }) } : {}), config: { domain, bindAddress: domain, s2sPort: 5269, tlsCert: files.cert, tlsKey: files.key, s2sCaFile: ca.caFile, s2sSecureAuth: true, ...config } });
    };
    one = await server(ONE, { s2sRoutes: `${TWO}=tls:${TWO}:${tlsPort}` });
    two = await server(TWO, { s2sTlsPort: tlsPort });
  }, 30_000);
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
  });

  it('listens for direct TLS with ALPN xmpp-server', async () => {
    expect(two.server.s2s?.tlsPort).toBe(tlsPort);
    const socket = connectTls({ host: TWO, port: tlsPort, ALPNProtocols: ['xmpp-server'], rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.alpnProtocol).toBe('xmpp-server');
    socket.destroy();
  });

  it('carries messages each way, out over the direct TLS port, authenticated by SASL EXTERNAL', async () => {
    await one.createUser('alice');
    await two.createUser('bob');
    const alice = await one.connect({ host: ONE });
    await alice.login('alice', PASSWORD, 'a');
    const bob = await two.connect({ host: TWO });
    await bob.login('bob', PASSWORD, 'b');
    alice.send('<presence/>');
    bob.send('<presence/>');
    alice.send(`<message type='chat' to='bob@${TWO}' id='d1'><body>direct</body></message>`);
    expect((await bob.expect((el) => el.name === 'message' && el.attrs.id === 'd1', 20_000)).attrs.from).toBe(alice.jid);
    bob.send(`<message type='chat' to='alice@${ONE}' id='d2'><body>starttls</body></message>`);
    expect((await alice.expect((el) => el.name === 'message' && el.attrs.id === 'd2', 20_000)).attrs.from).toBe(bob.jid);
    const external = { ready: true, secure: true, auth: 'external' };
    // one's stream to two is the direct TLS one, both ends; two's to one used STARTTLS.
    expect(one.server.s2s?.streams()).toEqual(expect.arrayContaining([{ direction: 'out', remote: TWO, directTls: true, ...external }, { direction: 'in', remote: TWO, directTls: false, ...external }]));
    expect(two.server.s2s?.streams()).toEqual(expect.arrayContaining([{ direction: 'out', remote: ONE, directTls: false, ...external }, { direction: 'in', remote: ONE, directTls: true, ...external }]));
  }, 40_000);
});

describe.skipIf(!opensslAvailable())('federation between two Rookery servers whose certificates use XMPP names only', () => {
  // Static routes both ways: any free port does, 5269 is not needed.
  const XMPP_ADDR = { domain: 'xmppaddr.test', port: 0 };
  const SRV_ID = { domain: 'srvid.test', port: 0 };
  let one: TestServer;
  let two: TestServer;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rk-s2s-'));
    [XMPP_ADDR.port, SRV_ID.port] = (await freePorts(2)) as [number, number];
    const ca = createOpensslCa(dir);
    // The CN names something else: only the otherName entries name the domains.
    const oneFiles = ca.issue('one', 'elsewhere.example', [xmppAddr(XMPP_ADDR.domain)]);
    const twoFiles = ca.issue('two', 'elsewhere.example', [srvName('xmpp-server', SRV_ID.domain)]);
    const server = (self: typeof XMPP_ADDR, files: { cert: string; key: string }, peer: typeof XMPP_ADDR) =>
      startTestServer({ config: { domain: self.domain, s2sPort: self.port, s2sRoutes: `${peer.domain}=127.0.0.1:${peer.port}`, tlsCert: files.cert, tlsKey: files.key, s2sCaFile: ca.caFile, s2sSecureAuth: true } });
    one = await server(XMPP_ADDR, oneFiles, SRV_ID);
    two = await server(SRV_ID, twoFiles, XMPP_ADDR);
  }, 30_000);
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
  });

  it('verifies each certificate by its id-on-xmppAddr or SRV-ID and authenticates with SASL EXTERNAL both ways', async () => {
    expect(one.server.s2s?.certificateValid).toBe(true);
    expect(two.server.s2s?.certificateValid).toBe(true);
    await one.createUser('alice');
    await two.createUser('bob');
    const alice = await one.connect();
    await alice.login('alice', PASSWORD, 'a');
    const bob = await two.connect();
    await bob.login('bob', PASSWORD, 'b');
    alice.send('<presence/>');
    bob.send('<presence/>');
    alice.send(`<message type='chat' to='bob@${SRV_ID.domain}' id='x1'><body>by xmppAddr</body></message>`);
    expect((await bob.expect((el) => el.name === 'message' && el.attrs.id === 'x1', 20_000)).attrs.from).toBe(alice.jid);
    bob.send(`<message type='chat' to='alice@${XMPP_ADDR.domain}' id='x2'><body>by SRV-ID</body></message>`);
    expect((await alice.expect((el) => el.name === 'message' && el.attrs.id === 'x2', 20_000)).attrs.from).toBe(bob.jid);
    const external = { ready: true, secure: true, directTls: false, auth: 'external' };
    expect(one.server.s2s?.streams()).toEqual(expect.arrayContaining([{ direction: 'out', remote: SRV_ID.domain, ...external }, { direction: 'in', remote: SRV_ID.domain, ...external }]));
    expect(two.server.s2s?.streams()).toEqual(expect.arrayContaining([{ direction: 'out', remote: XMPP_ADDR.domain, ...external }, { direction: 'in', remote: XMPP_ADDR.domain, ...external }]));
  }, 40_000);
});

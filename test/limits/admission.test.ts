// Admission limits (RFC 6120 §13.12): new connections per address, and connections per node.
// A refused connection gets a stream header, the stream error and the closing tag (§4.9.1.1).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Config, DEFAULT_LIMITS, type Limits } from '../../src/config.js';
import { RawClient } from '../support/client.js';
import { PASSWORD, startTestServer, type TestServer } from '../support/server.js';
import { recordLimits } from './support.js';

const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function start(limits: Partial<Limits>, config: Partial<Config> = {}): Promise<{ server: TestServer; enforced: Map<string, number> }> {
  server = await startTestServer({ config: { ...config, limits: { ...DEFAULT_LIMITS, addressConnectionsPerMinute: 0, maxConnections: 0, ...limits } } });
  const enforced = recordLimits(server.server.host);
  await server.createUser('alice');
  await server.createUser('bob');
  return { server, enforced };
}

/** The refused client is told why, in a stream of its own, and the connection closes. */
async function expectRefused(client: RawClient, condition: string): Promise<void> {
  const error = await client.expect('stream:error');
  expect(client.streamHeader?.from).toBe('localhost');
  expect(error.getChildByAttr('xmlns', NS_STREAMS)?.name).toBe(condition);
  await client.closed();
  expect(client.streamClosed).toBe(true);
}

/** A PROXY protocol v1 line naming `address` as the client (the proxy here is this machine). */
const from = (address: string): string => `PROXY TCP4 ${address} 127.0.0.1 40000 5222\r\n`;
const BEHIND_PROXY: Partial<Config> = { c2sProxyProtocol: true, c2sTlsProxyProtocol: true, trustedProxies: '127.0.0.0/8' };

describe('connection admission', () => {
  it('refuses connections from one address past its rate with policy-violation, while its open session keeps working', async () => {
    // One a minute: the burst of 3 is all this test can use up. The clients come through a
    // trusted proxy (PROXY protocol), since loopback itself is never held to the rate.
    const { server: s, enforced } = await start({ addressConnectionsPerMinute: 1, addressConnectionBurst: 3 }, BEHIND_PROXY);
    const alice = await s.connect({ proxyHeader: from('198.51.100.7') });
    await alice.login('alice', PASSWORD, 'desk');
    await s.connect({ proxyHeader: from('198.51.100.7') });
    await s.connect({ proxyHeader: from('198.51.100.7') });

    const refused = await s.connect({ proxyHeader: from('198.51.100.7') });
    await expectRefused(refused, 'policy-violation');
    const refusedTls = await s.connect({ directTls: true, port: s.tlsPort, proxyHeader: from('198.51.100.7') });
    await expectRefused(refusedTls, 'policy-violation');
    expect(enforced.get('c2s_connection_rate')).toBe(2);

    await alice.barrier();
    // Another address is not held to this one's rate.
    const bob = await s.connect({ proxyHeader: from('198.51.100.8') });
    await bob.login('bob', PASSWORD, 'desk');
    alice.send(`<message to='${bob.jid}' type='chat' id='still-here'><body>hi</body></message>`);
    await bob.expect((e) => e.name === 'message' && e.attrs.id === 'still-here');
  });

  it('refuses connections past the node cap with resource-constraint, on both ports, until one closes', async () => {
    const { server: s, enforced } = await start({ maxConnections: 2 });
    const alice = await s.login('alice', 'desk');
    const idle = await s.connect();

    await expectRefused(await s.connect(), 'resource-constraint');
    await expectRefused(await s.connect({ directTls: true }), 'resource-constraint');
    expect(enforced.get('c2s_connection_cap')).toBe(2);
    await alice.barrier();

    await idle.close();
    await vi.waitFor(() => expect(s.server.connections.size).toBe(1));
    const bob = await s.login('bob', 'desk');
    await bob.barrier();
  });

  it('never holds loopback to the address rate: a test suite or a health check after a burst is admitted', async () => {
    const { server: s, enforced } = await start({ addressConnectionsPerMinute: 1, addressConnectionBurst: 1 });
    const clients = await Promise.all(Array.from({ length: 20 }, () => s.connect()));
    await Promise.all(clients.map(async (client) => expect((await client.openStream()).name).toBe('stream:features')));
    expect(enforced.get('c2s_connection_rate')).toBeUndefined();
  });

  it('sees the client address a trusted proxy names, on both ports', async () => {
    const { server: s } = await start({}, BEHIND_PROXY);
    const plain = await s.connect({ proxyHeader: from('198.51.100.20') });
    await plain.login('alice', PASSWORD, 'desk');
    const direct = await s.connect({ directTls: true, port: s.tlsPort, proxyHeader: from('198.51.100.21') });
    await direct.login('bob', PASSWORD, 'desk');
    expect([...s.server.connections].map((connection) => connection.remoteAddress).sort()).toEqual(['198.51.100.20', '198.51.100.21']);
  });

  it('closes connections on a PROXY protocol port from peers that are not trusted proxies', async () => {
    const { server: s, enforced } = await start({}, { ...BEHIND_PROXY, trustedProxies: '192.0.2.0/24' });
    const untrusted = await s.connect({ proxyHeader: from('198.51.100.9') });
    await untrusted.closed();
    expect(enforced.get('proxy_untrusted')).toBe(1);
  });

  it('admits any number of connections when both limits are 0', async () => {
    const { server: s, enforced } = await start({});
    const clients = await Promise.all(Array.from({ length: 30 }, () => s.connect()));
    await Promise.all(clients.map(async (client) => expect((await client.openStream()).name).toBe('stream:features')));
    expect(enforced.size).toBe(0);
  });
});

// X-Forwarded-For on the XMPP WebSocket behind trusted proxies: the connection (its logs, its
// per-address limits) sees the client's address that the ingress tells, and only when the
// ingress is one of `trustedProxies`; otherwise the header is ignored, as anyone can send it.
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { clientAddress } from '../../src/c2s/websocket.js';
import { Networks } from '../../src/config/networks.js';
import { useTestServer } from '../support/fixture.js';
import { PASSWORD } from '../support/server.js';
import { WsClient } from '../support/ws-client.js';

const CLIENT = '203.0.113.7';

describe('the client address of a WebSocket behind a trusted proxy', () => {
  // The test's own connections come from 127.0.0.1: here it is the trusted ingress. One new
  // connection per address at once (the burst), so a second from one address is refused.
  const fixture = useTestServer({ backend: 'cluster', config: { trustedProxies: '127.0.0.1, 10.0.0.0/8', limits: { ...DEFAULT_LIMITS, addressConnectionBurst: 1, addressConnectionsPerMinute: 1 } } });
  const url = (): string => `ws://127.0.0.1:${fixture.server.httpPorts[0]}/xmpp-websocket`;

  function addressOf(jid: string): string | undefined {
    for (const node of fixture.server.nodes) {
      const session = [...node.host.local.all()].find((candidate) => candidate.full_jid === jid);
      if (session) return session.conn.remoteAddress;
    }
    return undefined;
  }

  it('takes the address the proxy appended to X-Forwarded-For, not the proxy\'s', async () => {
    const local = await fixture.user('xff');
    const client = await WsClient.connect(url(), fixture.server.config.domain, { headers: { 'x-forwarded-for': `198.51.100.9, ${CLIENT}, 10.1.2.3` } });
    const jid = await client.login(local, PASSWORD, 'web');
    // 10.1.2.3 is a trusted proxy too; 198.51.100.9 is what the client claimed, left of the first untrusted hop.
    expect(addressOf(jid)).toBe(CLIENT);
    client.terminate();
  });

  it('applies the per-address connection limit to the forwarded address, not to the proxy', async () => {
    const first = await WsClient.connect(url(), fixture.server.config.domain, { headers: { 'x-forwarded-for': '192.0.2.50' } });
    expect((await first.open()).name).toBe('stream:features');
    const second = await WsClient.connect(url(), fixture.server.config.domain, { headers: { 'x-forwarded-for': '192.0.2.50' } });
    const refused = await second.open();
    expect(refused.name).toBe('stream:error');
    expect(refused.getChild('policy-violation')).toBeDefined();
    // Another client behind the same proxy is not affected.
    const other = await WsClient.connect(url(), fixture.server.config.domain, { headers: { 'x-forwarded-for': '192.0.2.51' } });
    expect((await other.open()).name).toBe('stream:features');
    for (const client of [first, second, other]) client.terminate();
  });
});

describe('X-Forwarded-For from a peer that is not a trusted proxy', () => {
  const fixture = useTestServer({ backend: 'cluster', config: { trustedProxies: '10.0.0.0/8' } });

  it('is ignored: the connection has the peer\'s own address', async () => {
    const local = await fixture.user('direct');
    const client = await WsClient.connect(`ws://127.0.0.1:${fixture.server.httpPorts[1]}/xmpp-websocket`, fixture.server.config.domain, { headers: { 'x-forwarded-for': CLIENT } });
    const jid = await client.login(local, PASSWORD, 'web');
    const session = fixture.server.nodes.flatMap((node) => [...node.host.local.all()]).find((candidate) => candidate.full_jid === jid);
    expect(session?.conn.remoteAddress).toBe('127.0.0.1');
    client.terminate();
  });
});

describe('clientAddress', () => {
  const trusted = new Networks('10.0.0.0/8, 127.0.0.1');
  it.each([
    ['127.0.0.1', undefined, '127.0.0.1'],
    ['127.0.0.1', '203.0.113.7', '203.0.113.7'],
    ['127.0.0.1', '1.1.1.1, 203.0.113.7', '203.0.113.7'],
    ['127.0.0.1', '203.0.113.7, 10.0.0.2', '203.0.113.7'],
    ['127.0.0.1', 'garbage, 203.0.113.7', '203.0.113.7'],
    ['127.0.0.1', '203.0.113.7, garbage', '127.0.0.1'],
    ['127.0.0.1', '10.0.0.3, 10.0.0.2', '10.0.0.3'],
    ['127.0.0.1', '2001:db8::1', '2001:db8::1'],
    ['192.0.2.1', '203.0.113.7', '192.0.2.1'],
  ])('peer %s with X-Forwarded-For %s → %s', (peer, header, expected) => {
    expect(clientAddress(trusted, peer, header)).toBe(expected);
  });
});

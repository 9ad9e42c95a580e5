// XEP-0215 external service discovery over real sockets, on both stores and on either node of a
// cluster: the configured STUN/TURN server with TURN REST API credentials (coturn's
// use-auth-secret), which any node derives alike from the shared secret.
import { createHmac } from 'node:crypto';
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnCredentials } from '../../src/modules/extdisco.js';
import { NS_EXTDISCO } from '../../src/xmpp/ns.js';
import { condition } from '../support/fixture.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';

const SECRET = 'coturn-static-auth-secret';
const TTL = 3600;
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';

const servicesOf = (reply: Element): Array<Record<string, string>> =>
  (reply.getChild('services') ?? reply.getChild('credentials'))?.getChildren('service').map((service) => service.attrs as Record<string, string>) ?? [];

describe.each(BACKENDS)('external service discovery (%s)', (backend) => {
  let server: TestServer;
  let n = 0;
  const login = async () => {
    const local = `caller${++n}`;
    await server.createUser(local);
    return server.login(local, 'phone');
  };

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { turnHost: 'turn.example.org', turnPort: 3478, turnTlsPort: 5349, turnSecret: SECRET, turnCredentialSeconds: TTL } });
  });
  afterAll(() => server.stop());

  it('advertises urn:xmpp:extdisco:2 in the server disco#info', async () => {
    const client = await login();
    const info = await client.iq('get', `<query xmlns='${NS_DISCO_INFO}'/>`, server.config.domain);
    expect(info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var)).toContain(NS_EXTDISCO);
  });

  it('lists STUN and TURN (UDP, TCP, TLS) with credentials that coturn accepts and that expire after the configured time', async () => {
    const client = await login();
    const before = Math.floor(Date.now() / 1000);
    const reply = await client.iq('get', `<services xmlns='${NS_EXTDISCO}'/>`, server.config.domain);
    expect(reply.attrs.type).toBe('result');
    const services = servicesOf(reply);
    expect(services.map((s) => `${s.type}/${s.transport}:${s.port}`)).toEqual(['stun/udp:3478', 'turn/udp:3478', 'turn/tcp:3478', 'turns/tcp:5349']);
    expect(services[0]).not.toHaveProperty('password');
    for (const turn of services.slice(1)) {
      expect(turn.host).toBe('turn.example.org');
      expect(turn.restricted).toBe('1');
      const [expires, user] = (turn.username ?? '').split(':');
      expect(user).toBe(client.bare);
      expect(Number(expires)).toBeGreaterThanOrEqual(before + TTL);
      expect(Number(expires)).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + TTL);
      // What coturn computes with use-auth-secret: base64(HMAC-SHA1(static-auth-secret, username)).
      expect(turn.password).toBe(createHmac('sha1', SECRET).update(turn.username ?? '').digest('base64'));
      expect(Date.parse(turn.expires ?? '')).toBe(Number(expires) * 1000);
    }
  });

  it('filters by type', async () => {
    const client = await login();
    const reply = await client.iq('get', `<services xmlns='${NS_EXTDISCO}' type='stun'/>`, server.config.domain);
    expect(servicesOf(reply).map((s) => s.type)).toEqual(['stun']);
  });

  it('gives credentials for a named service, and item-not-found for one it does not know', async () => {
    const client = await login();
    const reply = await client.iq('get', `<credentials xmlns='${NS_EXTDISCO}'><service host='turn.example.org' type='turns'/></credentials>`, server.config.domain);
    const [turns] = servicesOf(reply);
    expect(turns).toMatchObject({ type: 'turns', port: '5349', restricted: '1' });
    expect(turns?.password).toBe(turnCredentials(SECRET, client.bare, Number(turns?.username?.split(':')[0])).password);
    const unknown = await client.iq('get', `<credentials xmlns='${NS_EXTDISCO}'><service host='other.example.org' type='turn'/></credentials>`, server.config.domain);
    expect(unknown.attrs.type).toBe('error');
    expect(condition(unknown)).toBe('item-not-found');
  });
});

describe('external service discovery, not configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend: 'memory' });
  });
  afterAll(() => server.stop());

  it('is not advertised, and the query gets service-unavailable', async () => {
    await server.createUser('nobody');
    const client = await server.login('nobody', 'phone');
    const info = await client.iq('get', `<query xmlns='${NS_DISCO_INFO}'/>`, server.config.domain);
    expect(info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var)).not.toContain(NS_EXTDISCO);
    const reply = await client.iq('get', `<services xmlns='${NS_EXTDISCO}'/>`, server.config.domain);
    expect(condition(reply)).toBe('service-unavailable');
  });
});

describe('external service discovery without a TURN secret', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ backend: 'memory', config: { turnHost: 'stun.example.org' } });
  });
  afterAll(() => server.stop());

  it('announces STUN only (TURN needs credentials)', async () => {
    await server.createUser('stunner');
    const client = await server.login('stunner', 'phone');
    const reply = await client.iq('get', `<services xmlns='${NS_EXTDISCO}'/>`, server.config.domain);
    expect(servicesOf(reply)).toEqual([{ type: 'stun', transport: 'udp', host: 'stun.example.org', port: '3478' }]);
  });
});

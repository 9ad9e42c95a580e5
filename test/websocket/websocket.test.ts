// XMPP over WebSocket (RFC 7395) on the HTTP port of a two-node cluster, with raw framed
// messages; TCP clients on the same node and on the other one. Discovery: XEP-0156.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { type RawClient, xml } from '../support/client.js';
import { startTestServer, type TestServer, PASSWORD } from '../support/server.js';
import { NS_FRAMING, WsClient } from '../support/ws-client.js';

const ALLOWED_ORIGIN = 'https://chat.example';

describe('XMPP over WebSocket (RFC 7395) on a two-node cluster', () => {
  let server: TestServer;
  let accounts = 0;
  const clients: Array<WsClient | RawClient> = [];

  beforeAll(async () => {
    server = await startTestServer({ backend: 'cluster', config: { webOrigins: ALLOWED_ORIGIN } });
  });
  afterAll(async () => {
    for (const client of clients) {
      if (client instanceof WsClient) client.terminate();
      else client.destroy();
    }
    await server?.stop();
  });

  const url = (node = 0): string => `ws://127.0.0.1:${server.httpPorts[node]}/xmpp-websocket`;

  async function account(name: string): Promise<string> {
    const local = `${name}${++accounts}`;
    await server.createUser(local);
    return local;
  }

  async function ws(node = 0, options: { origin?: string } = {}): Promise<WsClient> {
    const client = await WsClient.connect(url(node), server.config.domain, options);
    clients.push(client);
    return client;
  }

  async function tcp(local: string, node: number): Promise<RawClient> {
    const client = await server.connect({ port: server.nodes[node]?.ports().c2s });
    clients.push(client);
    await client.login(local, PASSWORD, 'tcp');
    return client;
  }

  it('refuses an upgrade that does not offer the xmpp subprotocol', async () => {
    await expect(WsClient.connect(url(), server.config.domain, { protocols: ['chat'] })).rejects.toThrow('upgrade refused: 400');
    await expect(WsClient.connect(url(), server.config.domain, { protocols: [] })).rejects.toThrow('upgrade refused: 400');
  });

  it('refuses an upgrade from an origin that webOrigins does not list, and accepts one it lists', async () => {
    await expect(WsClient.connect(url(), server.config.domain, { origin: 'https://evil.example' })).rejects.toThrow('upgrade refused: 403');
    const client = await ws(0, { origin: ALLOWED_ORIGIN });
    expect((await client.open()).name).toBe('stream:features');
  });

  it('answers <open/> with <open/> and offers SASL without STARTTLS on a loopback WebSocket', async () => {
    const client = await ws();
    expect(client.socket.protocol).toBe('xmpp');
    client.send(`<open xmlns='${NS_FRAMING}' to='${server.config.domain}' version='1.0'/>`);
    const open = await client.expect('open');
    expect(open.attrs).toMatchObject({ xmlns: NS_FRAMING, from: server.config.domain, version: '1.0' });
    expect(open.attrs.id).toMatch(/\S/);
    const features = await client.expect('stream:features');
    expect(features.getChild('starttls')).toBeUndefined();
    expect(features.getChild('mechanisms')?.getChildren('mechanism').map((mechanism) => mechanism.getText())).toContain('PLAIN');
  });

  it('logs in with PLAIN, binds, and exchanges messages with TCP clients on the same node and on the other node', async () => {
    const [alice, bob, carol] = [await account('alice'), await account('bob'), await account('carol')];
    const web = await ws(0);
    const aliceJid = await web.login(alice, PASSWORD, 'web');
    expect(aliceJid).toBe(`${alice}@${server.config.domain}/web`);
    const bobTcp = await tcp(bob, 0);
    const carolTcp = await tcp(carol, 1);

    web.send(`<message xmlns='jabber:client' to='${bobTcp.jid}' type='chat' id='m1'><body>to the same node</body></message>`);
    await bobTcp.expect(xml`<message from='${aliceJid}' type='chat' id='m1'><body>to the same node</body></message>`);
    web.send(`<message xmlns='jabber:client' to='${carolTcp.jid}' type='chat' id='m2'><body>to the other node</body></message>`);
    await carolTcp.expect(xml`<message from='${aliceJid}' type='chat' id='m2'><body>to the other node</body></message>`);

    bobTcp.send(`<message to='${aliceJid}' type='chat' id='m3'><body>from the same node</body></message>`);
    // RFC 7395 §3.3.3: each message stands alone, so the stanza declares jabber:client.
    await web.expect(xml`<message xmlns='jabber:client' from='${bobTcp.jid}' to='${aliceJid}' id='m3'><body>from the same node</body></message>`);
    carolTcp.send(`<message to='${aliceJid}' type='chat' id='m4'><body>from the other node</body></message>`);
    await web.expect(xml`<message xmlns='jabber:client' from='${carolTcp.jid}' to='${aliceJid}' id='m4'><body>from the other node</body></message>`);
  });

  it('counts WebSocket connections under the transport label websocket', async () => {
    const local = await account('dave');
    const web = await ws(1);
    await web.login(local, PASSWORD);
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPorts[1]}/metrics`)).text();
    const line = metrics.split('\n').find((row) => row.startsWith('rookery_connections{') && row.includes('transport="websocket"') && row.includes('state="c2s"'));
    expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(1);
  });

  it('answers the client <close/> with <close/> and closes the WebSocket', async () => {
    const local = await account('erin');
    const web = await ws();
    await web.login(local, PASSWORD);
    web.send(`<close xmlns='${NS_FRAMING}'/>`);
    const close = await web.expect('close');
    expect(close.attrs.xmlns).toBe(NS_FRAMING);
    expect((await web.closed()).code).toBe(1000);
  });

  it('answers a malformed message with a stream error, <close/>, and the end of the WebSocket', async () => {
    const web = await ws();
    await web.open();
    web.send(`<message xmlns='jabber:client'><body>unclosed</message>`);
    const error = await web.expect('stream:error');
    expect(error.getChild('not-well-formed')).toBeDefined();
    await web.expect('close');
    expect((await web.closed()).code).toBe(1000);
  });

  it('refuses a message that holds only part of an element (RFC 7395 §3.3.3)', async () => {
    const web = await ws();
    await web.open();
    web.send(`<iq xmlns='jabber:client' type='get' id='half'>`);
    const error = await web.expect('stream:error');
    expect(error.getChild('not-well-formed')).toBeDefined();
    expect((await web.closed()).code).toBe(1000);
  });

  it('closes the WebSocket with 1003 on a binary message (RFC 7395 §3.2: text only)', async () => {
    const web = await ws();
    await web.open();
    web.socket.send(Buffer.from(`<presence xmlns='jabber:client'/>`), { binary: true });
    expect((await web.closed()).code).toBe(1003);
  });

  it('refuses a first message that is not <open/>', async () => {
    const web = await ws();
    web.send(`<message xmlns='jabber:client'/>`);
    const error = await web.expect('stream:error');
    expect(error.getChild('not-well-formed')).toBeDefined();
    expect((await web.closed()).code).toBe(1000);
  });

  it('serves host-meta as XRD with the WebSocket URL built from the Host header (XEP-0156)', async () => {
    const response = await fetch(`http://127.0.0.1:${server.httpPorts[0]}/.well-known/host-meta`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/xrd\+xml/);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const text = await response.text();
    expect(text).toContain(`<Link rel='urn:xmpp:alt-connections:websocket' href='${url(0)}'/>`);
  });

  it('serves host-meta.json with the same link (XEP-0156)', async () => {
    const response = await fetch(`http://127.0.0.1:${server.httpPorts[1]}/.well-known/host-meta.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ links: [{ rel: 'urn:xmpp:alt-connections:websocket', href: url(1) }] });
  });
});

describe('XMPP over WebSocket with the default origin policy, a small pre-authentication stanza limit, and stream management', () => {
  let server: TestServer;
  let accounts = 0;
  const clients: WsClient[] = [];
  const NS_SM = 'urn:xmpp:sm:3';

  beforeAll(async () => {
    server = await startTestServer({ backend: 'cluster', config: { limits: { ...defaultConfig().limits, maxStanzaBytesUnauthenticated: 1_000, c2sUnauthedBurstBytes: 600, c2sUnauthedBytesPerSecond: 2_000, httpRequestTimeoutMs: 300 } } });
  });
  afterAll(async () => {
    for (const client of clients) client.terminate();
    await server?.stop();
  });

  const url = (node = 0): string => `ws://127.0.0.1:${server.httpPorts[node]}/xmpp-websocket`;

  async function ws(node = 0, options: { origin?: string } = {}): Promise<WsClient> {
    const client = await WsClient.connect(url(node), server.config.domain, options);
    clients.push(client);
    return client;
  }

  async function account(name: string): Promise<string> {
    const local = `${name}${++accounts}`;
    await server.createUser(local);
    return local;
  }

  it('accepts a page of its own origin and a client without Origin, and refuses another origin (as Prosody does by default)', async () => {
    const own = await ws(0, { origin: `http://127.0.0.1:${server.httpPorts[0]}` });
    expect((await own.open()).name).toBe('stream:features');
    const native = await ws(0);
    expect((await native.open()).name).toBe('stream:features');
    await expect(WsClient.connect(url(0), server.config.domain, { origin: 'https://evil.example' })).rejects.toThrow('upgrade refused: 403');
    // Another port is another origin (RFC 6454 §4).
    await expect(WsClient.connect(url(0), server.config.domain, { origin: `http://127.0.0.1:${server.httpPorts[1]}` })).rejects.toThrow('upgrade refused: 403');
  });

  it('applies the pre-authentication stanza size limit to a WebSocket message', async () => {
    const web = await ws();
    await web.open();
    web.send(`<iq xmlns='jabber:client' type='get' id='big'><query xmlns='jabber:iq:version'>${'x'.repeat(2_000)}</query></iq>`);
    const error = await web.expect('stream:error');
    expect(error.getChild('policy-violation')).toBeDefined();
    expect((await web.closed()).code).toBe(1000);
  });

  it('paces a client past the pre-authentication byte rate by whole messages, losing none of them', async () => {
    const local = await account('slow');
    const web = await ws(1);
    await web.open();
    // ~800 bytes of whitespace inside the tag: under the 1000-byte stanza limit, past the 600-byte burst.
    web.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl'${' '.repeat(800)}mechanism='PLAIN'>${Buffer.from(`\0${local}\0${PASSWORD}`).toString('base64')}</auth>`);
    await web.expect('success');
    web.send(`<open xmlns='${NS_FRAMING}' to='${server.config.domain}' version='1.0'/>`);
    expect((await web.expect('stream:features')).getChild('bind')).toBeDefined();
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPorts[1]}/metrics`)).text();
    const line = metrics.split('\n').find((row) => row.startsWith('rookery_limits_enforced_total{') && row.includes('"c2s_unauthed_bytes_rate"'));
    expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(1);
  });

  it('keeps an idle WebSocket open past the HTTP request timeout', async () => {
    const local = await account('idle');
    const web = await ws(0);
    const jid = await web.login(local, PASSWORD);
    // The scenario is time passing with nothing sent: 4 × the 300 ms HTTP request timeout.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    web.send(`<iq xmlns='jabber:client' type='get' id='still-there' to='${server.config.domain}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await web.expect(xml`<iq xmlns='jabber:client' type='result' id='still-there' to='${jid}'/>`);
  });

  it('resumes a stream-managed session on a new WebSocket, with what arrived meanwhile (XEP-0198)', async () => {
    const [alice, bob] = [await account('alice'), await account('bob')];
    const first = await ws(0);
    const features = await first.authenticate(alice, PASSWORD);
    expect(features.getChild('sm', NS_SM)).toBeDefined();
    first.send(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>web</resource></bind></iq>`);
    await first.expect((element) => element.name === 'iq' && element.attrs.id === 'bind1');
    first.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const enabled = await first.expect('enabled');
    expect(enabled.attrs).toMatchObject({ xmlns: NS_SM, resume: 'true' });
    const previd = String(enabled.attrs.id);
    first.terminate(); // the network goes away: no <close/>

    const other = await WsClient.connect(url(1), server.config.domain);
    clients.push(other);
    const bobJid = await other.login(bob, PASSWORD);
    other.send(`<message xmlns='jabber:client' to='${alice}@${server.config.domain}/web' type='chat' id='while-away'><body>while you were away</body></message>`);

    const second = await ws(0);
    await second.authenticate(alice, PASSWORD);
    second.send(`<resume xmlns='${NS_SM}' previd='${previd}' h='0'/>`);
    const resumed = await second.expect((element) => element.name === 'resumed' || element.name === 'failed');
    expect(resumed.name).toBe('resumed');
    await second.expect(xml`<message xmlns='jabber:client' from='${bobJid}' id='while-away'><body>while you were away</body></message>`);
  });
});

describe('XMPP over WebSocket on a node at its connection limit', () => {
  let server: TestServer;
  const clients: WsClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({ backend: 'cluster', config: { limits: { ...defaultConfig().limits, maxConnections: 1 } } });
  });
  afterAll(async () => {
    for (const client of clients) client.terminate();
    await server?.stop();
  });

  it('refuses a WebSocket past maxConnections with <open/>, <resource-constraint/> and <close/>, as the client port does', async () => {
    const url = `ws://127.0.0.1:${server.httpPorts[0]}/xmpp-websocket`;
    const first = await WsClient.connect(url, server.config.domain);
    clients.push(first);
    expect((await first.open()).name).toBe('stream:features');
    const second = await WsClient.connect(url, server.config.domain);
    clients.push(second);
    expect((await second.expect('open')).attrs.xmlns).toBe(NS_FRAMING);
    expect((await second.expect('stream:error')).getChild('resource-constraint')).toBeDefined();
    await second.expect('close');
    expect((await second.closed()).code).toBe(1000);
  });
});

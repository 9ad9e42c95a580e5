// XMPP over WebSocket (RFC 7395) on the HTTP port of a two-node cluster, with raw framed
// messages; TCP clients on the same node and on the other one. Discovery: XEP-0156.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

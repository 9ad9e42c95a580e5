// @xmpp/client over WebSocket (RFC 7395) against a two-node cluster: the library's own framing,
// SASL and binding, talking with @xmpp/client users over TCP on either node.
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { bind2Resource, is, NS_ROSTER, xml, XmppTestClient, type XmppClientOptions } from '../support/xmpp-client.js';

const PASSWORD = 'correct horse battery staple';

describe('@xmpp/client over WebSocket on a two-node cluster', () => {
  let server: TestServer;
  const clients: XmppTestClient[] = [];
  let accounts = 0;
  const globals = globalThis as { WebSocket?: unknown };
  const nativeWebSocket = globals.WebSocket;

  beforeAll(async () => {
    // Node 20 has no WebSocket; @xmpp/websocket uses the global one.
    globals.WebSocket = WebSocket;
    server = await startTestServer({ backend: 'cluster' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
  });
  afterAll(async () => {
    await server?.stop();
    globals.WebSocket = nativeWebSocket;
  });

  async function login(name: string, options: Partial<XmppClientOptions> = {}): Promise<XmppTestClient> {
    const username = `${name}${++accounts}`;
    await server.createUser(username, PASSWORD);
    const client = new XmppTestClient(server, { username, password: PASSWORD, resource: 'res', ...options });
    clients.push(client);
    await client.start();
    return client;
  }

  it('logs in over WebSocket with the SASL mechanism the library prefers and binds the resource it asked for', async () => {
    const alice = await login('alice', { webSocket: true });
    expect(alice.jid.startsWith(`alice${accounts}@${server.config.domain}/`)).toBe(true);
    expect(alice.jid).toMatch(bind2Resource('res'));
    expect(alice.saslMechanism).toBe('SCRAM-SHA-1');
    const roster = await alice.iq('get', xml('query', { xmlns: NS_ROSTER }));
    expect(roster.attrs.type).toBe('result');
  });

  it('exchanges messages with TCP clients placed on both nodes', async () => {
    const web = await login('web', { webSocket: true });
    // Placement spreads logins over the two nodes: with two peers, one shares the web client's node.
    const [bob, carol] = [await login('bob'), await login('carol')];
    expect(new Set([web.node, bob.node, carol.node]).size).toBe(2);
    for (const peer of [bob, carol]) {
      await web.message(peer.jid, `hello ${peer.bareJid}`);
      await peer.expect(is.chat(web.jid, `hello ${peer.bareJid}`));
      await peer.message(web.jid, `hi from ${peer.bareJid}`);
      await web.expect(is.chat(peer.jid, `hi from ${peer.bareJid}`));
    }
  });
});

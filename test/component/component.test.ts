// XEP-0114 external components, with a component of the test's own over a raw socket and an
// independent client (@xmpp/client): the handshake and its refusals (as Prosody's mod_component),
// stanzas both ways, and — on the cluster — the component on one node, the user on the other.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RookeryServer } from '../../src/server.js';
import type { RawClient } from '../support/client.js';
import { TestComponent } from '../support/component.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';
import { xml, XmppTestClient } from '../support/xmpp-client.js';

const PASSWORD = 'component test password';
const DOMAIN = 'bot.localhost';
const SECRET = 'bot-secret';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

function portOf(node: RookeryServer): number {
  const port = node.components?.port;
  if (!port) throw new Error('the node has no component port');
  return port;
}

function streamErrorOf(raw: RawClient): Promise<string | undefined> {
  return raw.expect('stream:error').then((error) => error.children.find((child) => typeof child !== 'string' && child.name !== 'text' && typeof child.attrs.xmlns === 'string')?.toString().match(/^<([a-z-]+)/)?.[1]);
}

describe.each(BACKENDS)('external components (XEP-0114) on a %s server', (backend) => {
  let server: TestServer;
  const clients: XmppTestClient[] = [];
  const components: TestComponent[] = [];
  let accounts = 0;

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { componentPort: 0, components: `${DOMAIN}=${SECRET},other.localhost=other-secret` } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    await Promise.all(components.splice(0).map((component) => component.close().catch(() => component.raw.destroy())));
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function user(name: string): Promise<XmppTestClient> {
    const local = `${name}${++accounts}`;
    await server.createUser(local, PASSWORD);
    const client = new XmppTestClient(server, { username: local, password: PASSWORD, resource: 'desk' });
    clients.push(client);
    await client.start();
    return client;
  }

  /** The node the user is not on (the same node on a single-node server). */
  function otherNode(client: XmppTestClient): RookeryServer {
    return server.nodes.find((node) => node !== client.node) ?? server.server;
  }

  async function component(node: RookeryServer, domain = DOMAIN, secret = SECRET): Promise<TestComponent> {
    const connected = await TestComponent.connect(portOf(node), domain, secret);
    components.push(connected);
    return connected;
  }

  it('routes a client stanza for the component domain to the component, on whichever node holds it', async () => {
    const alice = await user('alice');
    const bot = await component(otherNode(alice));
    await alice.send(xml('message', { to: `echo@${DOMAIN}`, type: 'chat', id: 'c1' }, xml('body', {}, 'hello bot')));
    const got = await bot.raw.expect((element) => element.name === 'message' && element.attrs.id === 'c1');
    expect(got.attrs.from).toBe(alice.jid);
    expect(got.attrs.to).toBe(`echo@${DOMAIN}`);
    expect(got.getChildText('body')).toBe('hello bot');
  });

  it('routes what the component sends from any address at its domain to a local user', async () => {
    const alice = await user('alice');
    const bot = await component(otherNode(alice));
    bot.raw.send(`<message from='echo@${DOMAIN}/x' to='${alice.jid}' type='chat' id='c2'><body>hi alice</body></message>`);
    const got = await alice.expect((element) => element.name === 'message' && element.attrs.id === 'c2');
    expect(got.attrs.from).toBe(`echo@${DOMAIN}/x`);
    expect(got.getChildText('body')).toBe('hi alice');
  });

  it('carries an iq from a client to the component and its result back', async () => {
    const alice = await user('alice');
    const bot = await component(otherNode(alice));
    const reply = alice.iq('get', xml('query', { xmlns: 'jabber:iq:version' }), DOMAIN);
    const request = await bot.raw.expect((element) => element.name === 'iq' && element.attrs.type === 'get');
    bot.raw.send(`<iq type='result' id='${String(request.attrs.id)}' from='${DOMAIN}' to='${String(request.attrs.from)}'><query xmlns='jabber:iq:version'><name>bot</name></query></iq>`);
    const answer = await reply;
    expect(answer.attrs.type).toBe('result');
    expect(answer.getChild('query', 'jabber:iq:version')?.getChildText('name')).toBe('bot');
  });

  it('answers a stanza for a component that is not connected with remote-server-timeout (wait), as Prosody', async () => {
    const alice = await user('alice');
    const reply = await alice.iq('get', xml('query', { xmlns: 'jabber:iq:version' }), 'other.localhost');
    expect(reply.attrs.type).toBe('error');
    expect(reply.getChild('error')?.attrs.type).toBe('wait');
    expect(reply.getChild('error')?.getChild('remote-server-timeout', NS_STANZAS)).toBeDefined();
  });

  it('refuses a wrong handshake with not-authorized', async () => {
    const { raw } = await TestComponent.open(portOf(server.server), DOMAIN);
    raw.send('<handshake>0000000000000000000000000000000000000000</handshake>');
    await expect(streamErrorOf(raw)).resolves.toBe('not-authorized');
    raw.destroy();
  });

  it('refuses a stream to a domain that is not a configured component with host-unknown', async () => {
    const { raw } = await TestComponent.open(portOf(server.server), 'nobody.localhost');
    await expect(streamErrorOf(raw)).resolves.toBe('host-unknown');
    raw.destroy();
  });

  it('refuses a second connection for a connected domain with conflict, from any node, and keeps the first', async () => {
    const alice = await user('alice');
    const first = await component(server.server);
    for (const node of server.nodes) {
      await expect(TestComponent.connect(portOf(node), DOMAIN, SECRET)).rejects.toThrow(/conflict/);
    }
    await alice.send(xml('message', { to: DOMAIN, id: 'c3' }, xml('body', {}, 'still there?')));
    await expect(first.raw.expect((element) => element.attrs.id === 'c3')).resolves.toBeDefined();
  });

  it('lets the component connect again, to another node, once it has disconnected', async () => {
    const alice = await user('alice');
    const first = await component(server.server);
    await first.close();
    const last = server.nodes[server.nodes.length - 1] as RookeryServer;
    const again = await component(last);
    await alice.send(xml('message', { to: DOMAIN, id: 'c4' }, xml('body', {}, 'welcome back')));
    await expect(again.raw.expect((element) => element.attrs.id === 'c4')).resolves.toBeDefined();
  });

  it('closes the stream with invalid-from when the component sends from another domain', async () => {
    const alice = await user('alice');
    const bot = await component(server.server);
    bot.raw.send(`<message from='mallory@localhost' to='${alice.jid}'><body>spoof</body></message>`);
    await expect(streamErrorOf(bot.raw)).resolves.toBe('invalid-from');
  });

  it('lists the component domain in the server disco#items', async () => {
    const alice = await user('alice');
    const items = await alice.iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }), server.config.domain);
    const jids = items.getChild('query')?.getChildren('item').map((item) => item.attrs.jid);
    expect(jids).toEqual(expect.arrayContaining([DOMAIN, 'other.localhost']));
  });
});

// XEP-0357 push notifications with independent clients (@xmpp/client) and an app server of the
// test's own (a raw-socket XEP-0114 component, test/support/component.ts). On the cluster the
// component sits on the node the user is not on, and the message is held wherever the cluster
// holds it: stored offline by the sender's node, queued by the node of a hibernating stream.
import type { Element } from 'ltx';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config/schema.js';
import type { RookeryServer } from '../../src/server.js';
import { NS_PUBSUB, summaryOf, TestComponent } from '../support/component.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';
import { xml, XmppTestClient } from '../support/xmpp-client.js';

const PASSWORD = 'push test password';
const APP = 'push.localhost';
const SECRET = 'app-server-secret';
const NS_PUSH = 'urn:xmpp:push:0';
const NS_DATA = 'jabber:x:data';

/** Polls `check` until it holds; fails after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function enable(node: string, fields: Record<string, string> = {}): Element {
  const form = Object.keys(fields).length === 0
    ? []
    : [xml('x', { xmlns: NS_DATA, type: 'submit' },
        xml('field', { var: 'FORM_TYPE' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
        ...Object.entries(fields).map(([name, value]) => xml('field', { var: name }, xml('value', {}, value))))];
  return xml('enable', { xmlns: NS_PUSH, jid: APP, node }, ...form);
}

describe.each(BACKENDS)('push notifications (XEP-0357) on a %s server', (backend) => {
  let server: TestServer;
  const clients: XmppTestClient[] = [];
  const components: TestComponent[] = [];
  let accounts = 0;

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { componentPort: 0, components: `${APP}=${SECRET}`, limits: { ...DEFAULT_LIMITS, pushReplySeconds: 1 } } });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
    await Promise.all(components.splice(0).map((component) => component.close().catch(() => component.raw.destroy())));
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function account(name: string): Promise<string> {
    const local = `${name}${++accounts}`;
    await server.createUser(local, PASSWORD);
    return local;
  }

  async function login(local: string, resource = 'phone'): Promise<XmppTestClient> {
    const client = new XmppTestClient(server, { username: local, password: PASSWORD, resource });
    clients.push(client);
    await client.start();
    return client;
  }

  /** The app server, on the node the user is not on (the one node of a single-node server). */
  async function appServer(user: XmppTestClient): Promise<TestComponent> {
    const node: RookeryServer = server.nodes.find((candidate) => candidate !== user.node) ?? server.server;
    const component = await TestComponent.connect(node.components?.port ?? 0, APP, SECRET);
    components.push(component);
    return component;
  }

  async function enabled(client: XmppTestClient, node: string, fields: Record<string, string> = {}): Promise<void> {
    const reply = await client.iq('set', enable(node, fields));
    expect(reply.attrs.type).toBe('result');
  }

  /** Waits until the server saw the connection go and the stream hibernates. */
  async function hibernating(client: XmppTestClient): Promise<void> {
    const bare = client.bareJid;
    const token = client.smId;
    expect(token).toBeDefined();
    client.drop();
    await until('the stream is detached', async () => ((await server.server.state.resumption.get(bare, token as string))?.detached_at ?? 0) > 0);
  }

  it("advertises urn:xmpp:push:0 in the account's disco#info", async () => {
    const alice = await login(await account('alice'));
    const info = await alice.iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }), alice.bareJid);
    const features = info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var);
    expect(features).toContain(NS_PUSH);
  });

  it('refuses an enable without a jid, or with its own, with bad-request', async () => {
    const alice = await login(await account('alice'));
    for (const request of [xml('enable', { xmlns: NS_PUSH, node: 'n' }), xml('enable', { xmlns: NS_PUSH, jid: alice.bareJid, node: 'n' })]) {
      const reply = await alice.iq('set', request);
      expect(reply.attrs.type).toBe('error');
      expect(reply.getChild('error')?.getChild('bad-request', 'urn:ietf:params:xml:ns:xmpp-stanzas')).toBeDefined();
    }
  });

  it('notifies the app server once when a message is stored offline: count, sender, publish-options, no body', async () => {
    const aliceLocal = await account('alice');
    const alice = await login(aliceLocal);
    const app = await appServer(alice);
    await enabled(alice, 'device-1', { secret: 'sesame' });
    await alice.stop();
    const bob = await login(await account('bob'));
    await bob.message(`${aliceLocal}@${server.config.domain}`, 'are you there?');
    const publish = await app.publish();
    expect(publish.attrs.from).toBe(server.config.domain);
    expect(publish.attrs.to).toBe(APP);
    const pubsub = publish.getChild('pubsub', NS_PUBSUB);
    expect(pubsub?.getChild('publish')?.attrs.node).toBe('device-1');
    expect(summaryOf(publish)).toStrictEqual({ FORM_TYPE: 'urn:xmpp:push:summary', 'message-count': '1', 'last-message-sender': bob.jid });
    const options = pubsub?.getChild('publish-options')?.getChild('x', NS_DATA);
    expect(options?.getChildren('field').map((field) => [field.attrs.var, field.getChildText('value')])).toStrictEqual([
      ['FORM_TYPE', 'http://jabber.org/protocol/pubsub#publish-options'],
      ['secret', 'sesame'],
    ]);
    app.result(publish);
    // The message itself still waits offline for alice.
    const back = await login(aliceLocal);
    await back.available();
    const delivered = await back.expect((element) => element.name === 'message' && element.getChildText('body') === 'are you there?');
    expect(delivered.attrs.from).toBe(bob.jid);
  });

  it('puts the body in the summary only for a client that asked for it', async () => {
    const aliceLocal = await account('alice');
    const alice = await login(aliceLocal);
    const app = await appServer(alice);
    await enabled(alice, 'device-2', { secret: 'sesame', 'include-body': '1' });
    await alice.stop();
    const bob = await login(await account('bob'));
    await bob.message(`${aliceLocal}@${server.config.domain}`, 'the body, please');
    const publish = await app.publish();
    expect(summaryOf(publish)['last-message-body']).toBe('the body, please');
    const optionVars = publish.getChild('pubsub', NS_PUBSUB)?.getChild('publish-options')?.getChild('x', NS_DATA)?.getChildren('field').map((field) => field.attrs.var);
    expect(optionVars).toStrictEqual(['FORM_TYPE', 'secret']);
    app.result(publish);
  });

  it('notifies when the message is queued for a hibernating stream (no socket), not for chat states', async () => {
    const aliceLocal = await account('alice');
    const alice = await login(aliceLocal);
    await alice.available();
    const app = await appServer(alice);
    await enabled(alice, 'device-3', { 'include-body': 'true' });
    await hibernating(alice);
    const bob = await login(await account('bob'));
    await bob.send(xml('message', { to: `${aliceLocal}@${server.config.domain}`, type: 'chat' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })));
    await bob.message(`${aliceLocal}@${server.config.domain}`, 'wake up');
    const publish = await app.publish();
    expect(summaryOf(publish)['last-message-body']).toBe('wake up');
    app.result(publish);
  });

  it('sends one notification per message across the cluster, though two nodes queue it for two hibernating streams', async () => {
    const aliceLocal = await account('alice');
    const phone = await login(aliceLocal, 'phone');
    const tablet = await login(aliceLocal, 'tablet');
    await phone.available();
    await tablet.available();
    const app = await appServer(phone);
    await enabled(phone, 'shared', { 'include-body': '1' });
    await hibernating(phone);
    await hibernating(tablet);
    const bob = await login(await account('bob'));
    const alice = `${aliceLocal}@${server.config.domain}`;
    await bob.message(alice, 'one');
    const first = await app.publish();
    expect(summaryOf(first)['last-message-body']).toBe('one');
    app.result(first);
    await bob.message(alice, 'two');
    const second = await app.publish();
    expect(summaryOf(second)['last-message-body']).toBe('two');
    app.result(second);
    await bob.barrier();
    await app.barrier(server.config.domain);
    expect(app.raw.take((element) => element.getChild('pubsub', NS_PUBSUB) !== undefined).map((publish) => summaryOf(publish)['last-message-body'])).toStrictEqual([]);
  });

  it('disables the registration when the app server answers item-not-found, and notifies it no more', async () => {
    const aliceLocal = await account('alice');
    const alice = await login(aliceLocal);
    const app = await appServer(alice);
    await enabled(alice, 'gone-device', { 'include-body': '1' });
    await alice.stop();
    const bob = await login(await account('bob'));
    const to = `${aliceLocal}@${server.config.domain}`;
    await bob.message(to, 'first');
    app.error(await app.publish(), 'cancel', 'item-not-found');
    await until('the registration is disabled', async () => (await server.server.state.push.list(to)).length === 0);
    await bob.message(to, 'second');
    await bob.barrier();
    await expect(app.publish(2500)).rejects.toThrow(/timed out/);
  });

  it('sends the notification again after a temporary error, and after an answer that came too late', async () => {
    const aliceLocal = await account('alice');
    const alice = await login(aliceLocal);
    const app = await appServer(alice);
    await enabled(alice, 'flaky', { 'include-body': '1' });
    await alice.stop();
    const bob = await login(await account('bob'));
    const to = `${aliceLocal}@${server.config.domain}`;
    await bob.message(to, 'retry me');
    const first = await app.publish();
    app.error(first, 'wait', 'resource-constraint');
    const second = await app.publish(5000);
    expect(summaryOf(second)['last-message-body']).toBe('retry me');
    expect(second.attrs.id).not.toBe(first.attrs.id);
    // No answer within pushReplySeconds (1 s): the next try comes after the backoff.
    const third = await app.publish(6000);
    expect(summaryOf(third)['last-message-body']).toBe('retry me');
    app.result(second); // too late: changes nothing
    app.result(third);
    await expect(server.server.state.push.list(to)).resolves.toHaveLength(1);
    // Answered: no fourth try (it would come 1 s + 4 s after the third).
    await expect(app.publish(6000)).rejects.toThrow(/timed out/);
  }, 30_000);

  it('disables one node, or every node of an app server', async () => {
    const alice = await login(await account('alice'));
    for (const node of ['a', 'b', 'c']) await enabled(alice, node);
    expect((await alice.iq('set', xml('disable', { xmlns: NS_PUSH, jid: APP, node: 'b' }))).attrs.type).toBe('result');
    expect((await server.server.state.push.list(alice.bareJid)).map((entry) => entry.node)).toStrictEqual(['a', 'c']);
    expect((await alice.iq('set', xml('disable', { xmlns: NS_PUSH, jid: APP }))).attrs.type).toBe('result');
    await expect(server.server.state.push.list(alice.bareJid)).resolves.toStrictEqual([]);
  });
});

// PEP with an independent, third-party client (@xmpp/client): a stranger discovers an account's
// open OMEMO device list (disco#items), subscribes to it explicitly (XEP-0060 §6.1) and follows
// it until it unsubscribes; an old client's vCard PHOTO reaches it as a XEP-0084 avatar. On one
// node and with the parties on different nodes ('cluster').
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';
import { type Element, xml, XmppTestClient } from '../support/xmpp-client.js';

const PASSWORD = 'correct horse battery staple';
const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_EVENT = 'http://jabber.org/protocol/pubsub#event';
const DEVICES = 'eu.siacs.conversations.axolotl.devicelist';
const METADATA = 'urn:xmpp:avatar:metadata';
const BINVAL = 'iVBORw0KGgo=';

const publishOpen = (node: string, id: string, payload: Element): Element =>
  xml('pubsub', { xmlns: NS_PUBSUB },
    xml('publish', { node }, xml('item', { id }, payload)),
    xml('publish-options', {}, xml('x', { xmlns: 'jabber:x:data', type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#publish-options')),
      xml('field', { var: 'pubsub#access_model' }, xml('value', {}, 'open')))));
const deviceList = (...ids: string[]): Element => xml('list', { xmlns: 'eu.siacs.conversations.axolotl' }, ...ids.map((id) => xml('device', { id })));
const eventOf = (node: string) => (stanza: Element): boolean => stanza.name === 'message' && stanza.getChild('event', NS_EVENT)?.getChild('items')?.attrs.node === node;
const deviceIds = (stanza: Element): string[] => (stanza.getChild('event', NS_EVENT)?.getChild('items')?.getChild('item')?.getChild('list')?.getChildren('device') ?? []).map((device) => String(device.attrs.id));

describe.each(BACKENDS)('@xmpp/client PEP subscriptions against a %s-backed server', (backend) => {
  let server: TestServer;
  const clients: XmppTestClient[] = [];
  let accounts = 0;

  beforeAll(async () => {
    server = await startTestServer({ backend });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function login(name: string): Promise<XmppTestClient> {
    const username = `${name}${++accounts}`;
    await server.createUser(username, PASSWORD);
    const client = await XmppTestClient.connect(server, { username, password: PASSWORD, resource: 'desk' });
    clients.push(client);
    return client;
  }

  it('lets a stranger find, follow and leave an open device list, and see an old client\'s vCard photo as an avatar', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    expect((await alice.iq('set', publishOpen(DEVICES, 'current', deviceList('1')))).attrs.type).toBe('result');
    const nodes = await bob.iq('get', xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' }), alice.bareJid);
    expect(nodes.getChild('query')?.getChildren('item').map((item) => item.attrs.node)).toEqual([DEVICES]);
    const subscribed = await bob.iq('set', xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node: DEVICES, jid: bob.jid })), alice.bareJid);
    expect(subscribed.getChild('pubsub')?.getChild('subscription')?.attrs).toMatchObject({ node: DEVICES, jid: bob.jid, subscription: 'subscribed' });
    expect(deviceIds(await bob.expect(eventOf(DEVICES)))).toEqual(['1']);
    await alice.iq('set', publishOpen(DEVICES, 'current', deviceList('1', '2')));
    expect(deviceIds(await bob.expect(eventOf(DEVICES)))).toEqual(['1', '2']);
    // An old client's vCard PHOTO becomes alice's avatar; bob follows the metadata node too.
    await alice.iq('set', xml('vCard', { xmlns: 'vcard-temp' }, xml('PHOTO', {}, xml('TYPE', {}, 'image/png'), xml('BINVAL', {}, BINVAL))));
    expect((await bob.iq('set', xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node: METADATA, jid: bob.jid })), alice.bareJid)).attrs.type).toBe('result');
    const avatar = await bob.expect(eventOf(METADATA));
    expect(avatar.getChild('event', NS_EVENT)?.getChild('items')?.getChild('item')?.attrs.id).toBe(createHash('sha1').update(Buffer.from(BINVAL, 'base64')).digest('hex'));
    const left = await bob.iq('set', xml('pubsub', { xmlns: NS_PUBSUB }, xml('unsubscribe', { node: DEVICES, jid: bob.jid })), alice.bareJid);
    expect(left.attrs.type).toBe('result');
    await alice.iq('set', publishOpen(DEVICES, 'current', deviceList('3')));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take(eventOf(DEVICES))).toEqual([]);
  });
});

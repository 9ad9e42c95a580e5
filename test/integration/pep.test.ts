// XEP-0163 PEP over XEP-0060 with XEP-0223 publish-options, over real sockets with two (and
// three) independent clients, on one node and with the parties on different nodes ('cluster').
// OMEMO-shaped flows (XEP-0384), avatars (XEP-0084 with the XEP-0398 hash in presence), nick
// (XEP-0172) and bookmarks (XEP-0402) synchronised between two resources.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { deleteAccount } from '../../src/core/accounts.js';
import { befriend, xml } from '../support/client.js';
import { condition } from '../support/fixture.js';
import { announce, eventItems, itemsXml, publishXml } from '../support/pep.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';

const DEVICES = 'eu.siacs.conversations.axolotl.devicelist';
const BUNDLE = (device: number): string => `eu.siacs.conversations.axolotl.bundles:${device}`;
const AXOLOTL = 'eu.siacs.conversations.axolotl';
const METADATA = 'urn:xmpp:avatar:metadata';
const BOOKMARKS = 'urn:xmpp:bookmarks:1';
const NICK = 'http://jabber.org/protocol/nick';
const devices = (...ids: number[]): string => `<list xmlns='${AXOLOTL}'>${ids.map((id) => `<device id='${id}'/>`).join('')}</list>`;
const bundle = (device: number): string => `<bundle xmlns='${AXOLOTL}'><signedPreKeyPublic signedPreKeyId='1'>key-${device}</signedPreKeyPublic><identityKey>id-${device}</identityKey></bundle>`;
const errorCondition = (stanza: Element, ns: string): string | undefined => stanza.getChild('error')?.getChildElements().find((child) => child.attrs.xmlns === ns)?.name;

describe.each(BACKENDS)('PEP (%s backend)', (backend) => {
  let server: TestServer;
  let n = 0;
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await server.createUser(local);
    return local;
  };

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, pepNodes: 5, pepItemBytes: 4000 } } });
  });
  afterAll(() => server.stop());

  it('lists the pep identity and the pubsub features on the account', async () => {
    const alice = await server.login(await user('alice'), 'phone');
    const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", alice.bare);
    expect(xml`<iq type='result'><query><identity category='account' type='registered'/><identity category='pubsub' type='pep'/><feature var='http://jabber.org/protocol/pubsub#publish'/><feature var='http://jabber.org/protocol/pubsub#publish-options'/></query></iq>`(info)).toBe(true);
  });

  it('lets a non-contact read an open device list and per-device bundles, and keeps a presence node closed to them', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await server.login(a, 'phone');
    const bob = await server.login(b, 'laptop');
    const published = await alice.iq('set', publishXml(DEVICES, 'current', devices(1001), { 'pubsub#access_model': 'open' }));
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='${DEVICES}'><item id='current'/></publish></pubsub></iq>`(published)).toBe(true);
    for (const device of [1001, 1002]) {
      const reply = await alice.iq('set', publishXml(BUNDLE(device), 'current', bundle(device), { 'pubsub#access_model': 'open', 'pubsub#max_items': 'max' }));
      expect(reply.attrs.type).toBe('result');
    }
    const list = await bob.iq('get', itemsXml(DEVICES), alice.bare);
    expect(xml`<iq type='result' from='${alice.bare}'><pubsub><items node='${DEVICES}'><item id='current'><list xmlns='${AXOLOTL}'><device id='1001'/></list></item></items></pubsub></iq>`(list)).toBe(true);
    const second = await bob.iq('get', itemsXml(BUNDLE(1002)), alice.bare);
    expect(second.getChild('pubsub')?.getChild('items')?.getChild('item')?.getChild('bundle')?.getChildText('identityKey')).toBe('id-1002');
    await alice.iq('set', publishXml('urn:test:private', 'x', "<secret xmlns='urn:test'/>"));
    const refused = await bob.iq('get', itemsXml('urn:test:private'), alice.bare);
    expect(condition(refused)).toBe('not-authorized');
    expect(errorCondition(refused, 'http://jabber.org/protocol/pubsub#errors')).toBe('presence-subscription-required');
    const missing = await bob.iq('get', itemsXml('urn:test:none'), alice.bare);
    expect(condition(missing)).toBe('item-not-found');
  });

  it('answers precondition-not-met when publish-options conflict with the node, and keeps items by max_items and id', async () => {
    const alice = await server.login(await user('alice'), 'phone');
    await alice.iq('set', publishXml('urn:test:list', 'a', "<v xmlns='urn:test'>1</v>", { 'pubsub#max_items': '2', 'pubsub#access_model': 'open' }));
    const conflict = await alice.iq('set', publishXml('urn:test:list', 'b', "<v xmlns='urn:test'>2</v>", { 'pubsub#access_model': 'presence' }));
    expect(condition(conflict)).toBe('conflict');
    expect(errorCondition(conflict, 'http://jabber.org/protocol/pubsub#errors')).toBe('precondition-not-met');
    for (const id of ['b', 'c']) await alice.iq('set', publishXml('urn:test:list', id, `<v xmlns='urn:test'>${id}</v>`, { 'pubsub#max_items': '2' }));
    const all = await alice.iq('get', itemsXml('urn:test:list'));
    expect(all.getChild('pubsub')?.getChild('items')?.getChildren('item').map((item) => item.attrs.id)).toEqual(['c', 'b']);
    const newest = await alice.iq('get', itemsXml('urn:test:list', " max_items='1'"));
    expect(newest.getChild('pubsub')?.getChild('items')?.getChildren('item').map((item) => item.attrs.id)).toEqual(['c']);
    const byId = await alice.iq('get', "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:test:list'><item id='b'/></items></pubsub>");
    expect(byId.getChild('pubsub')?.getChild('items')?.getChildren('item').map((item) => item.attrs.id)).toEqual(['b']);
  });

  it('refuses what a limit or another account forbids, with the XEP-0060 errors', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await server.login(a, 'phone');
    const bob = await server.login(b, 'laptop');
    const big = await alice.iq('set', publishXml('urn:test:big', '1', `<b xmlns='urn:test'>${'x'.repeat(5000)}</b>`));
    expect(errorCondition(big, 'http://jabber.org/protocol/pubsub#errors')).toBe('payload-too-big');
    for (let node = 0; node < 5; node++) expect((await alice.iq('set', publishXml(`urn:test:n${node}`, '1', "<x xmlns='urn:test'/>"))).attrs.type).toBe('result');
    const sixth = await alice.iq('set', publishXml('urn:test:n5', '1', "<x xmlns='urn:test'/>"));
    expect(errorCondition(sixth, 'http://jabber.org/protocol/pubsub#errors')).toBe('max-nodes-exceeded');
    const foreign = await bob.iq('set', publishXml('urn:test:n0', '2', "<x xmlns='urn:test'/>"), alice.bare);
    expect(condition(foreign)).toBe('forbidden');
    const noNode = await alice.iq('set', "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish><item><x xmlns='urn:test'/></item></publish></pubsub>");
    expect(errorCondition(noNode, 'http://jabber.org/protocol/pubsub#errors')).toBe('nodeid-required');
  });

  it("sends a device list update to a contact whose client wants devicelist+notify, and not to one that does not", async () => {
    const [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
    const alice = await server.login(a, 'phone');
    const bob = await server.login(b, 'laptop');
    const carol = await server.login(c, 'desk');
    await befriend(alice, bob);
    await befriend(alice, carol);
    await announce(bob, [DEVICES]);
    await announce(carol, ['urn:test:other']);
    await bob.barrier();
    bob.clear();
    carol.clear();
    await alice.iq('set', publishXml(DEVICES, 'current', devices(1, 2), { 'pubsub#access_model': 'open' }));
    const event = await bob.expect((element) => eventItems(element, DEVICES) !== undefined);
    expect(xml`<message from='${alice.bare}' to='${bob.jid}' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='${DEVICES}'><item id='current'><list><device id='1'/><device id='2'/></list></item></items></event></message>`(event)).toBe(true);
    await alice.barrier();
    await carol.barrier();
    expect(carol.take((element) => eventItems(element, DEVICES) !== undefined)).toEqual([]);
  });

  it('sends the last published item when a contact comes online wanting it, and follows a caps change without a reconnect', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await server.login(a, 'phone');
    const bob = await server.login(b, 'laptop');
    await befriend(alice, bob);
    await alice.iq('set', publishXml(NICK, 'current', `<nick xmlns='${NICK}'>Alice</nick>`));
    await announce(bob, ['urn:test:nothing']);
    await alice.iq('set', publishXml(NICK, 'current', `<nick xmlns='${NICK}'>Alice L.</nick>`));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => eventItems(element, NICK) !== undefined)).toEqual([]);
    // New caps with nick+notify: the last item comes at once, and later events follow.
    await announce(bob, [NICK]);
    const last = await bob.expect((element) => eventItems(element, NICK) !== undefined);
    expect(eventItems(last, NICK)?.getChild('item')?.getChildText('nick')).toBe('Alice L.');
    await alice.iq('set', publishXml(NICK, 'current', `<nick xmlns='${NICK}'>Alice Liddell</nick>`));
    const next = await bob.expect((element) => eventItems(element, NICK) !== undefined);
    expect(eventItems(next, NICK)?.getChild('item')?.getChildText('nick')).toBe('Alice Liddell');
  });

  it('sends the last item to a contact whose subscription was just approved', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await server.login(a, 'phone');
    const bob = await server.login(b, 'laptop');
    await alice.iq('set', publishXml(NICK, 'current', `<nick xmlns='${NICK}'>Alice</nick>`));
    await announce(bob, [NICK]);
    await bob.barrier();
    expect(bob.take((element) => eventItems(element, NICK) !== undefined)).toEqual([]);
    bob.send(`<presence to='${alice.bare}' type='subscribe'/>`);
    await bob.barrier();
    alice.send(`<presence to='${bob.bare}' type='subscribed'/>`);
    const event = await bob.expect((element) => eventItems(element, NICK) !== undefined);
    expect(eventItems(event, NICK)?.getChild('item')?.getChildText('nick')).toBe('Alice');
  });

  it('puts the XEP-0084 avatar hash into presence as vcard-temp:x:update (XEP-0398)', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await server.login(a, 'phone');
    const bob = await server.login(b, 'laptop');
    await befriend(alice, bob);
    bob.send('<presence/>');
    await bob.barrier();
    bob.clear();
    const hash = '111f4b3c50d7b0df729d299bc6f8e9ef9066971f';
    await alice.iq('set', publishXml('urn:xmpp:avatar:data', hash, "<data xmlns='urn:xmpp:avatar:data'>iVBORw0KGgo=</data>"));
    await alice.iq('set', publishXml(METADATA, hash, `<metadata xmlns='${METADATA}'><info bytes='8' id='${hash}' type='image/png' height='1' width='1'/></metadata>`));
    alice.send('<presence/>');
    const presence = await bob.expect((element) => element.name === 'presence' && element.attrs.from === alice.jid);
    expect(xml`<presence><x xmlns='vcard-temp:x:update'><photo>${hash}</photo></x></presence>`(presence)).toBe(true);
    // XEP-0398: the avatar is the vCard's PHOTO for clients that read vCards (XEP-0153).
    const vcard = await bob.iq('get', "<vCard xmlns='vcard-temp'/>", alice.bare);
    expect(xml`<iq type='result'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard></iq>`(vcard)).toBe(true);
  });

  it('synchronises XEP-0402 bookmarks between two resources of one account and to no contact', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const phone = await server.login(a, 'phone');
    const laptop = await server.login(a, 'laptop');
    const bob = await server.login(b, 'desk');
    await befriend(phone, bob);
    await announce(phone, [BOOKMARKS]);
    await announce(laptop, [BOOKMARKS]);
    await announce(bob, [BOOKMARKS]);
    await laptop.barrier();
    laptop.clear();
    const options = { 'pubsub#persist_items': 'true', 'pubsub#access_model': 'whitelist', 'pubsub#max_items': 'max', 'pubsub#send_last_published_item': 'never' };
    const reply = await phone.iq('set', publishXml(BOOKMARKS, 'council@chat.example', "<conference xmlns='urn:xmpp:bookmarks:1' name='Council' autojoin='true'><nick>alice</nick></conference>", options));
    expect(reply.attrs.type).toBe('result');
    const event = await laptop.expect((element) => eventItems(element, BOOKMARKS) !== undefined);
    expect(xml`<message from='${phone.bare}'><event><items node='${BOOKMARKS}'><item id='council@chat.example'><conference name='Council' autojoin='true'/></item></items></event></message>`(event)).toBe(true);
    const retract = await phone.iq('set', `<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='${BOOKMARKS}' notify='true'><item id='council@chat.example'/></retract></pubsub>`);
    expect(retract.attrs.type).toBe('result');
    const retracted = await laptop.expect((element) => eventItems(element, BOOKMARKS)?.getChild('retract') !== undefined);
    expect(eventItems(retracted, BOOKMARKS)?.getChild('retract')?.attrs.id).toBe('council@chat.example');
    await phone.barrier();
    await bob.barrier();
    expect(bob.take((element) => eventItems(element, BOOKMARKS) !== undefined)).toEqual([]);
    const foreign = await bob.iq('get', itemsXml(BOOKMARKS), phone.bare);
    expect(condition(foreign)).toBe('not-allowed');
  });

  it('converts between XEP-0048 bookmarks (private XML, legacy PEP node) and XEP-0402 bookmarks (XEP-0402 §5.3, XEP-0411)', async () => {
    const a = await user('alice');
    const modern = await server.login(a, 'modern');
    const legacy = await server.login(a, 'legacy');
    await announce(modern, [BOOKMARKS]);
    await modern.barrier();
    modern.clear();
    const info = await legacy.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", legacy.bare);
    expect(xml`<iq type='result'><query><feature var='urn:xmpp:bookmarks:1#compat'/></query></iq>`(info)).toBe(true);
    const set = await legacy.iq('set', "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='tea@chat.example' name='Tea' autojoin='true'><nick>al</nick></conference></storage></query>");
    expect(set.attrs.type).toBe('result');
    const event = await modern.expect((element) => eventItems(element, BOOKMARKS) !== undefined);
    expect(xml`<message><event><items node='${BOOKMARKS}'><item id='tea@chat.example'><conference xmlns='${BOOKMARKS}' name='Tea' autojoin='true'><nick>al</nick></conference></item></items></event></message>`(event)).toBe(true);
    await modern.iq('set', publishXml(BOOKMARKS, 'cake@chat.example', `<conference xmlns='${BOOKMARKS}' name='Cake'/>`, { 'pubsub#access_model': 'whitelist', 'pubsub#max_items': 'max', 'pubsub#send_last_published_item': 'never', 'pubsub#persist_items': 'true' }));
    const got = await legacy.iq('get', "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>");
    expect(got.getChild('query')?.getChild('storage')?.getChildren('conference').map((conference) => conference.attrs.jid)).toEqual(['tea@chat.example', 'cake@chat.example']);
    // Leaving one out of a legacy set retracts it.
    await legacy.iq('set', "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='cake@chat.example' name='Cake'/></storage></query>");
    const retracted = await modern.expect((element) => eventItems(element, BOOKMARKS)?.getChild('retract')?.attrs.id === 'tea@chat.example');
    expect(retracted.attrs.from).toBe(legacy.bare);
    const left = await modern.iq('get', itemsXml(BOOKMARKS));
    expect(left.getChild('pubsub')?.getChild('items')?.getChildren('item').map((item) => item.attrs.id)).toEqual(['cake@chat.example']);
    // XEP-0411: the private XML list is in the legacy PEP node too, and one published there is converted.
    const legacyPep = await modern.iq('get', itemsXml('storage:bookmarks'));
    expect(xml`<iq type='result'><pubsub><items node='storage:bookmarks'><item id='current'><storage xmlns='storage:bookmarks'><conference jid='cake@chat.example'/></storage></item></items></pubsub></iq>`(legacyPep)).toBe(true);
    await legacy.iq('set', publishXml('storage:bookmarks', 'current', "<storage xmlns='storage:bookmarks'><conference jid='pie@chat.example' name='Pie'/></storage>", { 'pubsub#access_model': 'whitelist' }));
    await modern.expect((element) => eventItems(element, BOOKMARKS)?.getChild('item')?.attrs.id === 'pie@chat.example');
    const converted = await legacy.iq('get', "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>");
    expect(converted.getChild('query')?.getChild('storage')?.getChildren('conference').map((conference) => conference.attrs.jid)).toEqual(['pie@chat.example']);
  });

  it('answers malformed pubsub requests with errors and stays up', async () => {
    const alice = await server.login(await user('alice'), 'phone');
    const P = "xmlns='http://jabber.org/protocol/pubsub'";
    const cases: Array<[string, string]> = [
      [publishXml('urn:test:bad', '1', "<x xmlns='urn:test'/>", { 'pubsub#max_items': 'lots' }), 'bad-request'],
      [publishXml('urn:test:bad', '1', "<x xmlns='urn:test'/>", { 'pubsub#max_items': '100000' }), 'not-acceptable'],
      [publishXml('urn:test:bad', '1', "<x xmlns='urn:test'/>", { 'pubsub#access_model': 'authorize' }), 'not-acceptable'],
      [publishXml('urn:test:bad', '1', "<x xmlns='urn:test'/>", { 'pubsub#persist_items': 'maybe' }), 'bad-request'],
      [`<pubsub ${P}><publish node='n'><item id='1'><a xmlns='urn:test'/><b xmlns='urn:test'/></item></publish></pubsub>`, 'bad-request'],
      [`<pubsub ${P}><publish node='n'><item id='1'/></publish></pubsub>`, 'bad-request'],
      [`<pubsub ${P}><publish node='n'/><retract node='n'/></pubsub>`, 'bad-request'],
      [`<pubsub ${P}><retract node='n'/></pubsub>`, 'bad-request'],
      [`<pubsub ${P}><subscribe node='n' jid='${alice.bare}'/></pubsub>`, 'item-not-found'],
      [`<pubsub ${P}><options node='n' jid='${alice.bare}'/></pubsub>`, 'item-not-found'],
      [`<pubsub ${P}><frobnicate node='n'/></pubsub>`, 'feature-not-implemented'],
      [`<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><purge node='nothing'/></pubsub>`, 'item-not-found'],
      [`<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='nothing'/></pubsub>`, 'item-not-found'],
    ];
    for (const [request, expected] of cases) expect([request, condition(await alice.iq('set', request))]).toEqual([request, expected]);
    expect(condition(await alice.iq('get', itemsXml('urn:test:bad', " max_items='many'")))).toBe('bad-request');
    await alice.barrier();
  });

  it('lets a roster group read a roster node and a named contact a whitelist node, with the XEP-0060 errors for the others', async () => {
    const [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
    const alice = await server.login(a, 'phone');
    const bob = await server.login(b, 'laptop');
    const carol = await server.login(c, 'desk');
    await befriend(alice, bob);
    await befriend(alice, carol);
    await alice.iq('set', `<query xmlns='jabber:iq:roster'><item jid='${bob.bare}'><group>Friends</group></item></query>`);
    const owner = "xmlns='http://jabber.org/protocol/pubsub#owner'";
    const form = (fields: string): string => `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#node_config</value></field>${fields}</x>`;
    await alice.iq('set', publishXml('urn:test:friends', '1', "<x xmlns='urn:test'/>"));
    await alice.iq('set', `<pubsub ${owner}><configure node='urn:test:friends'>${form("<field var='pubsub#access_model'><value>roster</value></field><field var='pubsub#roster_groups_allowed'><value>Friends</value></field>")}</configure></pubsub>`);
    expect((await bob.iq('get', itemsXml('urn:test:friends'), alice.bare)).attrs.type).toBe('result');
    const notFriend = await carol.iq('get', itemsXml('urn:test:friends'), alice.bare);
    expect([condition(notFriend), errorCondition(notFriend, 'http://jabber.org/protocol/pubsub#errors')]).toEqual(['not-authorized', 'not-in-roster-group']);
    await alice.iq('set', publishXml('urn:test:listed', '1', "<x xmlns='urn:test'/>", { 'pubsub#access_model': 'whitelist' }));
    const affiliations = await alice.iq('set', `<pubsub ${owner}><affiliations node='urn:test:listed'><affiliation jid='${carol.bare}' affiliation='member'/></affiliations></pubsub>`);
    expect(affiliations.attrs.type).toBe('result');
    const listed = await alice.iq('get', `<pubsub ${owner}><affiliations node='urn:test:listed'/></pubsub>`);
    expect(xml`<iq type='result'><pubsub><affiliations node='urn:test:listed'><affiliation jid='${carol.bare}' affiliation='member'/></affiliations></pubsub></iq>`(listed)).toBe(true);
    expect((await carol.iq('get', itemsXml('urn:test:listed'), alice.bare)).attrs.type).toBe('result');
    const closed = await bob.iq('get', itemsXml('urn:test:listed'), alice.bare);
    expect([condition(closed), errorCondition(closed, 'http://jabber.org/protocol/pubsub#errors')]).toEqual(['not-allowed', 'closed-node']);
  });

  it('deletes the PEP nodes with the account, and a new account of that name starts with none', async () => {
    const local = await user('alice');
    const alice = await server.login(local, 'phone');
    await alice.iq('set', publishXml(DEVICES, 'current', devices(5), { 'pubsub#access_model': 'open' }));
    const host = server.nodes[0]!.host;
    await deleteAccount(host.state, alice.bare, host);
    await expect(host.state.pep.nodes(alice.bare)).resolves.toStrictEqual(new Map());
    await server.createUser(local);
    const bob = await server.login(await user('bob'), 'laptop');
    expect(condition(await bob.iq('get', itemsXml(DEVICES), alice.bare))).toBe('item-not-found');
  });

  it('configures, purges and deletes a node as its owner', async () => {
    const alice = await server.login(await user('alice'), 'phone');
    await alice.iq('set', publishXml('urn:test:cfg', '1', "<x xmlns='urn:test'/>"));
    const form = await alice.iq('get', "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:test:cfg'/></pubsub>");
    expect(xml`<iq type='result'><pubsub><configure node='urn:test:cfg'><x xmlns='jabber:x:data'><field var='pubsub#access_model'><value>presence</value></field></x></configure></pubsub></iq>`(form)).toBe(true);
    const set = await alice.iq('set', "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:test:cfg'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#node_config</value></field><field var='pubsub#access_model'><value>open</value></field></x></configure></pubsub>");
    expect(set.attrs.type).toBe('result');
    const again = await alice.iq('get', "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='urn:test:cfg'/></pubsub>");
    expect(xml`<iq><pubsub><configure><x><field var='pubsub#access_model'><value>open</value></field></x></configure></pubsub></iq>`(again)).toBe(true);
    expect((await alice.iq('set', "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><purge node='urn:test:cfg'/></pubsub>")).attrs.type).toBe('result');
    const empty = await alice.iq('get', itemsXml('urn:test:cfg'));
    expect(empty.getChild('pubsub')?.getChild('items')?.getChildren('item')).toEqual([]);
    expect((await alice.iq('set', "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='urn:test:cfg'/></pubsub>")).attrs.type).toBe('result');
    expect(condition(await alice.iq('get', itemsXml('urn:test:cfg')))).toBe('item-not-found');
  });
});

// XEP-0060 §6.3 subscription options on PEP nodes (pubsub#deliver, pubsub#include_body, as far as
// Prosody's mod_pep offers them) and §6.4 their defaults, with the XEP-0060 errors, over real
// sockets: on one node, on Redis, and with the parties on different nodes ('cluster').
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { befriend, xml } from '../support/client.js';
import { condition } from '../support/fixture.js';
import { eventItems, publishXml } from '../support/pep.js';
import { BACKENDS, useTestServer } from '../support/server.js';

const P = "xmlns='http://jabber.org/protocol/pubsub'";
const ERRORS = 'http://jabber.org/protocol/pubsub#errors';
const NODE = 'urn:xmpp:microblog:0';
const OPTIONS_FORM = 'http://jabber.org/protocol/pubsub#subscribe_options';
const entry = (title: string, extra = ''): string => `<entry xmlns='http://www.w3.org/2005/Atom'><title>${title}</title><author><name>Juliet</name></author>${extra}</entry>`;
const form = (fields: Record<string, string>, type = OPTIONS_FORM): string =>
  `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${type}</value></field>${Object.entries(fields).map(([name, value]) => `<field var='${name}'><value>${value}</value></field>`).join('')}</x>`;
const optionsSet = (jid: string, fields: Record<string, string>, node = NODE): string => `<pubsub ${P}><options node='${node}' jid='${jid}'>${form(fields)}</options></pubsub>`;
const optionsGet = (jid: string, node = NODE): string => `<pubsub ${P}><options node='${node}' jid='${jid}'/></pubsub>`;
const subscribeXml = (jid: string, options = ''): string => `<pubsub ${P}><subscribe node='${NODE}' jid='${jid}'/>${options}</pubsub>`;
const pubsubCondition = (stanza: Element): string | undefined => stanza.getChild('error')?.getChildElements().find((child) => child.attrs.xmlns === ERRORS)?.name;
const itemId = (element: Element): string | undefined => eventItems(element, NODE)?.getChild('item')?.attrs.id as string | undefined;
const field = (reply: Element, name: string): string | undefined =>
  reply.getChild('pubsub')?.getChildElements()[0]?.getChild('x', 'jabber:x:data')?.getChildren('field').find((candidate) => candidate.attrs.var === name)?.getChildText('value') ?? undefined;

describe.each(BACKENDS)('PEP subscription options (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { user } = fixture;

  it('holds events back while pubsub#deliver is off, and delivers again once it is on', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    await befriend(alice, bob);
    await alice.iq('set', publishXml(NODE, '1', entry('one'), { 'pubsub#send_last_published_item': 'never' }));
    expect((await bob.iq('set', subscribeXml(bob.jid as string), alice.bare)).attrs.type).toBe('result');
    const initial = await bob.iq('get', optionsGet(bob.jid as string), alice.bare);
    expect(xml`<iq type='result' from='${alice.bare}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='${NODE}' jid='${bob.jid}'><x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE' type='hidden'><value>${OPTIONS_FORM}</value></field><field var='pubsub#deliver' type='boolean'><value>1</value></field><field var='pubsub#include_body' type='boolean'><value>0</value></field></x></options></pubsub></iq>`(initial)).toBe(true);
    expect((await bob.iq('set', optionsSet(bob.jid as string, { 'pubsub#deliver': 'false' }), alice.bare)).attrs.type).toBe('result');
    expect(field(await bob.iq('get', optionsGet(bob.jid as string), alice.bare), 'pubsub#deliver')).toBe('0');
    await alice.iq('set', publishXml(NODE, '2', entry('two')));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => itemId(element) !== undefined)).toEqual([]);
    // Still subscribed meanwhile: the owner lists it.
    const listed = await alice.iq('get', `<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><subscriptions node='${NODE}'/></pubsub>`);
    expect(xml`<iq type='result'><pubsub><subscriptions node='${NODE}'><subscription jid='${bob.jid}' subscription='subscribed'/></subscriptions></pubsub></iq>`(listed)).toBe(true);
    expect((await bob.iq('set', optionsSet(bob.jid as string, { 'pubsub#deliver': '1' }), alice.bare)).attrs.type).toBe('result');
    await alice.iq('set', publishXml(NODE, '3', entry('three')));
    await bob.expect((element) => itemId(element) === '3');
  });

  it('subscribes with options in one request and answers them; pubsub#include_body adds a summary of an Atom entry', async () => {
    const [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    const carol = await fixture.server.login(c, 'desk');
    await befriend(alice, bob);
    await befriend(alice, carol);
    await alice.iq('set', publishXml(NODE, '1', entry('one'), { 'pubsub#send_last_published_item': 'never' }));
    const subscribed = await bob.iq('set', subscribeXml(bob.bare, `<options>${form({ 'pubsub#include_body': 'true' })}</options>`), alice.bare);
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscription node='${NODE}' jid='${bob.bare}' subscription='subscribed'/><options><x xmlns='jabber:x:data' type='result'><field var='pubsub#deliver'><value>1</value></field><field var='pubsub#include_body'><value>1</value></field></x></options></pubsub></iq>`(subscribed)).toBe(true);
    expect((await carol.iq('set', subscribeXml(carol.bare), alice.bare)).attrs.type).toBe('result');
    for (const client of [bob, carol]) client.send('<presence/>');
    for (const client of [bob, carol]) await client.barrier();
    await alice.iq('set', publishXml(NODE, 'post', entry('Hello', '<summary>A first post</summary>')));
    const withBody = await bob.expect((element) => itemId(element) === 'post');
    expect(withBody.getChildText('body')).toBe('A first post');
    const plain = await carol.expect((element) => itemId(element) === 'post');
    expect(plain.getChild('body')).toBeUndefined();
    await alice.iq('set', publishXml(NODE, 'titled', entry('Balcony')));
    expect((await bob.expect((element) => itemId(element) === 'titled')).getChildText('body')).toBe('Juliet posted Balcony');
    // A payload that is no Atom entry has nothing to summarise.
    await alice.iq('set', publishXml('urn:test:other', 'x', "<x xmlns='urn:test'>raw</x>"));
    await alice.iq('set', `<pubsub ${P}><retract node='${NODE}' notify='1'><item id='titled'/></retract></pubsub>`);
    const retracted = await bob.expect((element) => element.getChild('event')?.getChild('items')?.getChild('retract') !== undefined);
    expect(retracted.getChild('body')).toBeUndefined();
  });

  it('answers the defaults (§6.4) and refuses options PEP does not keep, with the XEP-0060 errors', async () => {
    const [a, b, c] = [await user('alice'), await user('bob'), await user('carol')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    const carol = await fixture.server.login(c, 'desk');
    await befriend(alice, bob);
    await alice.iq('set', publishXml(NODE, '1', entry('one'), { 'pubsub#access_model': 'open', 'pubsub#send_last_published_item': 'never' }));
    const defaults = await bob.iq('get', `<pubsub ${P}><default node='${NODE}'/></pubsub>`, alice.bare);
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><default node='${NODE}'><x xmlns='jabber:x:data' type='form'><field var='pubsub#deliver'><value>1</value></field><field var='pubsub#include_body'><value>0</value></field></x></default></pubsub></iq>`(defaults)).toBe(true);
    expect(condition(await bob.iq('get', `<pubsub ${P}><default node='urn:test:none'/></pubsub>`, alice.bare))).toBe('item-not-found');
    const notSubscribed = await bob.iq('get', optionsGet(bob.jid as string), alice.bare);
    expect([condition(notSubscribed), pubsubCondition(notSubscribed)]).toEqual(['unexpected-request', 'not-subscribed']);
    await bob.iq('set', subscribeXml(bob.jid as string), alice.bare);
    await carol.iq('set', subscribeXml(carol.jid as string), alice.bare);
    const cases: Array<[string, 'get' | 'set', string, string | undefined]> = [
      [`<pubsub ${P}><options node='${NODE}'/></pubsub>`, 'get', 'bad-request', 'jid-required'],
      [`<pubsub ${P}><options jid='${bob.jid}'/></pubsub>`, 'get', 'bad-request', 'nodeid-required'],
      [optionsGet(bob.jid as string, 'urn:test:none'), 'get', 'item-not-found', undefined],
      [optionsGet(carol.jid as string), 'get', 'forbidden', undefined],
      [optionsSet(bob.jid as string, { 'pubsub#show-values': 'away' }), 'set', 'bad-request', 'invalid-options'],
      [optionsSet(bob.jid as string, { 'pubsub#digest': '1' }), 'set', 'bad-request', 'invalid-options'],
      [optionsSet(bob.jid as string, { 'pubsub#deliver': 'sometimes' }), 'set', 'bad-request', 'invalid-options'],
      [`<pubsub ${P}><options node='${NODE}' jid='${bob.jid}'>${form({}, 'urn:test:form')}</options></pubsub>`, 'set', 'bad-request', 'invalid-options'],
      [subscribeXml(bob.jid as string, `<options node='${NODE}'>${form({})}</options>`), 'set', 'bad-request', undefined],
    ];
    for (const [request, type, expected, pubsub] of cases) {
      const reply = await bob.iq(type, request, alice.bare);
      expect([request, condition(reply), pubsubCondition(reply)]).toEqual([request, expected, pubsub]);
    }
    // A refused form changes nothing; the owner may read and set a subscriber's options.
    expect(field(await alice.iq('get', optionsGet(bob.jid as string)), 'pubsub#deliver')).toBe('1');
    expect((await alice.iq('set', optionsSet(bob.jid as string, { 'pubsub#deliver': '0', 'pubsub#digest': '0' }))).attrs.type).toBe('result');
    expect(field(await bob.iq('get', optionsGet(bob.jid as string), alice.bare), 'pubsub#deliver')).toBe('0');
  });

  it('lists the subscription-options and retrieve-default-sub features on the account', async () => {
    const alice = await fixture.server.login(await user('alice'), 'phone');
    const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", alice.bare);
    expect(xml`<iq type='result'><query><feature var='http://jabber.org/protocol/pubsub#subscription-options'/><feature var='http://jabber.org/protocol/pubsub#retrieve-default-sub'/></query></iq>`(info)).toBe(true);
  });
});

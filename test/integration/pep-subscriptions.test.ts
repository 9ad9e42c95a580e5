// XEP-0060 explicit subscriptions on PEP nodes (§6.1, §6.2, §5.6, §5.7, §8.8), beside the
// caps-based notifications of XEP-0163: two and three independent clients over real sockets, on
// one node and with the parties on different nodes ('cluster').
import { describe, expect, it } from 'vitest';
import { xml } from '../support/client.js';
import { condition } from '../support/fixture.js';
import { befriend } from '../support/client.js';
import { announce, eventItems, publishXml } from '../support/pep.js';
import { BACKENDS, useTestServer } from '../support/server.js';
import type { Element } from 'ltx';

const P = "xmlns='http://jabber.org/protocol/pubsub'";
const OWNER = "xmlns='http://jabber.org/protocol/pubsub#owner'";
const ERRORS = 'http://jabber.org/protocol/pubsub#errors';
const NODE = 'urn:test:status';
const status = (text: string): string => `<status xmlns='urn:test'>${text}</status>`;
const subscribeXml = (node: string, jid: string): string => `<pubsub ${P}><subscribe node='${node}' jid='${jid}'/></pubsub>`;
const unsubscribeXml = (node: string, jid: string): string => `<pubsub ${P}><unsubscribe node='${node}' jid='${jid}'/></pubsub>`;
const pubsubCondition = (stanza: Element): string | undefined => stanza.getChild('error')?.getChildElements().find((child) => child.attrs.xmlns === ERRORS)?.name;
const itemId = (element: Element, node = NODE): string | undefined => eventItems(element, node)?.getChild('item')?.attrs.id as string | undefined;

describe.each(BACKENDS)('PEP subscriptions (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { user } = fixture;


  it('lets a contact subscribe without +notify: the last item at once, then each event, until it unsubscribes', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    await befriend(alice, bob);
    await alice.iq('set', publishXml(NODE, 'first', status('one')));
    const subscribed = await bob.iq('set', subscribeXml(NODE, bob.jid as string), alice.bare);
    expect(xml`<iq type='result' from='${alice.bare}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscription node='${NODE}' jid='${bob.jid}' subscription='subscribed'/></pubsub></iq>`(subscribed)).toBe(true);
    const last = await bob.expect((element) => itemId(element) === 'first');
    expect(xml`<message from='${alice.bare}' to='${bob.jid}' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='${NODE}'><item id='first'><status>one</status></item></items></event></message>`(last)).toBe(true);
    await alice.iq('set', publishXml(NODE, 'second', status('two')));
    await bob.expect((element) => itemId(element) === 'second');
    // The owner sees the subscriber; the subscriber sees its own subscription.
    const listed = await alice.iq('get', `<pubsub ${OWNER}><subscriptions node='${NODE}'/></pubsub>`);
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><subscriptions node='${NODE}'><subscription jid='${bob.jid}' subscription='subscribed'/></subscriptions></pubsub></iq>`(listed)).toBe(true);
    const own = await bob.iq('get', `<pubsub ${P}><subscriptions/></pubsub>`, alice.bare);
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscriptions><subscription node='${NODE}' jid='${bob.jid}' subscription='subscribed'/></subscriptions></pubsub></iq>`(own)).toBe(true);
    const unsubscribed = await bob.iq('set', unsubscribeXml(NODE, bob.jid as string), alice.bare);
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscription node='${NODE}' jid='${bob.jid}' subscription='none'/></pubsub></iq>`(unsubscribed)).toBe(true);
    await alice.iq('set', publishXml(NODE, 'third', status('three')));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => itemId(element) === 'third')).toEqual([]);
    const again = await bob.iq('set', unsubscribeXml(NODE, bob.jid as string), alice.bare);
    expect([condition(again), pubsubCondition(again)]).toEqual(['unexpected-request', 'not-subscribed']);
  });

  it('lets a stranger subscribe to an open node only, with the XEP-0060 errors otherwise', async () => {
    const [a, c] = [await user('alice'), await user('carol')];
    const alice = await fixture.server.login(a, 'phone');
    const carol = await fixture.server.login(c, 'desk');
    await alice.iq('set', publishXml('urn:test:open', '1', status('open'), { 'pubsub#access_model': 'open', 'pubsub#send_last_published_item': 'never' }));
    await alice.iq('set', publishXml(NODE, '1', status('closed')));
    const closed = await carol.iq('set', subscribeXml(NODE, carol.jid as string), alice.bare);
    expect([condition(closed), pubsubCondition(closed)]).toEqual(['not-authorized', 'presence-subscription-required']);
    const missing = await carol.iq('set', subscribeXml('urn:test:none', carol.jid as string), alice.bare);
    expect(condition(missing)).toBe('item-not-found');
    const forOther = await carol.iq('set', subscribeXml('urn:test:open', alice.jid as string), alice.bare);
    expect([condition(forOther), pubsubCondition(forOther)]).toEqual(['bad-request', 'invalid-jid']);
    const noJid = await carol.iq('set', `<pubsub ${P}><subscribe node='urn:test:open'/></pubsub>`, alice.bare);
    expect(condition(noJid)).toBe('bad-request');
    expect((await carol.iq('set', subscribeXml('urn:test:open', carol.jid as string), alice.bare)).attrs.type).toBe('result');
    // send_last_published_item=never: nothing at once, the next item does come.
    await alice.iq('set', publishXml('urn:test:open', '2', status('open 2')));
    const event = await carol.expect((element) => eventItems(element, 'urn:test:open') !== undefined);
    expect(itemId(event, 'urn:test:open')).toBe('2');
    await carol.barrier();
    expect(carol.take((element) => eventItems(element, 'urn:test:open') !== undefined)).toEqual([]);
  });

  it('delivers to each available resource of a bare JID subscriber once, also when its caps want the node', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const laptop = await fixture.server.login(b, 'laptop');
    const tablet = await fixture.server.login(b, 'tablet');
    await befriend(alice, laptop);
    await announce(laptop, [NODE]);
    tablet.send('<presence/>');
    await tablet.barrier();
    await alice.iq('set', publishXml(NODE, 'first', status('one'), { 'pubsub#send_last_published_item': 'never' }));
    await laptop.expect((element) => itemId(element) === 'first');
    expect((await tablet.iq('set', subscribeXml(NODE, tablet.bare), alice.bare)).attrs.type).toBe('result');
    await alice.iq('set', publishXml(NODE, 'second', status('two')));
    for (const resource of [laptop, tablet]) await resource.expect((element) => itemId(element) === 'second');
    await alice.barrier();
    for (const resource of [laptop, tablet]) {
      await resource.barrier();
      expect(resource.take((element) => itemId(element) === 'second')).toEqual([]);
    }
  });

  it('stops events to a subscriber the access model no longer lets read, and tells it of the deletion while it may', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    await befriend(alice, bob);
    await alice.iq('set', publishXml(NODE, 'first', status('one'), { 'pubsub#send_last_published_item': 'never' }));
    await bob.iq('set', subscribeXml(NODE, bob.jid as string), alice.bare);
    await alice.iq('set', `<pubsub ${OWNER}><delete node='${NODE}'/></pubsub>`);
    const deleted = await bob.expect((element) => element.getChild('event')?.getChild('delete') !== undefined);
    expect(xml`<message from='${alice.bare}'><event xmlns='http://jabber.org/protocol/pubsub#event'><delete node='${NODE}'/></event></message>`(deleted)).toBe(true);
    // A node made anew has no subscribers.
    await alice.iq('set', publishXml(NODE, 'new', status('new')));
    const none = await alice.iq('get', `<pubsub ${OWNER}><subscriptions node='${NODE}'/></pubsub>`);
    expect(none.getChild('pubsub')?.getChild('subscriptions')?.getChildren('subscription')).toEqual([]);
    await bob.iq('set', subscribeXml(NODE, bob.jid as string), alice.bare);
    await bob.expect((element) => itemId(element) === 'new');
    const form = `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#node_config</value></field><field var='pubsub#access_model'><value>whitelist</value></field></x>`;
    expect((await alice.iq('set', `<pubsub ${OWNER}><configure node='${NODE}'>${form}</configure></pubsub>`)).attrs.type).toBe('result');
    await alice.iq('set', publishXml(NODE, 'secret', status('secret')));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => itemId(element) === 'secret')).toEqual([]);
  });

  it('lets the owner subscribe and unsubscribe others, and answers affiliations', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'laptop');
    await alice.iq('set', publishXml(NODE, '1', status('one'), { 'pubsub#access_model': 'whitelist', 'pubsub#send_last_published_item': 'never' }));
    const refused = await alice.iq('set', `<pubsub ${OWNER}><subscriptions node='${NODE}'><subscription jid='${bob.jid}' subscription='subscribed'/></subscriptions></pubsub>`);
    expect([condition(refused), pubsubCondition(refused)]).toEqual(['not-allowed', 'closed-node']);
    await alice.iq('set', `<pubsub ${OWNER}><affiliations node='${NODE}'><affiliation jid='${bob.bare}' affiliation='member'/></affiliations></pubsub>`);
    const set = await alice.iq('set', `<pubsub ${OWNER}><subscriptions node='${NODE}'><subscription jid='${bob.jid}' subscription='subscribed'/></subscriptions></pubsub>`);
    expect(set.attrs.type).toBe('result');
    await alice.iq('set', publishXml(NODE, '2', status('two')));
    await bob.expect((element) => itemId(element) === '2');
    const mine = await bob.iq('get', `<pubsub ${P}><affiliations/></pubsub>`, alice.bare);
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations><affiliation node='${NODE}' affiliation='member'/></affiliations></pubsub></iq>`(mine)).toBe(true);
    const owned = await alice.iq('get', `<pubsub ${P}><affiliations/></pubsub>`);
    expect(xml`<iq type='result'><pubsub xmlns='http://jabber.org/protocol/pubsub'><affiliations><affiliation node='${NODE}' affiliation='owner'/></affiliations></pubsub></iq>`(owned)).toBe(true);
    const stranger = await bob.iq('get', `<pubsub ${OWNER}><subscriptions node='${NODE}'/></pubsub>`, alice.bare);
    expect(condition(stranger)).toBe('forbidden');
    await alice.iq('set', `<pubsub ${OWNER}><subscriptions node='${NODE}'><subscription jid='${bob.jid}' subscription='none'/></subscriptions></pubsub>`);
    await alice.iq('set', publishXml(NODE, '3', status('three')));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => itemId(element) === '3')).toEqual([]);
  });
});

// XEP-0163 §4.3 for a contact's resource known to the owner only by the directed presence with
// caps it sent (RFC 6121 §4.6), as Prosody's mod_pep counts it: on one node, on Redis, and with
// the parties on different nodes ('cluster', where the presence is handled on the contact's
// node and the publish on the owner's, and again on the other node by a second resource).
import { describe, expect, it } from 'vitest';
import { subscribe, xml } from '../support/client.js';
import { announceTo, capsFeatures, eventItems, publishXml, sendCaps } from '../support/pep.js';
import { BACKENDS, useTestServer } from '../support/server.js';
import type { Element } from 'ltx';

const NODE = 'urn:test:mood';
const mood = (text: string): string => `<mood xmlns='urn:test:mood'>${text}</mood>`;
const itemId = (element: Element): string | undefined => eventItems(element, NODE)?.getChild('item')?.attrs.id as string | undefined;

describe.each(BACKENDS)('PEP events by directed presence (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { user } = fixture;

  it('sends the last item, then each event, to a subscribed contact\'s resource that sent the owner only directed presence with +notify', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'hidden');
    await subscribe(bob, alice);
    alice.send('<presence/>');
    await alice.iq('set', publishXml(NODE, 'before', mood('calm')));
    // No broadcast presence from bob: alice alone hears of this resource.
    await announceTo(bob, alice.bare, [NODE]);
    const last = await bob.expect((element) => itemId(element) === 'before');
    expect(xml`<message from='${alice.bare}' to='${bob.jid}' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='${NODE}'><item id='before'><mood>calm</mood></item></items></event></message>`(last)).toBe(true);
    await alice.iq('set', publishXml(NODE, 'after', mood('happy')));
    const event = await bob.expect((element) => itemId(element) === 'after');
    expect(xml`<message from='${alice.bare}' to='${bob.jid}' type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='${NODE}'><item id='after'><mood>happy</mood></item></items></event></message>`(event)).toBe(true);
    // A second resource of the owner (on the other node of a cluster) publishes: bob is known there too.
    const tablet = await fixture.server.login(a, 'tablet');
    await tablet.iq('set', publishXml(NODE, 'from-tablet', mood('busy')));
    await bob.expect((element) => itemId(element) === 'from-tablet');
  });

  it('stops at a directed unavailable and at directed presence without caps, and starts again with caps', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const bob = await fixture.server.login(b, 'hidden');
    await subscribe(bob, alice);
    await announceTo(bob, alice.bare, [NODE]);
    await alice.iq('set', publishXml(NODE, '1', mood('one'), { 'pubsub#send_last_published_item': 'never' }));
    await bob.expect((element) => itemId(element) === '1');
    bob.send(`<presence to='${alice.bare}' type='unavailable'/>`);
    await bob.barrier();
    await alice.iq('set', publishXml(NODE, '2', mood('two')));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => itemId(element) === '2')).toEqual([]);
    const features = capsFeatures([NODE], 'again');
    sendCaps(bob, features, alice.bare);
    const query = await bob.expect((element) => element.name === 'iq' && element.attrs.type === 'get');
    bob.send(`<iq type='result' id='${String(query.attrs.id)}' to='${String(query.attrs.from)}'><query xmlns='http://jabber.org/protocol/disco#info' node='${String(query.getChild('query')?.attrs.node)}'><identity category='client' type='pc' name='Test'/>${features.map((feature) => `<feature var='${feature}'/>`).join('')}</query></iq>`);
    await bob.barrier();
    await alice.iq('set', publishXml(NODE, '3', mood('three')));
    await bob.expect((element) => itemId(element) === '3');
    bob.send(`<presence to='${alice.bare}'/>`);
    await bob.barrier();
    await alice.iq('set', publishXml(NODE, '4', mood('four')));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take((element) => itemId(element) === '4')).toEqual([]);
  });

  it('counts no directed presence from an entity without a subscription, even to an open node (as Prosody)', async () => {
    const [a, c] = [await user('alice'), await user('carol')];
    const alice = await fixture.server.login(a, 'phone');
    const carol = await fixture.server.login(c, 'desk');
    await alice.iq('set', publishXml(NODE, '1', mood('open'), { 'pubsub#access_model': 'open' }));
    sendCaps(carol, capsFeatures([NODE], 'stranger'), alice.bare);
    await carol.barrier();
    await alice.iq('set', publishXml(NODE, '2', mood('open again')));
    await alice.barrier();
    await carol.barrier();
    // Nothing: no last item, no event, and not even a caps query (nobody needed the caps).
    expect(carol.take((element) => itemId(element) !== undefined || element.name === 'iq')).toEqual([]);
  });

  it('forgets the resource when its session ends: a later session of the same full JID gets nothing it did not ask for', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'phone');
    const first = await fixture.server.login(b, 'hidden');
    await subscribe(first, alice);
    const ver = await announceTo(first, alice.bare, [NODE]);
    await alice.iq('set', publishXml(NODE, '1', mood('one'), { 'pubsub#send_last_published_item': 'never' }));
    await first.expect((element) => itemId(element) === '1');
    await first.close();
    const again = await fixture.server.login(b, 'hidden');
    await alice.iq('set', publishXml(NODE, '2', mood('two')));
    await alice.barrier();
    await again.barrier();
    expect(again.take((element) => itemId(element) !== undefined)).toEqual([]);
    // What a session left behind without a word (its node died) names that session: it counts for no other.
    const owner = fixture.server.nodes[0]?.host.state;
    await owner?.remoteResources.set(alice.bare, again.jid as string, { ver, session: { id: 'a-session-long-gone' } }, 10, 60_000);
    await alice.iq('set', publishXml(NODE, '3', mood('three')));
    await alice.barrier();
    await again.barrier();
    expect(again.take((element) => itemId(element) !== undefined)).toEqual([]);
  });
});

// RFC 6121 §3 (managing presence subscriptions) and Appendix A (the subscription states), with
// both accounts on this fixture.server, over real sockets. Each test has its own accounts.
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { befriend, type RawClient, subscribe, xml } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_ROSTER = 'jabber:iq:roster';

/** A roster push (RFC 6121 §2.1.6) whose single item matches. */
const push = (item: (element: Element) => boolean) => (element: Element): boolean => {
  const pushed = element.getChild('query', NS_ROSTER)?.getChild('item');
  return element.name === 'iq' && element.attrs.type === 'set' && pushed !== undefined && item(pushed);
};
const isPush = (element: Element): boolean => element.name === 'iq' && element.attrs.type === 'set' && element.getChild('query', NS_ROSTER) !== undefined;
const isSubscription = (element: Element): boolean =>
  element.name === 'presence' && ['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed'].includes(String(element.attrs.type));

/** The roster item for `jid` as a roster get returns it (undefined when there is none). */
async function rosterItem(client: RawClient, jid: string): Promise<Element | undefined> {
  const result = await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
  return result.getChild('query', NS_ROSTER)?.getChildren('item').find((item: Element) => item.attrs.jid === jid);
}

describe.each(BACKENDS)('presence subscriptions (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;
  /** Logged in, roster fetched (interested) and available: a typical client. */
  const online = async (local: string, resource = 'desk'): Promise<RawClient> => {
    const client = await fixture.server.login(local, resource);
    await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
    client.send('<presence/>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    client.clear();
    return client;
  };


  it('goes through the whole handshake: none, none+ask, to/from, then both', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));

    // RFC 6121 §3.1.1-3.1.3: alice asks.
    alice.send(`<presence id='sub1' to='${bob.bare}' type='subscribe'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='none' ask='subscribe'/>`));
    await bob.expect(xml`<presence id='sub1' from='${alice.bare}' to='${bob.bare}' type='subscribe'/>`);

    // §3.1.4-3.1.6: bob approves.
    bob.send(`<presence id='ok1' to='${alice.bare}' type='subscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='from'/>`));
    await alice.expect(xml`<presence id='ok1' from='${bob.bare}' to='${alice.bare}' type='subscribed'/>`);
    const to = await alice.expect(push(xml`<item jid='${bob.bare}' subscription='to'/>`));
    expect(to.getChild('query')?.getChild('item')?.attrs.ask).toBeUndefined();
    // ... and bob's current presence follows the approval.
    await alice.expect(xml`<presence from='${bob.jid}' to='${alice.bare}'/>`);

    // The other direction makes it mutual.
    bob.send(`<presence id='sub2' to='${alice.bare}' type='subscribe'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='from' ask='subscribe'/>`));
    await alice.expect(xml`<presence id='sub2' from='${bob.bare}' to='${alice.bare}' type='subscribe'/>`);
    alice.send(`<presence id='ok2' to='${bob.bare}' type='subscribed'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='both'/>`));
    await bob.expect(xml`<presence id='ok2' from='${alice.bare}' to='${bob.bare}' type='subscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='both'/>`));
    await bob.expect(xml`<presence from='${alice.jid}' to='${bob.bare}'/>`);

    expect(xml`<item jid='${bob.bare}' subscription='both'/>`((await rosterItem(alice, bob.bare)) as Element)).toBe(true);
    expect(xml`<item jid='${alice.bare}' subscription='both'/>`((await rosterItem(bob, alice.bare)) as Element)).toBe(true);
  });

  it('sends no presence receipt to the requester of a subscription', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
    await bob.expect(xml`<presence type='subscribe'/>`);
    await alice.barrier();
    expect(alice.take('presence')).toEqual([]);
  });

  it('delivers an inbound request to every available resource and not to a connected but unavailable one', async () => {
    const alice = await online(await user('alice'));
    const bobLocal = await user('bob');
    const desk = await online(bobLocal, 'desk');
    const phone = await online(bobLocal, 'phone');
    const idle = await fixture.server.login(bobLocal, 'idle');
    await idle.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
    desk.clear();
    alice.send(`<presence to='${desk.bare}' type='subscribe'/>`);
    await desk.expect(xml`<presence from='${alice.bare}' type='subscribe'/>`);
    await phone.expect(xml`<presence from='${alice.bare}' type='subscribe'/>`);
    await alice.barrier();
    await idle.barrier();
    expect(idle.take(isSubscription)).toEqual([]);
  });

  it('does not deliver a repeated request again', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
    await bob.expect(xml`<presence type='subscribe'/>`);
    alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
    await alice.barrier();
    await bob.barrier();
    expect(bob.take(isSubscription)).toEqual([]);
  });

  it('keeps a request for an offline contact and delivers it with the next initial presence', async () => {
    const alice = await online(await user('alice'));
    const bobLocal = await user('bob');
    alice.send(`<presence id='sub1' to='${bobLocal}@localhost' type='subscribe'><status>It is Alice</status></presence>`);
    await alice.expect(push(xml`<item jid='${bobLocal}@localhost' ask='subscribe'/>`));
    await alice.barrier();

    const bob = await fixture.server.login(bobLocal, 'desk');
    await bob.barrier();
    expect(bob.take(isSubscription)).toEqual([]); // not before presence
    bob.send('<presence/>');
    const request = await bob.expect(xml`<presence from='${alice.bare}' to='${bob.bare}' type='subscribe'/>`);
    expect(request.getChildText('status')).toBe('It is Alice');

    // Still pending, so a later initial presence gets it again.
    const later = await fixture.server.login(bobLocal, 'phone');
    later.send('<presence/>');
    await later.expect(xml`<presence from='${alice.bare}' type='subscribe'/>`);
  });

  it('approves a request automatically when the contact pre-approved it', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));

    // RFC 6121 §3.4: bob approves before alice asks.
    bob.send(`<presence to='${alice.bare}' type='subscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='none'/>`));
    await bob.barrier();
    await alice.barrier();
    expect(alice.take(isSubscription)).toEqual([]); // nothing is sent before alice asks

    alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
    await alice.expect(xml`<presence from='${bob.bare}' to='${alice.bare}' type='subscribed'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='to'/>`));
    await alice.expect(xml`<presence from='${bob.jid}'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='from'/>`));
    await alice.barrier();
    await bob.barrier();
    expect(bob.take(isSubscription)).toEqual([]); // bob is not asked
  });

  it('unsubscribe from the subscriber: roster pushes on both sides, the unsubscribe, and unavailable to the unsubscriber', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    await befriend(alice, bob);

    // RFC 6121 §3.3: alice no longer wants bob's presence.
    alice.send(`<presence id='uns1' to='${bob.bare}' type='unsubscribe'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='from'/>`));
    await bob.expect(xml`<presence id='uns1' from='${alice.bare}' to='${bob.bare}' type='unsubscribe'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='to'/>`));
    await alice.expect(xml`<presence from='${bob.jid}' type='unavailable'/>`);

    // bob's presence no longer reaches alice; alice's still reaches bob.
    bob.send('<presence><show>away</show></presence>');
    alice.send('<presence><show>dnd</show></presence>');
    await bob.expect(xml`<presence from='${alice.jid}'><show>dnd</show></presence>`);
    await bob.barrier();
    await alice.barrier();
    expect(alice.take(xml`<presence from='${bob.jid}'/>`)).toEqual([]);
  });

  it('unsubscribed from the contact: roster pushes on both sides, the unsubscribed, and unavailable to the former subscriber', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    await befriend(alice, bob);

    // RFC 6121 §3.2: bob cancels alice's subscription to him.
    bob.send(`<presence id='can1' to='${alice.bare}' type='unsubscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='to'/>`));
    await alice.expect(xml`<presence id='can1' from='${bob.bare}' to='${alice.bare}' type='unsubscribed'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='from'/>`));
    await alice.expect(xml`<presence from='${bob.jid}' type='unavailable'/>`);
  });

  it('unsubscribe and unsubscribed from the other side as well end at none', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    await befriend(alice, bob);

    bob.send(`<presence to='${alice.bare}' type='unsubscribe'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='from'/>`));
    await alice.expect(xml`<presence from='${bob.bare}' type='unsubscribe'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='to'/>`));
    await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'/>`);

    alice.send(`<presence to='${bob.bare}' type='unsubscribe'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='none'/>`));
    await bob.expect(xml`<presence from='${alice.bare}' type='unsubscribe'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='none'/>`));
    await alice.expect(xml`<presence from='${bob.jid}' type='unavailable'/>`);
  });

  it('cancels a pending request with unsubscribed, and the request is not delivered again', async () => {
    const alice = await online(await user('alice'));
    const bobLocal = await user('bob');
    alice.send(`<presence to='${bobLocal}@localhost' type='subscribe'/>`);
    await alice.expect(push(xml`<item jid='${bobLocal}@localhost' ask='subscribe'/>`));
    const bob = await online(bobLocal); // gets the request with its initial presence
    bob.send(`<presence to='${alice.bare}' type='unsubscribed'/>`);
    await alice.expect(xml`<presence from='${bob.bare}' type='unsubscribed'/>`);
    const pushed = await alice.expect(push(xml`<item jid='${bob.bare}' subscription='none'/>`));
    expect(pushed.getChild('query')?.getChild('item')?.attrs.ask).toBeUndefined();

    const later = await fixture.server.login(bobLocal, 'phone');
    later.send('<presence/>');
    await later.expect(xml`<presence from='${later.jid}'/>`);
    await later.barrier();
    expect(later.take(isSubscription)).toEqual([]);
  });

  it('answers a request to an account that does not exist with unsubscribed', async () => {
    const alice = await online(await user('alice'));
    alice.send(`<presence to='nobody@localhost' type='subscribe'/>`);
    await alice.expect(push(xml`<item jid='nobody@localhost' subscription='none' ask='subscribe'/>`));
    await alice.expect(xml`<presence from='nobody@localhost' to='${alice.bare}' type='unsubscribed'/>`);
    const pushed = await alice.expect(push(xml`<item jid='nobody@localhost' subscription='none'/>`));
    expect(pushed.getChild('query')?.getChild('item')?.attrs.ask).toBeUndefined();
  });

  it('cancels both directions when a contact with subscription both is removed', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    await befriend(alice, bob);

    // RFC 6121 §2.5.2: removal sends unsubscribe and unsubscribed on the user's behalf.
    alice.send(`<iq type='set' id='rm1'><query xmlns='${NS_ROSTER}'><item jid='${bob.bare}' subscription='remove'/></query></iq>`);
    await alice.expect(xml`<iq type='result' id='rm1'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='remove'/>`));
    await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'/>`);
    await bob.expect(xml`<presence from='${alice.bare}' to='${bob.bare}' type='unsubscribe'/>`);
    await bob.expect(xml`<presence from='${alice.bare}' to='${bob.bare}' type='unsubscribed'/>`);
    await alice.barrier();
    await bob.barrier();
    const pushes = bob.take(isPush).map((pushed) => pushed.getChild('query')?.getChild('item')?.attrs.subscription);
    expect(pushes.at(-1)).toBe('none');
    await alice.expect(xml`<presence from='${bob.jid}' type='unavailable'/>`);

    expect(xml`<item jid='${alice.bare}' subscription='none'/>`((await rosterItem(bob, alice.bare)) as Element)).toBe(true);
    expect(await rosterItem(alice, bob.bare)).toBeUndefined();
  });

  it('a removed contact that only had from is told unavailable and unsubscribed', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    await subscribe(bob, alice); // bob sees alice: alice has 'from'
    alice.send(`<iq type='set' id='rm1'><query xmlns='${NS_ROSTER}'><item jid='${bob.bare}' subscription='remove'/></query></iq>`);
    await alice.expect(xml`<iq type='result' id='rm1'/>`);
    await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'/>`);
    await bob.expect(xml`<presence from='${alice.bare}' type='unsubscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='none'/>`));
  });

  it('withdraws a pending request when the requester removes the contact', async () => {
    const alice = await online(await user('alice'));
    const bobLocal = await user('bob');
    alice.send(`<presence to='${bobLocal}@localhost' type='subscribe'/>`);
    await alice.expect(push(xml`<item jid='${bobLocal}@localhost' ask='subscribe'/>`));
    alice.send(`<iq type='set' id='rm1'><query xmlns='${NS_ROSTER}'><item jid='${bobLocal}@localhost' subscription='remove'/></query></iq>`);
    await alice.expect(xml`<iq type='result' id='rm1'/>`);
    await alice.barrier();
    const bob = await fixture.server.login(bobLocal, 'desk');
    bob.send('<presence/>');
    await bob.expect(xml`<presence from='${bob.jid}'/>`);
    await bob.barrier();
    expect(bob.take(isSubscription)).toEqual([]);
  });

  it('cancels a pre-approval with unsubscribed: a later request needs approval again', async () => {
    const alice = await online(await user('alice'));
    const bob = await online(await user('bob'));
    bob.send(`<presence to='${alice.bare}' type='subscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='none'/>`));
    bob.send(`<presence to='${alice.bare}' type='unsubscribed'/>`);
    await bob.barrier();
    await alice.barrier();
    expect(alice.take(isSubscription)).toEqual([]); // neither is routed to alice
    alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
    await bob.expect(xml`<presence from='${alice.bare}' type='subscribe'/>`);
    await alice.barrier();
    expect(alice.take(xml`<presence type='subscribed'/>`)).toEqual([]);
  });

  it('ignores a subscription request to oneself', async () => {
    const alice = await online(await user('alice'));
    alice.send(`<presence to='${alice.bare}' type='subscribe'/>`);
    await alice.barrier();
    expect(alice.take(isSubscription)).toEqual([]);
    expect(alice.take(isPush)).toEqual([]);
  });
});

// RFC 6121 §4 (exchanging presence information), over real sockets. Each test has its own accounts.
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { befriend, type RawClient, subscribe, xml } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_ROSTER = 'jabber:iq:roster';
const NS_DELAY = 'urn:xmpp:delay';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

const isPresence = (element: Element): boolean => element.name === 'presence';

describe.each(BACKENDS)('presence (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;
  /** Logged in with the roster fetched, not yet available. */
  const connected = async (local: string, resource = 'desk'): Promise<RawClient> => {
    const client = await fixture.server.login(local, resource);
    await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
    return client;
  };
  /** Sends initial presence and waits for its reflection, then forgets what arrived. */
  const available = async (client: RawClient, presence = '<presence/>'): Promise<void> => {
    client.send(presence);
    await client.expect(xml`<presence from='${client.jid}'/>`);
    await client.barrier();
    client.clear();
  };


  describe('initial presence', () => {
    it('is reflected to the sender from its full JID, without a to', async () => {
      const alice = await connected(await user('alice'));
      alice.send('<presence><show>chat</show><status>Hello</status></presence>');
      const reflected = await alice.expect(xml`<presence from='${alice.jid}'><show>chat</show><status>Hello</status></presence>`);
      expect(reflected.attrs.to).toBeUndefined();
      expect(reflected.attrs.type).toBeUndefined();
    });

    it('is broadcast to contacts with subscription from or both, and to the other available resources', async () => {
      const aliceLocal = await user('alice');
      const alice = await connected(aliceLocal, 'desk');
      const phone = await connected(aliceLocal, 'phone');
      const fan = await connected(await user('fan')); // subscribed to alice: alice has 'from'
      const idol = await connected(await user('idol')); // alice is subscribed to idol: alice has 'to'
      await subscribe(fan, alice);
      await subscribe(alice, idol);
      await available(phone);
      await available(fan);
      await available(idol);

      alice.send('<presence><status>Here</status></presence>');
      await fan.expect(xml`<presence from='${alice.jid}' to='${fan.bare}'><status>Here</status></presence>`);
      await phone.expect(xml`<presence from='${alice.jid}' to='${phone.jid}'><status>Here</status></presence>`);
      await alice.barrier();
      await idol.barrier();
      expect(idol.take(xml`<presence from='${alice.jid}'/>`)).toEqual([]);
    });

    it("probes contacts with subscription to or both and delivers their current presence with a delay", async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob, '<presence><show>away</show></presence>');
      alice.send('<presence/>');
      const current = await alice.expect(xml`<presence from='${bob.jid}' to='${alice.jid}'><show>away</show></presence>`);
      expect(current.getChild('delay', NS_DELAY)?.attrs.from).toBe('localhost');
      expect(current.getChild('delay', NS_DELAY)?.attrs.stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });

    it("delivers the other available resources' presence to the new resource", async () => {
      const aliceLocal = await user('alice');
      const desk = await connected(aliceLocal, 'desk');
      const phone = await connected(aliceLocal, 'phone');
      await available(desk, '<presence><status>At my desk</status></presence>');
      phone.send('<presence/>');
      const sibling = await phone.expect(xml`<presence from='${desk.jid}' to='${phone.jid}'><status>At my desk</status></presence>`);
      expect(sibling.getChild('delay', NS_DELAY)).toBeDefined();
    });

    it('reaches no resource that is connected but not available', async () => {
      const aliceLocal = await user('alice');
      const desk = await connected(aliceLocal, 'desk');
      const idle = await connected(aliceLocal, 'idle');
      const bob = await connected(await user('bob'));
      await befriend(desk, bob);
      await idle.barrier();
      idle.clear(); // it is interested, so it saw the approvals (RFC 6121 §3.1.6)
      await available(bob);
      desk.send('<presence/>');
      await bob.expect(xml`<presence from='${desk.jid}'/>`);
      bob.send('<presence><show>xa</show></presence>');
      await desk.expect(xml`<presence from='${bob.jid}'><show>xa</show></presence>`);
      await desk.barrier();
      await bob.barrier();
      await idle.barrier();
      expect(idle.take(isPresence)).toEqual([]);
    });

    it('is broadcast with a negative priority too', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob);
      alice.send('<presence><priority>-5</priority></presence>');
      await alice.expect(xml`<presence from='${alice.jid}'><priority>-5</priority></presence>`);
      await bob.expect(xml`<presence from='${alice.jid}' to='${bob.bare}'><priority>-5</priority></presence>`);
    });

    it('sends updates to the same contacts, without a new probe', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob);
      await available(alice);
      await bob.barrier();
      bob.clear();
      alice.send('<presence><show>away</show><priority>3</priority></presence>');
      await bob.expect(xml`<presence from='${alice.jid}'><show>away</show><priority>3</priority></presence>`);
      await alice.expect(xml`<presence from='${alice.jid}'><show>away</show></presence>`);
      await alice.barrier();
      expect(alice.take(xml`<presence from='${bob.jid}'/>`)).toEqual([]);
    });
  });

  describe('unavailable presence', () => {
    it('is broadcast to contacts when the client sends it, and then again counts as offline', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob);
      await available(alice);
      await bob.barrier();
      bob.clear();
      alice.send("<presence type='unavailable'><status>Gone to lunch</status></presence>");
      await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'><status>Gone to lunch</status></presence>`);
      // A message to the bare JID is no longer delivered to the unavailable resource.
      bob.send(`<message to='${alice.bare}' type='chat'><body>hi</body></message>`);
      await bob.barrier();
      await alice.barrier();
      expect(alice.take('message')).toEqual([]);
    });

    it('is broadcast to contacts when the client closes its stream', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob);
      await available(alice);
      await alice.close();
      const gone = await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'/>`);
      expect(gone.getChild('status')).toBeUndefined();
    });

    it('is broadcast to contacts and other resources when the connection is lost', async () => {
      const aliceLocal = await user('alice');
      const alice = await connected(aliceLocal, 'desk');
      const phone = await connected(aliceLocal, 'phone');
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob);
      await available(phone);
      await available(alice);
      alice.destroy();
      await bob.expect(xml`<presence from='${alice.jid}' to='${bob.bare}' type='unavailable'/>`);
      await phone.expect(xml`<presence from='${alice.jid}' to='${phone.jid}' type='unavailable'/>`);
    });

    it('sent just before the closing tag reaches contacts once, with its status', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob);
      await available(alice);
      await bob.barrier();
      bob.clear();
      alice.send("<presence type='unavailable'><status>Good night</status></presence></stream:stream>");
      await alice.closed();
      await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'><status>Good night</status></presence>`);
      await bob.barrier();
      expect(bob.take(xml`<presence from='${alice.jid}' type='unavailable'/>`)).toEqual([]);
    });

    it('is not sent for a resource that never became available', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(bob);
      await alice.close();
      await bob.barrier();
      expect(bob.take(isPresence)).toEqual([]);
    });
  });

  describe('directed presence', () => {
    it('reaches a non-contact, who is told unavailable when the sender goes offline', async () => {
      const alice = await connected(await user('alice'));
      const carol = await connected(await user('carol'));
      await available(carol);
      await available(alice);
      alice.send(`<presence to='${carol.jid}'><status>Just for you</status></presence>`);
      await carol.expect(xml`<presence from='${alice.jid}' to='${carol.jid}'><status>Just for you</status></presence>`);
      await alice.close();
      await carol.expect(xml`<presence from='${alice.jid}' to='${carol.jid}' type='unavailable'/>`);
    });

    it('from a resource that never sent broadcast presence still ends with unavailable', async () => {
      const alice = await connected(await user('alice'));
      const carol = await connected(await user('carol'));
      await available(carol);
      alice.send(`<presence to='${carol.jid}'/>`);
      await carol.expect(xml`<presence from='${alice.jid}' to='${carol.jid}'/>`);
      alice.destroy();
      await carol.expect(xml`<presence from='${alice.jid}' to='${carol.jid}' type='unavailable'/>`);
    });

    it('tells a non-contact unavailable when the sender broadcasts unavailable', async () => {
      const alice = await connected(await user('alice'));
      const carol = await connected(await user('carol'));
      await available(carol);
      await available(alice);
      alice.send(`<presence to='${carol.bare}'/>`);
      await carol.expect(xml`<presence from='${alice.jid}' to='${carol.bare}'/>`);
      alice.send("<presence type='unavailable'/>");
      await carol.expect(xml`<presence from='${alice.jid}' type='unavailable'/>`);
    });

    it('is not followed by later broadcasts to the non-contact', async () => {
      const alice = await connected(await user('alice'));
      const carol = await connected(await user('carol'));
      await available(carol);
      await available(alice);
      alice.send(`<presence to='${carol.jid}'/>`);
      await carol.expect(xml`<presence from='${alice.jid}'/>`);
      alice.send('<presence><show>away</show></presence>');
      await alice.expect(xml`<presence from='${alice.jid}'><show>away</show></presence>`);
      await alice.barrier();
      await carol.barrier();
      expect(carol.take(isPresence)).toEqual([]);
    });

    it('to a full JID that is connected but unavailable is delivered', async () => {
      const alice = await connected(await user('alice'));
      const carol = await connected(await user('carol'));
      await available(alice);
      alice.send(`<presence to='${carol.jid}'/>`);
      await carol.expect(xml`<presence from='${alice.jid}' to='${carol.jid}'/>`);
    });
  });

  describe('probes', () => {
    it('from a subscriber are answered with the current presence of every available resource', async () => {
      const alice = await connected(await user('alice'));
      const bobLocal = await user('bob');
      const bob = await connected(bobLocal, 'desk');
      const bobPhone = await connected(bobLocal, 'phone');
      await subscribe(alice, bob);
      await available(bob);
      await available(bobPhone, '<presence><show>dnd</show></presence>');
      alice.send(`<presence to='${bob.bare}' type='probe'/>`);
      await alice.expect(xml`<presence from='${bob.jid}' to='${alice.jid}'/>`);
      await alice.expect(xml`<presence from='${bobPhone.jid}' to='${alice.jid}'><show>dnd</show><delay xmlns='${NS_DELAY}' from='localhost'/></presence>`);
    });

    it('from a subscriber when the contact is offline are answered with unavailable from the bare JID', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await subscribe(alice, bob);
      alice.send(`<presence to='${bob.bare}' type='probe'/>`);
      await alice.expect(xml`<presence from='${bob.bare}' type='unavailable'/>`);
    });

    it('from a non-subscriber reveal nothing', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await available(bob);
      alice.send(`<presence to='${bob.bare}' type='probe'/>`);
      await alice.barrier();
      expect(alice.take(xml`<presence from='${bob.jid}'/>`)).toEqual([]);
      await bob.barrier();
      expect(bob.take(isPresence)).toEqual([]);
    });
  });

  describe('errors', () => {
    it('answers presence with an invalid type with bad-request', async () => {
      const alice = await connected(await user('alice'));
      alice.send("<presence type='online' id='p1'/>");
      await alice.expect(xml`<presence type='error' id='p1'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></presence>`);
    });

    it('answers directed presence with an invalid type with bad-request', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await available(bob);
      alice.send(`<presence to='${bob.jid}' type='online' id='p2'/>`);
      await alice.expect(xml`<presence type='error' id='p2'><error type='modify'><bad-request xmlns='${NS_STANZAS}'/></error></presence>`);
      await bob.barrier();
      expect(bob.take(isPresence)).toEqual([]);
    });

    it('treats a priority that is not a number as 0', async () => {
      const alice = await connected(await user('alice'));
      const bob = await connected(await user('bob'));
      await befriend(alice, bob);
      await available(alice, '<presence><priority>high</priority></presence>');
      bob.send(`<message to='${alice.bare}' type='chat' id='m1'><body>reaches priority 0</body></message>`);
      await alice.expect(xml`<message id='m1'/>`);
    });
  });
});

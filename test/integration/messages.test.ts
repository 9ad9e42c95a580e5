// RFC 6121 §8.5 (server rules for message and iq routing to local accounts), over real sockets.
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_PING = 'urn:xmpp:ping';

const isMessage = (element: Element): boolean => element.name === 'message';

describe.each(BACKENDS)('message and iq routing (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;
  /** A bound resource; with `priority` it also sends available presence with that priority. */
  const resource = async (local: string, name: string, priority?: number): Promise<RawClient> => {
    const client = await fixture.server.login(local, name);
    if (priority !== undefined) {
      client.send(`<presence><priority>${priority}</priority></presence>`);
      await client.expect(xml`<presence from='${client.jid}'/>`);
    }
    return client;
  };
  /** Proves nothing more reaches `clients`: the sender's stanzas are done, then each inbox is complete. */
  const settle = async (sender: RawClient, ...clients: RawClient[]): Promise<void> => {
    await sender.barrier();
    for (const client of clients) await client.barrier();
  };


  describe('to a bare JID', () => {
    it('reaches the available resources of highest priority, all of them on a tie, and no others', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const [high1, high2, low, negative] = [
        await resource(bob, 'high1', 5),
        await resource(bob, 'high2', 5),
        await resource(bob, 'low', 1),
        await resource(bob, 'negative', -1),
      ];
      const idle = await resource(bob, 'idle');
      alice.send(`<message to='${bob}@localhost' type='chat' id='m1'><body>Wherefore art thou?</body></message>`);
      await high1.expect(xml`<message from='${alice.jid}' to='${bob}@localhost' type='chat' id='m1'><body>Wherefore art thou?</body></message>`);
      await high2.expect(xml`<message from='${alice.jid}' to='${bob}@localhost' id='m1'/>`);
      await settle(alice, low, negative, idle);
      expect([...low.take(isMessage), ...negative.take(isMessage), ...idle.take(isMessage)]).toEqual([]);
    });

    it('follows priority changes: a resource that lowers its priority below zero gets nothing more', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const laptop = await resource(bob, 'laptop', 5);
      const phone = await resource(bob, 'phone', 1);
      alice.send(`<message to='${bob}@localhost' type='chat' id='m1'><body>first</body></message>`);
      await laptop.expect(xml`<message id='m1'/>`);
      laptop.send('<presence><show>away</show><priority>-1</priority></presence>');
      await laptop.expect(xml`<presence from='${laptop.jid}'><priority>-1</priority></presence>`);
      alice.send(`<message to='${bob}@localhost' type='chat' id='m2'><body>second</body></message>`);
      await phone.expect(xml`<message id='m2'/>`);
      await settle(alice, laptop);
      expect(laptop.take(isMessage)).toEqual([]);
    });

    it('treats a message without a type as normal and routes it the same way', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 2);
      const other = await resource(bob, 'other', 0);
      alice.send(`<message to='${bob}@localhost' id='m1'><body>hi</body></message>`);
      await top.expect(xml`<message id='m1'/>`);
      await settle(alice, other);
      expect(other.take(isMessage)).toEqual([]);
    });

    it('gives a resource with negative priority nothing, even when it is the only one', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const negative = await resource(bob, 'negative', -1);
      alice.send(`<message to='${bob}@localhost' type='chat' id='m1'><body>hi</body></message>`);
      await settle(alice, negative);
      expect(negative.take(isMessage)).toEqual([]);
      expect(alice.take(xml`<message type='error'/>`)).toEqual([]); // stored offline, not bounced
    });

    it('delivers a headline to every available resource with non-negative priority', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const high = await resource(bob, 'high', 5);
      const low = await resource(bob, 'low', 0);
      const negative = await resource(bob, 'negative', -1);
      const idle = await resource(bob, 'idle');
      alice.send(`<message to='${bob}@localhost' type='headline' id='h1'><body>News</body></message>`);
      await high.expect(xml`<message type='headline' id='h1'/>`);
      await low.expect(xml`<message type='headline' id='h1'/>`);
      await settle(alice, negative, idle);
      expect([...negative.take(isMessage), ...idle.take(isMessage)]).toEqual([]);
    });

    it('answers a groupchat message with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 0);
      alice.send(`<message to='${bob}@localhost' type='groupchat' id='g1'><body>hello room</body></message>`);
      await alice.expect(xml`<message from='${bob}@localhost' type='error' id='g1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
      await settle(alice, top);
      expect(top.take(isMessage)).toEqual([]);
    });

    it('answers a message to an account that does not exist with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send("<message to='nobody@localhost' type='chat' id='m1'><body>anyone?</body></message>");
      const bounce = await alice.expect(xml`<message from='nobody@localhost' to='${alice.jid}' type='error' id='m1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
      expect(bounce.getChildText('body')).toBe('anyone?'); // the original payload comes back (RFC 6120 §8.3.1)
    });

    it('never answers an error message with another error', async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send("<message to='nobody@localhost' type='error' id='e1'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
      await alice.barrier();
      expect(alice.take(isMessage)).toEqual([]);
    });

    it('drops an error message to a bare JID without available resources', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      alice.send(`<message to='${bob}@localhost' type='error' id='e1'><error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/></error></message>`);
      await alice.barrier();
      expect(alice.take(isMessage)).toEqual([]);
      const later = await resource(bob, 'later', 0);
      await later.barrier();
      expect(later.take(isMessage)).toEqual([]); // and never stored offline
    });
  });

  describe('to a full JID', () => {
    it('reaches a connected resource that is not available', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const idle = await resource(bob, 'idle');
      alice.send(`<message to='${idle.jid}' type='chat' id='m1'><body>psst</body></message>`);
      await idle.expect(xml`<message from='${alice.jid}' to='${idle.jid}' id='m1'><body>psst</body></message>`);
    });

    it('reaches only the addressed resource', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const low = await resource(bob, 'low', 0);
      const high = await resource(bob, 'high', 9);
      alice.send(`<message to='${low.jid}' type='chat' id='m1'><body>you</body></message>`);
      await low.expect(xml`<message id='m1'/>`);
      await settle(alice, high);
      expect(high.take(isMessage)).toEqual([]);
    });

    it('of a resource that is not connected goes to the top resource with its to unchanged (chat)', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 3);
      const other = await resource(bob, 'other', 1);
      alice.send(`<message to='${bob}@localhost/gone' type='chat' id='m1'><body>still there?</body></message>`);
      await top.expect(xml`<message from='${alice.jid}' to='${bob}@localhost/gone' type='chat' id='m1'/>`);
      await settle(alice, other);
      expect(other.take(isMessage)).toEqual([]);
    });

    it('of a resource that is not connected answers a normal message with service-unavailable (RFC 6121 §8.5.3.2.1)', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 3);
      alice.send(`<message to='${bob}@localhost/gone' id='n1'><body>no type</body></message>`);
      await alice.expect(xml`<message from='${bob}@localhost/gone' type='error' id='n1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
      alice.send(`<message to='${bob}@localhost/gone' type='normal' id='n2'><body>normal</body></message>`);
      await alice.expect(xml`<message type='error' id='n2'><error><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
      await settle(alice, top);
      expect(top.take(isMessage)).toEqual([]);
    });

    it('of a resource that is not connected answers groupchat with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      await resource(bob, 'top', 3);
      alice.send(`<message to='${bob}@localhost/gone' type='groupchat' id='g1'><body>room</body></message>`);
      await alice.expect(xml`<message from='${bob}@localhost/gone' type='error' id='g1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
    });

    it('of a resource that is not connected drops a headline', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 3);
      alice.send(`<message to='${bob}@localhost/gone' type='headline' id='h1'><body>News</body></message>`);
      await settle(alice, top);
      expect(top.take(isMessage)).toEqual([]);
      expect(alice.take(isMessage)).toEqual([]);
    });

    it('of an account that does not exist is answered with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send("<message to='nobody@localhost/res' type='chat' id='m1'><body>anyone?</body></message>");
      await alice.expect(xml`<message from='nobody@localhost/res' type='error' id='m1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
    });
  });

  describe('to the server', () => {
    it("answers a message to the server's domain with service-unavailable", async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send("<message to='localhost' type='chat' id='s1'><body>hello server</body></message>");
      await alice.expect(xml`<message from='localhost' type='error' id='s1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
    });

    it('answers an iq to the domain with an unknown payload with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send("<iq to='localhost' type='get' id='q1'><query xmlns='urn:example:unknown'/></iq>");
      await alice.expect(xml`<iq from='localhost' type='error' id='q1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('answers a message to another domain with remote-server-not-found (no federation)', async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send("<message to='romeo@example.net' type='chat' id='r1'><body>hi</body></message>");
      await alice.expect(xml`<message from='romeo@example.net' type='error' id='r1'><error type='cancel'><remote-server-not-found xmlns='${NS_STANZAS}'/></error></message>`);
    });
  });

  describe('iq', () => {
    it("to another account's bare JID is answered by the server for the account (ping)", async (context) => {
      if (!fixture.server.server.host.iq.has('bare', 'get', NS_PING, 'ping')) context.skip(); // XEP-0199 module not loaded yet
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 0);
      alice.send(`<iq to='${bob}@localhost' type='get' id='p1'><ping xmlns='${NS_PING}'/></iq>`);
      await alice.expect(xml`<iq from='${bob}@localhost' to='${alice.jid}' type='result' id='p1'/>`);
      await settle(alice, top);
      expect(top.take('iq')).toEqual([]);
    });

    it("to another account's bare JID with an unknown payload is answered with service-unavailable", async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 0);
      alice.send(`<iq to='${bob}@localhost' type='get' id='q1'><query xmlns='urn:example:unknown'/></iq>`);
      await alice.expect(xml`<iq from='${bob}@localhost' to='${alice.jid}' type='error' id='q1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
      await settle(alice, top);
      expect(top.take('iq')).toEqual([]);
    });

    it('to an account that does not exist is answered with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send(`<iq to='nobody@localhost' type='get' id='q1'><ping xmlns='${NS_PING}'/></iq>`);
      await alice.expect(xml`<iq from='nobody@localhost' type='error' id='q1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
    });

    it('to a connected full JID is delivered, available or not, and the answer comes back', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const idle = await resource(bob, 'idle');
      alice.send(`<iq to='${idle.jid}' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>`);
      await idle.expect(xml`<iq from='${alice.jid}' to='${idle.jid}' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>`);
      idle.send(`<iq to='${alice.jid}' type='result' id='v1'><query xmlns='jabber:iq:version'><name>Balcony</name></query></iq>`);
      await alice.expect(xml`<iq from='${idle.jid}' type='result' id='v1'><query xmlns='jabber:iq:version'><name>Balcony</name></query></iq>`);
    });

    it('to an offline full JID is answered with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      const top = await resource(bob, 'top', 0);
      alice.send(`<iq to='${bob}@localhost/gone' type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>`);
      await alice.expect(xml`<iq from='${bob}@localhost/gone' type='error' id='v1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
      await settle(alice, top);
      expect(top.take('iq')).toEqual([]);
    });

    it('results and errors to an offline full JID are dropped', async () => {
      const alice = await resource(await user('alice'), 'desk');
      const bob = await user('bob');
      alice.send(`<iq to='${bob}@localhost/gone' type='result' id='r1'/>`);
      alice.send(`<iq to='${bob}@localhost/gone' type='error' id='r2'><error type='cancel'><item-not-found xmlns='${NS_STANZAS}'/></error></iq>`);
      await alice.barrier();
      expect(alice.take(xml`<iq id='r1'/>`)).toEqual([]);
      expect(alice.take(xml`<iq id='r2'/>`)).toEqual([]);
    });

    it('to the own account with an unknown payload is answered with service-unavailable', async () => {
      const alice = await resource(await user('alice'), 'desk');
      alice.send("<iq type='get' id='u1'><query xmlns='urn:example:unknown'/></iq>");
      await alice.expect(xml`<iq type='error' id='u1'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
    });
  });
});

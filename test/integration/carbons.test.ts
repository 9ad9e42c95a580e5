// XEP-0280 Message Carbons (and Prosody's mod_carbons behaviour), over real sockets.
import { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { parseJid } from '../../src/xmpp/jid.js';
import { type RawClient, xml } from '../support/client.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_CARBONS = 'urn:xmpp:carbons:2';
const NS_FORWARD = 'urn:xmpp:forward:0';
const NS_DISCO_INFO = 'http://jabber.org/protocol/disco#info';

/** A carbon copy (sent or received) whose forwarded message matches `inner`. */
const carbonOf = (direction: 'sent' | 'received', inner: (element: Element) => boolean) => (element: Element): boolean => {
  const forwarded = element.getChild(direction, NS_CARBONS)?.getChild('forwarded', NS_FORWARD);
  const message = forwarded?.getChild('message');
  return element.name === 'message' && message !== undefined && inner(message);
};

const isCarbon = (element: Element): boolean =>
  element.name === 'message' && (element.getChild('sent', NS_CARBONS) !== undefined || element.getChild('received', NS_CARBONS) !== undefined);

describe.each(BACKENDS)('XEP-0280 message carbons (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;

  /** A bound resource, optionally available with a priority, optionally with carbons enabled. */
  const resource = async (local: string, name: string, options: { priority?: number; carbons?: boolean } = {}): Promise<RawClient> => {
    const client = await fixture.server.login(local, name);
    if (options.carbons) {
      const result = await client.iq('set', `<enable xmlns='${NS_CARBONS}'/>`);
      if (result.attrs.type !== 'result') throw new Error(`enable failed: ${result.toString()}`);
    }
    if (options.priority !== undefined) {
      client.send(`<presence><priority>${options.priority}</priority></presence>`);
      await client.expect((element) => element.name === 'presence' && element.attrs.from === client.jid);
    }
    return client;
  };

  /**
   * Waits until the server has handled everything these clients sent (a barrier each) and each
   * client has received what that produced (a second round: one barrier orders only its socket).
   */
  const flush = async (...clients: RawClient[]): Promise<void> => {
    for (let round = 0; round < 2; round++) await Promise.all(clients.map((client) => client.barrier()));
  };
  /** flush, then empty the inboxes (the end of a test's set-up). */
  const settle = async (...clients: RawClient[]): Promise<void> => {
    await flush(...clients);
    for (const client of clients) client.clear();
  };


  describe('enabling', () => {
    it('advertises urn:xmpp:carbons:2 in the server disco#info', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const info = await alice.iq('get', `<query xmlns='${NS_DISCO_INFO}'/>`, 'localhost');
      expect(info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var)).toContain(NS_CARBONS);
    });

    it('answers enable and disable with an empty result and mirrors the state into the session registry', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const jid = alice.jid as string;
      const enabled = await alice.iq('set', `<enable xmlns='${NS_CARBONS}'/>`);
      expect(enabled.attrs.type).toBe('result');
      expect(enabled.children).toEqual([]);
      // Read on alice's node, which wrote the record (another node sees it once the change notice arrives).
      const { state } = fixture.server.nodeOf(alice).host;
      expect((await state.registry.get(jid))?.carbons).toBe(true);
      const disabled = await alice.iq('set', `<disable xmlns='${NS_CARBONS}'/>`);
      expect(disabled.attrs.type).toBe('result');
      expect((await state.registry.get(jid))?.carbons).toBe(false);
    });

    it('refuses enable addressed to another account with service-unavailable', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const reply = await alice.iq('set', `<enable xmlns='${NS_CARBONS}'/>`, `${bob}@localhost`);
      expect(reply.attrs.type).toBe('error');
      expect(reply.getChild('error')?.getChild('service-unavailable')).toBeDefined();
    });
  });

  describe('sent copies', () => {
    it('copies a sent chat message to the other carbons-enabled resources only, wrapped in <sent/>', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { carbons: true });
      const phone = await resource(alice, 'phone', { carbons: true });
      const tablet = await resource(alice, 'tablet');
      const bobby = await resource(bob, 'home', { priority: 0 });
      await settle(desk, phone, tablet, bobby);

      desk.send(`<message to='${bob}@localhost' type='chat' id='c1'><body>hello</body></message>`);
      const copy = await phone.expect(isCarbon);
      expect(xml`<message from='${alice}@localhost' to='${alice}@localhost/phone' type='chat'>
        <sent xmlns='${NS_CARBONS}'><forwarded xmlns='${NS_FORWARD}'>
          <message xmlns='jabber:client' from='${alice}@localhost/desk' to='${bob}@localhost' type='chat' id='c1'><body>hello</body></message>
        </forwarded></sent></message>`(copy)).toBe(true);
      await bobby.expect(xml`<message from='${alice}@localhost/desk' type='chat' id='c1'/>`);
      await flush(desk, tablet);
      expect(desk.inbox.filter(isCarbon)).toEqual([]);
      expect(tablet.inbox.filter(isCarbon)).toEqual([]);
    });

    it('copies a sent normal message with a body, keeping the type normal on the wrapper', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk');
      const phone = await resource(alice, 'phone', { carbons: true });
      desk.send(`<message to='${bob}@localhost' id='n1'><body>note</body></message>`);
      const copy = await phone.expect(carbonOf('sent', xml`<message id='n1'/>`));
      expect(copy.attrs.type).toBe('normal');
    });

    it('addresses the forwarded copy of a message to the own account to the bare JID', async () => {
      const alice = await user('alice');
      const desk = await resource(alice, 'desk');
      const phone = await resource(alice, 'phone', { carbons: true });
      desk.send(`<message type='chat' id='self1'><body>note to self</body></message>`);
      await phone.expect(carbonOf('sent', xml`<message to='${alice}@localhost' id='self1'/>`));
    });

    it('does not copy private, no-copy, headline or body-less normal messages that a resource sends', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk');
      const phone = await resource(alice, 'phone', { carbons: true });
      const bobby = await resource(bob, 'home', { priority: 0 });
      await settle(desk, phone, bobby);
      desk.send(`<message to='${bob}@localhost' type='chat' id='p1'><body>secret</body><private xmlns='${NS_CARBONS}'/></message>`);
      desk.send(`<message to='${bob}@localhost' type='chat' id='p2'><body>hinted</body><no-copy xmlns='urn:xmpp:hints'/></message>`);
      desk.send(`<message to='${bob}@localhost' type='headline' id='p3'><body>news</body></message>`);
      desk.send(`<message to='${bob}@localhost' type='normal' id='p4'><subject>no body</subject></message>`);
      const delivered = await bobby.expect(xml`<message id='p1'/>`);
      expect(delivered.getChild('private', NS_CARBONS)).toBeUndefined();
      await bobby.expect(xml`<message id='p2'/>`);
      await bobby.expect(xml`<message id='p3'/>`);
      await bobby.expect(xml`<message id='p4'/>`);
      await flush(desk, phone);
      expect(phone.inbox).toEqual([]);
    });

    it('stops copying once the resource disables carbons', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk');
      const phone = await resource(alice, 'phone', { carbons: true });
      const bobby = await resource(bob, 'home', { priority: 0 });
      expect((await phone.iq('set', `<disable xmlns='${NS_CARBONS}'/>`)).attrs.type).toBe('result');
      desk.send(`<message to='${bob}@localhost' type='chat' id='d1'><body>hi</body></message>`);
      await bobby.expect(xml`<message id='d1'/>`);
      await flush(desk, phone);
      expect(phone.inbox).toEqual([]);
    });
  });

  describe('received copies', () => {
    it('copies a chat to the bare JID to carbons-enabled resources that do not get the original', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 5, carbons: true });
      const phone = await resource(alice, 'phone', { priority: 1, carbons: true });
      const tablet = await resource(alice, 'tablet', { priority: 1 });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, tablet, bobby);

      bobby.send(`<message to='${alice}@localhost' type='chat' id='r1'><body>hi alice</body></message>`);
      const original = await desk.expect(xml`<message id='r1'/>`);
      expect(original.getChild('received', NS_CARBONS)).toBeUndefined();
      const copy = await phone.expect(isCarbon);
      expect(xml`<message from='${alice}@localhost' to='${alice}@localhost/phone' type='chat'>
        <received xmlns='${NS_CARBONS}'><forwarded xmlns='${NS_FORWARD}'>
          <message xmlns='jabber:client' from='${bob}@localhost/home' to='${alice}@localhost' type='chat' id='r1'><body>hi alice</body></message>
        </forwarded></received></message>`(copy)).toBe(true);
      await flush(bobby, desk, phone, tablet);
      expect(desk.inbox).toEqual([]);
      expect(phone.inbox).toEqual([]);
      expect(tablet.inbox).toEqual([]); // not top, no carbons: nothing
    });

    it('gives every top resource the original and no copy when priorities tie', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 2, carbons: true });
      const phone = await resource(alice, 'phone', { priority: 2, carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, bobby);
      bobby.send(`<message to='${alice}@localhost' type='chat' id='t1'><body>both</body></message>`);
      await desk.expect(xml`<message id='t1'/>`);
      await phone.expect(xml`<message id='t1'/>`);
      await flush(bobby, desk, phone);
      expect([...desk.inbox, ...phone.inbox].filter(isCarbon)).toEqual([]);
    });

    it('copies a chat to a connected full JID to the other carbons-enabled resources, not to the addressee', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 5, carbons: true });
      const phone = await resource(alice, 'phone', { priority: -1, carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, bobby);
      bobby.send(`<message to='${alice}@localhost/phone' type='chat' id='f1'><body>to the phone</body></message>`);
      await phone.expect(xml`<message to='${alice}@localhost/phone' id='f1'/>`);
      await desk.expect(carbonOf('received', xml`<message to='${alice}@localhost/phone' id='f1'/>`));
      await flush(bobby, desk, phone);
      expect(desk.inbox).toEqual([]);
      expect(phone.inbox.filter(isCarbon)).toEqual([]);
    });

    it('treats a chat to a gone full JID like one to the bare JID: top resources get it, others a copy', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 5, carbons: true });
      const phone = await resource(alice, 'phone', { priority: 0, carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, bobby);
      bobby.send(`<message to='${alice}@localhost/gone' type='chat' id='g1'><body>anyone?</body></message>`);
      await desk.expect(xml`<message to='${alice}@localhost/gone' id='g1'/>`);
      await phone.expect(carbonOf('received', xml`<message to='${alice}@localhost/gone' id='g1'/>`));
      await flush(bobby, desk, phone);
      expect(desk.inbox.filter(isCarbon)).toEqual([]);
    });

    it('does not copy a normal message to a gone full JID, which bounces', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 5 });
      const phone = await resource(alice, 'phone', { priority: 0, carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, bobby);
      bobby.send(`<message to='${alice}@localhost/gone' id='gn1'><body>for a gone resource</body></message>`);
      const bounce = await bobby.expect(xml`<message type='error' id='gn1'/>`);
      expect(bounce.getChild('error')?.getChild('service-unavailable')).toBeDefined();
      await flush(bobby, desk, phone);
      expect(desk.inbox).toEqual([]);
      expect(phone.inbox).toEqual([]);
    });

    it('copies to a negative-priority resource and to a connected but unavailable one', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 0 });
      const phone = await resource(alice, 'phone', { priority: -5, carbons: true });
      const watch = await resource(alice, 'watch', { carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, watch, bobby);
      bobby.send(`<message to='${alice}@localhost' type='chat' id='neg1'><body>hi</body></message>`);
      await desk.expect(xml`<message id='neg1'/>`);
      await phone.expect(carbonOf('received', xml`<message id='neg1'/>`));
      await watch.expect(carbonOf('received', xml`<message id='neg1'/>`));
    });

    it('still copies when no resource is available and the message goes to offline storage', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const watch = await resource(alice, 'watch', { carbons: true });
      const bobby = await resource(bob, 'home');
      bobby.send(`<message to='${alice}@localhost' type='chat' id='off1'><body>later</body></message>`);
      await watch.expect(carbonOf('received', xml`<message id='off1'/>`));
      await flush(bobby);
      expect(bobby.inbox).toEqual([]); // stored, not bounced
      expect(await fixture.server.server.host.state.offline.count(`${alice}@localhost`)).toBe(1);
    });

    it('copies a normal message with a body but not one without', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 1 });
      const phone = await resource(alice, 'phone', { priority: 0, carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, bobby);
      bobby.send(`<message to='${alice}@localhost' id='nb1'><subject>empty</subject></message>`);
      bobby.send(`<message to='${alice}@localhost' id='nb2'><body>full</body></message>`);
      await desk.expect(xml`<message id='nb1'/>`);
      await desk.expect(xml`<message id='nb2'/>`);
      const copy = await phone.expect(isCarbon);
      expect(carbonOf('received', xml`<message id='nb2'/>`)(copy)).toBe(true);
      await flush(bobby, phone);
      expect(phone.inbox).toEqual([]);
    });

    it('does not copy private, no-copy, headline or MUC private messages, and strips <private/> from the original', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 1 });
      const phone = await resource(alice, 'phone', { priority: 0, carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(desk, phone, bobby);
      bobby.send(`<message to='${alice}@localhost' type='chat' id='x1'><body>psst</body><private xmlns='${NS_CARBONS}'/></message>`);
      bobby.send(`<message to='${alice}@localhost' type='chat' id='x2'><body>hint</body><no-copy xmlns='urn:xmpp:hints'/></message>`);
      bobby.send(`<message to='${alice}@localhost' type='headline' id='x3'><body>news</body></message>`);
      bobby.send(`<message to='${alice}@localhost/desk' type='chat' id='x4'><body>pm</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`);
      const first = await desk.expect(xml`<message id='x1'/>`);
      expect(first.getChild('private', NS_CARBONS)).toBeUndefined();
      expect(first.getChildText('body')).toBe('psst');
      await desk.expect(xml`<message id='x2'/>`);
      await desk.expect(xml`<message id='x3'/>`);
      await desk.expect(xml`<message id='x4'/>`);
      await flush(bobby, phone);
      expect(phone.inbox.filter(isCarbon)).toEqual([]);
    });

    it('does not copy a groupchat message, which bounces', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const phone = await resource(alice, 'phone', { priority: 0, carbons: true });
      const bobby = await resource(bob, 'home');
      await settle(phone, bobby);
      bobby.send(`<message to='${alice}@localhost' type='groupchat' id='gc1'><body>room</body></message>`);
      const bounce = await bobby.expect(xml`<message type='error' id='gc1'/>`);
      expect(bounce.getChild('error')?.getChild('service-unavailable')).toBeDefined();
      await flush(bobby, phone);
      expect(phone.inbox).toEqual([]);
    });

    it('copies an error bounce from a bare JID to a connected resource, but not one from a full JID or one that is dropped', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await resource(alice, 'desk', { priority: 1 });
      const phone = await resource(alice, 'phone', { priority: 0, carbons: true });
      await settle(desk, phone);
      const inject = (from: string, id: string, to = `${alice}@localhost/desk`): Promise<void> => {
        const error = new Element('message', { from, to, type: 'error', id });
        error.c('body').t('original');
        error.c('error', { type: 'cancel' }).c('service-unavailable', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' });
        return fixture.server.server.host.router.route({ stanza: error, kind: 'message', from: parseJid(from), to: parseJid(to) });
      };
      await inject(`${bob}@localhost`, 'e1');
      await inject(`${bob}@localhost/home`, 'e2');
      await inject(`${bob}@localhost`, 'e3', `${alice}@localhost/gone`); // dropped, so nothing to copy
      await inject(`${bob}@localhost`, 'e4', `${alice}@localhost`);
      await desk.expect(xml`<message type='error' id='e1'/>`);
      await desk.expect(xml`<message type='error' id='e2'/>`);
      const copy = await phone.expect(isCarbon);
      expect(xml`<message type='error'><received xmlns='${NS_CARBONS}'><forwarded xmlns='${NS_FORWARD}'><message from='${bob}@localhost' id='e1'/></forwarded></received></message>`(copy)).toBe(true);
      await flush(phone);
      expect(phone.inbox).toEqual([]);
    });

    it('sends nothing for a message to an account with no connected resource', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const bobby = await resource(bob, 'home', { carbons: true });
      bobby.send(`<message to='${alice}@localhost' type='chat' id='none1'><body>offline</body></message>`);
      await flush(bobby);
      expect(bobby.inbox).toEqual([]);
      expect(await fixture.server.server.host.state.offline.count(`${alice}@localhost`)).toBe(1);
    });
  });
});

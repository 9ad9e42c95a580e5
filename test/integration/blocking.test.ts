// XEP-0191 Blocking Command (and Prosody's mod_blocklist behaviour), over real sockets.
import { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { parseJid } from '../../src/xmpp/jid.js';
import { befriend, type RawClient, xml } from '../support/client.js';
import { useTestServer, condition } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_BLOCKING = 'urn:xmpp:blocking';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_CARBONS = 'urn:xmpp:carbons:2';

const blockedError = xml`<error type='cancel'><not-acceptable xmlns='${NS_STANZAS}'/><text xmlns='${NS_STANZAS}'>You have blocked this JID</text><blocked xmlns='urn:xmpp:blocking:errors'/></error>`;
const isPush = (element: Element): boolean => element.name === 'iq' && element.attrs.type === 'set' && element.attrs.id === 'blocklist-push';
const items = (element: Element | undefined): string[] => (element?.getChildren('item') ?? []).map((item) => String(item.attrs.jid));

describe.each(BACKENDS)('XEP-0191 blocking command (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;
  /** A bound resource that has sent available presence. */
  const available = async (local: string, name: string): Promise<RawClient> => {
    const client = await fixture.server.login(local, name);
    client.send('<presence/>');
    await client.expect((element) => element.name === 'presence' && element.attrs.from === client.jid);
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
  const block = (client: RawClient, ...jids: string[]): Promise<Element> =>
    client.iq('set', `<block xmlns='${NS_BLOCKING}'>${jids.map((jid) => `<item jid='${jid}'/>`).join('')}</block>`);
  const unblock = (client: RawClient, ...jids: string[]): Promise<Element> =>
    client.iq('set', `<unblock xmlns='${NS_BLOCKING}'>${jids.map((jid) => `<item jid='${jid}'/>`).join('')}</unblock>`);
  const blocklist = async (client: RawClient): Promise<string[]> => items((await client.iq('get', `<blocklist xmlns='${NS_BLOCKING}'/>`)).getChild('blocklist', NS_BLOCKING));


  describe('managing the list', () => {
    it('advertises urn:xmpp:blocking in the server disco#info', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", 'localhost');
      expect(info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var)).toContain(NS_BLOCKING);
    });

    it('returns an empty blocklist and marks the resource as interested in pushes', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', `<blocklist xmlns='${NS_BLOCKING}'/>`);
      expect(reply.attrs.type).toBe('result');
      expect(xml`<iq type='result'><blocklist xmlns='${NS_BLOCKING}'/></iq>`(reply)).toBe(true);
      expect(reply.getChild('blocklist')?.children).toEqual([]);
      // Read on alice's node, which wrote the record (another node sees it once the change notice arrives).
      expect((await fixture.server.nodeOf(alice).host.state.registry.get(alice.jid as string))?.blocklist_interested).toBe(true);
    });

    it('blocks prepared JIDs, answers first and then pushes the block to every interested resource', async () => {
      const alice = await user('alice');
      const desk = await fixture.server.login(alice, 'desk');
      const phone = await fixture.server.login(alice, 'phone');
      const tablet = await fixture.server.login(alice, 'tablet');
      await blocklist(desk);
      await blocklist(phone);
      desk.clear();
      desk.send(`<iq type='set' id='b1'><block xmlns='${NS_BLOCKING}'><item jid='Mallory@LOCALHOST'/><item jid='spam.example'/></block></iq>`);
      const push = xml`<iq type='set' id='blocklist-push'><block xmlns='${NS_BLOCKING}'><item jid='mallory@localhost'/><item jid='spam.example'/></block></iq>`;
      await desk.expect(push);
      await phone.expect(push);
      const result = desk.log.findIndex(xml`<iq type='result' id='b1'/>`);
      expect(result).toBeGreaterThanOrEqual(0);
      expect(result).toBeLessThan(desk.log.findIndex(isPush));
      await flush(desk, tablet);
      expect(tablet.inbox.filter(isPush)).toEqual([]);
      expect((await blocklist(tablet)).sort()).toEqual(['mallory@localhost', 'spam.example']);
    });

    it('refuses a block without items with bad-request', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('set', `<block xmlns='${NS_BLOCKING}'/>`);
      expect(reply.attrs.type).toBe('error');
      expect(condition(reply)).toBe('bad-request');
    });

    it('refuses a JID that does not prepare with jid-malformed and blocks none of the items', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await block(alice, 'fine@localhost', 'bad@@localhost');
      expect(reply.attrs.type).toBe('error');
      expect(condition(reply)).toBe('jid-malformed');
      const missing = await alice.iq('set', `<block xmlns='${NS_BLOCKING}'><item/></block>`);
      expect(condition(missing)).toBe('jid-malformed');
      expect(await blocklist(alice)).toEqual([]);
    });

    it('unblocks one item and pushes the unblock', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      await blocklist(alice);
      await block(alice, 'one@localhost', 'two@localhost');
      await alice.expect(isPush);
      expect((await unblock(alice, 'one@localhost')).attrs.type).toBe('result');
      await alice.expect(xml`<iq type='set' id='blocklist-push'><unblock xmlns='${NS_BLOCKING}'><item jid='one@localhost'/></unblock></iq>`);
      expect(await blocklist(alice)).toEqual(['two@localhost']);
    });

    it('unblocks everything with an empty unblock and pushes it as it is', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      await blocklist(alice);
      await block(alice, 'one@localhost', 'two@localhost');
      await alice.expect(isPush);
      expect((await unblock(alice)).attrs.type).toBe('result');
      const push = await alice.expect(isPush);
      expect(xml`<iq><unblock xmlns='${NS_BLOCKING}'/></iq>`(push)).toBe(true);
      expect(push.getChild('unblock')?.children).toEqual([]);
      expect(await blocklist(alice)).toEqual([]);
    });
  });

  describe('stanzas to a blocked JID', () => {
    it('refuses a message, a directed presence and an iq get with not-acceptable and <blocked/>', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const bobby = await available(bob, 'home');
      await block(alice, `${bob}@localhost`);
      await settle(bobby);
      alice.send(`<message to='${bob}@localhost' type='chat' id='m1'><body>hi</body></message>`);
      const message = await alice.expect(xml`<message type='error' id='m1' from='${bob}@localhost' to='${alice.jid}'/>`);
      expect(blockedError(message.getChild('error') as Element)).toBe(true);
      expect(message.getChildText('body')).toBe('hi');
      alice.send(`<presence to='${bob}@localhost/home' id='p1'/>`);
      const presence = await alice.expect(xml`<presence type='error' id='p1'/>`);
      expect(blockedError(presence.getChild('error') as Element)).toBe(true);
      const iq = await alice.iq('get', "<query xmlns='jabber:iq:version'/>", `${bob}@localhost/home`);
      expect(blockedError(iq.getChild('error') as Element)).toBe(true);
      await flush(bobby);
      expect(bobby.inbox).toEqual([]);
    });

    it('drops an iq result, an iq error and an error message to a blocked JID', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const bobby = await fixture.server.login(bob, 'home');
      await block(alice, `${bob}@localhost`);
      alice.send(`<iq type='result' id='r1' to='${bob}@localhost/home'/>`);
      alice.send(`<iq type='error' id='r2' to='${bob}@localhost/home'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></iq>`);
      alice.send(`<message type='error' id='r3' to='${bob}@localhost/home'><error type='cancel'><service-unavailable xmlns='${NS_STANZAS}'/></error></message>`);
      await flush(bobby, alice);
      expect(alice.inbox).toEqual([]);
      expect(bobby.inbox).toEqual([]);
    });

    it('applies the list to every resource of the account and makes no sent carbon of a refused message', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await fixture.server.login(alice, 'desk');
      const phone = await fixture.server.login(alice, 'phone');
      expect((await desk.iq('set', `<enable xmlns='${NS_CARBONS}'/>`)).attrs.type).toBe('result');
      await block(desk, `${bob}@localhost`);
      phone.send(`<message to='${bob}@localhost' type='chat' id='m2'><body>hi</body></message>`);
      await phone.expect(xml`<message type='error' id='m2'/>`);
      await flush(phone, desk);
      expect(desk.inbox).toEqual([]);
    });

    it('refuses stanzas to any JID of a blocked domain, and to the exact resource of a blocked full JID only', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const bobby = await fixture.server.login(bob, 'home');
      await block(alice, 'example.org', `${bob}@localhost/phone`);
      alice.send("<message to='anyone@example.org/x' type='chat' id='d1'><body>hi</body></message>");
      const refused = await alice.expect(xml`<message type='error' id='d1'/>`);
      expect(blockedError(refused.getChild('error') as Element)).toBe(true);
      alice.send(`<message to='${bob}@localhost/phone' type='chat' id='d2'><body>hi</body></message>`);
      const blocked = await alice.expect(xml`<message type='error' id='d2'/>`);
      expect(condition(blocked)).toBe('not-acceptable');
      alice.send(`<message to='${bob}@localhost/home' type='chat' id='d3'><body>hi</body></message>`);
      await bobby.expect(xml`<message id='d3'/>`);
    });
  });

  describe('stanzas from a blocked JID', () => {
    it('answers a chat to the bare JID with service-unavailable and delivers nothing', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await available(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      await block(desk, `${bob}@localhost`);
      await settle(desk);
      bobby.send(`<message to='${alice}@localhost' type='chat' id='i1'><body>hi</body></message>`);
      const bounce = await bobby.expect(xml`<message type='error' id='i1' from='${alice}@localhost'/>`);
      expect(condition(bounce)).toBe('service-unavailable');
      await flush(bobby, desk);
      expect(desk.inbox).toEqual([]);
    });

    it('answers normal messages, and messages to an online full JID, with service-unavailable too', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await available(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      await block(desk, `${bob}@localhost`);
      await settle(desk);
      bobby.send(`<message to='${alice}@localhost/desk' type='chat' id='i2'><body>hi</body></message>`);
      const full = await bobby.expect(xml`<message type='error' id='i2' from='${alice}@localhost/desk'/>`);
      expect(condition(full)).toBe('service-unavailable');
      bobby.send(`<message to='${alice}@localhost' id='i3'><body>hi</body></message>`);
      expect(condition(await bobby.expect(xml`<message type='error' id='i3'/>`))).toBe('service-unavailable');
      await flush(bobby, desk);
      expect(desk.inbox).toEqual([]);
    });

    it('drops headline, groupchat and error messages without an answer', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await available(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      await block(desk, `${bob}@localhost`);
      await settle(desk);
      bobby.send(`<message to='${alice}@localhost' type='headline' id='h1'><body>news</body></message>`);
      bobby.send(`<message to='${alice}@localhost' type='groupchat' id='h2'><body>room</body></message>`);
      bobby.send(`<message to='${alice}@localhost/desk' type='error' id='h3'><error type='cancel'><gone xmlns='${NS_STANZAS}'/></error></message>`);
      await flush(desk, bobby);
      expect(desk.inbox).toEqual([]);
      expect(bobby.inbox).toEqual([]);
    });

    it('drops presence of every kind', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await available(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      await block(desk, `${bob}@localhost`);
      await settle(desk);
      bobby.send(`<presence to='${alice}@localhost/desk'/>`);
      bobby.send(`<presence to='${alice}@localhost'/>`);
      bobby.send(`<presence to='${alice}@localhost' type='subscribe'/>`);
      bobby.send(`<presence to='${alice}@localhost' type='probe'/>`);
      await flush(desk, bobby);
      expect(desk.inbox).toEqual([]);
      expect(bobby.inbox.filter((element) => element.name === 'presence' && element.attrs.type !== 'unavailable')).toEqual([]);
      expect((await fixture.server.server.host.state.rosters.entry(`${alice}@localhost`, `${bob}@localhost`)).pendingIn).toBeUndefined();
    });

    it('answers an iq get or set with service-unavailable and drops an iq result', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await fixture.server.login(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      await block(desk, `${bob}@localhost`);
      await settle(desk);
      const toFull = await bobby.iq('get', "<query xmlns='jabber:iq:version'/>", `${alice}@localhost/desk`);
      expect(condition(toFull)).toBe('service-unavailable');
      const toBare = await bobby.iq('get', "<ping xmlns='urn:xmpp:ping'/>", `${alice}@localhost`);
      expect(condition(toBare)).toBe('service-unavailable');
      const set = await bobby.iq('set', "<query xmlns='jabber:iq:private'/>", `${alice}@localhost/desk`);
      expect(condition(set)).toBe('service-unavailable');
      bobby.send(`<iq type='result' id='late' to='${alice}@localhost/desk'/>`);
      await flush(desk, bobby);
      expect(desk.inbox).toEqual([]);
      expect(bobby.inbox).toEqual([]);
    });

    it('blocks one resource for a full-JID entry and a whole domain for a domain entry', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await fixture.server.login(alice, 'desk');
      const phone = await fixture.server.login(bob, 'phone');
      const home = await fixture.server.login(bob, 'home');
      await block(desk, `${bob}@localhost/phone`, 'spam.example');
      phone.send(`<message to='${alice}@localhost/desk' type='chat' id='fb1'><body>from phone</body></message>`);
      expect(condition(await phone.expect(xml`<message type='error' id='fb1'/>`))).toBe('service-unavailable');
      home.send(`<message to='${alice}@localhost/desk' type='chat' id='fb2'><body>from home</body></message>`);
      await desk.expect(xml`<message id='fb2'/>`);
      const foreign = (from: string, id: string): Promise<void> => {
        const message = new Element('message', { from, to: `${alice}@localhost/desk`, type: 'headline', id });
        message.c('body').t('injected');
        return fixture.server.server.host.router.route({ stanza: message, kind: 'message', from: parseJid(from), to: parseJid(`${alice}@localhost/desk`) });
      };
      await foreign('someone@spam.example/x', 'dom1');
      await foreign('spam.example', 'dom2');
      await foreign('someone@fine.example/x', 'dom3');
      await desk.expect(xml`<message id='dom3'/>`);
      await flush(desk);
      expect(desk.inbox).toEqual([]);
    });

    it('lets stanzas through again after an unblock', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await fixture.server.login(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      await block(desk, `${bob}@localhost`);
      await unblock(desk, `${bob}@localhost`);
      bobby.send(`<message to='${alice}@localhost/desk' type='chat' id='u1'><body>back</body></message>`);
      await desk.expect(xml`<message id='u1'/>`);
      desk.send(`<message to='${bob}@localhost/home' type='chat' id='u2'><body>welcome</body></message>`);
      await bobby.expect(xml`<message id='u2'/>`);
    });
  });

  describe('presence and subscriptions', () => {
    it('sends a subscribed contact unavailable when blocked, hides later presence, and sends current presence on unblock', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await fixture.server.login(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      await befriend(desk, bobby);
      desk.send('<presence/>');
      bobby.send('<presence/>');
      await desk.expect(xml`<presence from='${bob}@localhost/home'/>`);
      await bobby.expect(xml`<presence from='${alice}@localhost/desk'/>`);
      await settle(desk, bobby);

      await block(desk, `${bob}@localhost`);
      await bobby.expect(xml`<presence type='unavailable' from='${alice}@localhost/desk'/>`);
      desk.send('<presence><show>away</show></presence>');
      await desk.expect(xml`<presence from='${alice}@localhost/desk'><show>away</show></presence>`);
      bobby.send('<presence><show>dnd</show></presence>');
      await bobby.expect(xml`<presence from='${bob}@localhost/home'><show>dnd</show></presence>`);
      await flush(desk, bobby);
      expect(bobby.inbox).toEqual([]);
      expect(desk.inbox).toEqual([]);

      await unblock(desk, `${bob}@localhost`);
      const current = await bobby.expect(xml`<presence from='${alice}@localhost/desk'/>`);
      expect(current.attrs.type).toBeUndefined();
      expect(current.getChildText('show')).toBe('away');
    });

    it('deletes a pending subscription request from the blocked JID', async () => {
      const alice = await user('alice');
      const bob = await user('bob');
      const desk = await available(alice, 'desk');
      const bobby = await fixture.server.login(bob, 'home');
      bobby.send(`<presence to='${alice}@localhost' type='subscribe'/>`);
      await desk.expect(xml`<presence type='subscribe' from='${bob}@localhost'/>`);
      expect((await fixture.server.server.host.state.rosters.entry(`${alice}@localhost`, `${bob}@localhost`)).pendingIn).toBeDefined();
      await block(desk, `${bob}@localhost`);
      expect((await fixture.server.server.host.state.rosters.entry(`${alice}@localhost`, `${bob}@localhost`)).pendingIn).toBeUndefined();
      const later = await available(alice, 'phone');
      await flush(later);
      expect(later.inbox.filter((element) => element.attrs.type === 'subscribe')).toEqual([]);
    });
  });
});

// XEP-0030 Service Discovery of the server and of accounts, over real sockets.
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { xml } from '../support/client.js';
import { useTestServer, condition } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';

const NS_INFO = 'http://jabber.org/protocol/disco#info';
const NS_ITEMS = 'http://jabber.org/protocol/disco#items';

const features = (reply: Element): string[] => (reply.getChild('query', NS_INFO)?.getChildren('feature') ?? []).map((feature) => String(feature.attrs.var));
const identities = (reply: Element): Record<string, string>[] =>
  (reply.getChild('query', NS_INFO)?.getChildren('identity') ?? []).map((identity) => ({ ...identity.attrs }) as Record<string, string>);

describe.each(BACKENDS)('XEP-0030 service discovery (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const user = fixture.user;


  describe('the server', () => {
    it('has the identity server/im named Rookery', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', `<query xmlns='${NS_INFO}'/>`, 'localhost');
      expect(reply.attrs.type).toBe('result');
      expect(reply.attrs.from).toBe('localhost');
      expect(identities(reply)).toEqual([{ category: 'server', type: 'im', name: 'Rookery' }]);
    });

    it('lists every feature the loaded modules advertise, sorted and once each, with disco itself', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const listed = features(await alice.iq('get', `<query xmlns='${NS_INFO}'/>`, 'localhost'));
      const expected = [...new Set([...fixture.server.server.host.features, NS_INFO, NS_ITEMS])].sort();
      expect(listed).toEqual(expected);
      expect(listed).toEqual(expect.arrayContaining([NS_INFO, NS_ITEMS, 'urn:xmpp:ping', 'jabber:iq:version', 'urn:xmpp:carbons:2', 'urn:xmpp:blocking', 'msgoffline']));
    });

    it('lists the services it hosts as its items: the group chat service', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', `<query xmlns='${NS_ITEMS}'/>`, 'localhost');
      expect(xml`<iq type='result' from='localhost'><query xmlns='${NS_ITEMS}'/></iq>`(reply)).toBe(true);
      expect(reply.getChild('query')?.children.map(String)).toEqual([`<item jid="conference.localhost" name="Chatrooms"/>`]);
    });

    it('answers a node it does not know with item-not-found, for info and items', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const info = await alice.iq('get', `<query xmlns='${NS_INFO}' node='no-such-node'/>`, 'localhost');
      expect(info.attrs.type).toBe('error');
      expect(condition(info)).toBe('item-not-found');
      const items = await alice.iq('get', `<query xmlns='${NS_ITEMS}' node='no-such-node'/>`, 'localhost');
      expect(condition(items)).toBe('item-not-found');
    });

    it('refuses a disco#info set with service-unavailable', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('set', `<query xmlns='${NS_INFO}'/>`, 'localhost');
      expect(condition(reply)).toBe('service-unavailable');
    });
  });

  describe('an account', () => {
    it('answers for the own account, with no to, as account/registered', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', `<query xmlns='${NS_INFO}'/>`);
      expect(reply.attrs.type).toBe('result');
      expect(features(reply)).toEqual([...new Set([NS_INFO, ...fixture.server.server.host.accountDisco.features])].sort());
      expect(features(reply)).toContain('urn:xmpp:mam:2');
      // XEP-0163 §6.1: the account is a PEP service too.
      expect(identities(reply)).toEqual([{ category: 'account', type: 'registered' }, { category: 'pubsub', type: 'pep' }]);
      expect(features(reply)).toEqual(expect.arrayContaining([NS_INFO, 'http://jabber.org/protocol/pubsub#publish', 'http://jabber.org/protocol/pubsub#publish-options']));
    });

    it("answers for another account on its behalf, from its bare JID, without involving its resources", async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const bobby = await fixture.server.login(bob, 'home');
      const reply = await alice.iq('get', `<query xmlns='${NS_INFO}'/>`, `${bob}@localhost`);
      expect(reply.attrs.from).toBe(`${bob}@localhost`);
      expect(features(reply)).toEqual([...new Set([NS_INFO, ...fixture.server.server.host.accountDisco.features])].sort());
      expect(features(reply)).toContain('urn:xmpp:mam:2');
      // XEP-0163 §6.1: the account is a PEP service too.
      expect(identities(reply)).toEqual([{ category: 'account', type: 'registered' }, { category: 'pubsub', type: 'pep' }]);
      expect(features(reply)).toEqual(expect.arrayContaining([NS_INFO, 'http://jabber.org/protocol/pubsub#publish', 'http://jabber.org/protocol/pubsub#publish-options']));
      await bobby.barrier();
      expect(bobby.inbox.filter((element) => element.name === 'iq')).toEqual([]);
    });

    it('has no items, for the own account or another', async () => {
      const alice = await user('alice');
      const desk = await fixture.server.login(alice, 'desk');
      const bob = await user('bob');
      const own = await desk.iq('get', `<query xmlns='${NS_ITEMS}'/>`, `${alice}@localhost`);
      expect(xml`<iq type='result'><query xmlns='${NS_ITEMS}'/></iq>`(own)).toBe(true);
      expect(own.getChild('query')?.children).toEqual([]);
      const other = await desk.iq('get', `<query xmlns='${NS_ITEMS}'/>`, `${bob}@localhost`);
      expect(other.getChild('query')?.children).toEqual([]);
    });

    it('answers a node with item-not-found', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const bob = await user('bob');
      const info = await alice.iq('get', `<query xmlns='${NS_INFO}' node='urn:xmpp:whatever'/>`, `${bob}@localhost`);
      expect(condition(info)).toBe('item-not-found');
      const items = await alice.iq('get', `<query xmlns='${NS_ITEMS}' node='urn:xmpp:whatever'/>`);
      expect(condition(items)).toBe('item-not-found');
    });

    it('refuses an account that does not exist with service-unavailable', async () => {
      const alice = await fixture.server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', `<query xmlns='${NS_INFO}'/>`, 'nobody@localhost');
      expect(condition(reply)).toBe('service-unavailable');
    });
  });
});

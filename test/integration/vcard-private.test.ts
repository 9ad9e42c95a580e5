// XEP-0054 vcard-temp and XEP-0049 private XML storage (with XEP-0048 bookmarks in it), over
// real sockets, in the manner of Prosody's mod_vcard and mod_private.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { xml } from '../support/client.js';
import { BACKENDS, startTestServer, type TestServer } from '../support/server.js';

const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const ITEM_BYTES = 2000;
const ITEMS = 3;

const condition = (stanza: Element): string | undefined =>
  stanza.getChild('error')?.children.find((child): child is Element => typeof child !== 'string' && child.name !== 'text')?.name;
const bookmarks = "<storage xmlns='storage:bookmarks'><conference jid='council@chat.example' autojoin='true' name='Council'><nick>alice</nick></conference></storage>";

describe.each(BACKENDS)('vCards and private XML storage (%s backend)', (backend) => {
  let server: TestServer;
  let n = 0;
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await server.createUser(local);
    return local;
  };

  beforeAll(async () => {
    server = await startTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, personalItemBytes: ITEM_BYTES, personalItems: ITEMS } } });
  });
  afterAll(() => server.stop());

  describe('XEP-0054 vcard-temp', () => {
    it('advertises vcard-temp and jabber:iq:private in the server disco#info', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", 'localhost');
      expect(info.getChild('query')?.getChildren('feature').map((feature) => feature.attrs.var)).toEqual(expect.arrayContaining(['vcard-temp', 'jabber:iq:private']));
    });

    it('answers an empty vCard to an account that never stored one', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', "<vCard xmlns='vcard-temp'/>");
      expect(xml`<iq type='result'><vCard xmlns='vcard-temp'/></iq>`(reply)).toBe(true);
      expect(reply.getChild('vCard')?.children).toEqual([]);
    });

    it('stores one’s own vCard (no `to`) and returns it to oneself and to another local user, from another node too', async () => {
      const local = await user('alice');
      const alice = await server.login(local, 'desk');
      const set = await alice.iq('set', "<vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>alice</NICKNAME></vCard>");
      expect(set.attrs.type).toBe('result');
      const own = await alice.iq('get', "<vCard xmlns='vcard-temp'/>", `${local}@localhost`);
      expect(xml`<iq type='result'><vCard xmlns='vcard-temp'><FN>Alice Liddell</FN><NICKNAME>alice</NICKNAME></vCard></iq>`(own)).toBe(true);
      const bob = await server.login(await user('bob'), 'desk');
      const theirs = await bob.iq('get', "<vCard xmlns='vcard-temp'/>", `${local}@localhost`);
      expect(xml`<iq type='result' from='${local}@localhost'><vCard xmlns='vcard-temp'><FN>Alice Liddell</FN></vCard></iq>`(theirs)).toBe(true);
    });

    it('replaces the vCard on a second set, to the own bare JID', async () => {
      const local = await user('alice');
      const alice = await server.login(local, 'desk');
      await alice.iq('set', "<vCard xmlns='vcard-temp'><FN>Old</FN></vCard>");
      await alice.iq('set', "<vCard xmlns='vcard-temp'><FN>New</FN></vCard>", `${local}@localhost`);
      const reply = await alice.iq('get', "<vCard xmlns='vcard-temp'/>");
      expect(reply.getChild('vCard')?.getChildText('FN')).toBe('New');
    });

    it("refuses to change another account's vCard with forbidden", async () => {
      const bob = await user('bob');
      const alice = await server.login(await user('alice'), 'desk');
      const reply = await alice.iq('set', "<vCard xmlns='vcard-temp'><FN>Not Bob</FN></vCard>", `${bob}@localhost`);
      expect(reply.attrs.type).toBe('error');
      expect(condition(reply)).toBe('forbidden');
    });

    it('answers service-unavailable for the vCard of an account that does not exist', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      const reply = await alice.iq('get', "<vCard xmlns='vcard-temp'/>", 'nobody-here@localhost');
      expect(condition(reply)).toBe('service-unavailable');
    });

    it('refuses a vCard over limits.personalItemBytes with not-acceptable and keeps the old one', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      await alice.iq('set', "<vCard xmlns='vcard-temp'><FN>Small</FN></vCard>");
      const reply = await alice.iq('set', `<vCard xmlns='vcard-temp'><PHOTO><BINVAL>${'A'.repeat(ITEM_BYTES)}</BINVAL></PHOTO></vCard>`);
      expect(reply.getChild('error')?.toString()).toContain(`<not-acceptable xmlns="${NS_STANZAS}"/>`);
      expect((await alice.iq('get', "<vCard xmlns='vcard-temp'/>")).getChild('vCard')?.getChildText('FN')).toBe('Small');
    });
  });

  describe('XEP-0049 private XML storage', () => {
    it('stores legacy bookmarks and returns them; an element never stored comes back empty', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      const set = await alice.iq('set', `<query xmlns='jabber:iq:private'>${bookmarks}</query>`);
      expect(set.attrs.type).toBe('result');
      const get = await alice.iq('get', "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>");
      expect(xml`<iq type='result'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='council@chat.example' autojoin='true'><nick>alice</nick></conference></storage></query></iq>`(get)).toBe(true);
      const other = await alice.iq('get', "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>");
      expect(xml`<iq type='result'><query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query></iq>`(other)).toBe(true);
      expect(other.getChild('query')?.getChild('prefs')?.children).toEqual([]);
    });

    it('keeps elements of the same name in different namespaces apart, and shares them with the account’s other resource', async () => {
      const local = await user('alice');
      const desk = await server.login(local, 'desk');
      const phone = await server.login(local, 'phone');
      await desk.iq('set', "<query xmlns='jabber:iq:private'><storage xmlns='urn:example:a'><v>a</v></storage></query>");
      await desk.iq('set', "<query xmlns='jabber:iq:private'><storage xmlns='urn:example:b'><v>b</v></storage></query>");
      const a = await phone.iq('get', "<query xmlns='jabber:iq:private'><storage xmlns='urn:example:a'/></query>");
      const b = await phone.iq('get', "<query xmlns='jabber:iq:private'><storage xmlns='urn:example:b'/></query>", `${local}@localhost`);
      expect(a.getChild('query')?.getChild('storage')?.getChildText('v')).toBe('a');
      expect(b.getChild('query')?.getChild('storage')?.getChildText('v')).toBe('b');
    });

    it('refuses the jabber:client and jabber:server namespaces with not-acceptable', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      for (const ns of ['jabber:client', 'jabber:server']) {
        const reply = await alice.iq('set', `<query xmlns='jabber:iq:private'><message xmlns='${ns}'/></query>`);
        expect(condition(reply)).toBe('not-acceptable');
      }
    });

    it('refuses a query without exactly one child with not-acceptable', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      const none = await alice.iq('get', "<query xmlns='jabber:iq:private'/>");
      const two = await alice.iq('set', "<query xmlns='jabber:iq:private'><a xmlns='urn:a'/><b xmlns='urn:b'/></query>");
      expect([condition(none), condition(two)]).toEqual(['not-acceptable', 'not-acceptable']);
    });

    it("refuses access to another account's storage with forbidden", async () => {
      const bob = await user('bob');
      const alice = await server.login(await user('alice'), 'desk');
      const get = await alice.iq('get', `<query xmlns='jabber:iq:private'>${bookmarks}</query>`, `${bob}@localhost`);
      const set = await alice.iq('set', `<query xmlns='jabber:iq:private'>${bookmarks}</query>`, `${bob}@localhost`);
      expect([condition(get), condition(set)]).toEqual(['forbidden', 'forbidden']);
    });

    it('refuses a new item past limits.personalItems with resource-constraint, and an empty set clears one', async () => {
      const alice = await server.login(await user('alice'), 'desk');
      for (let i = 0; i < ITEMS; i++) {
        expect((await alice.iq('set', `<query xmlns='jabber:iq:private'><x${i} xmlns='urn:n'>v</x${i}></query>`)).attrs.type).toBe('result');
      }
      const refused = await alice.iq('set', "<query xmlns='jabber:iq:private'><late xmlns='urn:n'>v</late></query>");
      expect(condition(refused)).toBe('resource-constraint');
      await alice.iq('set', "<query xmlns='jabber:iq:private'><x0 xmlns='urn:n'/></query>");
      expect((await alice.iq('set', "<query xmlns='jabber:iq:private'><late xmlns='urn:n'>v</late></query>")).attrs.type).toBe('result');
    });
  });

  it('deleting an account deletes its vCard and private XML', async () => {
    const local = await user('alice');
    const alice = await server.login(local, 'desk');
    await alice.iq('set', "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
    await alice.iq('set', `<query xmlns='jabber:iq:private'>${bookmarks}</query>`);
    const { deleteAccount } = await import('../../src/core/accounts.js');
    await deleteAccount(server.server.host.state, `${local}@localhost`, server.server.host);
    await expect(server.server.host.state.personal.all(`${local}@localhost`)).resolves.toStrictEqual(new Map());
  });
});

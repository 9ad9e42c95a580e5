// XEP-0402 bookmarks as the truth, written back to the XEP-0048 places as Prosody's mod_bookmarks
// keeps them: private XML (XEP-0049, XEP-0402 §5.3) and the legacy PEP node (XEP-0411), with the
// legacy node's +notify resources told of each change; legacy private XML alone is migrated when
// a XEP-0402 client asks. Independent clients, on one node and across nodes ('cluster').
import { describe, expect, it } from 'vitest';
import { personalKey } from '../../src/state/personal.js';
import { befriend, xml } from '../support/client.js';
import { condition } from '../support/fixture.js';
import { announce, eventItems, itemsXml, publishXml } from '../support/pep.js';
import { BACKENDS, useTestServer } from '../support/server.js';

const BOOKMARKS = 'urn:xmpp:bookmarks:1';
const LEGACY = 'storage:bookmarks';
const LEGACY_KEY = personalKey({ kind: 'private', name: 'storage', namespace: LEGACY });
const OPTIONS = { 'pubsub#persist_items': 'true', 'pubsub#access_model': 'whitelist', 'pubsub#max_items': 'max', 'pubsub#send_last_published_item': 'never' };
const conference = (name: string, nick = 'al'): string => `<conference xmlns='${BOOKMARKS}' name='${name}' autojoin='true'><nick>${nick}</nick></conference>`;
const privateGet = "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>";

describe.each(BACKENDS)('XEP-0402 bookmarks written back to XEP-0048 (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { user } = fixture;
  const storedLegacy = (bare: string): Promise<string | undefined> => fixture.server.nodes[0]!.host.state.personal.get(bare, LEGACY_KEY);


  it('reflects a XEP-0402 publish and retract in the legacy PEP node, its +notify resources and private XML', async () => {
    const a = await user('alice');
    const modern = await fixture.server.login(a, 'modern');
    const legacy = await fixture.server.login(a, 'legacy');
    await announce(legacy, [LEGACY]);
    await legacy.barrier();
    legacy.clear();
    expect((await modern.iq('set', publishXml(BOOKMARKS, 'tea@chat.example', conference('Tea'), OPTIONS))).attrs.type).toBe('result');
    const event = await legacy.expect((element) => eventItems(element, LEGACY) !== undefined);
    expect(xml`<message from='${legacy.bare}' type='headline'><event><items node='${LEGACY}'><item id='current'><storage xmlns='${LEGACY}'><conference jid='tea@chat.example' name='Tea' autojoin='true'><nick>al</nick></conference></storage></item></items></event></message>`(event)).toBe(true);
    const legacyPep = await legacy.iq('get', itemsXml(LEGACY));
    expect(xml`<iq type='result'><pubsub><items node='${LEGACY}'><item id='current'><storage><conference jid='tea@chat.example'/></storage></item></items></pubsub></iq>`(legacyPep)).toBe(true);
    expect(await storedLegacy(legacy.bare)).toContain('jid="tea@chat.example"');
    await modern.iq('set', publishXml(BOOKMARKS, 'cake@chat.example', conference('Cake'), OPTIONS));
    await legacy.expect((element) => eventItems(element, LEGACY)?.getChild('item')?.getChild('storage')?.getChildren('conference').length === 2);
    await modern.iq('set', `<pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='${BOOKMARKS}' notify='true'><item id='tea@chat.example'/></retract></pubsub>`);
    const after = await legacy.expect((element) => eventItems(element, LEGACY)?.getChild('item')?.getChild('storage')?.getChildren('conference').length === 1);
    expect(eventItems(after, LEGACY)?.getChild('item')?.getChild('storage')?.getChild('conference')?.attrs.jid).toBe('cake@chat.example');
    const stored = await storedLegacy(legacy.bare);
    expect([stored?.includes('cake@chat.example'), stored?.includes('tea@chat.example')]).toEqual([true, false]);
    const got = await legacy.iq('get', privateGet);
    expect(got.getChild('query')?.getChild('storage')?.getChildren('conference').map((element) => element.attrs.jid)).toEqual(['cake@chat.example']);
  });

  it('keeps the <url/>s a legacy client stored across XEP-0402 changes', async () => {
    const a = await user('alice');
    const modern = await fixture.server.login(a, 'modern');
    const legacy = await fixture.server.login(a, 'legacy');
    const set = await legacy.iq('set', `<query xmlns='jabber:iq:private'><storage xmlns='${LEGACY}'><conference jid='tea@chat.example' name='Tea'/><url name='Home' url='https://example.org/'/></storage></query>`);
    expect(set.attrs.type).toBe('result');
    await modern.iq('set', publishXml(BOOKMARKS, 'pie@chat.example', conference('Pie'), OPTIONS));
    const got = await legacy.iq('get', privateGet);
    expect(xml`<iq type='result'><query><storage xmlns='${LEGACY}'><conference jid='tea@chat.example'/><conference jid='pie@chat.example'/><url name='Home' url='https://example.org/'/></storage></query></iq>`(got)).toBe(true);
  });

  it('makes legacy bookmarks kept only in private XML the XEP-0402 bookmarks when a client first asks', async () => {
    const a = await user('alice');
    const modern = await fixture.server.login(a, 'modern');
    // As an import (XEP-0227) or a server without PEP would have left them.
    await fixture.server.nodes[0]!.host.state.personal.set(modern.bare, LEGACY_KEY, `<storage xmlns='${LEGACY}'><conference jid='old@chat.example' name='Old' autojoin='true'><nick>al</nick></conference></storage>`, { itemBytes: 100_000, items: 100 });
    const got = await modern.iq('get', itemsXml(BOOKMARKS));
    expect(xml`<iq type='result'><pubsub><items node='${BOOKMARKS}'><item id='old@chat.example'><conference xmlns='${BOOKMARKS}' name='Old' autojoin='true'><nick>al</nick></conference></item></items></pubsub></iq>`(got)).toBe(true);
    const other = await fixture.server.login(await user('bob'), 'x');
    expect(condition(await other.iq('get', itemsXml(BOOKMARKS)))).toBe('item-not-found');
  });

  it('keeps the legacy node private even when an old client created it readable by contacts', async () => {
    const [a, b] = [await user('alice'), await user('bob')];
    const alice = await fixture.server.login(a, 'legacy');
    const bob = await fixture.server.login(b, 'laptop');
    await befriend(alice, bob);
    await alice.iq('set', publishXml(LEGACY, 'current', `<storage xmlns='${LEGACY}'><conference jid='tea@chat.example' name='Tea'/></storage>`));
    await alice.iq('set', publishXml(BOOKMARKS, 'pie@chat.example', conference('Pie'), OPTIONS));
    const refused = await bob.iq('get', itemsXml(LEGACY), alice.bare);
    expect(condition(refused)).toBe('not-allowed');
    const own = await alice.iq('get', itemsXml(LEGACY));
    expect(own.getChild('pubsub')?.getChild('items')?.getChild('item')?.getChild('storage')?.getChildren('conference').map((element) => element.attrs.jid)).toEqual(['tea@chat.example', 'pie@chat.example']);
  });
});

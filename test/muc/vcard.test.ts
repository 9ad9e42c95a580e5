// A room's vCard (XEP-0054 on the room JID, XEP-0486 MUC Avatars), as Prosody's mod_vcard_muc:
// its owners set it, anyone reads it; the photo's hash (XEP-0153) reaches the occupants in a
// presence from the room with a status 104 message, each newcomer in a presence, and everyone in
// the room's disco#info. Two or three clients, on one node and across nodes.
import { createHash } from 'node:crypto';
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { type RawClient, xml } from '../support/client.js';
import { condition, useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';
import { createRoom, freshRoom, join, NS_MUC_OWNER, NS_MUC_USER } from './support.js';

const NS_VCARD_UPDATE = 'vcard-temp:x:update';
const PHOTO = Buffer.from('a tiny picture of a cauldron, not really a PNG').toString('base64');
const HASH = createHash('sha1').update(Buffer.from(PHOTO, 'base64')).digest('hex');
const CARD = `<vCard xmlns='vcard-temp'><FN>The Heath</FN><DESC>Thunder, lightning &amp; rain</DESC><PHOTO><TYPE>image/png</TYPE><BINVAL>${PHOTO}</BINVAL></PHOTO></vCard>`;

const avatarFrom = (room: string) => (element: Element): boolean =>
  element.name === 'presence' && element.attrs.from === room && element.getChild('x', NS_VCARD_UPDATE) !== undefined;
const photoOf = (presence: Element): string | null | undefined => presence.getChild('x', NS_VCARD_UPDATE)?.getChildText('photo');

describe.each(BACKENDS)("a room's vCard (%s backend)", (backend) => {
  // Below the stanza size limit, so that a vCard past it reaches the room.
  const fixture = useTestServer({ backend, config: { limits: { ...DEFAULT_LIMITS, personalItemBytes: 4096 } } });
  const login = async (prefix: string, resource = 'r') => fixture.server.login(await fixture.user(prefix), resource);
  const setCard = (client: RawClient, room: string, card: string) => client.iq('set', card, room);
  const getCard = (client: RawClient, room: string) => client.iq('get', "<vCard xmlns='vcard-temp'/>", room);

  it('lets its owner set it and anyone read it; nobody else may change it', async () => {
    const room = freshRoom('heath');
    const alice = await login('alice');
    const bob = await login('bob');
    await createRoom(alice, room, 'Alice');
    const none = await getCard(bob, room);
    expect([none.attrs.type, condition(none)]).toStrictEqual(['error', 'item-not-found']);
    expect((await setCard(alice, room, CARD)).attrs.type).toBe('result');
    // Bob is not even in the room, and reads it.
    const read = await getCard(bob, room);
    expect(xml`<iq type='result' from='${room}'><vCard xmlns='vcard-temp'><FN>The Heath</FN></vCard></iq>`(read)).toBe(true);
    expect(read.getChild('vCard', 'vcard-temp')?.getChildText('DESC')).toBe('Thunder, lightning & rain');
    const refused = await setCard(bob, room, "<vCard xmlns='vcard-temp'><FN>Mine now</FN></vCard>");
    expect([refused.attrs.type, condition(refused)]).toStrictEqual(['error', 'forbidden']);
    // An admin is no owner either (Prosody and ejabberd: owners only).
    const admin = await alice.iq('set', `<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='admin' jid='${bob.jid?.split('/')[0] ?? ''}'/></query>`, room);
    expect(admin.attrs.type).toBe('result');
    expect(condition(await setCard(bob, room, "<vCard xmlns='vcard-temp'><FN>Mine now</FN></vCard>"))).toBe('forbidden');
    expect((await getCard(alice, room)).getChild('vCard', 'vcard-temp')?.getChildText('FN')).toBe('The Heath');
    const nowhere = await getCard(bob, freshRoom('nowhere'));
    expect([nowhere.attrs.type, condition(nowhere)]).toStrictEqual(['error', 'item-not-found']);
  });

  it("tells the occupants of a new avatar (its hash in the room's presence, and 104), gives it to each newcomer, and shows it in disco#info", async () => {
    const room = freshRoom('heath');
    const alice = await login('alice');
    const bob = await login('bob');
    const carol = await login('carol');
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    expect((await setCard(alice, room, CARD)).attrs.type).toBe('result');
    for (const client of [alice, bob]) {
      expect(photoOf(await client.expect(avatarFrom(room)))).toBe(HASH);
      const notice = await client.expect(xml`<message from='${room}' type='groupchat'/>`);
      expect(notice.getChild('x', NS_MUC_USER)?.getChildren('status').map((status) => status.attrs.code)).toStrictEqual(['104']);
    }
    // A newcomer hears of it as it enters (before the subject closes the join).
    carol.send(`<presence to='${room}/Carol'><x xmlns='http://jabber.org/protocol/muc'/></presence>`);
    expect(photoOf(await carol.expect(avatarFrom(room)))).toBe(HASH);
    await carol.expect((element) => element.name === 'message' && element.getChild('subject') !== undefined);
    const info = await carol.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", room);
    expect(xml`<iq type='result'><query><feature var='vcard-temp'/></query></iq>`(info)).toBe(true);
    const field = info.getChild('query')?.getChild('x', 'jabber:x:data')?.getChildren('field').find((candidate) => candidate.attrs.var === 'muc#roominfo_avatarhash');
    expect(field?.getChildText('value')).toBe(HASH);
  });

  it('takes the avatar away with an empty vCard, tells the occupants with an empty photo, and gives newcomers none', async () => {
    const room = freshRoom('heath');
    const alice = await login('alice');
    const bob = await login('bob');
    const carol = await login('carol');
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    await setCard(alice, room, CARD);
    await bob.expect(avatarFrom(room));
    expect((await setCard(alice, room, "<vCard xmlns='vcard-temp'/>")).attrs.type).toBe('result');
    expect(photoOf(await bob.expect((element) => avatarFrom(room)(element) && photoOf(element) !== HASH))).toBe('');
    expect(condition(await getCard(bob, room))).toBe('item-not-found');
    await join(carol, room, 'Carol');
    await carol.barrier();
    expect(carol.take(avatarFrom(room))).toStrictEqual([]);
    const info = await carol.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", room);
    expect(info.getChild('query')?.getChild('x', 'jabber:x:data')?.getChildren('field').map((candidate) => candidate.attrs.var)).not.toContain('muc#roominfo_avatarhash');
  });

  it('goes with the room: a room created again under the same JID has none', async () => {
    const room = freshRoom('heath');
    const alice = await login('alice');
    await createRoom(alice, room, 'Alice', { 'muc#roomconfig_persistentroom': '1' });
    await setCard(alice, room, CARD);
    const destroyed = await alice.iq('set', `<query xmlns='${NS_MUC_OWNER}'><destroy/></query>`, room);
    expect(destroyed.attrs.type).toBe('result');
    await alice.expect(xml`<presence from='${room}/Alice' type='unavailable'/>`);
    expect(condition(await getCard(alice, room))).toBe('item-not-found');
    await createRoom(alice, room, 'Alice');
    expect(condition(await getCard(alice, room))).toBe('item-not-found');
    const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", room);
    expect(info.getChild('query')?.getChild('x', 'jabber:x:data')?.getChildren('field').map((candidate) => candidate.attrs.var)).not.toContain('muc#roominfo_avatarhash');
  });

  it('refuses a vCard larger than limits.personalItemBytes with not-acceptable, keeping the one it has', async () => {
    const room = freshRoom('heath');
    const alice = await login('alice');
    await createRoom(alice, room, 'Alice');
    await setCard(alice, room, CARD);
    const limit = fixture.server.config.limits.personalItemBytes;
    const huge = `<vCard xmlns='vcard-temp'><DESC>${'x'.repeat(limit)}</DESC></vCard>`;
    const refused = await setCard(alice, room, huge);
    expect([refused.attrs.type, condition(refused)]).toStrictEqual(['error', 'not-acceptable']);
    expect((await getCard(alice, room)).getChild('vCard', 'vcard-temp')?.getChildText('FN')).toBe('The Heath');
    // The occupants heard of the first vCard only.
    await alice.barrier();
    expect(alice.take(xml`<message from='${room}' type='groupchat'/>`)).toHaveLength(1);
  });
});

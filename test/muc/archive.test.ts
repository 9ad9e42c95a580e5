// Room archives (XEP-0313 on the room JID, as Prosody's mod_muc_mam serves them) with the
// independent @xmpp/client library: on one node, and with the accounts spread over the nodes of
// a cluster ('cluster'), where the message is archived by whichever node reflects it.
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';
import type { XmppTestClient } from '../support/xmpp-client.js';
import { freshRoom, NS_MUC_ADMIN, NS_MUC_USER, statusCodes } from './support.js';
import {
  bodies, configure, createRoom, enter, errorCondition, iq, itemOf, NS_MAM, NS_OCCUPANT_ID, NS_RSM, NS_SID, queryArchive, say, send, stanzaIdBy, useClients, withField,
} from './xmpp-support.js';

const features = async (client: XmppTestClient, room: string): Promise<string[]> =>
  (await iq(client, 'get', room, "<query xmlns='http://jabber.org/protocol/disco#info'/>")).getChild('query')?.getChildren('feature').map((feature) => String(feature.attrs.var)) ?? [];

describe.each(BACKENDS)('room archives (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { login } = useClients(fixture);

  it('archives a groupchat message once, as reflected: every copy carries the stanza-id by the room that a query on the room returns, with the occupant id', async () => {
    const room = freshRoom('arch');
    const [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
    await createRoom(alice, room, 'Alice');
    await enter(bob, room, 'Bob');
    expect(await features(carol, room)).toEqual(expect.arrayContaining([NS_MAM, `${NS_MAM}#extended`, NS_SID]));
    const atBob = await say(bob, room, 'g1', 'Fair is foul');
    const atAlice = await alice.expect((m) => m.name === 'message' && m.attrs.id === 'g1');
    const id = stanzaIdBy(atBob, room);
    expect(id).toEqual(expect.any(String));
    expect(stanzaIdBy(atAlice, room)).toBe(id);
    // A chat state alone is no conversation: reflected, not archived.
    await send(bob, `<message to='${room}' type='groupchat' id='cs1'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`);
    const state = await alice.expect((m) => m.attrs.id === 'cs1');
    expect(state.getChildren('stanza-id', NS_SID)).toStrictEqual([]);

    // Carol never entered this open room, and may read its archive (XEP-0313 §5.1.2).
    const page = await queryArchive(carol, room);
    expect(page.reply.attrs.type).toBe('result');
    expect(page.reply.getChild('fin', NS_MAM)?.attrs.complete).toBe('true');
    expect(page.results.map((result) => result.id)).toStrictEqual([id]);
    const archived = page.results[0]?.message;
    expect(archived?.attrs).toMatchObject({ from: `${room}/Bob`, type: 'groupchat', id: 'g1' });
    expect(archived?.getChildText('body')).toBe('Fair is foul');
    expect(archived?.getChild('occupant-id', NS_OCCUPANT_ID)?.attrs.id).toBe(atBob.getChild('occupant-id', NS_OCCUPANT_ID)?.attrs.id);
    // Semi-anonymous: no real JID in what the archive gives out.
    expect(archived?.getChild('x', NS_MUC_USER)).toBeUndefined();
    const metadata = await iq(carol, 'get', room, `<metadata xmlns='${NS_MAM}'/>`);
    expect(metadata.getChild('metadata', NS_MAM)?.getChild('end')?.attrs.id).toBe(id);
  });

  it('archives a message sent again by the same session once, and pages through the room by occupant', async () => {
    const room = freshRoom('arch');
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await enter(bob, room, 'Bob');
    // Sent twice (a stream-management resend does this): reflected twice, archived once, one id.
    const first = await say(bob, room, 'again', 'once only', "<origin-id xmlns='urn:xmpp:sid:0' id='o-again'/>");
    const second = await say(bob, room, 'again', 'once only', "<origin-id xmlns='urn:xmpp:sid:0' id='o-again'/>");
    expect(stanzaIdBy(second, room)).toBe(stanzaIdBy(first, room));
    for (let i = 1; i <= 4; i += 1) await say(i % 2 === 0 ? alice : bob, room, `p${i}`, `line ${i}`);
    expect(bodies(await queryArchive(alice, room))).toStrictEqual(['once only', 'line 1', 'line 2', 'line 3', 'line 4']);
    const last = await queryArchive(alice, room, withField(`${room}/Bob`), `<set xmlns='${NS_RSM}'><max>2</max><before/></set>`);
    expect(bodies(last)).toStrictEqual(['line 1', 'line 3']);
    expect(last.reply.getChild('fin', NS_MAM)?.attrs.complete).toBeUndefined();
    const before = last.reply.getChild('fin', NS_MAM)?.getChild('set', NS_RSM)?.getChildText('first');
    const earlier = await queryArchive(alice, room, withField(`${room}/Bob`), `<set xmlns='${NS_RSM}'><max>2</max><before>${before}</before></set>`);
    expect(bodies(earlier)).toStrictEqual(['once only']);
    expect(earlier.reply.getChild('fin', NS_MAM)?.attrs.complete).toBe('true');
  });

  it('follows the room configuration, whichever node reflects: archiving off (171) stops it and hides the feature, on again (170) resumes it', async () => {
    const room = freshRoom('arch');
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await enter(bob, room, 'Bob');
    // Bob's node has read the room for this message; the changes below are made on Alice's.
    expect(stanzaIdBy(await say(bob, room, 'c1', 'kept'), room)).toEqual(expect.any(String));
    const form = await iq(alice, 'get', room, "<query xmlns='http://jabber.org/protocol/muc#owner'/>");
    const field = form.getChild('query')?.getChild('x')?.getChildren('field').find((f) => f.attrs.var === 'muc#roomconfig_enablearchiving');
    expect(field?.getChildText('value')).toBe('1');

    await configure(alice, room, { 'muc#roomconfig_enablearchiving': '0' });
    const off = await bob.expect((m) => m.name === 'message' && m.attrs.from === room && m.getChild('x', NS_MUC_USER) !== undefined);
    expect(statusCodes(off)).toStrictEqual(['104', '171']);
    expect(await features(bob, room)).not.toContain(NS_MAM);
    const unarchived = await say(bob, room, 'c2', 'not kept');
    expect(unarchived.getChildren('stanza-id', NS_SID)).toStrictEqual([]);

    await configure(alice, room, { 'muc#roomconfig_enablearchiving': '1' });
    const on = await bob.expect((m) => m.name === 'message' && m.attrs.from === room && m.getChild('x', NS_MUC_USER) !== undefined);
    expect(statusCodes(on)).toStrictEqual(['104', '170']);
    expect(stanzaIdBy(await say(bob, room, 'c3', 'kept again'), room)).toEqual(expect.any(String));
    expect(bodies(await queryArchive(bob, room))).toStrictEqual(['kept', 'kept again']);
  });

  it('lets only members and occupants read a members-only or password-protected room, never an outcast, and nobody a room that does not exist', async () => {
    const [members, secret, open] = [freshRoom('members'), freshRoom('secret'), freshRoom('open')];
    const [alice, carol, dave] = [await login('alice'), await login('carol'), await login('dave')];
    await createRoom(alice, members, 'Alice', { 'muc#roomconfig_membersonly': '1' });
    await createRoom(alice, secret, 'Alice', { 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'hurly' });
    await createRoom(alice, open, 'Alice');
    for (const room of [members, secret]) expect(errorCondition((await queryArchive(carol, room)).reply)).toBe('forbidden');
    const granted = await iq(alice, 'set', members, `<query xmlns='${NS_MUC_ADMIN}'><item affiliation='member' jid='${carol.bareJid}'/></query>`);
    expect(granted.attrs.type).toBe('result');
    expect((await queryArchive(carol, members)).reply.attrs.type).toBe('result');
    await enter(carol, secret, 'Carol', '<password>hurly</password>');
    expect((await queryArchive(carol, secret)).reply.attrs.type).toBe('result');
    const banned = await iq(alice, 'set', open, `<query xmlns='${NS_MUC_ADMIN}'><item affiliation='outcast' jid='${dave.bareJid}'/></query>`);
    expect(banned.attrs.type).toBe('result');
    expect(errorCondition((await queryArchive(dave, open)).reply)).toBe('forbidden');
    expect(errorCondition((await queryArchive(dave, freshRoom('none'))).reply)).toBe('item-not-found');
  });

  it('keeps the real JID with the messages of a non-anonymous room only, shows it only while the room stays so, and drops what a sender forged', async () => {
    const room = freshRoom('arch');
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice', { 'muc#roomconfig_whois': 'anyone' });
    await enter(bob, room, 'Bob');
    const forged = `<x xmlns='${NS_MUC_USER}'><item jid='macbeth@localhost'/></x><stanza-id xmlns='${NS_SID}' by='${room}' id='forged'/>`;
    const live = await say(bob, room, 'w1', 'who am I', forged);
    expect(live.getChildren('stanza-id', NS_SID).map((element) => element.attrs.id)).not.toContain('forged');
    const shown = (await queryArchive(alice, room)).results[0]?.message;
    expect(shown?.getChildren('x', NS_MUC_USER).map((x) => itemOf(x)?.attrs.jid ?? x.getChild('item')?.attrs.jid)).toStrictEqual([bob.bareJid]);
    await configure(alice, room, { 'muc#roomconfig_whois': 'moderators' });
    const hidden = (await queryArchive(alice, room)).results[0]?.message;
    expect(hidden?.getChildText('body')).toBe('who am I');
    expect(hidden?.getChildren('x', NS_MUC_USER)).toStrictEqual([]);
  });

  it('deletes the archive with the room', async () => {
    const room = freshRoom('arch');
    const alice = await login('alice');
    await createRoom(alice, room, 'Alice', { 'muc#roomconfig_persistentroom': '1' });
    await say(alice, room, 'd1', 'soon gone');
    expect(bodies(await queryArchive(alice, room))).toStrictEqual(['soon gone']);
    const destroyed = await iq(alice, 'set', room, "<query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query>");
    expect(destroyed.attrs.type).toBe('result');
    await alice.expect((p) => p.name === 'presence' && p.attrs.type === 'unavailable' && p.getChild('x', NS_MUC_USER)?.getChild('destroy') !== undefined);
    await createRoom(alice, room, 'Alice');
    expect(bodies(await queryArchive(alice, room))).toStrictEqual([]);
  });
});

describe.each(BACKENDS)('room archive retention (%s backend)', (backend) => {
  const fixture = useTestServer({ backend, config: { limits: { ...defaultConfig().limits, archiveMessages: 3 } } });
  const { login } = useClients(fixture);

  it('keeps a room\'s archive within the limits of an account\'s (limits.archiveMessages), dropping the oldest', async () => {
    const room = freshRoom('kept');
    const alice = await login('alice');
    await createRoom(alice, room, 'Alice');
    for (let i = 1; i <= 5; i += 1) await say(alice, room, `k${i}`, `line ${i}`);
    expect(bodies(await queryArchive(alice, room))).toStrictEqual(['line 3', 'line 4', 'line 5']);
  });
});

// XEP-0045 roles and affiliations (§8-§10), destruction, discovery (§6) and invitations (§7.8,
// XEP-0249), with independent clients on one node and on different nodes.
import { describe, expect, it } from 'vitest';
import { xml } from '../support/client.js';
import { condition, useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';
import { createRoom, freshRoom, join, NS_MUC, NS_MUC_ADMIN, NS_MUC_OWNER, NS_MUC_USER, SERVICE, statusCodes } from './support.js';

describe.each(BACKENDS)('group chat moderation (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const login = async (prefix: string) => fixture.server.login(await fixture.user(prefix), 'r');
  const admin = (items: string) => `<query xmlns='${NS_MUC_ADMIN}'>${items}</query>`;

  it('kicks an occupant (307): it and everyone else are told, with the actor and reason', async () => {
    const room = freshRoom();
    const [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    await join(carol, room, 'Carol');
    const done = await alice.iq('set', admin("<item nick='Bob' role='none'><reason>Out, damned spot</reason></item>"), room);
    expect(done.attrs.type).toBe('result');
    const kicked = await bob.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`);
    expect(statusCodes(kicked)).toStrictEqual(['110', '307']);
    expect(xml`<presence><x xmlns='${NS_MUC_USER}'><item role='none'><actor nick='Alice'/><reason>Out, damned spot</reason></item></x></presence>`(kicked)).toBe(true);
    expect(statusCodes(await carol.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`))).toStrictEqual(['307']);
    bob.send(`<message to='${room}' type='groupchat' id='k1'><body>still here?</body></message>`);
    expect(condition(await bob.expect(xml`<message type='error' id='k1'/>`))).toBe('not-acceptable');
    // A participant may not kick, nor anyone the owner.
    expect(condition(await carol.iq('set', admin("<item nick='Alice' role='none'/>"), room))).toBe('forbidden');
  });

  it('bans an account (301) and keeps it out (forbidden); the outcast list shows it', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    expect((await alice.iq('set', admin(`<item jid='${bob.bare}' affiliation='outcast'/>`), room)).attrs.type).toBe('result');
    expect(statusCodes(await bob.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`))).toStrictEqual(['110', '301']);
    expect(statusCodes(await alice.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`))).toStrictEqual(['301']);
    bob.send(`<presence to='${room}/Bob'><x xmlns='${NS_MUC}'/></presence>`);
    expect(condition(await bob.expect(xml`<presence from='${room}/Bob' type='error'/>`))).toBe('forbidden');
    const list = await alice.iq('get', admin("<item affiliation='outcast'/>"), room);
    expect(list.getChild('query')?.getChildren('item').map((item) => item.attrs.jid)).toStrictEqual([bob.bare]);
  });

  it('takes voice in a moderated room and gives it back; a visitor cannot speak', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice', { 'muc#roomconfig_moderatedroom': '1' });
    const self = await join(bob, room, 'Bob');
    expect(self.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role).toBe('visitor');
    bob.send(`<message to='${room}' type='groupchat' id='v1'><body>hear me</body></message>`);
    expect(condition(await bob.expect(xml`<message type='error' id='v1'/>`))).toBe('forbidden');
    await alice.iq('set', admin("<item nick='Bob' role='participant'/>"), room);
    await bob.expect(xml`<presence from='${room}/Bob'><x xmlns='${NS_MUC_USER}'><item role='participant'/></x></presence>`);
    bob.send(`<message to='${room}' type='groupchat' id='v2'><body>now I may</body></message>`);
    await alice.expect(xml`<message from='${room}/Bob' id='v2'/>`);
  });

  it('grants membership, admin and ownership, each list showing its holders; a member enters a members-only room', async () => {
    const room = freshRoom();
    const [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
    await createRoom(alice, room, 'Alice', { 'muc#roomconfig_membersonly': '1' });
    await alice.iq('set', admin(`<item jid='${bob.bare}' affiliation='member'/>`), room);
    await alice.iq('set', admin(`<item jid='${carol.bare}' affiliation='admin'/>`), room);
    const members = await alice.iq('get', admin("<item affiliation='member'/>"), room);
    expect(members.getChild('query')?.getChildren('item').map((item) => item.attrs.jid)).toStrictEqual([bob.bare]);
    const admins = await alice.iq('get', admin("<item affiliation='admin'/>"), room);
    expect(admins.getChild('query')?.getChildren('item').map((item) => item.attrs.jid)).toStrictEqual([carol.bare]);
    const self = await join(bob, room, 'Bob');
    expect(xml`<presence><x xmlns='${NS_MUC_USER}'><item affiliation='member' role='participant'/></x></presence>`(self)).toBe(true);
    const carolSelf = await join(carol, room, 'Carol');
    expect(carolSelf.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.role).toBe('moderator');
    // An admin may not make owners; the owner may.
    expect(condition(await carol.iq('set', admin(`<item jid='${bob.bare}' affiliation='owner'/>`), room))).toBe('not-allowed');
    expect((await alice.iq('set', admin(`<item jid='${bob.bare}' affiliation='owner'/>`), room)).attrs.type).toBe('result');
    await bob.expect(xml`<presence from='${room}/Bob'><x xmlns='${NS_MUC_USER}'><item affiliation='owner' role='moderator'/></x></presence>`);
    // Back to no affiliation in a members-only room: removed (321).
    expect((await alice.iq('set', admin(`<item jid='${bob.bare}' affiliation='none'/>`), room)).attrs.type).toBe('result');
    expect(statusCodes(await bob.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`))).toStrictEqual(['110', '321']);
  });

  it('tells the occupants of a configuration change (104) that makes the room non-anonymous (172), and newcomers see real JIDs (100)', async () => {
    const room = freshRoom();
    const [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    const form = "<x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_whois'><value>anyone</value></field></x>";
    expect((await alice.iq('set', `<query xmlns='${NS_MUC_OWNER}'>${form}</query>`, room)).attrs.type).toBe('result');
    const notice = await bob.expect(xml`<message from='${room}' type='groupchat'><x xmlns='${NS_MUC_USER}'/></message>`);
    expect(statusCodes(notice)).toStrictEqual(['104', '172']);
    const self = await join(carol, room, 'Carol');
    expect(statusCodes(self)).toStrictEqual(['100', '110']);
    const bobSeen = carol.log.find((element) => element.name === 'presence' && element.attrs.from === `${room}/Bob`);
    expect(bobSeen?.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid).toBe(bob.jid);
  });

  it('destroys a room: every occupant is told, with the alternate venue and reason', async () => {
    const room = freshRoom();
    const venue = freshRoom('venue');
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice', { 'muc#roomconfig_persistentroom': '1' });
    await join(bob, room, 'Bob');
    expect(condition(await bob.iq('set', `<query xmlns='${NS_MUC_OWNER}'><destroy/></query>`, room))).toBe('forbidden');
    const done = await alice.iq('set', `<query xmlns='${NS_MUC_OWNER}'><destroy jid='${venue}'><reason>Macbeth doth murder sleep</reason></destroy></query>`, room);
    expect(done.attrs.type).toBe('result');
    const told = xml`<presence from='${room}/Bob' type='unavailable'><x xmlns='${NS_MUC_USER}'><destroy jid='${venue}'><reason>Macbeth doth murder sleep</reason></destroy></x></presence>`;
    await bob.expect(told);
    await alice.expect(xml`<presence from='${room}/Alice' type='unavailable'><x xmlns='${NS_MUC_USER}'><destroy jid='${venue}'/></x></presence>`);
    expect(condition(await bob.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", room))).toBe('item-not-found');
  });

  it('describes a room with muc#roominfo and lists public rooms, not hidden ones', async () => {
    const [open, hidden] = [freshRoom('open'), freshRoom('hidden')];
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, open, 'Alice', { 'muc#roomconfig_roomname': 'Heath', 'muc#roomconfig_roomdesc': 'A desert place', 'muc#roomconfig_persistentroom': '1' });
    await createRoom(alice, hidden, 'Alice', { 'muc#roomconfig_publicroom': '0' });
    const info = await bob.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", open);
    expect(xml`<iq type='result'><query><identity category='conference' type='text' name='Heath'/><feature var='muc_public'/><feature var='muc_persistent'/><feature var='muc_semianonymous'/><x xmlns='jabber:x:data' type='result'><field var='muc#roominfo_description'><value>A desert place</value></field><field var='muc#roominfo_occupants'><value>1</value></field></x></query></iq>`(info)).toBe(true);
    const items = await bob.iq('get', "<query xmlns='http://jabber.org/protocol/disco#items'/>", SERVICE);
    const jids = items.getChild('query')?.getChildren('item').map((item) => item.attrs.jid);
    expect(jids).toContain(open);
    expect(jids).not.toContain(hidden);
  });

  it('passes a mediated invitation on from the room, and a direct one (XEP-0249) from the inviter', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    // Available, so that messages to the bare JID reach the resource rather than offline storage.
    bob.send('<presence/>');
    await bob.expect(xml`<presence from='${bob.jid}'/>`);
    alice.send(`<message to='${room}'><x xmlns='${NS_MUC_USER}'><invite to='${bob.bare}'><reason>Come, sisters</reason></invite></x></message>`);
    await bob.expect(xml`<message from='${room}'><x xmlns='${NS_MUC_USER}'><invite from='${alice.jid}'><reason>Come, sisters</reason></invite></x></message>`);
    alice.send(`<message to='${bob.bare}' id='d1'><x xmlns='jabber:x:conference' jid='${room}' reason='Meet me'/></message>`);
    await bob.expect(xml`<message from='${alice.jid}' id='d1'><x xmlns='jabber:x:conference' jid='${room}'/></message>`);
  });
});

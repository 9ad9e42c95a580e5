// XEP-0045 for what clients use, two or more independent clients, on one node and across nodes
// (the 'cluster' kind places each account on its own node): entering, occupant lists, history,
// the subject, groupchat and private messages, nick changes, multi-session nicks, leaving.
import { describe, expect, it } from 'vitest';
import { xml } from '../support/client.js';
import { condition, useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';
import { createRoom, freshRoom, isPresenceFrom, join, NS_MUC, NS_MUC_USER, SERVICE, statusCodes } from './support.js';

describe.each(BACKENDS)('group chat (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const login = async (prefix: string, resource = 'r') => fixture.server.login(await fixture.user(prefix), resource);

  it('lists the service in the server\'s disco#items and describes it', async () => {
    const alice = await login('alice');
    const items = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#items'/>", 'localhost');
    expect(items.getChild('query')?.getChildren('item').map((item) => item.attrs.jid)).toContain(SERVICE);
    const info = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", SERVICE);
    expect(xml`<iq type='result'><query><identity category='conference' type='text'/><feature var='${NS_MUC}'/></query></iq>`(info)).toBe(true);
  });

  it('creates a room for its first occupant, who becomes its owner (110, 201), and lets others in after configuration', async () => {
    const room = freshRoom();
    const alice = await login('alice');
    const bob = await login('bob');
    alice.send(`<presence to='${room}/Alice'><x xmlns='${NS_MUC}'/></presence>`);
    const self = await alice.expect(isPresenceFrom(room));
    expect(statusCodes(self)).toStrictEqual(['110', '201']);
    expect(xml`<presence from='${room}/Alice'><x xmlns='${NS_MUC_USER}'><item affiliation='owner' role='moderator'/></x></presence>`(self)).toBe(true);
    // Reserved until configured: nobody else gets in (§10.1.3).
    bob.send(`<presence to='${room}/Bob'><x xmlns='${NS_MUC}'/></presence>`);
    expect(condition(await bob.expect(xml`<presence from='${room}/Bob' type='error'/>`))).toBe('item-not-found');
    const form = await alice.iq('get', "<query xmlns='http://jabber.org/protocol/muc#owner'/>", room);
    const vars = form.getChild('query')?.getChild('x')?.getChildren('field').map((field) => field.attrs.var);
    expect(vars).toEqual(expect.arrayContaining(['muc#roomconfig_roomname', 'muc#roomconfig_persistentroom', 'muc#roomconfig_membersonly', 'muc#roomconfig_roomsecret', 'muc#roomconfig_maxusers', 'muc#roomconfig_whois', 'muc#roomconfig_allowpm']));
    const done = await alice.iq('set', "<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query>", room);
    expect(done.attrs.type).toBe('result');
    const joined = await join(bob, room, 'Bob');
    expect(statusCodes(joined)).toStrictEqual(['110']);
  });

  it('sends the newcomer every occupant, then itself; the others see it arrive', async () => {
    const room = freshRoom();
    const [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    await alice.expect(xml`<presence from='${room}/Bob'><x xmlns='${NS_MUC_USER}'><item role='participant' affiliation='none'/></x></presence>`);
    carol.send(`<presence to='${room}/Carol'><x xmlns='${NS_MUC}'/></presence>`);
    const first = await carol.expect(isPresenceFrom(room));
    const second = await carol.expect(isPresenceFrom(room));
    const self = await carol.expect(isPresenceFrom(room));
    expect([first, second].map((p) => p.attrs.from).sort()).toStrictEqual([`${room}/Alice`, `${room}/Bob`]);
    expect(self.attrs.from).toBe(`${room}/Carol`);
    expect(statusCodes(self)).toContain('110');
    // Semi-anonymous: Carol is no moderator and sees no real JIDs; Alice (moderator) does.
    expect(first.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid).toBeUndefined();
    const seen = await alice.expect(xml`<presence from='${room}/Carol'/>`);
    expect(seen.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.jid).toBe(carol.jid);
    expect(seen.getChild('occupant-id', 'urn:xmpp:occupant-id:0')?.attrs.id).toEqual(expect.any(String));
  });

  it('reflects a groupchat message to every occupant, the sender too, with one occupant id per account', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    bob.send(`<message to='${room}' type='groupchat' id='g1'><body>Fair is foul</body><occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/></message>`);
    const atAlice = await alice.expect(xml`<message from='${room}/Bob' to='${alice.jid}' type='groupchat' id='g1'><body>Fair is foul</body></message>`);
    const atBob = await bob.expect(xml`<message from='${room}/Bob' to='${bob.jid}' type='groupchat' id='g1'><body>Fair is foul</body></message>`);
    const ids = [atAlice, atBob].map((m) => m.getChildren('occupant-id', 'urn:xmpp:occupant-id:0').map((o) => o.attrs.id));
    expect(ids[0]).toHaveLength(1);
    expect(ids[0]).toStrictEqual(ids[1]);
    expect(ids[0]).not.toContain('forged');
  });

  it('refuses a groupchat message from a non-occupant with not-acceptable', async () => {
    const room = freshRoom();
    const [alice, mallory] = [await login('alice'), await login('mallory')];
    await createRoom(alice, room, 'Alice');
    mallory.send(`<message to='${room}' type='groupchat' id='x1'><body>let me in</body></message>`);
    expect(condition(await mallory.expect(xml`<message from='${room}' type='error' id='x1'/>`))).toBe('not-acceptable');
    await alice.barrier();
    expect(alice.take(xml`<message id='x1'/>`)).toStrictEqual([]);
  });

  it('sends history on entering within maxstanzas, maxchars, seconds and since, each with its delay', async () => {
    const room = freshRoom();
    const [alice, bob, carol, dave] = [await login('alice'), await login('bob'), await login('carol'), await login('dave')];
    await createRoom(alice, room, 'Alice');
    for (const n of [1, 2, 3]) {
      alice.send(`<message to='${room}' type='groupchat' id='h${n}'><body>line ${n}</body></message>`);
      await alice.expect(xml`<message id='h${n}'/>`);
    }
    await join(bob, room, 'Bob');
    // The history arrived before the subject, which join() waited for: the log has it in order.
    const history = (client: typeof bob) => client.log.filter((m) => m.name === 'message' && m.getChild('body') !== undefined && m.getChild('delay', 'urn:xmpp:delay')?.attrs.from === room).map((m) => m.attrs.id);
    expect(history(bob)).toStrictEqual(['h1', 'h2', 'h3']);
    await join(carol, room, 'Carol', "<history maxstanzas='2'/>");
    expect(history(carol)).toStrictEqual(['h2', 'h3']);
    await join(dave, room, 'Dave', "<history maxchars='0'/>");
    expect(history(dave)).toStrictEqual([]);
    const erin = await login('erin');
    await join(erin, room, 'Erin', `<history since='${new Date(Date.now() + 60_000).toISOString()}'/>`);
    expect(history(erin)).toStrictEqual([]);
    const frank = await login('frank');
    await join(frank, room, 'Frank', "<history seconds='60'/>");
    expect(history(frank)).toStrictEqual(['h1', 'h2', 'h3']);
  });

  it('lets a moderator set the subject, which every newcomer receives; a participant may not', async () => {
    const room = freshRoom();
    const [alice, bob, carol] = [await login('alice'), await login('bob'), await login('carol')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    alice.send(`<message to='${room}' type='groupchat'><subject>Thunder</subject></message>`);
    await bob.expect(xml`<message from='${room}/Alice' type='groupchat'><subject>Thunder</subject></message>`);
    bob.send(`<message to='${room}' type='groupchat' id='s2'><subject>Lightning</subject></message>`);
    expect(condition(await bob.expect(xml`<message type='error' id='s2'/>`))).toBe('forbidden');
    await join(carol, room, 'Carol');
    expect(carol.log.some((m) => xml`<message from='${room}/Alice' type='groupchat'><subject>Thunder</subject></message>`(m))).toBe(true);
  });

  it('passes private messages between occupants, from the sender\'s occupant JID', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    bob.send(`<message to='${room}/Alice' type='chat' id='p1'><body>psst</body></message>`);
    await alice.expect(xml`<message from='${room}/Bob' to='${alice.jid}' type='chat' id='p1'><body>psst</body><x xmlns='${NS_MUC_USER}'/></message>`);
    bob.send(`<message to='${room}/Nobody' type='chat' id='p2'><body>?</body></message>`);
    expect(condition(await bob.expect(xml`<message type='error' id='p2'/>`))).toBe('item-not-found');
  });

  it('refuses a nick in use with conflict, and announces a nick change with 303', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    bob.send(`<presence to='${room}/Alice'><x xmlns='${NS_MUC}'/></presence>`);
    expect(condition(await bob.expect(xml`<presence from='${room}/Alice' type='error'/>`))).toBe('conflict');
    await join(bob, room, 'Bob');
    alice.clear();
    bob.send(`<presence to='${room}/Banquo'/>`);
    const gone = await alice.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`);
    expect(statusCodes(gone)).toStrictEqual(['303']);
    expect(gone.getChild('x', NS_MUC_USER)?.getChild('item')?.attrs.nick).toBe('Banquo');
    await alice.expect(xml`<presence from='${room}/Banquo'/>`);
    const self = await bob.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`);
    expect(statusCodes(self)).toStrictEqual(['110', '303']);
    bob.send(`<message to='${room}' type='groupchat' id='n1'><body>renamed</body></message>`);
    await alice.expect(xml`<message from='${room}/Banquo' id='n1'/>`);
  });

  it('lets two sessions of one account share a nick; both receive the room, and the nick stays while one remains', async () => {
    const room = freshRoom();
    const alice = await login('alice');
    const bobLocal = await fixture.user('bob');
    const [desk, phone] = [await fixture.server.login(bobLocal, 'desk'), await fixture.server.login(bobLocal, 'phone')];
    await createRoom(alice, room, 'Alice');
    await join(desk, room, 'Bob');
    await join(phone, room, 'Bob');
    alice.send(`<message to='${room}' type='groupchat' id='m1'><body>both?</body></message>`);
    await desk.expect(xml`<message id='m1' to='${desk.jid}'/>`);
    await phone.expect(xml`<message id='m1' to='${phone.jid}'/>`);
    alice.clear();
    phone.send(`<presence to='${room}/Bob' type='unavailable'/>`);
    await phone.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`);
    await alice.barrier();
    expect(alice.take(xml`<presence from='${room}/Bob' type='unavailable'/>`)).toStrictEqual([]);
    desk.send(`<message to='${room}' type='groupchat' id='m2'><body>still here</body></message>`);
    await alice.expect(xml`<message from='${room}/Bob' id='m2'/>`);
  });

  it('announces a leave to everyone, and a temporary room goes with its last occupant', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    bob.send(`<presence to='${room}/Bob' type='unavailable'/>`);
    await alice.expect(xml`<presence from='${room}/Bob' type='unavailable'><x xmlns='${NS_MUC_USER}'><item role='none'/></x></presence>`);
    await bob.expect(xml`<presence from='${room}/Bob' type='unavailable'><x xmlns='${NS_MUC_USER}'><status code='110'/></x></presence>`);
    await alice.close();
    await expect.poll(() => fixture.server.server.host.state.muc.get(room)).toBeUndefined();
    const leftBehind = await bob.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", room);
    expect(condition(leftBehind)).toBe('item-not-found');
  });

  it('makes the occupants of a closed connection leave the room', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await join(bob, room, 'Bob');
    await bob.close();
    await alice.expect(xml`<presence from='${room}/Bob' type='unavailable'/>`);
  });

  it('refuses entry with a wrong password (not-authorized), to a members-only room (registration-required) and to a full room (service-unavailable)', async () => {
    const [secret, members, small] = [freshRoom('secret'), freshRoom('members'), freshRoom('small')];
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, secret, 'Alice', { 'muc#roomconfig_passwordprotectedroom': '1', 'muc#roomconfig_roomsecret': 'hurly' });
    await createRoom(alice, members, 'Alice', { 'muc#roomconfig_membersonly': '1' });
    await createRoom(alice, small, 'Alice', { 'muc#roomconfig_maxusers': '1' });
    bob.send(`<presence to='${secret}/Bob'><x xmlns='${NS_MUC}'><password>burly</password></x></presence>`);
    expect(condition(await bob.expect(xml`<presence from='${secret}/Bob' type='error'/>`))).toBe('not-authorized');
    await join(bob, secret, 'Bob', '<password>hurly</password>');
    bob.send(`<presence to='${members}/Bob'><x xmlns='${NS_MUC}'/></presence>`);
    expect(condition(await bob.expect(xml`<presence from='${members}/Bob' type='error'/>`))).toBe('registration-required');
    bob.send(`<presence to='${small}/Bob'><x xmlns='${NS_MUC}'/></presence>`);
    expect(condition(await bob.expect(xml`<presence from='${small}/Bob' type='error'/>`))).toBe('service-unavailable');
  });

  it('answers a self-ping from an occupant, and not-acceptable from anyone else (XEP-0410)', async () => {
    const room = freshRoom();
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    expect((await alice.iq('get', "<ping xmlns='urn:xmpp:ping'/>", `${room}/Alice`)).attrs.type).toBe('result');
    expect(condition(await bob.iq('get', "<ping xmlns='urn:xmpp:ping'/>", `${room}/Alice`))).toBe('not-acceptable');
  });

  it('still answers remote-server-not-found for other domains', async () => {
    const alice = await login('alice');
    alice.send("<message to='someone@elsewhere.example' id='r1'><body>hi</body></message>");
    expect(condition(await alice.expect(xml`<message type='error' id='r1'/>`))).toBe('remote-server-not-found');
  });
});

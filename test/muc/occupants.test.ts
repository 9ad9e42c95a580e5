// Between occupants, with the independent @xmpp/client library, on one node and across nodes:
// a nick change moves every session of the account (several resources in one nick), and iqs to
// an occupant JID reach the occupant's real JID and come back (vCard requests to its bare JID),
// as Prosody passes them on.
import { describe, expect, it } from 'vitest';
import { useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';
import { type Element, xml } from '../support/xmpp-client.js';
import { freshRoom, statusCodes } from './support.js';
import { createRoom, enter, errorCondition, iq, itemOf, say, send, useClients } from './xmpp-support.js';

const presenceFrom = (from: string, type?: string) => (element: Element): boolean =>
  element.name === 'presence' && element.attrs.from === from && element.attrs.type === type;

describe.each(BACKENDS)('between occupants (%s backend)', (backend) => {
  const fixture = useTestServer({ backend });
  const { login, loginAs } = useClients(fixture);

  it('moves every session of an account to its new nick together: others see one 303, each session hears it with 110', async () => {
    const room = freshRoom('nick');
    const alice = await login('alice');
    const bobLocal = await fixture.user('bob');
    const [desk, phone] = [await loginAs(bobLocal, 'desk'), await loginAs(bobLocal, 'phone')];
    await createRoom(alice, room, 'Alice');
    await enter(desk, room, 'Bob');
    await enter(phone, room, 'Bob');
    await alice.barrier();
    alice.take(() => true);
    await send(phone, `<presence to='${room}/Banquo'/>`);
    for (const session of [desk, phone]) {
      const gone = await session.expect(presenceFrom(`${room}/Bob`, 'unavailable'));
      expect(statusCodes(gone)).toStrictEqual(['110', '303']);
      expect(itemOf(gone)?.attrs.nick).toBe('Banquo');
      const back = await session.expect(presenceFrom(`${room}/Banquo`));
      expect(statusCodes(back)).toContain('110');
    }
    const gone = await alice.expect(presenceFrom(`${room}/Bob`, 'unavailable'));
    expect(statusCodes(gone)).toStrictEqual(['303']);
    await alice.expect(presenceFrom(`${room}/Banquo`));
    await alice.barrier();
    expect(alice.take((element) => element.name === 'presence')).toStrictEqual([]);
    // Both sessions speak, and are spoken to, as Banquo.
    await say(desk, room, 'n1', 'from the desk');
    await alice.expect((m) => m.name === 'message' && m.attrs.id === 'n1' && m.attrs.from === `${room}/Banquo`);
    await say(alice, room, 'n2', 'to both');
    for (const session of [desk, phone]) await session.expect((m) => m.attrs.id === 'n2');
    // One leaving keeps the nick for the other.
    await send(desk, `<presence to='${room}/Banquo' type='unavailable'/>`);
    await desk.expect(presenceFrom(`${room}/Banquo`, 'unavailable'));
    await say(phone, room, 'n3', 'still here');
    await alice.expect((m) => m.attrs.id === 'n3' && m.attrs.from === `${room}/Banquo`);
  });

  it('merges a session into the nick its account holds from another session; the others see the old nick go with 303', async () => {
    const room = freshRoom('nick');
    const alice = await login('alice');
    const bobLocal = await fixture.user('bob');
    const [desk, phone] = [await loginAs(bobLocal, 'desk'), await loginAs(bobLocal, 'phone')];
    await createRoom(alice, room, 'Alice');
    await enter(desk, room, 'Bob');
    await enter(phone, room, 'Bobby');
    await alice.expect(presenceFrom(`${room}/Bobby`));
    await send(phone, `<presence to='${room}/Bob'/>`);
    const gone = await alice.expect(presenceFrom(`${room}/Bobby`, 'unavailable'));
    expect(statusCodes(gone)).toStrictEqual(['303']);
    expect(itemOf(gone)?.attrs.nick).toBe('Bob');
    expect(statusCodes(await phone.expect(presenceFrom(`${room}/Bobby`, 'unavailable')))).toStrictEqual(['110', '303']);
    await desk.expect(presenceFrom(`${room}/Bobby`, 'unavailable'));
    await say(alice, room, 'm1', 'to both');
    for (const session of [desk, phone]) await session.expect((m) => m.attrs.id === 'm1');
  });

  it('removes an occupant whose client answers the room with an error (333, as Prosody), but not for a condition that says nothing of its presence', async () => {
    const room = freshRoom('kick');
    const alice = await login('alice');
    const bob = await login('bob');
    await createRoom(alice, room, 'Alice');
    await enter(bob, room, 'Bob');
    await alice.expect(presenceFrom(`${room}/Bob`));
    // A message error of a condition Prosody does not kick for (policy-violation) changes nothing.
    await send(bob, `<message to='${room}/Alice' type='error' id='e1'><error type='modify'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`);
    await say(bob, room, 'k1', 'still in');
    await alice.expect((m) => m.name === 'message' && m.attrs.id === 'k1');
    await send(bob, `<message to='${room}/Alice' type='error' id='e2'><error type='cancel'><recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`);
    const kicked = await alice.expect(presenceFrom(`${room}/Bob`, 'unavailable'));
    expect(statusCodes(kicked)).toStrictEqual(['333']);
    expect(kicked.getChildText('status')).toBe('Kicked: recipient unavailable');
    expect(statusCodes(await bob.expect(presenceFrom(`${room}/Bob`, 'unavailable')))).toStrictEqual(['110', '333']);
    // And on any presence error.
    await enter(bob, room, 'Bob');
    await alice.expect(presenceFrom(`${room}/Bob`));
    await send(bob, `<presence to='${room}/Bob' type='error'><error type='cancel'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`);
    expect((await alice.expect(presenceFrom(`${room}/Bob`, 'unavailable'))).getChildText('status')).toBe('Kicked: not allowed');
  });

  it('passes an iq to an occupant on to its real JID, from the asker\'s occupant JID, and the reply back with the asker\'s id', async () => {
    const room = freshRoom('iq');
    const [alice, bob] = [await login('alice'), await login('bob')];
    await createRoom(alice, room, 'Alice');
    await enter(bob, room, 'Bob');
    const asked: Element[] = [];
    bob.xmpp.iqCallee.get('jabber:iq:version', 'query', (context: { stanza: Element }) => {
      asked.push(context.stanza);
      return xml('query', { xmlns: 'jabber:iq:version' }, xml('name', {}, 'Bob\'s client'));
    });
    const reply = await iq(alice, 'get', `${room}/Bob`, "<query xmlns='jabber:iq:version'/>");
    expect(reply.attrs).toMatchObject({ type: 'result', from: `${room}/Bob`, to: alice.jid });
    expect(reply.getChild('query', 'jabber:iq:version')?.getChildText('name')).toBe('Bob\'s client');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.attrs.from).toBe(`${room}/Alice`);
    expect(asked[0]?.toString()).not.toContain(alice.bareJid);
    // Unanswered by the client: its error comes back the same way.
    const unknown = await iq(alice, 'get', `${room}/Bob`, "<query xmlns='urn:example:unknown'/>");
    expect(unknown.attrs.from).toBe(`${room}/Bob`);
    expect(errorCondition(unknown)).toBe('service-unavailable');
  });

  it('sends a vCard request to an occupant\'s bare JID, which its server answers', async () => {
    const room = freshRoom('iq');
    const [alice, bob] = [await login('alice'), await login('bob')];
    const stored = await iq(bob, 'set', bob.bareJid, "<vCard xmlns='vcard-temp'><FN>Banquo</FN></vCard>");
    expect(stored.attrs.type).toBe('result');
    await createRoom(alice, room, 'Alice');
    await enter(bob, room, 'Bob');
    const card = await iq(alice, 'get', `${room}/Bob`, "<vCard xmlns='vcard-temp'/>");
    expect(card.attrs).toMatchObject({ type: 'result', from: `${room}/Bob` });
    expect(card.getChild('vCard', 'vcard-temp')?.getChildText('FN')).toBe('Banquo');
    await bob.barrier();
    expect(bob.take((element) => element.name === 'iq' && element.attrs.from === `${room}/Alice`)).toStrictEqual([]);
  });

  it('refuses an iq from a non-occupant (not-acceptable) and to a nick nobody holds (item-not-found), answers a self-ping and passes a ping to another occupant on', async () => {
    const room = freshRoom('iq');
    const [alice, bob, mallory] = [await login('alice'), await login('bob'), await login('mallory')];
    await createRoom(alice, room, 'Alice');
    await enter(bob, room, 'Bob');
    expect(errorCondition(await iq(mallory, 'get', `${room}/Bob`, "<query xmlns='jabber:iq:version'/>"))).toBe('not-acceptable');
    expect(errorCondition(await iq(alice, 'get', `${room}/Nobody`, "<query xmlns='jabber:iq:version'/>"))).toBe('item-not-found');
    expect((await iq(alice, 'get', `${room}/Alice`, "<ping xmlns='urn:xmpp:ping'/>")).attrs).toMatchObject({ type: 'result', from: `${room}/Alice` });
    // @xmpp/client answers pings itself: Bob's client got it, from Alice's occupant JID.
    expect((await iq(alice, 'get', `${room}/Bob`, "<ping xmlns='urn:xmpp:ping'/>")).attrs).toMatchObject({ type: 'result', from: `${room}/Bob` });
    const pings = bob.take((element) => element.name === 'iq' && element.getChild('ping', 'urn:xmpp:ping') !== undefined);
    expect(pings.map((ping) => ping.attrs.from)).toStrictEqual([`${room}/Alice`]);
  });
});

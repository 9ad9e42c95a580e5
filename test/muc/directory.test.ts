// XEP-0045 §6.3 the directory of rooms, paged with XEP-0059 (as ejabberd's mod_muc pages its
// disco#items): two clients, one creating rooms and one browsing, on one node and across nodes.
// The service runs a second domain whose rooms only this file creates, so the directory is known.
import type { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { xml } from '../support/client.js';
import { condition, useTestServer } from '../support/fixture.js';
import { BACKENDS } from '../support/server.js';
import type { RoomConfig } from '../../src/state/muc.js';
import { createRoom, enter, NS_MUC_OWNER } from './support.js';

const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';
const NS_RSM = 'http://jabber.org/protocol/rsm';
const CHAT = 'chat.localhost';

const items = (reply: Element): string[] => (reply.getChild('query', NS_DISCO_ITEMS)?.getChildren('item') ?? []).map((item) => `${String(item.attrs.jid)} ${String(item.attrs.name)}`);
const setOf = (reply: Element): { first?: string; index?: string; last?: string; count?: string } | undefined => {
  const set = reply.getChild('query', NS_DISCO_ITEMS)?.getChild('set', NS_RSM);
  if (!set) return undefined;
  const first = set.getChild('first');
  return {
    ...(first ? { first: first.getText(), index: String(first.attrs.index) } : {}),
    ...(set.getChild('last') ? { last: set.getChildText('last') ?? '' } : {}),
    ...(set.getChild('count') ? { count: set.getChildText('count') ?? '' } : {}),
  };
};

describe.each(BACKENDS)('the directory of rooms (%s backend)', (backend) => {
  const fixture = useTestServer({ backend, config: { mucDomains: `conference.localhost,${CHAT}` } });
  const login = async (prefix: string, resource = 'r') => fixture.server.login(await fixture.user(prefix), resource);
  const browse = (client: Awaited<ReturnType<typeof login>>, set = '', domain = CHAT): Promise<Element> => client.iq('get', `<query xmlns='${NS_DISCO_ITEMS}'>${set}</query>`, domain);

  it('pages the public rooms in the order of their JIDs: max, after, before, the last page, an index, and the count alone', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const local = ['ash', 'birch', 'cedar', 'elm', 'fir', 'hazel', 'oak'];
    for (const [i, name] of local.entries()) await createRoom(alice, `${name}@${CHAT}`, 'Alice', i === 1 ? {} : { 'muc#roomconfig_roomname': `The ${name}` });
    // Not listed: hidden, still locked (never configured), or on the other domain.
    await createRoom(alice, `yew@${CHAT}`, 'Alice', { 'muc#roomconfig_publicroom': '0' });
    await enter(alice, `larch@${CHAT}`, 'Alice');
    await createRoom(alice, `pine@conference.localhost`, 'Alice');
    const listed = local.map((name, i) => `${name}@${CHAT} ${i === 1 ? name : `The ${name}`}`);

    const whole = await browse(bob);
    expect(items(whole)).toStrictEqual(listed);
    // The whole directory in one answer: nothing says there is more.
    expect(setOf(whole)).toBeUndefined();

    const first = await browse(bob, `<set xmlns='${NS_RSM}'><max>3</max></set>`);
    expect(items(first)).toStrictEqual(listed.slice(0, 3));
    expect(setOf(first)).toStrictEqual({ first: `ash@${CHAT}`, index: '0', last: `cedar@${CHAT}`, count: '7' });
    const second = await browse(bob, `<set xmlns='${NS_RSM}'><max>3</max><after>cedar@${CHAT}</after></set>`);
    expect(items(second)).toStrictEqual(listed.slice(3, 6));
    expect(setOf(second)).toStrictEqual({ first: `elm@${CHAT}`, index: '3', last: `hazel@${CHAT}`, count: '7' });
    const third = await browse(bob, `<set xmlns='${NS_RSM}'><max>3</max><after>hazel@${CHAT}</after></set>`);
    expect(items(third)).toStrictEqual(listed.slice(6));
    const past = await browse(bob, `<set xmlns='${NS_RSM}'><max>3</max><after>oak@${CHAT}</after></set>`);
    expect(items(past)).toStrictEqual([]);
    expect(setOf(past)).toStrictEqual({ count: '7' });

    const last = await browse(bob, `<set xmlns='${NS_RSM}'><max>3</max><before/></set>`);
    expect(items(last)).toStrictEqual(listed.slice(4));
    expect(setOf(last)).toStrictEqual({ first: `fir@${CHAT}`, index: '4', last: `oak@${CHAT}`, count: '7' });
    const before = await browse(bob, `<set xmlns='${NS_RSM}'><max>3</max><before>fir@${CHAT}</before></set>`);
    expect(items(before)).toStrictEqual(listed.slice(1, 4));
    expect(setOf(before)).toStrictEqual({ first: `birch@${CHAT}`, index: '1', last: `elm@${CHAT}`, count: '7' });

    const indexed = await browse(bob, `<set xmlns='${NS_RSM}'><max>2</max><index>5</index></set>`);
    expect(items(indexed)).toStrictEqual(listed.slice(5, 7));
    expect(setOf(indexed)).toStrictEqual({ first: `hazel@${CHAT}`, index: '5', last: `oak@${CHAT}`, count: '7' });
    const counted = await browse(bob, `<set xmlns='${NS_RSM}'><max>0</max></set>`);
    expect(items(counted)).toStrictEqual([]);
    expect(setOf(counted)).toStrictEqual({ count: '7' });

    // The other domain has its own directory.
    expect(items(await browse(bob, '', 'conference.localhost'))).toContain(`pine@conference.localhost pine`);
    expect(items(await browse(bob, '', 'conference.localhost')).some((item) => item.includes(CHAT))).toBe(false);
  });

  it('follows each room in the directory: renamed, hidden, shown again, destroyed', async () => {
    const alice = await login('alice');
    const bob = await login('bob');
    const room = `willow@${CHAT}`;
    const listedAs = async (): Promise<string[]> => items(await browse(bob)).filter((item) => item.startsWith(`${room} `));
    await createRoom(alice, room, 'Alice', { 'muc#roomconfig_roomname': 'Willow', 'muc#roomconfig_persistentroom': '1' });
    await expect(listedAs()).resolves.toStrictEqual([`${room} Willow`]);
    const configure = async (fields: Record<string, string>): Promise<void> => {
      const values = Object.entries(fields).map(([name, value]) => `<field var='${name}'><value>${value}</value></field>`).join('');
      const reply = await alice.iq('set', `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'>${values}</x></query>`, room);
      expect(reply.attrs.type).toBe('result');
    };
    await configure({ 'muc#roomconfig_roomname': 'Weeping willow' });
    await expect(listedAs()).resolves.toStrictEqual([`${room} Weeping willow`]);
    await configure({ 'muc#roomconfig_publicroom': '0' });
    await expect(listedAs()).resolves.toStrictEqual([]);
    await configure({ 'muc#roomconfig_publicroom': '1' });
    await expect(listedAs()).resolves.toStrictEqual([`${room} Weeping willow`]);
    const destroyed = await alice.iq('set', `<query xmlns='${NS_MUC_OWNER}'><destroy/></query>`, room);
    expect(destroyed.attrs.type).toBe('result');
    await expect(listedAs()).resolves.toStrictEqual([]);
  });

  it('answers a request without <set/> with the first hundred rooms and a <set/> saying how many there are', async () => {
    const bob = await login('bob');
    const config: RoomConfig = {
      name: '', description: '', persistent: true, public: true, membersOnly: false, password: '', moderated: false,
      maxOccupants: 10, whois: 'moderators', historyLength: 5, allowPrivateMessages: 'anyone', changeSubject: false, allowInvites: false,
    };
    // Written to the store directly: a hundred rooms through the protocol would take the test's whole time.
    const state = fixture.server.server.host.state;
    const names = Array.from({ length: 105 }, (_, i) => `many${String(i).padStart(3, '0')}@${CHAT}`);
    await Promise.all(names.map((room) => state.muc.transact(room, () => ({ change: { record: { config, affiliations: { 'owner@localhost': 'owner' }, locked: false, salt: 's', created: 1 } }, value: undefined }))));
    const reply = await browse(bob);
    const listed = items(reply);
    expect(listed).toHaveLength(100);
    const set = setOf(reply);
    expect(Number(set?.count)).toBeGreaterThanOrEqual(105);
    expect(set?.index).toBe('0');
    // A client asking for more than a hundred gets a hundred too, and pages on from the last.
    const more = await browse(bob, `<set xmlns='${NS_RSM}'><max>500</max><after>${set?.last ?? ''}</after></set>`);
    expect(items(more).length).toBe(Number(set?.count) - 100);
  });

  it('refuses a result set it cannot serve with bad-request, and says it pages in the service disco#info', async () => {
    const bob = await login('bob');
    for (const set of ['<max>-1</max>', '<max>many</max>', `<after>ash@${CHAT}</after><before/>`, '<index>x</index>']) {
      const reply = await browse(bob, `<set xmlns='${NS_RSM}'>${set}</set>`);
      expect([set, reply.attrs.type, condition(reply)]).toStrictEqual([set, 'error', 'bad-request']);
    }
    const info = await bob.iq('get', "<query xmlns='http://jabber.org/protocol/disco#info'/>", CHAT);
    expect(xml`<iq type='result'><query><feature var='${NS_RSM}'/></query></iq>`(info)).toBe(true);
  });
});

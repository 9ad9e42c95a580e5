// The MucStore contract (src/state/muc.ts).
import { describe, expect, it } from 'vitest';
import { nickOf, type Occupant, type RoomConfig, type RoomRecord, type RoomSnapshot } from '../../src/state/muc.js';
import { collect, unique, useBackend, type BackendFactory } from './helpers.js';

const CONFIG: RoomConfig = {
  name: 'Coven', description: '', persistent: true, public: true, membersOnly: false, password: '', moderated: false,
  maxOccupants: 100, whois: 'moderators', historyLength: 3, allowPrivateMessages: 'anyone', changeSubject: false, allowInvites: false,
};
const record = (owner: string): RoomRecord => ({ config: CONFIG, affiliations: { [owner]: 'owner' }, locked: false, salt: 'salt', created: 1 });
const occupant = (nick: string, bare: string, jids: string[], role: Occupant['role'] = 'participant', node = 'n1'): Occupant => ({
  nick, bare, role, sessions: jids.map((jid) => ({ jid, node, presence: '<presence/>' })),
});
const freshRoom = (): string => `${unique('room')}@conference.localhost`;

export function mucContract(makeBackend: BackendFactory): void {
  describe('MucStore contract', () => {
    const backend = useBackend(makeBackend);
    const muc = () => backend().muc;

    async function create(room: string, ...occupants: Occupant[]): Promise<void> {
      await muc().transact(room, () => ({ change: { record: record('owner@localhost'), put: occupants }, value: undefined }));
    }

    it('knows no room before one is created', async () => {
      const room = freshRoom();
      await expect(muc().get(room)).resolves.toBeUndefined();
      await expect(muc().history(room)).resolves.toStrictEqual([]);
      await expect(muc().message(room, 'a@localhost/x', { nick: '', xml: '<message/>', stamp: 1 }, 3)).resolves.toStrictEqual({ ok: false, reason: 'no-room' });
    });

    it('creates a room with its record and occupants, and lists it', async () => {
      const room = freshRoom();
      await create(room, occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a']));
      const snapshot = (await muc().get(room)) as RoomSnapshot;
      expect(snapshot.record).toStrictEqual(record('owner@localhost'));
      expect([...snapshot.occupants.values()]).toStrictEqual([occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a'])]);
      expect(nickOf(snapshot, 'hecate@localhost/a')).toBe('Hecate');
      expect(await collect(muc().rooms())).toContain(room);
    });

    it('keeps room JIDs apart that only differ in characters a key gives meaning to', async () => {
      const rooms = ['a:b@conference.localhost', 'a%3Ab@conference.localhost', '{a}@conference.localhost'].map((r) => `${unique('x')}${r}`);
      for (const [i, room] of rooms.entries()) await create(room, occupant(`n${i}`, 'a@localhost', [`a@localhost/${i}`]));
      for (const [i, room] of rooms.entries()) expect([...((await muc().get(room))?.occupants.keys() ?? [])]).toStrictEqual([`n${i}`]);
    });

    it('returns every session of every occupant, with its node, to a sender with voice', async () => {
      const room = freshRoom();
      await create(room, occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a', 'hecate@localhost/b'], 'moderator', 'n1'), occupant('Macbeth', 'macbeth@localhost', ['macbeth@localhost/x'], 'participant', 'n2'));
      const outcome = await muc().message(room, 'macbeth@localhost/x', { nick: '', xml: '<message/>', stamp: 5 }, 3);
      expect(outcome.ok).toBe(true);
      if (!outcome.ok) return;
      expect(outcome.nick).toBe('Macbeth');
      expect([...outcome.recipients].sort((a, b) => a.jid.localeCompare(b.jid))).toStrictEqual([
        { jid: 'hecate@localhost/a', nick: 'Hecate', node: 'n1' },
        { jid: 'hecate@localhost/b', nick: 'Hecate', node: 'n1' },
        { jid: 'macbeth@localhost/x', nick: 'Macbeth', node: 'n2' },
      ]);
    });

    it('refuses a message from a non-occupant and from a visitor, and records neither', async () => {
      const room = freshRoom();
      await create(room, occupant('Witch', 'witch@localhost', ['witch@localhost/a'], 'visitor'));
      await expect(muc().message(room, 'stranger@localhost/a', { nick: '', xml: '<message/>', stamp: 1 }, 3)).resolves.toStrictEqual({ ok: false, reason: 'not-occupant' });
      await expect(muc().message(room, 'witch@localhost/a', { nick: '', xml: '<message/>', stamp: 1 }, 3)).resolves.toStrictEqual({ ok: false, reason: 'no-voice' });
      await expect(muc().history(room)).resolves.toStrictEqual([]);
    });

    it('keeps the newest history entries up to the length, oldest first, under the sender\'s nick', async () => {
      const room = freshRoom();
      await create(room, occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a']));
      for (let i = 1; i <= 5; i += 1) await muc().message(room, 'hecate@localhost/a', { nick: '', xml: `<message id='m${i}'/>`, stamp: 1_765_000_000_000 + i }, 3);
      await expect(muc().history(room)).resolves.toStrictEqual([3, 4, 5].map((i) => ({ nick: 'Hecate', xml: `<message id='m${i}'/>`, stamp: 1_765_000_000_000 + i, v: 1 })));
    });

    it('tags each history entry with the room\'s version: one appended after a join was committed is above the version the join was decided on', async () => {
      const room = freshRoom();
      await create(room, occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a']));
      await muc().message(room, 'hecate@localhost/a', { nick: '', xml: "<message id='before'/>", stamp: 1 }, 5);
      const seenAt = await muc().transact(room, (snapshot) => ({ change: { put: [occupant('Banquo', 'banquo@localhost', ['banquo@localhost/a'], 'participant')] }, value: snapshot?.version ?? -1 }));
      const outcome = await muc().message(room, 'hecate@localhost/a', { nick: '', xml: "<message id='after'/>", stamp: 2 }, 5);
      // The newcomer was a recipient of the later message, and is not given it again as history.
      expect(outcome.ok && outcome.recipients.some((recipient) => recipient.jid === 'banquo@localhost/a')).toBe(true);
      const history = await muc().history(room);
      expect(history.filter((entry) => (entry.v ?? 0) <= seenAt).map((entry) => entry.xml)).toStrictEqual(["<message id='before'/>"]);
      expect(history.filter((entry) => (entry.v ?? 0) > seenAt).map((entry) => entry.xml)).toStrictEqual(["<message id='after'/>"]);
    });

    it('names the record a message was checked against: the same while only occupants change, new once the record is replaced', async () => {
      const room = freshRoom();
      await create(room, occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a']));
      const token = async (): Promise<string> => {
        const outcome = await muc().message(room, 'hecate@localhost/a', { nick: '', xml: '<message/>', stamp: 1 }, 3);
        if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
        return outcome.recordVersion;
      };
      const first = await token();
      expect(first).toEqual(expect.any(String));
      await expect(token()).resolves.toBe(first);
      await muc().transact(room, () => ({ change: { put: [occupant('Macbeth', 'macbeth@localhost', ['macbeth@localhost/x'])] }, value: undefined }));
      await expect(token()).resolves.toBe(first);
      const changed = { ...record('owner@localhost'), config: { ...CONFIG, archiving: false } };
      await muc().transact(room, () => ({ change: { record: changed }, value: undefined }));
      const second = await token();
      expect(second).not.toBe(first);
      // Destroyed and created again (another salt): a cache of the old room must not pass for current.
      await muc().transact(room, () => ({ change: { destroy: true }, value: undefined }));
      const again = { ...record('owner@localhost'), salt: 'another salt' };
      await muc().transact(room, () => ({ change: { record: again, put: [occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a'])] }, value: undefined }));
      const third = await token();
      expect([first, second]).not.toContain(third);
    });

    it('commits nothing for a decision without a change', async () => {
      const room = freshRoom();
      await create(room);
      const before = await muc().get(room);
      await expect(muc().transact(room, () => ({ value: 'refused' }))).resolves.toBe('refused');
      expect((await muc().get(room))?.version).toBe(before?.version);
    });

    it('loses no occupant when many join at once', async () => {
      const room = freshRoom();
      await create(room);
      const nicks = Array.from({ length: 20 }, (_, i) => `nick${i}`);
      await Promise.all(nicks.map((nick) => muc().transact(room, () => ({ change: { put: [occupant(nick, `${nick}@localhost`, [`${nick}@localhost/r`])] }, value: undefined }))));
      expect([...((await muc().get(room))?.occupants.keys() ?? [])].sort()).toStrictEqual([...nicks].sort());
    });

    it('gives a nick to exactly one of many racing for it', async () => {
      const room = freshRoom();
      await create(room);
      const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => muc().transact(room, (snapshot) => {
        if (snapshot?.occupants.has('Banquo')) return { value: false };
        return { change: { put: [occupant('Banquo', `u${i}@localhost`, [`u${i}@localhost/r`])] }, value: true };
      })));
      expect(claims.filter(Boolean)).toHaveLength(1);
    });

    it('admits every one of many joins racing into one room', async () => {
      const room = freshRoom();
      await create(room);
      const joins = Array.from({ length: 80 }, (_, i) => muc().transact(room, () => ({ change: { put: [occupant(`n${i}`, `u${i}@localhost`, [`u${i}@localhost/r`])] }, value: i })));
      await expect(Promise.all(joins)).resolves.toHaveLength(80);
      expect((await muc().get(room))?.occupants.size).toBe(80);
    });

    it('forgets a removed occupant and follows a renamed one', async () => {
      const room = freshRoom();
      await create(room, occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a']), occupant('Banquo', 'banquo@localhost', ['banquo@localhost/a']));
      await muc().transact(room, () => ({ change: { remove: ['Banquo', 'Hecate'], put: [occupant('Queen', 'hecate@localhost', ['hecate@localhost/a'])] }, value: undefined }));
      const outcome = await muc().message(room, 'hecate@localhost/a', { nick: '', xml: '<message/>', stamp: 1 }, 3);
      expect(outcome).toStrictEqual({ ok: true, nick: 'Queen', recipients: [{ jid: 'hecate@localhost/a', nick: 'Queen', node: 'n1' }], recordVersion: expect.any(String) });
      await expect(muc().message(room, 'banquo@localhost/a', { nick: '', xml: '<message/>', stamp: 1 }, 3)).resolves.toStrictEqual({ ok: false, reason: 'not-occupant' });
    });

    it('destroys a room with its occupants and history', async () => {
      const room = freshRoom();
      await create(room, occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a']));
      await muc().message(room, 'hecate@localhost/a', { nick: '', xml: '<message/>', stamp: 1 }, 3);
      await muc().transact(room, () => ({ change: { destroy: true }, value: undefined }));
      await expect(muc().get(room)).resolves.toBeUndefined();
      await expect(muc().history(room)).resolves.toStrictEqual([]);
      expect(await collect(muc().rooms())).not.toContain(room);
    });

    it("lists a domain's public, configured rooms in the order of their JIDs, each with its name, and no other domain's", async () => {
      const domain = `${unique('dir')}.localhost`;
      const other = `${unique('dir')}.localhost`;
      const named = (name: string, changes: Partial<RoomRecord> = {}, config: Partial<RoomConfig> = {}): RoomRecord => ({ ...record('owner@localhost'), ...changes, config: { ...CONFIG, name, ...config } });
      const put = (room: string, value: RoomRecord) => muc().transact(room, () => ({ change: { record: value }, value: undefined }));
      await put(`c@${domain}`, named('Cauldron'));
      await put(`a@${domain}`, named(''));
      await put(`b@${domain}`, named('Heath'));
      await put(`hidden@${domain}`, named('Hidden', {}, { public: false }));
      await put(`locked@${domain}`, named('Locked', { locked: true }));
      await put(`a@${other}`, named('Elsewhere'));
      await expect(muc().directory(domain, { max: 10 })).resolves.toStrictEqual({
        rooms: [{ jid: `a@${domain}`, name: '' }, { jid: `b@${domain}`, name: 'Heath' }, { jid: `c@${domain}`, name: 'Cauldron' }],
        index: 0,
        count: 3,
      });
      await expect(muc().directory(`${unique('none')}.localhost`, { max: 10 })).resolves.toStrictEqual({ rooms: [], index: 0, count: 0 });
    });

    it('pages the directory after a room, before a room, from the end, from a position, and counts it with max 0', async () => {
      const domain = `${unique('dir')}.localhost`;
      const jids = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((local) => `${local}@${domain}`);
      for (const room of [...jids].reverse()) await muc().transact(room, () => ({ change: { record: { ...record('owner@localhost'), config: { ...CONFIG, name: room.slice(0, 2) } } }, value: undefined }));
      const page = async (query: Parameters<ReturnType<typeof muc>['directory']>[1]) => {
        const result = await muc().directory(domain, query);
        return { rooms: result.rooms.map((room) => room.name), index: result.index, count: result.count };
      };
      await expect(page({ max: 3 })).resolves.toStrictEqual({ rooms: ['r0', 'r1', 'r2'], index: 0, count: 7 });
      await expect(page({ max: 3, after: jids[2] })).resolves.toStrictEqual({ rooms: ['r3', 'r4', 'r5'], index: 3, count: 7 });
      await expect(page({ max: 3, after: jids[5] })).resolves.toStrictEqual({ rooms: ['r6'], index: 6, count: 7 });
      await expect(page({ max: 3, after: jids[6] })).resolves.toStrictEqual({ rooms: [], index: 7, count: 7 });
      await expect(page({ max: 3, before: jids[5] })).resolves.toStrictEqual({ rooms: ['r2', 'r3', 'r4'], index: 2, count: 7 });
      await expect(page({ max: 3, before: jids[1] })).resolves.toStrictEqual({ rooms: ['r0'], index: 0, count: 7 });
      await expect(page({ max: 3, before: '' })).resolves.toStrictEqual({ rooms: ['r4', 'r5', 'r6'], index: 4, count: 7 });
      await expect(page({ max: 2, index: 4 })).resolves.toStrictEqual({ rooms: ['r4', 'r5'], index: 4, count: 7 });
      await expect(page({ max: 2, index: 9 })).resolves.toStrictEqual({ rooms: [], index: 7, count: 7 });
      await expect(page({ max: 0 })).resolves.toStrictEqual({ rooms: [], index: 0, count: 7 });
      // A room gone between two pages still marks its place.
      await muc().transact(jids[3] as string, () => ({ change: { destroy: true }, value: undefined }));
      await expect(page({ max: 2, after: jids[3] })).resolves.toStrictEqual({ rooms: ['r4', 'r5'], index: 3, count: 6 });
    });

    it('follows each committed record in the directory: hidden, renamed, shown again, destroyed', async () => {
      const domain = `${unique('dir')}.localhost`;
      const room = `coven@${domain}`;
      const names = async (): Promise<string[]> => (await muc().directory(domain, { max: 10 })).rooms.map((entry) => entry.name);
      const set = (config: Partial<RoomConfig>) => muc().transact(room, (snapshot) => ({ change: { record: { ...(snapshot?.record ?? record('owner@localhost')), config: { ...CONFIG, ...config } } }, value: undefined }));
      await set({ name: 'Coven' });
      await expect(names()).resolves.toStrictEqual(['Coven']);
      await set({ name: 'Coven', public: false });
      await expect(names()).resolves.toStrictEqual([]);
      await set({ name: 'Weird Sisters' });
      await expect(names()).resolves.toStrictEqual(['Weird Sisters']);
      // Occupants coming and going change nothing in the directory.
      await muc().transact(room, () => ({ change: { put: [occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a'])] }, value: undefined }));
      await expect(names()).resolves.toStrictEqual(['Weird Sisters']);
      await muc().transact(room, () => ({ change: { destroy: true }, value: undefined }));
      await expect(names()).resolves.toStrictEqual([]);
    });

    it('lists a room as its last committed record says after many changes raced', async () => {
      const domain = `${unique('dir')}.localhost`;
      const room = `race@${domain}`;
      await create(room);
      await Promise.all(Array.from({ length: 24 }, (_, i) => muc().transact(room, (snapshot) => ({
        change: { record: { ...(snapshot?.record ?? record('owner@localhost')), config: { ...CONFIG, name: `n${i}`, public: i % 3 !== 0 } } },
        value: undefined,
      }))));
      const final = (await muc().get(room))?.record.config;
      const page = await muc().directory(domain, { max: 10 });
      expect(page.rooms).toStrictEqual(final?.public ? [{ jid: room, name: final.name }] : []);
    });

    it("keeps a room's vCard with its record, replaces and removes it, and loses it with the room", async () => {
      const room = freshRoom();
      await expect(muc().vcard(room)).resolves.toBeUndefined();
      const card = '<vCard xmlns="vcard-temp"><FN>Coven &amp; co</FN></vCard>';
      await muc().transact(room, () => ({ change: { record: { ...record('owner@localhost'), avatar: 'ab12' }, vcard: card }, value: undefined }));
      await expect(muc().vcard(room)).resolves.toBe(card);
      expect((await muc().get(room))?.record.avatar).toBe('ab12');
      // Other changes leave it as it is.
      await muc().transact(room, () => ({ change: { put: [occupant('Hecate', 'hecate@localhost', ['hecate@localhost/a'])] }, value: undefined }));
      await muc().transact(room, () => ({ change: { record: record('owner@localhost') }, value: undefined }));
      await expect(muc().vcard(room)).resolves.toBe(card);
      await muc().transact(room, () => ({ change: { vcard: '<vCard xmlns="vcard-temp"><FN>Coven</FN></vCard>' }, value: undefined }));
      await expect(muc().vcard(room)).resolves.toBe('<vCard xmlns="vcard-temp"><FN>Coven</FN></vCard>');
      await muc().transact(room, () => ({ change: { vcard: null }, value: undefined }));
      await expect(muc().vcard(room)).resolves.toBeUndefined();
      await muc().transact(room, () => ({ change: { vcard: card }, value: undefined }));
      await muc().transact(room, () => ({ change: { destroy: true }, value: undefined }));
      await expect(muc().vcard(room)).resolves.toBeUndefined();
      // A room created again under the same JID starts without one.
      await create(room);
      await expect(muc().vcard(room)).resolves.toBeUndefined();
    });

    it('indexes the rooms of a real JID until it is marked gone', async () => {
      const [one, two] = [freshRoom(), freshRoom()];
      const real = `${unique('idx')}@localhost/r`;
      await muc().markJoined(real, one);
      await muc().markJoined(real, two);
      await muc().markJoined(`${real}2`, one);
      expect((await muc().roomsOf(real)).sort()).toStrictEqual([one, two].sort());
      await muc().markLeft(real, one);
      await expect(muc().roomsOf(real)).resolves.toStrictEqual([two]);
    });
  });
}

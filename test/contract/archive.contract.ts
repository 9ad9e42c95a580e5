// The ArchiveStore contract (src/state/archive.ts).
import { describe, expect, it } from 'vitest';
import { DEFAULT_PREFS, parseArchiveId, type ArchiveLimits, type ArchiveStore } from '../../src/state/archive.js';
import { freshUser, useBackend, type BackendFactory } from './helpers.js';

const LIMITS: ArchiveLimits = { maxEntries: 1000, maxAgeMs: 365 * 86_400_000, dedupeWindowMs: 600_000 };
const T0 = Date.UTC(2026, 0, 1);
const msg = (n: number): string => `<message xmlns='jabber:client' type='chat'><body>m${n}</body></message>`;

/** Appends n messages alternating between bob and carol, one second apart; returns their ids. */
async function fill(store: ArchiveStore, owner: string, n: number, limits = LIMITS): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await store.append(owner, { with: i % 2 === 0 ? 'bob@example.com' : 'carol@example.com', xml: msg(i), stamp: T0 + i * 1000 }, limits)).id);
  }
  return ids;
}

const bodies = (page: { entries: { xml: string }[] } | undefined): string[] => (page?.entries ?? []).map((entry) => /<body>(.*)<\/body>/.exec(entry.xml)?.[1] ?? '');

export function archiveContract(makeBackend: BackendFactory): void {
  describe('ArchiveStore contract', () => {
    const backend = useBackend(makeBackend);
    const store = (): ArchiveStore => backend().archive;

    it('answers an empty page, no bounds and the default preferences for an archive never written', async () => {
      const owner = freshUser();
      await expect(store().query(owner, { max: 10 })).resolves.toMatchObject({ entries: [], complete: true });
      await expect(store().bounds(owner)).resolves.toStrictEqual({});
      await expect(store().prefs(owner)).resolves.toStrictEqual(DEFAULT_PREFS);
    });

    it('returns entries as stored, oldest first, with growing ids stamped at their time', async () => {
      const owner = freshUser();
      const ids = await fill(store(), owner, 5);
      const page = await store().query(owner, { max: 10 });
      expect(bodies(page)).toStrictEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
      expect(page?.entries.map((entry) => entry.id)).toStrictEqual(ids);
      expect(page?.entries[1]).toMatchObject({ with: 'carol@example.com', stamp: T0 + 1000, xml: msg(1) });
      expect(page?.complete).toBe(true);
      expect(page?.count).toBe(5);
      const sorted = [...ids].sort((a, b) => (parseArchiveId(a)?.ms ?? 0) - (parseArchiveId(b)?.ms ?? 0));
      expect(sorted).toStrictEqual(ids);
    });

    it('never gives a later append a smaller id, even with an earlier stamp', async () => {
      const owner = freshUser();
      const late = await store().append(owner, { with: 'bob@example.com', xml: msg(1), stamp: T0 + 5000 }, LIMITS);
      const early = await store().append(owner, { with: 'bob@example.com', xml: msg(2), stamp: T0 }, LIMITS);
      const [a, b] = [parseArchiveId(late.id), parseArchiveId(early.id)];
      expect(a && b && (b.ms > a.ms || (b.ms === a.ms && b.seq > a.seq))).toBe(true);
      expect(bodies(await store().query(owner, { max: 10 }))).toStrictEqual(['m1', 'm2']);
    });

    it('pages forwards with after and backwards with before, flagging the last page complete', async () => {
      const owner = freshUser();
      const ids = await fill(store(), owner, 7);
      const first = await store().query(owner, { max: 3 });
      expect(bodies(first)).toStrictEqual(['m0', 'm1', 'm2']);
      expect(first?.complete).toBe(false);
      const second = await store().query(owner, { max: 3, after: ids[2] });
      expect(bodies(second)).toStrictEqual(['m3', 'm4', 'm5']);
      const third = await store().query(owner, { max: 3, after: ids[5] });
      expect(bodies(third)).toStrictEqual(['m6']);
      expect(third?.complete).toBe(true);
      const last = await store().query(owner, { max: 3, before: '' });
      expect(bodies(last)).toStrictEqual(['m4', 'm5', 'm6']);
      expect(last?.complete).toBe(false);
      const earlier = await store().query(owner, { max: 3, before: ids[1] });
      expect(bodies(earlier)).toStrictEqual(['m0']);
      expect(earlier?.complete).toBe(true);
      expect(earlier?.count).toBe(7);
    });

    it('filters by contact, by time and by id bounds, alone and together', async () => {
      const owner = freshUser();
      const ids = await fill(store(), owner, 10);
      const bob = await store().query(owner, { max: 3, with: 'bob@example.com' });
      expect(bodies(bob)).toStrictEqual(['m0', 'm2', 'm4']);
      expect(bob?.count).toBe(5);
      expect(bodies(await store().query(owner, { max: 10, with: 'bob@example.com', after: ids[4] }))).toStrictEqual(['m6', 'm8']);
      expect(bodies(await store().query(owner, { max: 10, with: 'carol@example.com', before: '' }))).toStrictEqual(['m1', 'm3', 'm5', 'm7', 'm9']);
      expect(bodies(await store().query(owner, { max: 10, start: T0 + 3000, end: T0 + 6000 }))).toStrictEqual(['m3', 'm4', 'm5', 'm6']);
      expect(bodies(await store().query(owner, { max: 10, with: 'bob@example.com', start: T0 + 3000, end: T0 + 6000 }))).toStrictEqual(['m4', 'm6']);
      expect(bodies(await store().query(owner, { max: 10, afterId: ids[6], beforeId: ids[9] }))).toStrictEqual(['m7', 'm8']);
      expect(bodies(await store().query(owner, { max: 10, with: 'dave@example.com' }))).toStrictEqual([]);
    });

    it('returns the entries named by ids, and only those', async () => {
      const owner = freshUser();
      const ids = await fill(store(), owner, 5);
      const page = await store().query(owner, { max: 10, ids: [ids[3] as string, ids[1] as string, '1-0'] });
      expect(bodies(page)).toStrictEqual(['m1', 'm3']);
      expect(page?.complete).toBe(true);
    });

    it('answers undefined (item-not-found) for a bound id not in the archive', async () => {
      const owner = freshUser();
      await fill(store(), owner, 3);
      await expect(store().query(owner, { max: 10, after: '123-0' })).resolves.toBeUndefined();
      await expect(store().query(owner, { max: 10, before: 'nonsense' })).resolves.toBeUndefined();
      await expect(store().query(owner, { max: 10, afterId: '123-4' })).resolves.toBeUndefined();
    });

    it('stores a dedupe key once within the window and returns the first id to a repeat', async () => {
      const owner = freshUser();
      const entry = { with: 'bob@example.com', xml: msg(1), stamp: T0, dedupe: 'bob@example.com/phone m-1' };
      const first = await store().append(owner, entry, LIMITS);
      const again = await store().append(owner, { ...entry, stamp: T0 + 1000 }, LIMITS);
      expect(first.created).toBe(true);
      expect(again).toStrictEqual({ id: first.id, duplicate: true, created: false });
      const racing = await Promise.all([0, 1, 2].map((n) => store().append(owner, { ...entry, dedupe: 'race', xml: msg(n) }, LIMITS)));
      expect(new Set(racing.map((result) => result.id)).size).toBe(1);
      expect((await store().query(owner, { max: 10 }))?.entries).toHaveLength(2);
      const later = await store().append(owner, { ...entry, stamp: T0 + 2 * LIMITS.dedupeWindowMs + 5000 }, LIMITS);
      expect(later.duplicate).toBe(false);
    });

    it('keeps at most maxEntries, dropping the oldest, and drops entries older than maxAgeMs', async () => {
      const owner = freshUser();
      await fill(store(), owner, 8, { ...LIMITS, maxEntries: 5 });
      expect(bodies(await store().query(owner, { max: 10 }))).toStrictEqual(['m3', 'm4', 'm5', 'm6', 'm7']);
      expect(bodies(await store().query(owner, { max: 10, with: 'bob@example.com' }))).toStrictEqual(['m4', 'm6']);
      const aged = freshUser();
      await fill(store(), aged, 6, { ...LIMITS, maxAgeMs: 2500 });
      expect(bodies(await store().query(aged, { max: 10 }))).toStrictEqual(['m3', 'm4', 'm5']);
    });

    it('trims an archive nobody writes to by age, says what is left, and says created only for the first entry', async () => {
      const owner = freshUser();
      const results = await Promise.all([0, 1].map(async (n) => store().append(owner, { with: 'bob@example.com', xml: msg(n), stamp: T0 + n * 1000 }, LIMITS)));
      expect(results.map((result) => result.created).sort()).toStrictEqual([false, true]);
      await store().append(owner, { with: 'carol@example.com', xml: msg(2), stamp: T0 + 5000 }, LIMITS);
      await expect(store().trim(owner, T0 + 3000 + LIMITS.maxAgeMs, LIMITS)).resolves.toBe(T0 + 5000);
      expect(bodies(await store().query(owner, { max: 10 }))).toStrictEqual(['m2']);
      expect(bodies(await store().query(owner, { max: 10, with: 'bob@example.com' }))).toStrictEqual([]);
      await expect(store().trim(owner, T0 + 6000 + LIMITS.maxAgeMs, LIMITS)).resolves.toBeUndefined();
      await expect(store().trim(freshUser(), T0, LIMITS)).resolves.toBeUndefined();
    });

    it('keeps a room\'s archive by occupant JID, apart from the archives of its occupants', async () => {
      const room = `${freshUser().split('@')[0]}@conference.localhost`;
      const occupantJid = (nick: string): string => `${room}/${nick}`;
      for (const [i, nick] of ['Hecate', 'Macbeth', 'Hecate', 'a/b:c'].entries()) {
        await store().append(room, { with: occupantJid(nick), xml: msg(i), stamp: T0 + i }, LIMITS);
      }
      expect(bodies(await store().query(room, { max: 10 }))).toStrictEqual(['m0', 'm1', 'm2', 'm3']);
      expect(bodies(await store().query(room, { max: 10, with: occupantJid('Hecate') }))).toStrictEqual(['m0', 'm2']);
      expect(bodies(await store().query(room, { max: 10, with: occupantJid('a/b:c') }))).toStrictEqual(['m3']);
      expect(bodies(await store().query(room.replace('@conference.', '@'), { max: 10 }))).toStrictEqual([]);
      await store().deleteAll(room);
      expect(bodies(await store().query(room, { max: 10 }))).toStrictEqual([]);
    });

    it('reports the first and the last entry', async () => {
      const owner = freshUser();
      const ids = await fill(store(), owner, 4);
      const bounds = await store().bounds(owner);
      expect(bounds.first?.id).toBe(ids[0]);
      expect(bounds.last?.id).toBe(ids[3]);
    });

    it('appends only what the preferences want: never, then always, then the default, roster by the owner\'s roster', async () => {
      const owner = freshUser('alice');
      const append = (contact: string): Promise<unknown> => store().appendWanted(owner, { with: contact, xml: msg(0), stamp: T0 }, LIMITS);
      const added = async (contact: string): Promise<boolean> => (await append(contact)) !== undefined;
      // Default preferences: everything.
      expect(await added('anyone@example.com')).toBe(true);
      await store().setPrefs(owner, { default: 'roster', always: ['listed@example.com'], never: ['friend@example.com'] });
      await backend().rosters.compareAndSet(owner, 'friend@example.com', {}, { item: { jid: 'friend@example.com', subscription: 'both', groups: [], ask: false, approved: false } });
      await backend().rosters.compareAndSet(owner, 'mate@example.com', {}, { item: { jid: 'mate@example.com', subscription: 'none', groups: [], ask: false, approved: false } });
      expect(await added('friend@example.com')).toBe(false);
      expect(await added('listed@example.com')).toBe(true);
      expect(await added('mate@example.com')).toBe(true);
      expect(await added('stranger@example.com')).toBe(false);
      await store().setPrefs(owner, { default: 'never', always: ['listed@example.com'], never: [] });
      expect(await added('mate@example.com')).toBe(false);
      expect(await added('listed@example.com')).toBe(true);
      const page = await store().query(owner, { max: 10 });
      expect(page?.entries.map((entry) => entry.with)).toStrictEqual(['anyone@example.com', 'listed@example.com', 'mate@example.com', 'listed@example.com']);
    });

    it('stores preferences, and deletes an archive with its preferences and nothing of another', async () => {
      const [alice, bob] = [freshUser('alice'), freshUser('bob')];
      await store().setPrefs(alice, { default: 'roster', always: ['x@example.com'], never: ['y@example.com'] });
      await expect(store().prefs(alice)).resolves.toStrictEqual({ default: 'roster', always: ['x@example.com'], never: ['y@example.com'] });
      await fill(store(), alice, 3);
      await fill(store(), bob, 2);
      await store().deleteAll(alice);
      await expect(store().query(alice, { max: 10 })).resolves.toMatchObject({ entries: [] });
      await expect(store().query(alice, { max: 10, with: 'bob@example.com' })).resolves.toMatchObject({ entries: [] });
      await expect(store().prefs(alice)).resolves.toStrictEqual(DEFAULT_PREFS);
      expect(bodies(await store().query(bob, { max: 10 }))).toStrictEqual(['m0', 'm1']);
    });
  });
}

// The PersonalStore contract (src/state/personal.ts).
import { describe, expect, it } from 'vitest';
import { parsePersonalKey, personalKey, type PersonalLimits } from '../../src/state/personal.js';
import { awkwardUsers, freshUser, useBackend, type BackendFactory } from './helpers.js';

const LIMITS: PersonalLimits = { itemBytes: 1000, items: 3 };
const VCARD = personalKey({ kind: 'vcard' });
const BOOKMARKS = personalKey({ kind: 'private', name: 'storage', namespace: 'storage:bookmarks' });
const vcard = (name: string): string => `<vCard xmlns='vcard-temp'><FN>${name}</FN></vCard>`;

export function personalContract(makeBackend: BackendFactory): void {
  describe('PersonalStore contract', () => {
    const backend = useBackend(makeBackend);

    it('keys a private element by its name and namespace, apart from the vCard', () => {
      expect(personalKey({ kind: 'private', name: 'vCard', namespace: 'vcard-temp' })).not.toBe(VCARD);
      expect(parsePersonalKey(BOOKMARKS)).toStrictEqual({ kind: 'private', name: 'storage', namespace: 'storage:bookmarks' });
      expect(parsePersonalKey(VCARD)).toStrictEqual({ kind: 'vcard' });
      expect(parsePersonalKey('something else')).toBeUndefined();
    });

    it('returns nothing for an item never stored', async () => {
      await expect(backend().personal.get(freshUser(), VCARD)).resolves.toBeUndefined();
      await expect(backend().personal.all(freshUser())).resolves.toStrictEqual(new Map());
    });

    it('stores, replaces and returns an item as given', async () => {
      const user = freshUser();
      await expect(backend().personal.set(user, VCARD, vcard('Alice'), LIMITS)).resolves.toBe('stored');
      await expect(backend().personal.set(user, VCARD, vcard('Alice Liddell ✓'), LIMITS)).resolves.toBe('stored');
      await expect(backend().personal.get(user, VCARD)).resolves.toBe(vcard('Alice Liddell ✓'));
    });

    it('keeps each account and each key apart', async () => {
      const [alice, bob] = [freshUser('alice'), freshUser('bob')];
      await backend().personal.set(alice, VCARD, vcard('Alice'), LIMITS);
      await backend().personal.set(alice, BOOKMARKS, "<storage xmlns='storage:bookmarks'/>", LIMITS);
      await backend().personal.set(bob, VCARD, vcard('Bob'), LIMITS);
      await expect(backend().personal.all(alice)).resolves.toStrictEqual(new Map([[VCARD, vcard('Alice')], [BOOKMARKS, "<storage xmlns='storage:bookmarks'/>"]]));
      await expect(backend().personal.get(bob, VCARD)).resolves.toBe(vcard('Bob'));
    });

    it('refuses an item larger than itemBytes, counting UTF-8 bytes, and keeps the old one', async () => {
      const user = freshUser();
      await backend().personal.set(user, VCARD, vcard('Alice'), LIMITS);
      const exact = `<a>${'x'.repeat(LIMITS.itemBytes - 7)}</a>`;
      await expect(backend().personal.set(user, BOOKMARKS, exact, LIMITS)).resolves.toBe('stored');
      await expect(backend().personal.set(user, VCARD, `<a>${'é'.repeat(LIMITS.itemBytes / 2)}</a>`, LIMITS)).resolves.toBe('too-large');
      await expect(backend().personal.get(user, VCARD)).resolves.toBe(vcard('Alice'));
    });

    it('refuses a new key past the item limit but still replaces an existing one', async () => {
      const user = freshUser();
      const keys = [0, 1, 2].map((n) => personalKey({ kind: 'private', name: `n${n}`, namespace: 'urn:test' }));
      for (const key of keys) await expect(backend().personal.set(user, key, '<x/>', LIMITS)).resolves.toBe('stored');
      await expect(backend().personal.set(user, VCARD, vcard('Alice'), LIMITS)).resolves.toBe('full');
      await expect(backend().personal.set(user, keys[0] as string, '<y/>', LIMITS)).resolves.toBe('stored');
      await expect(backend().personal.get(user, VCARD)).resolves.toBeUndefined();
    });

    it('lets exactly `items` of many racing sets of new keys through', async () => {
      const user = freshUser();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, n) => backend().personal.set(user, personalKey({ kind: 'private', name: `r${n}`, namespace: 'urn:race' }), '<r/>', LIMITS)),
      );
      expect(results.filter((result) => result === 'stored')).toHaveLength(LIMITS.items);
      expect((await backend().personal.all(user)).size).toBe(LIMITS.items);
    });

    it('removes one item, and says whether there was one', async () => {
      const user = freshUser();
      await backend().personal.set(user, VCARD, vcard('Alice'), LIMITS);
      await backend().personal.set(user, BOOKMARKS, '<storage/>', LIMITS);
      await expect(backend().personal.remove(user, VCARD)).resolves.toBe(true);
      await expect(backend().personal.remove(user, VCARD)).resolves.toBe(false);
      await expect(backend().personal.all(user)).resolves.toStrictEqual(new Map([[BOOKMARKS, '<storage/>']]));
    });

    it('deletes everything of one account and nothing of another', async () => {
      const [alice, bob] = [freshUser('alice'), freshUser('bob')];
      await backend().personal.set(alice, VCARD, vcard('Alice'), LIMITS);
      await backend().personal.set(bob, VCARD, vcard('Bob'), LIMITS);
      await backend().personal.deleteAll(alice);
      await expect(backend().personal.all(alice)).resolves.toStrictEqual(new Map());
      await expect(backend().personal.get(bob, VCARD)).resolves.toBe(vcard('Bob'));
    });

    it('keeps accounts with awkward JIDs apart', async () => {
      const users = awkwardUsers();
      for (const user of users) await backend().personal.set(user, VCARD, vcard(user), LIMITS);
      for (const user of users) await expect(backend().personal.get(user, VCARD)).resolves.toBe(vcard(user));
    });
  });
}

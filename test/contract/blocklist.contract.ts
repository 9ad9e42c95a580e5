// The BlocklistStore contract (src/state/blocklist.ts).
import { describe, expect, it } from 'vitest';
import type { BlocklistSnapshot } from '../../src/state/blocklist.js';
import { awkwardUsers, freshUser, sorted, useBackend, type BackendFactory } from './helpers.js';

const items = (snapshot: BlocklistSnapshot): string[] => sorted(snapshot.items);

export function blocklistContract(makeBackend: BackendFactory): void {
  describe('BlocklistStore contract', () => {
    const backend = useBackend(makeBackend);

    it('starts empty', async () => {
      await expect(backend().blocklists.get(freshUser())).resolves.toStrictEqual([]);
    });

    it('returns the whole list after adding items, without duplicates', async () => {
      const user = freshUser();
      await expect(backend().blocklists.add(user, ['a@example.net', 'b@example.net']).then(items)).resolves.toStrictEqual(['a@example.net', 'b@example.net']);
      await expect(backend().blocklists.add(user, ['b@example.net', 'c@example.net/res']).then(items)).resolves.toStrictEqual([
        'a@example.net',
        'b@example.net',
        'c@example.net/res',
      ]);
      await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(['a@example.net', 'b@example.net', 'c@example.net/res']);
    });

    it('returns the list unchanged when adding nothing', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net']);
      await expect(backend().blocklists.add(user, []).then(items)).resolves.toStrictEqual(['a@example.net']);
    });

    it('returns the remaining list after removing items', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net', 'b@example.net', 'example.org']);
      await expect(backend().blocklists.remove(user, ['b@example.net', 'never@example.net']).then(items)).resolves.toStrictEqual(['a@example.net', 'example.org']);
      await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(['a@example.net', 'example.org']);
    });

    it('clears the whole list when removing with an empty list', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net', 'b@example.net']);
      await expect(backend().blocklists.remove(user, []).then(items)).resolves.toStrictEqual([]);
      await expect(backend().blocklists.get(user)).resolves.toStrictEqual([]);
    });

    it('returns an empty list when removing from an account with no list', async () => {
      await expect(backend().blocklists.remove(freshUser(), ['a@example.net']).then(items)).resolves.toStrictEqual([]);
    });

    it('returns an empty list after removing the last item', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net']);
      await expect(backend().blocklists.remove(user, ['a@example.net']).then(items)).resolves.toStrictEqual([]);
      await expect(backend().blocklists.get(user)).resolves.toStrictEqual([]);
    });

    it('forgets the list on deleteAll', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net']);
      await backend().blocklists.deleteAll(user);
      await expect(backend().blocklists.get(user)).resolves.toStrictEqual([]);
    });

    it('loses no item under concurrent adds', async () => {
      const user = freshUser();
      const jids = Array.from({ length: 30 }, (_, i) => `blocked${i}@example.net`);
      const lists = await Promise.all(jids.map((jid) => backend().blocklists.add(user, [jid])));
      for (const [i, list] of lists.entries()) expect(list.items).toContain(jids[i]);
      expect(lists.map((list) => list.items.length).sort((a, b) => a - b)).toStrictEqual(jids.map((_, i) => i + 1));
      // Each edit took its own version, and the list at version n has n items.
      for (const list of lists) expect(list.items).toHaveLength(list.version);
      await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(sorted(jids));
    });

    it('starts at version 0 and gives every edit the next version, also an edit that changes nothing', async () => {
      const user = freshUser();
      await expect(backend().blocklists.load(user)).resolves.toStrictEqual({ items: [], version: 0 });
      await expect(backend().blocklists.add(user, ['a@example.net']).then((s) => s.version)).resolves.toBe(1);
      await expect(backend().blocklists.add(user, ['a@example.net']).then((s) => s.version)).resolves.toBe(2);
      await expect(backend().blocklists.remove(user, ['never@example.net']).then((s) => s.version)).resolves.toBe(3);
      await expect(backend().blocklists.remove(user, []).then((s) => s.version)).resolves.toBe(4);
      await expect(backend().blocklists.load(user)).resolves.toStrictEqual({ items: [], version: 4 });
    });

    it('loads the list together with the version of its last edit', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net', 'b@example.net']);
      const removed = await backend().blocklists.remove(user, ['a@example.net']);
      await expect(backend().blocklists.load(user)).resolves.toStrictEqual({ items: ['b@example.net'], version: removed.version });
    });

    it('gives concurrent edits distinct versions, the highest one seeing the final list', async () => {
      const user = freshUser();
      const edits = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? backend().blocklists.add(user, ['x@example.net']) : backend().blocklists.remove(user, ['x@example.net']))),
      );
      const versions = edits.map((edit) => edit.version).sort((a, b) => a - b);
      expect(versions).toStrictEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const last = edits.find((edit) => edit.version === 20);
      await expect(backend().blocklists.load(user).then(items)).resolves.toStrictEqual(sorted(last?.items ?? []));
    });

    it('forgets the version on deleteAll', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net']);
      await backend().blocklists.deleteAll(user);
      await expect(backend().blocklists.load(user)).resolves.toStrictEqual({ items: [], version: 0 });
    });

    it('keeps the lists of accounts with awkward JIDs apart', async () => {
      const users = awkwardUsers();
      for (const user of users) await backend().blocklists.add(user, [`spam@${user.split('@')[1] ?? ''}`, user]);
      for (const user of users) await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(sorted([`spam@${user.split('@')[1] ?? ''}`, user]));
    });
  });
}

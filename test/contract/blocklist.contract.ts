// The BlocklistStore contract (src/state/blocklist.ts).
import { describe, expect, it } from 'vitest';
import { awkwardUsers, freshUser, sorted, useBackend, type BackendFactory } from './helpers.js';

export function blocklistContract(makeBackend: BackendFactory): void {
  describe('BlocklistStore contract', () => {
    const backend = useBackend(makeBackend);

    it('starts empty', async () => {
      await expect(backend().blocklists.get(freshUser())).resolves.toStrictEqual([]);
    });

    it('returns the whole list after adding items, without duplicates', async () => {
      const user = freshUser();
      await expect(backend().blocklists.add(user, ['a@example.net', 'b@example.net']).then(sorted)).resolves.toStrictEqual(['a@example.net', 'b@example.net']);
      await expect(backend().blocklists.add(user, ['b@example.net', 'c@example.net/res']).then(sorted)).resolves.toStrictEqual([
        'a@example.net',
        'b@example.net',
        'c@example.net/res',
      ]);
      await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(['a@example.net', 'b@example.net', 'c@example.net/res']);
    });

    it('returns the list unchanged when adding nothing', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net']);
      await expect(backend().blocklists.add(user, [])).resolves.toStrictEqual(['a@example.net']);
    });

    it('returns the remaining list after removing items', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net', 'b@example.net', 'example.org']);
      await expect(backend().blocklists.remove(user, ['b@example.net', 'never@example.net']).then(sorted)).resolves.toStrictEqual(['a@example.net', 'example.org']);
      await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(['a@example.net', 'example.org']);
    });

    it('clears the whole list when removing with an empty list', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net', 'b@example.net']);
      await expect(backend().blocklists.remove(user, [])).resolves.toStrictEqual([]);
      await expect(backend().blocklists.get(user)).resolves.toStrictEqual([]);
    });

    it('returns an empty list when removing from an account with no list', async () => {
      await expect(backend().blocklists.remove(freshUser(), ['a@example.net'])).resolves.toStrictEqual([]);
    });

    it('returns an empty list after removing the last item', async () => {
      const user = freshUser();
      await backend().blocklists.add(user, ['a@example.net']);
      await expect(backend().blocklists.remove(user, ['a@example.net'])).resolves.toStrictEqual([]);
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
      for (const [i, list] of lists.entries()) expect(list).toContain(jids[i]);
      expect(lists.map((list) => list.length).sort((a, b) => a - b)).toStrictEqual(jids.map((_, i) => i + 1));
      await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(sorted(jids));
    });

    it('keeps the lists of accounts with awkward JIDs apart', async () => {
      const users = awkwardUsers();
      for (const user of users) await backend().blocklists.add(user, [`spam@${user.split('@')[1] ?? ''}`, user]);
      for (const user of users) await expect(backend().blocklists.get(user).then(sorted)).resolves.toStrictEqual(sorted([`spam@${user.split('@')[1] ?? ''}`, user]));
    });
  });
}

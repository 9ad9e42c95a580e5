// The AccountStore contract (src/state/accounts.ts).
import { describe, expect, it } from 'vitest';
import { awkwardUsers, collect, credentialsFor, freshUser, useBackend, type BackendFactory } from './helpers.js';

export function accountsContract(makeBackend: BackendFactory): void {
  describe('AccountStore contract', () => {
    const backend = useBackend(makeBackend);

    it('stores the credentials of a created account and reports it as existing', async () => {
      const user = freshUser();
      await expect(backend().accounts.create(user, credentialsFor('one'))).resolves.toBe(true);
      await expect(backend().accounts.exists(user)).resolves.toBe(true);
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor('one'));
    });

    it('knows nothing about an account never created', async () => {
      const user = freshUser();
      await expect(backend().accounts.exists(user)).resolves.toBe(false);
      await expect(backend().accounts.credentials(user)).resolves.toBeUndefined();
    });

    it('refuses to create an account twice and keeps the first credentials', async () => {
      const user = freshUser();
      await backend().accounts.create(user, credentialsFor('first'));
      await expect(backend().accounts.create(user, credentialsFor('second'))).resolves.toBe(false);
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor('first'));
    });

    it('lets exactly one of two racing creates succeed, and keeps the winner’s credentials', async () => {
      const user = freshUser();
      const results = await Promise.all([
        backend().accounts.create(user, credentialsFor('left')),
        backend().accounts.create(user, credentialsFor('right')),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? 'left' : 'right';
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor(winner));
    });

    it('lets exactly one of ten racing creates succeed', async () => {
      const user = freshUser();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => backend().accounts.create(user, credentialsFor(`racer${i}`))));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('replaces the credentials of an existing account', async () => {
      const user = freshUser();
      await backend().accounts.create(user, credentialsFor('old'));
      await expect(backend().accounts.setCredentials(user, credentialsFor('new'))).resolves.toBe(true);
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor('new'));
    });

    it('does not create an account when setting the credentials of a missing one', async () => {
      const user = freshUser();
      await expect(backend().accounts.setCredentials(user, credentialsFor('x'))).resolves.toBe(false);
      await expect(backend().accounts.exists(user)).resolves.toBe(false);
      await expect(backend().accounts.credentials(user)).resolves.toBeUndefined();
    });

    it('replaces the credentials when they are still the expected ones', async () => {
      const user = freshUser();
      const imported = { ...credentialsFor('old'), 'SHA-256': { salt: '', iterations: 0, storedKey: '', serverKey: '' } };
      await backend().accounts.create(user, imported);
      const upgraded = { ...imported, 'SHA-256': credentialsFor('new')['SHA-256'] };
      await expect(backend().accounts.replaceCredentials(user, imported, upgraded)).resolves.toBe(true);
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(upgraded);
    });

    it('keeps the credentials when they changed since they were read', async () => {
      const user = freshUser();
      await backend().accounts.create(user, credentialsFor('read'));
      await backend().accounts.setCredentials(user, credentialsFor('changed'));
      await expect(backend().accounts.replaceCredentials(user, credentialsFor('read'), credentialsFor('stale'))).resolves.toBe(false);
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor('changed'));
    });

    it('keeps the credentials when only one field of one hash differs from the expected ones', async () => {
      const user = freshUser();
      await backend().accounts.create(user, credentialsFor('one'));
      const almost = { ...credentialsFor('one'), 'SHA-1': { ...credentialsFor('one')['SHA-1'], iterations: 4097 } };
      await expect(backend().accounts.replaceCredentials(user, almost, credentialsFor('two'))).resolves.toBe(false);
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor('one'));
    });

    it('does not create an account when replacing the credentials of a missing one', async () => {
      const user = freshUser();
      await expect(backend().accounts.replaceCredentials(user, credentialsFor('x'), credentialsFor('y'))).resolves.toBe(false);
      await expect(backend().accounts.exists(user)).resolves.toBe(false);
    });

    it('lets exactly one of two racing replacements from the same credentials succeed', async () => {
      const user = freshUser();
      await backend().accounts.create(user, credentialsFor('base'));
      const results = await Promise.all([
        backend().accounts.replaceCredentials(user, credentialsFor('base'), credentialsFor('left')),
        backend().accounts.replaceCredentials(user, credentialsFor('base'), credentialsFor('right')),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results[0] ? 'left' : 'right';
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor(winner));
    });

    it('deletes an account once, after which it can be created again', async () => {
      const user = freshUser();
      await backend().accounts.create(user, credentialsFor('a'));
      await expect(backend().accounts.delete(user)).resolves.toBe(true);
      await expect(backend().accounts.delete(user)).resolves.toBe(false);
      await expect(backend().accounts.exists(user)).resolves.toBe(false);
      await expect(backend().accounts.credentials(user)).resolves.toBeUndefined();
      await expect(backend().accounts.create(user, credentialsFor('b'))).resolves.toBe(true);
      await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor('b'));
    });

    it('reports false when deleting an account that never existed', async () => {
      await expect(backend().accounts.delete(freshUser())).resolves.toBe(false);
    });

    it('counts creations and deletions, ignoring refused ones', async () => {
      const before = await backend().accounts.count();
      const [a, b] = [freshUser(), freshUser()];
      await backend().accounts.create(a, credentialsFor('a'));
      await backend().accounts.create(b, credentialsFor('b'));
      await backend().accounts.create(b, credentialsFor('again'));
      await expect(backend().accounts.count()).resolves.toBe(before + 2);
      await backend().accounts.delete(a);
      await backend().accounts.delete(a);
      await expect(backend().accounts.count()).resolves.toBe(before + 1);
    });

    it('counts one account for racing creates of the same user', async () => {
      const before = await backend().accounts.count();
      const user = freshUser();
      await Promise.all(Array.from({ length: 5 }, () => backend().accounts.create(user, credentialsFor('x'))));
      await expect(backend().accounts.count()).resolves.toBe(before + 1);
    });

    it('lists every account exactly once for a few hundred accounts', async () => {
      const users = Array.from({ length: 300 }, () => freshUser('listed'));
      await Promise.all(users.map((user) => backend().accounts.create(user, credentialsFor(user))));
      const listed = await collect(backend().accounts.list());
      const mine = listed.filter((user) => users.includes(user));
      expect(mine).toHaveLength(users.length);
      expect(new Set(mine)).toStrictEqual(new Set(users));
    });

    it('does not list deleted accounts', async () => {
      const [kept, gone] = [freshUser(), freshUser()];
      await backend().accounts.create(kept, credentialsFor('kept'));
      await backend().accounts.create(gone, credentialsFor('gone'));
      await backend().accounts.delete(gone);
      const listed = await collect(backend().accounts.list());
      expect(listed).toContain(kept);
      expect(listed).not.toContain(gone);
    });

    it('keeps accounts whose JIDs contain colons, braces, percent signs and unicode apart', async () => {
      const users = awkwardUsers();
      for (const user of users) await expect(backend().accounts.create(user, credentialsFor(user))).resolves.toBe(true);
      for (const user of users) await expect(backend().accounts.credentials(user)).resolves.toStrictEqual(credentialsFor(user));
      const listed = await collect(backend().accounts.list());
      for (const user of users) expect(listed.filter((entry) => entry === user)).toHaveLength(1);
      await expect(backend().accounts.delete(users[0] ?? '')).resolves.toBe(true);
      for (const user of users.slice(1)) await expect(backend().accounts.exists(user)).resolves.toBe(true);
    });
  });
}

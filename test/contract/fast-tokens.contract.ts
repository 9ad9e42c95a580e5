// The FastTokenStore contract (src/state/fast-tokens.ts).
import { describe, expect, it } from 'vitest';
import type { FastToken } from '../../src/state/fast-tokens.js';
import { freshUser, unique, useBackend, type BackendFactory } from './helpers.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;

function token(secret: string, overrides: Partial<FastToken> = {}): FastToken {
  return { mechanism: 'HT-SHA-256-NONE', secret, issuedAt: NOW, expiresAt: NOW + DAY, count: 0, ...overrides };
}

export function fastTokensContract(makeBackend: BackendFactory): void {
  describe('FastTokenStore contract', () => {
    const backend = useBackend(makeBackend);
    const store = () => backend().fastTokens;

    it('returns no token for a device never issued one', async () => {
      await expect(store().get(freshUser(), 'device', NOW)).resolves.toStrictEqual({});
    });

    it('returns an issued token as given, for its device only', async () => {
      const user = freshUser();
      await store().issue(user, 'phone', token('s1'), 5);
      await expect(store().get(user, 'phone', NOW)).resolves.toStrictEqual({ current: token('s1') });
      await expect(store().get(user, 'laptop', NOW)).resolves.toStrictEqual({});
      await expect(store().get(freshUser(), 'phone', NOW)).resolves.toStrictEqual({});
    });

    it('keeps the replaced token as the previous one until the new one is used', async () => {
      const user = freshUser();
      await store().issue(user, 'phone', token('old'), 5);
      await store().issue(user, 'phone', token('new', { issuedAt: NOW + 1 }), 5);
      await expect(store().get(user, 'phone', NOW + 2)).resolves.toStrictEqual({ current: token('new', { issuedAt: NOW + 1 }), previous: token('old') });
      await store().issue(user, 'phone', token('newer', { issuedAt: NOW + 3 }), 5);
      expect((await store().get(user, 'phone', NOW + 4)).previous?.secret).toBe('new');
      await expect(store().use(user, 'phone', 'current', 'newer', 1, NOW + 5)).resolves.toBe(true);
      await expect(store().get(user, 'phone', NOW + 6)).resolves.toStrictEqual({ current: token('newer', { issuedAt: NOW + 3, count: 1 }) });
      await expect(store().use(user, 'phone', 'previous', 'new', 9, NOW + 7)).resolves.toBe(false);
    });

    it('accepts each count once and only counts that go up (replay protection)', async () => {
      const user = freshUser();
      await store().issue(user, 'phone', token('s'), 5);
      await expect(store().use(user, 'phone', 'current', 's', 3, NOW)).resolves.toBe(true);
      await expect(store().use(user, 'phone', 'current', 's', 3, NOW)).resolves.toBe(false);
      await expect(store().use(user, 'phone', 'current', 's', 2, NOW)).resolves.toBe(false);
      await expect(store().use(user, 'phone', 'current', 's', undefined, NOW)).resolves.toBe(true);
      expect((await store().get(user, 'phone', NOW)).current?.count).toBe(4);
    });

    it('accepts one of many racing uses of the same count', async () => {
      const user = freshUser();
      await store().issue(user, 'phone', token('s'), 5);
      const results = await Promise.all(Array.from({ length: 8 }, () => store().use(user, 'phone', 'current', 's', 1, NOW)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('refuses a wrong secret, an expired token, and a token of another device', async () => {
      const user = freshUser();
      await store().issue(user, 'phone', token('s'), 5);
      await expect(store().use(user, 'phone', 'current', 'not-s', 1, NOW)).resolves.toBe(false);
      await expect(store().use(user, 'laptop', 'current', 's', 1, NOW)).resolves.toBe(false);
      await expect(store().use(user, 'phone', 'previous', 's', 1, NOW)).resolves.toBe(false);
      await expect(store().use(user, 'phone', 'current', 's', 1, NOW + DAY)).resolves.toBe(false);
      await expect(store().get(user, 'phone', NOW + DAY)).resolves.toStrictEqual({});
    });

    it('keeps at most maxDevices devices per account, dropping the one that expires first', async () => {
      const user = freshUser();
      await store().issue(user, 'a', token('a', { expiresAt: NOW + 3 * DAY }), 2);
      await store().issue(user, 'b', token('b', { expiresAt: NOW + DAY }), 2);
      await store().issue(user, 'c', token('c', { expiresAt: NOW + 2 * DAY }), 2);
      await expect(store().get(user, 'b', NOW)).resolves.toStrictEqual({});
      expect((await store().get(user, 'a', NOW)).current?.secret).toBe('a');
      expect((await store().get(user, 'c', NOW)).current?.secret).toBe('c');
      // A device issued again is no new device.
      await store().issue(user, 'c', token('c2', { expiresAt: NOW + DAY }), 2);
      expect((await store().get(user, 'a', NOW)).current?.secret).toBe('a');
    });

    it('forgets one device on revoke and every device on deleteAll', async () => {
      const user = freshUser();
      const other = freshUser();
      await store().issue(user, 'a', token('a'), 5);
      await store().issue(user, 'b', token('b'), 5);
      await store().issue(other, 'a', token('x'), 5);
      await store().revoke(user, 'a');
      await expect(store().get(user, 'a', NOW)).resolves.toStrictEqual({});
      expect((await store().get(user, 'b', NOW)).current?.secret).toBe('b');
      await store().deleteAll(user);
      await expect(store().get(user, 'b', NOW)).resolves.toStrictEqual({});
      expect((await store().get(other, 'a', NOW)).current?.secret).toBe('x');
    });

    it('takes devices and secrets with any characters', async () => {
      const user = freshUser('ü{x}:y');
      const device = unique('dev:{}%');
      await store().issue(user, device, token('sécret:{}'), 5);
      await expect(store().use(user, device, 'current', 'sécret:{}', 1, NOW)).resolves.toBe(true);
    });
  });
}

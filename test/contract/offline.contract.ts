// The OfflineStore contract (src/state/offline.ts).
import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../src/state/offline.js';
import { awkwardUsers, freshUser, useBackend, type BackendFactory } from './helpers.js';

function message(n: number): StoredMessage {
  return { xml: `<message to="x@example.com" id="m${n}"><body>${n} “quoted” \\ "json" 🐦</body></message>`, stamp: 1_700_000_000_000 + n };
}

export function offlineContract(makeBackend: BackendFactory): void {
  describe('OfflineStore contract', () => {
    const backend = useBackend(makeBackend);

    it('holds nothing for an account that never received a message', async () => {
      const user = freshUser();
      await expect(backend().offline.count(user)).resolves.toBe(0);
      await expect(backend().offline.takeAll(user)).resolves.toStrictEqual([]);
    });

    it('hands out stored messages in storage order, exactly as stored', async () => {
      const user = freshUser();
      const messages = [1, 2, 3, 4, 5].map(message);
      for (const m of messages) await expect(backend().offline.store(user, m, 100)).resolves.toBe(true);
      await expect(backend().offline.count(user)).resolves.toBe(5);
      await expect(backend().offline.takeAll(user)).resolves.toStrictEqual(messages);
    });

    it('shows the stored messages in storage order without removing them (peek)', async () => {
      const user = freshUser();
      const messages = [1, 2, 3].map(message);
      for (const m of messages) await backend().offline.store(user, m, 100);
      await expect(backend().offline.peek(user)).resolves.toStrictEqual(messages);
      await expect(backend().offline.takeAll(user)).resolves.toStrictEqual(messages);
      await expect(backend().offline.peek(user)).resolves.toStrictEqual([]);
    });

    it('stores a message whose stanza identity it already holds once, and hands the identity out with it', async () => {
      const user = freshUser();
      const first = { ...message(1), id: 'token-a:7' };
      await expect(backend().offline.store(user, first, 10)).resolves.toBe(true);
      await expect(backend().offline.store(user, { ...message(1), stamp: first.stamp + 5, id: 'token-a:7' }, 10)).resolves.toBe(true);
      await expect(backend().offline.store(user, { ...message(2), id: 'token-a:8' }, 10)).resolves.toBe(true);
      await expect(backend().offline.store(user, message(3), 10)).resolves.toBe(true);
      await expect(backend().offline.count(user)).resolves.toBe(3);
      await expect(backend().offline.takeAll(user)).resolves.toStrictEqual([first, { ...message(2), id: 'token-a:8' }, message(3)]);
      // Taken: the same identity may be held again (a message stored back after a burst cut short).
      await expect(backend().offline.store(user, first, 10)).resolves.toBe(true);
      await expect(backend().offline.count(user)).resolves.toBe(1);
    });

    it('is empty after takeAll', async () => {
      const user = freshUser();
      await backend().offline.store(user, message(1), 10);
      await backend().offline.takeAll(user);
      await expect(backend().offline.count(user)).resolves.toBe(0);
      await expect(backend().offline.takeAll(user)).resolves.toStrictEqual([]);
    });

    it('refuses a message when the account already holds the limit', async () => {
      const user = freshUser();
      for (let i = 0; i < 3; i++) await expect(backend().offline.store(user, message(i), 3)).resolves.toBe(true);
      await expect(backend().offline.store(user, message(3), 3)).resolves.toBe(false);
      await expect(backend().offline.count(user)).resolves.toBe(3);
      await expect(backend().offline.takeAll(user)).resolves.toStrictEqual([0, 1, 2].map(message));
    });

    it('stores nothing with a limit of zero', async () => {
      const user = freshUser();
      await expect(backend().offline.store(user, message(1), 0)).resolves.toBe(false);
      await expect(backend().offline.count(user)).resolves.toBe(0);
    });

    it('applies a lower limit to a queue already longer than it', async () => {
      const user = freshUser();
      for (let i = 0; i < 5; i++) await backend().offline.store(user, message(i), 10);
      await expect(backend().offline.store(user, message(5), 4)).resolves.toBe(false);
      await expect(backend().offline.count(user)).resolves.toBe(5);
    });

    it('stores exactly the limit under 20 concurrent stores with a limit of 10', async () => {
      const user = freshUser();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => backend().offline.store(user, message(i), 10)));
      expect(results.filter(Boolean)).toHaveLength(10);
      await expect(backend().offline.count(user)).resolves.toBe(10);
      const taken = await backend().offline.takeAll(user);
      expect(taken).toHaveLength(10);
      const accepted = results.flatMap((ok, i) => (ok ? [message(i)] : []));
      expect(new Set(taken.map((m) => m.xml))).toStrictEqual(new Set(accepted.map((m) => m.xml)));
    });

    it('hands each message out once under concurrent takeAll calls', async () => {
      const user = freshUser();
      const messages = Array.from({ length: 50 }, (_, i) => message(i));
      for (const m of messages) await backend().offline.store(user, m, 1000);
      const batches = await Promise.all(Array.from({ length: 5 }, () => backend().offline.takeAll(user)));
      expect(batches.flat()).toHaveLength(messages.length);
      expect(batches.filter((batch) => batch.length > 0)).toStrictEqual([messages]);
      await expect(backend().offline.count(user)).resolves.toBe(0);
    });

    it('hands each message out once when takeAll races with stores', async () => {
      const user = freshUser();
      const messages = Array.from({ length: 40 }, (_, i) => message(i));
      const operations: Promise<StoredMessage[] | boolean>[] = [];
      for (const [i, m] of messages.entries()) {
        operations.push(backend().offline.store(user, m, 1000));
        if (i % 10 === 9) operations.push(backend().offline.takeAll(user));
      }
      const results = await Promise.all(operations);
      const taken = [...results.filter((r): r is StoredMessage[] => Array.isArray(r)).flat(), ...(await backend().offline.takeAll(user))];
      expect(taken.map((m) => m.xml).sort()).toStrictEqual(messages.map((m) => m.xml).sort());
    });

    it('forgets everything on deleteAll', async () => {
      const user = freshUser();
      await backend().offline.store(user, message(1), 10);
      await backend().offline.store(user, message(2), 10);
      await backend().offline.deleteAll(user);
      await expect(backend().offline.count(user)).resolves.toBe(0);
      await expect(backend().offline.takeAll(user)).resolves.toStrictEqual([]);
    });

    it('keeps the queues of accounts with awkward JIDs apart', async () => {
      const users = awkwardUsers();
      for (const [i, user] of users.entries()) await backend().offline.store(user, message(i), 10);
      for (const [i, user] of users.entries()) await expect(backend().offline.takeAll(user)).resolves.toStrictEqual([message(i)]);
    });
  });
}

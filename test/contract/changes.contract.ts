// The ChangeFeed contract (src/state/changes.ts): a published notice reaches the subscribers of
// every node (at most once), in the order one publisher sent them.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChangeFeed, ChangeKind } from '../../src/state/changes.js';

/** Opens a started feed on the shared store; the suite closes what it opens. */
export type FeedFactory = () => Promise<ChangeFeed>;

function recordingListener(): { seen: Array<[string, ChangeKind]>; resets: number; seenFor(bare: string, timeoutMs?: number): Promise<void>; changed(bare: string, kind: ChangeKind): void; reset(): void } {
  const waiters = new Map<string, () => void>();
  const listener = {
    seen: [] as Array<[string, ChangeKind]>,
    resets: 0,
    changed(bare: string, kind: ChangeKind) {
      listener.seen.push([bare, kind]);
      waiters.get(bare)?.();
    },
    reset() {
      listener.resets += 1;
    },
    seenFor(bare: string, timeoutMs = 5_000): Promise<void> {
      if (listener.seen.some(([seen]) => seen === bare)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no notice for ${bare} within ${timeoutMs} ms`)), timeoutMs);
        waiters.set(bare, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
  return listener;
}

const fresh = (): string => `u${randomBytes(4).toString('hex')}@localhost`;

export function changesContract(openFeed: FeedFactory): void {
  describe('ChangeFeed contract', () => {
    it('tells the subscribers of another node which account changed, and how', async () => {
      const publisher = await openFeed();
      const subscriber = await openFeed();
      const listener = recordingListener();
      subscriber.subscribe(listener);
      try {
        const bare = fresh();
        await publisher.publish(bare, 'blocklist');
        await listener.seenFor(bare);
        expect(listener.seen.filter(([seen]) => seen === bare)).toStrictEqual([[bare, 'blocklist']]);
        expect(listener.resets).toBe(0);
      } finally {
        await Promise.all([publisher.close(), subscriber.close()]);
      }
    });

    it('delivers the notices of one publisher in the order published', async () => {
      const publisher = await openFeed();
      const subscriber = await openFeed();
      const listener = recordingListener();
      subscriber.subscribe(listener);
      try {
        const accounts = Array.from({ length: 20 }, () => fresh());
        for (const bare of accounts) await publisher.publish(bare, 'sessions');
        await listener.seenFor(accounts[accounts.length - 1] as string);
        expect(listener.seen.map(([bare]) => bare).filter((bare) => accounts.includes(bare))).toStrictEqual(accounts);
      } finally {
        await Promise.all([publisher.close(), subscriber.close()]);
      }
    });
  });
}

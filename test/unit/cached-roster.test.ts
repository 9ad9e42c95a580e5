// The cached roster items (src/state/cached/roster.ts): another node's change is seen at the next
// read without any notice (the version moves), and a deleted roster, whose versions start again,
// is dropped by the notice its deletion publishes.
import { describe, expect, it } from 'vitest';
import type { ChangeFeed, ChangeKind, ChangeListener } from '../../src/state/changes.js';
import { CachedRosterStore } from '../../src/state/cached/roster.js';
import { MemoryRosterStore } from '../../src/state/memory/roster.js';
import type { RosterItem, RosterStore } from '../../src/state/roster.js';

const item = (jid: string, subscription: RosterItem['subscription']): RosterItem => ({ jid, groups: [], subscription, ask: false, approved: false });

/** A feed whose notices reach no one: another node's writes stay unseen, as when a notice is lost. */
const silentFeed: ChangeFeed = {
  async publish() {},
  subscribe(_listener: ChangeListener) {},
  async close() {},
};

/** Counts the reads of the whole roster that reach the store. */
function counting(store: RosterStore): { store: RosterStore; reads: () => number } {
  let reads = 0;
  const wrapped: RosterStore = Object.assign(Object.create(store) as RosterStore, {
    items: (user: string) => {
      reads += 1;
      return store.items(user);
    },
  });
  return { store: wrapped, reads: () => reads };
}

describe('the cached roster items', () => {
  it('reads the items once while the version stays, and again once another node changed them', async () => {
    const shared = new MemoryRosterStore();
    const { store, reads } = counting(shared);
    const cached = new CachedRosterStore(store, silentFeed);
    await shared.compareAndSet('alice@localhost', 'bob@localhost', {}, { item: item('bob@localhost', 'both') });
    for (let i = 0; i < 3; i++) await expect(cached.items('alice@localhost')).resolves.toStrictEqual(new Map([['bob@localhost', item('bob@localhost', 'both')]]));
    expect(reads()).toBe(1);
    // Another node (the shared store directly, and no notice) takes bob's subscription away.
    await shared.compareAndSet('alice@localhost', 'bob@localhost', { item: item('bob@localhost', 'both') }, { item: item('bob@localhost', 'to') });
    await expect(cached.items('alice@localhost')).resolves.toStrictEqual(new Map([['bob@localhost', item('bob@localhost', 'to')]]));
    expect(reads()).toBe(2);
  });

  it('drops a deleted roster on every node by a notice, since a new roster counts its versions from 0 again', async () => {
    const shared = new MemoryRosterStore();
    const listeners: ChangeListener[] = [];
    const notices: Array<[string, ChangeKind]> = [];
    const feed: ChangeFeed = {
      async publish(bare, kind) {
        notices.push([bare, kind]);
        for (const listener of listeners) listener.changed(bare, kind);
      },
      subscribe: (listener) => void listeners.push(listener),
      async close() {},
    };
    const here = new CachedRosterStore(shared, feed);
    const there = new CachedRosterStore(shared, feed);
    feed.subscribe({ changed: (bare, kind) => kind === 'roster' && there.invalidate(bare), reset: () => there.clear() });
    await shared.compareAndSet('alice@localhost', 'bob@localhost', {}, { item: item('bob@localhost', 'both') });
    await expect(there.items('alice@localhost')).resolves.toHaveProperty('size', 1);
    await here.deleteAll('alice@localhost');
    expect(notices).toStrictEqual([['alice@localhost', 'roster']]);
    // The account anew, its roster at version 1 again with another contact.
    await shared.compareAndSet('alice@localhost', 'carol@localhost', {}, { item: item('carol@localhost', 'from') });
    await expect(shared.version('alice@localhost')).resolves.toBe(1);
    await expect(there.items('alice@localhost')).resolves.toStrictEqual(new Map([['carol@localhost', item('carol@localhost', 'from')]]));
  });
});

// A RosterStore that keeps each account's roster items on this node for the one reader that
// needs all of them often, the PEP fan-out (every publish reads the owner's roster): a use reads
// the roster's version alone, and the items only when it changed (every change takes a new
// version, state/roster.ts). A deleted roster starts its versions again from 0, so its deletion
// also publishes a change notice that drops it everywhere. Everything else reads the store.
import type { ChangeFeed } from '../changes.js';
import type { ContactEntry, RosterItem, RosterSnapshot, RosterStore } from '../roster.js';
import { AccountCache } from './account-cache.js';

interface Held {
  version: number;
  items: ReadonlyMap<string, RosterItem>;
}

export class CachedRosterStore implements RosterStore {
  private readonly cache: AccountCache<Held>;

  constructor(
    private readonly inner: RosterStore,
    private readonly feed: ChangeFeed,
    capacity = 10_000,
  ) {
    this.cache = new AccountCache(capacity);
  }

  invalidate(user: string): void {
    this.cache.invalidate(user);
  }

  clear(): void {
    this.cache.clear();
  }

  load(user: string): Promise<RosterSnapshot> {
    return this.inner.load(user);
  }

  /**
   * The version is read before the items, so the items are at least as new as the version they
   * are kept under: a change between the two reads is seen at the next use. A read that overlaps
   * a deletion's notice is not kept (AccountCache).
   */
  async items(user: string): Promise<ReadonlyMap<string, RosterItem>> {
    const version = await this.inner.version(user);
    const load = async (): Promise<Held> => ({ version, items: await this.inner.items(user) });
    const held = await this.cache.read(user, load);
    if (held.version === version) return held.items;
    this.cache.invalidate(user);
    return (await this.cache.read(user, load)).items;
  }

  entry(user: string, contact: string): Promise<ContactEntry> {
    return this.inner.entry(user, contact);
  }

  compareAndSet(user: string, contact: string, expected: ContactEntry, next: ContactEntry): Promise<number | undefined> {
    return this.inner.compareAndSet(user, contact, expected, next);
  }

  version(user: string): Promise<number> {
    return this.inner.version(user);
  }

  async deleteAll(user: string): Promise<void> {
    await this.inner.deleteAll(user);
    this.cache.invalidate(user);
    await this.feed.publish(user, 'roster');
  }
}

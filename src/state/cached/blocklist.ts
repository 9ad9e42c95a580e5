// A BlocklistStore that caches blocklists on this node (they are read for every stanza an
// account sends or receives); edits publish a change notice that drops them everywhere.
import type { BlocklistSnapshot, BlocklistStore } from '../blocklist.js';
import type { ChangeFeed } from '../changes.js';
import { AccountCache } from './account-cache.js';

export class CachedBlocklistStore implements BlocklistStore {
  private readonly cache: AccountCache<readonly string[]>;

  constructor(
    private readonly inner: BlocklistStore,
    private readonly feed: ChangeFeed,
    capacity = 100_000,
  ) {
    this.cache = new AccountCache(capacity);
  }

  invalidate(user: string): void {
    this.cache.invalidate(user);
  }

  clear(): void {
    this.cache.clear();
  }

  async get(user: string): Promise<string[]> {
    return [...(await this.cache.read(user, () => this.inner.get(user)))];
  }

  /** Always from the store: the version must be the one stored with the list. */
  load(user: string): Promise<BlocklistSnapshot> {
    return this.inner.load(user);
  }

  async add(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    const list = await this.inner.add(user, jids);
    await this.changed(user);
    return list;
  }

  async remove(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    const list = await this.inner.remove(user, jids);
    await this.changed(user);
    return list;
  }

  async deleteAll(user: string): Promise<void> {
    await this.inner.deleteAll(user);
    await this.changed(user);
  }

  private async changed(user: string): Promise<void> {
    this.cache.invalidate(user);
    await this.feed.publish(user, 'blocklist');
  }
}

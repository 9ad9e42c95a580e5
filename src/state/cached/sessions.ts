// A SessionRegistry that caches each account's records on this node, so routing to a known
// account costs no store round trip. Every write publishes a change notice (or the store did it
// with the write: publishesChanges); notices from any node drop the cached account.
import type { ChangeFeed } from '../changes.js';
import type { ClaimOutcome, ReadOptions, ReassertOutcome, SessionPatch, SessionRecord, SessionRegistry } from '../sessions.js';
import { bareOf } from '../../xmpp/jid-string.js';
import { AccountCache } from './account-cache.js';

export class CachedSessionRegistry implements SessionRegistry {
  private readonly cache: AccountCache<readonly SessionRecord[]>;

  constructor(
    private readonly inner: SessionRegistry,
    private readonly feed: ChangeFeed,
    capacity = 100_000,
  ) {
    this.cache = new AccountCache(capacity);
  }

  /** Called by the feed's listener. */
  invalidate(bareJid: string): void {
    this.cache.invalidate(bareJid);
  }

  clear(): void {
    this.cache.clear();
  }

  async claim(record: SessionRecord): Promise<SessionRecord | undefined> {
    const replaced = await this.inner.claim(record);
    await this.changed(bareOf(record.full_jid));
    return replaced;
  }

  async claimWithin(record: SessionRecord, maxResources: number): Promise<ClaimOutcome> {
    const outcome = await this.inner.claimWithin(record, maxResources);
    if (outcome.claimed) await this.changed(bareOf(record.full_jid));
    return outcome;
  }

  async update(fullJid: string, sessionId: string, patch: SessionPatch): Promise<boolean> {
    const updated = await this.inner.update(fullJid, sessionId, patch);
    if (updated) await this.changed(bareOf(fullJid));
    return updated;
  }

  async release(fullJid: string, sessionId: string): Promise<boolean> {
    const released = await this.inner.release(fullJid, sessionId);
    if (released) await this.changed(bareOf(fullJid));
    return released;
  }

  async reassert(record: SessionRecord): Promise<ReassertOutcome> {
    const outcome = await this.inner.reassert(record);
    if (outcome !== 'replaced') await this.changed(bareOf(record.full_jid));
    return outcome;
  }

  async get(fullJid: string, options: ReadOptions = {}): Promise<SessionRecord | undefined> {
    const record = (await this.cachedResources(bareOf(fullJid), options)).find((candidate) => candidate.full_jid === fullJid);
    return record ? { ...record } : undefined;
  }

  async resources(bareJid: string, options: ReadOptions = {}): Promise<SessionRecord[]> {
    return (await this.cachedResources(bareJid, options)).map((record) => ({ ...record }));
  }

  peek(bareJid: string): readonly Readonly<SessionRecord>[] | undefined {
    return this.cache.peek(bareJid);
  }

  byNode(node: string): AsyncIterable<SessionRecord> {
    return this.inner.byNode(node);
  }

  all(): AsyncIterable<SessionRecord> {
    return this.inner.all();
  }

  count(): Promise<number> {
    return this.inner.count();
  }

  private cachedResources(bareJid: string, options: ReadOptions): Promise<readonly SessionRecord[]> {
    if (options.fresh) this.cache.invalidate(bareJid);
    return this.cache.read(bareJid, () => this.inner.resources(bareJid));
  }

  private async changed(bareJid: string): Promise<void> {
    this.cache.invalidate(bareJid);
    if (this.inner.publishesChanges) this.feed.publishedWithWrite?.('sessions');
    else await this.feed.publish(bareJid, 'sessions');
  }
}

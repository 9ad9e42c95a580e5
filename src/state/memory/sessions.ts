// In-process SessionRegistry: one map per account, like the Redis hash per account.
import { bareOf } from '../../xmpp/jid-string.js';
import type { ClaimOutcome, ReassertOutcome, SessionPatch, SessionRecord, SessionRegistry } from '../sessions.js';

export class MemorySessionRegistry implements SessionRegistry {
  private readonly accounts = new Map<string, Map<string, SessionRecord>>();
  private total = 0;

  async claim(record: SessionRecord): Promise<SessionRecord | undefined> {
    const bare = bareOf(record.full_jid);
    let resources = this.accounts.get(bare);
    if (!resources) {
      resources = new Map();
      this.accounts.set(bare, resources);
    }
    const replaced = resources.get(record.full_jid);
    if (!replaced) this.total += 1;
    resources.set(record.full_jid, { ...record });
    return replaced;
  }

  async claimWithin(record: SessionRecord, maxResources: number): Promise<ClaimOutcome> {
    const resources = this.accounts.get(bareOf(record.full_jid));
    if (resources && !resources.has(record.full_jid) && resources.size >= maxResources) return { claimed: false };
    const replaced = await this.claim(record);
    return replaced ? { claimed: true, replaced } : { claimed: true };
  }

  async update(fullJid: string, sessionId: string, patch: SessionPatch): Promise<boolean> {
    const record = this.accounts.get(bareOf(fullJid))?.get(fullJid);
    if (!record || record.session_id !== sessionId) return false;
    const { presence, ...rest } = patch;
    Object.assign(record, rest);
    if (presence === null) delete record.presence;
    else if (presence !== undefined) record.presence = presence;
    return true;
  }

  async release(fullJid: string, sessionId: string): Promise<boolean> {
    const bare = bareOf(fullJid);
    const resources = this.accounts.get(bare);
    const record = resources?.get(fullJid);
    if (!resources || !record || record.session_id !== sessionId) return false;
    resources.delete(fullJid);
    if (resources.size === 0) this.accounts.delete(bare);
    this.total -= 1;
    return true;
  }

  async reassert(record: SessionRecord): Promise<ReassertOutcome> {
    const current = this.accounts.get(bareOf(record.full_jid))?.get(record.full_jid);
    if (current && current.session_id !== record.session_id) return 'replaced';
    await this.claim(record);
    return current ? 'kept' : 'written';
  }

  async get(fullJid: string): Promise<SessionRecord | undefined> {
    const record = this.accounts.get(bareOf(fullJid))?.get(fullJid);
    return record ? { ...record } : undefined;
  }

  async resources(bareJid: string): Promise<SessionRecord[]> {
    return [...(this.accounts.get(bareJid)?.values() ?? [])].map((record) => ({ ...record }));
  }

  /** The records themselves, to be read at once (an update changes a record in place); this store is the truth, so never undefined. */
  peek(bareJid: string): readonly Readonly<SessionRecord>[] {
    return [...(this.accounts.get(bareJid)?.values() ?? [])];
  }

  async *byNode(node: string): AsyncIterable<SessionRecord> {
    for await (const record of this.all()) if (record.node === node) yield record;
  }

  async *all(): AsyncIterable<SessionRecord> {
    const snapshot = [...this.accounts.values()].flatMap((resources) => [...resources.values()]);
    for (const record of snapshot) yield { ...record };
  }

  async count(): Promise<number> {
    return this.total;
  }
}

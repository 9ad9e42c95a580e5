// In-process BlocklistStore.
import type { BlocklistStore } from '../blocklist.js';

export class MemoryBlocklistStore implements BlocklistStore {
  private readonly lists = new Map<string, Set<string>>();

  async get(user: string): Promise<string[]> {
    return [...(this.lists.get(user) ?? [])];
  }

  async add(user: string, jids: string[]): Promise<string[]> {
    const list = this.lists.get(user) ?? new Set<string>();
    for (const jid of jids) list.add(jid);
    this.lists.set(user, list);
    return [...list];
  }

  async remove(user: string, jids: string[]): Promise<string[]> {
    const list = this.lists.get(user);
    if (!list) return [];
    if (jids.length === 0) list.clear();
    for (const jid of jids) list.delete(jid);
    if (list.size === 0) this.lists.delete(user);
    return [...list];
  }

  async deleteAll(user: string): Promise<void> {
    this.lists.delete(user);
  }
}

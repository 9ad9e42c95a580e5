// In-process BlocklistStore.
import type { BlocklistSnapshot, BlocklistStore } from '../blocklist.js';

export class MemoryBlocklistStore implements BlocklistStore {
  private readonly lists = new Map<string, Set<string>>();
  private readonly versions = new Map<string, number>();

  async get(user: string): Promise<string[]> {
    return [...(this.lists.get(user) ?? [])];
  }

  async load(user: string): Promise<BlocklistSnapshot> {
    return { items: [...(this.lists.get(user) ?? [])], version: this.versions.get(user) ?? 0 };
  }

  async add(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    const list = this.lists.get(user) ?? new Set<string>();
    for (const jid of jids) list.add(jid);
    if (list.size > 0) this.lists.set(user, list);
    return { items: [...list], version: this.bump(user) };
  }

  async remove(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    const list = this.lists.get(user) ?? new Set<string>();
    if (jids.length === 0) list.clear();
    for (const jid of jids) list.delete(jid);
    if (list.size === 0) this.lists.delete(user);
    return { items: [...list], version: this.bump(user) };
  }

  async deleteAll(user: string): Promise<void> {
    this.lists.delete(user);
    this.versions.delete(user);
  }

  private bump(user: string): number {
    const version = (this.versions.get(user) ?? 0) + 1;
    this.versions.set(user, version);
    return version;
  }
}

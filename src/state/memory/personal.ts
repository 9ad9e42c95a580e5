// In-process PersonalStore.
import { byteLength, type PersonalLimits, type PersonalSetResult, type PersonalStore } from '../personal.js';

export class MemoryPersonalStore implements PersonalStore {
  private readonly accounts = new Map<string, Map<string, string>>();

  async get(user: string, key: string): Promise<string | undefined> {
    return this.accounts.get(user)?.get(key);
  }

  async set(user: string, key: string, xml: string, limits: PersonalLimits): Promise<PersonalSetResult> {
    if (byteLength(xml) > limits.itemBytes) return 'too-large';
    const items = this.accounts.get(user) ?? new Map<string, string>();
    if (!items.has(key) && items.size >= limits.items) return 'full';
    items.set(key, xml);
    this.accounts.set(user, items);
    return 'stored';
  }

  async remove(user: string, key: string): Promise<boolean> {
    const items = this.accounts.get(user);
    const removed = items?.delete(key) ?? false;
    if (items?.size === 0) this.accounts.delete(user);
    return removed;
  }

  async all(user: string): Promise<Map<string, string>> {
    return new Map(this.accounts.get(user));
  }

  async deleteAll(user: string): Promise<void> {
    this.accounts.delete(user);
  }
}

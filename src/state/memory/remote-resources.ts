// In-process RemoteResourceStore: one map per account, in memory only (state/remote-resources.ts).
import { bareOf } from '../../xmpp/jid-string.js';
import type { KnownResource, RemoteResourceStore } from '../remote-resources.js';

interface Entry {
  resources: Map<string, KnownResource>;
  until: number;
}

export class MemoryRemoteResourceStore implements RemoteResourceStore {
  private readonly accounts = new Map<string, Entry>();

  async set(account: string, resource: string, known: KnownResource, max: number, ttlMs: number): Promise<boolean> {
    const current = this.current(account);
    const resources = current?.resources ?? new Map<string, KnownResource>();
    if (!resources.has(resource) && resources.size >= max) return false;
    resources.set(resource, structuredClone(known));
    this.accounts.set(account, { resources, until: Date.now() + ttlMs });
    return true;
  }

  async remove(account: string, resource: string): Promise<void> {
    this.current(account)?.resources.delete(resource);
  }

  async removeContact(account: string, contact: string): Promise<void> {
    const resources = this.current(account)?.resources;
    for (const resource of [...(resources?.keys() ?? [])]) if (bareOf(resource) === contact) resources?.delete(resource);
  }

  async list(account: string): Promise<Map<string, KnownResource>> {
    return new Map([...(this.current(account)?.resources ?? [])].map(([resource, known]) => [resource, structuredClone(known)]));
  }

  private current(account: string): Entry | undefined {
    const entry = this.accounts.get(account);
    if (entry && entry.until <= Date.now()) {
      this.accounts.delete(account);
      return undefined;
    }
    return entry;
  }
}

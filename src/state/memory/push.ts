// PushStore in this process (tests; the embedded store keeps registrations in SQLite).
import { bounded, LocalEventClaims, type PushRegistration, type PushStore } from '../push.js';

export class MemoryPushStore implements PushStore {
  private readonly accounts = new Map<string, PushRegistration[]>();
  private readonly events = new LocalEventClaims();

  async enable(user: string, registration: PushRegistration, max: number): Promise<void> {
    this.accounts.set(user, bounded(this.accounts.get(user) ?? [], { ...registration }, max));
  }

  async disable(user: string, jid: string, node?: string): Promise<number> {
    const current = this.accounts.get(user) ?? [];
    const kept = current.filter((entry) => entry.jid !== jid || (node !== undefined && entry.node !== node));
    if (kept.length === 0) this.accounts.delete(user);
    else this.accounts.set(user, kept);
    return current.length - kept.length;
  }

  async list(user: string): Promise<PushRegistration[]> {
    return (this.accounts.get(user) ?? []).map((entry) => ({ ...entry }));
  }

  async claim(user: string, event: string, ttlMs: number): Promise<PushRegistration[]> {
    const current = this.accounts.get(user) ?? [];
    if (current.length === 0 || !this.events.claim(user, event, ttlMs)) return [];
    return current.map((entry) => ({ ...entry }));
  }

  async deleteAll(user: string): Promise<void> {
    this.accounts.delete(user);
  }
}

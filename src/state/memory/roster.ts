// In-process RosterStore.
import type { ContactEntry, RosterItem, RosterSnapshot, RosterStore } from '../roster.js';
import { sameEntry } from '../roster-entry.js';

interface StoredRoster {
  version: number;
  items: Map<string, RosterItem>;
  pendingIn: Map<string, string>;
}

export class MemoryRosterStore implements RosterStore {
  private readonly rosters = new Map<string, StoredRoster>();

  async load(user: string): Promise<RosterSnapshot> {
    const roster = this.rosters.get(user);
    if (!roster) return { version: 0, items: new Map(), pendingIn: new Map() };
    return {
      version: roster.version,
      items: new Map([...roster.items].map(([jid, item]) => [jid, copyItem(item)])),
      pendingIn: new Map(roster.pendingIn),
    };
  }

  async items(user: string): Promise<ReadonlyMap<string, RosterItem>> {
    return new Map([...(this.rosters.get(user)?.items ?? [])].map(([jid, item]) => [jid, copyItem(item)]));
  }

  async entry(user: string, contact: string): Promise<ContactEntry> {
    return this.entryNow(user, contact);
  }

  /** Synchronous, so compareAndSet compares and writes in one step. */
  private entryNow(user: string, contact: string): ContactEntry {
    const roster = this.rosters.get(user);
    const item = roster?.items.get(contact);
    const pendingIn = roster?.pendingIn.get(contact);
    return {
      ...(item ? { item: copyItem(item) } : {}),
      ...(pendingIn !== undefined ? { pendingIn } : {}),
    };
  }

  async compareAndSet(user: string, contact: string, expected: ContactEntry, next: ContactEntry): Promise<number | undefined> {
    if (!sameEntry(this.entryNow(user, contact), expected)) return undefined;
    let roster = this.rosters.get(user);
    if (!roster) {
      roster = { version: 0, items: new Map(), pendingIn: new Map() };
      this.rosters.set(user, roster);
    }
    if (next.item) roster.items.set(contact, copyItem(next.item));
    else roster.items.delete(contact);
    if (next.pendingIn !== undefined) roster.pendingIn.set(contact, next.pendingIn);
    else roster.pendingIn.delete(contact);
    roster.version += 1;
    return roster.version;
  }

  async version(user: string): Promise<number> {
    return this.rosters.get(user)?.version ?? 0;
  }

  async deleteAll(user: string): Promise<void> {
    this.rosters.delete(user);
  }
}

function copyItem(item: RosterItem): RosterItem {
  return { ...item, groups: [...item.groups] };
}

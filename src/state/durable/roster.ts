// RosterStore in the durable embedded store: one row per contact entry and one version per roster.
import type { ContactEntry, RosterItem, RosterSnapshot, RosterStore } from '../roster.js';
import { decodeItem, encodeItem, sameEntry } from '../roster-entry.js';
import { type DataDir, durable } from './database.js';

interface EntryRow {
  contact: string;
  item: string | null;
  pending_in: string | null;
}

export class DurableRosterStore implements RosterStore {
  private readonly selectAll;
  private readonly selectOne;
  private readonly selectVersion;
  private readonly upsert;
  private readonly removeOne;
  private readonly bump;
  private readonly removeAll;
  private readonly removeVersion;
  /** Compares and writes in one transaction (better-sqlite3 runs it synchronously). */
  private readonly cas;
  private readonly snapshot;
  private readonly wipe;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.selectAll = db.prepare<[string], EntryRow>('SELECT contact, item, pending_in FROM roster_entry WHERE user = ?');
    this.selectOne = db.prepare<[string, string], EntryRow>('SELECT contact, item, pending_in FROM roster_entry WHERE user = ? AND contact = ?');
    this.selectVersion = db.prepare<[string], { version: number }>('SELECT version FROM roster_version WHERE user = ?');
    this.upsert = db.prepare<[string, string, string | null, string | null]>(
      'INSERT INTO roster_entry (user, contact, item, pending_in) VALUES (?, ?, ?, ?) ON CONFLICT (user, contact) DO UPDATE SET item = excluded.item, pending_in = excluded.pending_in',
    );
    this.removeOne = db.prepare<[string, string]>('DELETE FROM roster_entry WHERE user = ? AND contact = ?');
    this.bump = db.prepare<[string], { version: number }>(
      'INSERT INTO roster_version (user, version) VALUES (?, 1) ON CONFLICT (user) DO UPDATE SET version = version + 1 RETURNING version',
    );
    this.removeAll = db.prepare<[string]>('DELETE FROM roster_entry WHERE user = ?');
    this.removeVersion = db.prepare<[string]>('DELETE FROM roster_version WHERE user = ?');
    this.cas = db.transaction((user: string, contact: string, expected: ContactEntry, next: ContactEntry): number | undefined => {
      if (!sameEntry(this.entryNow(user, contact), expected)) return undefined;
      if (next.item || next.pendingIn !== undefined) {
        this.upsert.run(user, contact, next.item ? encodeItem(next.item) : null, next.pendingIn ?? null);
      } else {
        this.removeOne.run(user, contact);
      }
      return this.bump.get(user)?.version;
    });
    // Entries and version read in one transaction, so they belong together.
    this.snapshot = db.transaction((user: string): RosterSnapshot => {
      const items = new Map<string, RosterItem>();
      const pendingIn = new Map<string, string>();
      for (const row of this.selectAll.all(user)) {
        if (row.item !== null) items.set(row.contact, decodeItem(row.item));
        if (row.pending_in !== null) pendingIn.set(row.contact, row.pending_in);
      }
      return { version: this.selectVersion.get(user)?.version ?? 0, items, pendingIn };
    });
    this.wipe = db.transaction((user: string): number => this.removeAll.run(user).changes + this.removeVersion.run(user).changes);
  }

  async load(user: string): Promise<RosterSnapshot> {
    return this.snapshot(user);
  }

  async items(user: string): Promise<ReadonlyMap<string, RosterItem>> {
    const items = new Map<string, RosterItem>();
    for (const row of this.selectAll.all(user)) if (row.item !== null) items.set(row.contact, decodeItem(row.item));
    return items;
  }

  async entry(user: string, contact: string): Promise<ContactEntry> {
    return this.entryNow(user, contact);
  }

  private entryNow(user: string, contact: string): ContactEntry {
    const row = this.selectOne.get(user, contact);
    if (!row) return {};
    return {
      ...(row.item !== null ? { item: decodeItem(row.item) } : {}),
      ...(row.pending_in !== null ? { pendingIn: row.pending_in } : {}),
    };
  }

  async compareAndSet(user: string, contact: string, expected: ContactEntry, next: ContactEntry): Promise<number | undefined> {
    const version = this.cas(user, contact, expected, next);
    return durable(this.dir, version !== undefined, version);
  }

  async version(user: string): Promise<number> {
    return this.selectVersion.get(user)?.version ?? 0;
  }

  async deleteAll(user: string): Promise<void> {
    await durable(this.dir, this.wipe(user) > 0, undefined);
  }
}

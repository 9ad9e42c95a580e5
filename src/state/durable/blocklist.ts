// BlocklistStore in the durable embedded store: one row per blocked JID, in the order added.
// Each edit is one transaction that returns the list after it, so a later per-list version
// (a table bumped in edit()) fits in the same step.
import type { BlocklistStore } from '../blocklist.js';
import type { Sqlite } from './database.js';

export class DurableBlocklistStore implements BlocklistStore {
  private readonly list;
  private readonly insert;
  private readonly removeOne;
  private readonly removeAll;
  private readonly edit;

  constructor(db: Sqlite) {
    this.list = db.prepare<[string], { jid: string }>('SELECT jid FROM blocklist WHERE user = ? ORDER BY id');
    this.insert = db.prepare<[string, string]>('INSERT INTO blocklist (user, jid) VALUES (?, ?) ON CONFLICT (user, jid) DO NOTHING');
    this.removeOne = db.prepare<[string, string]>('DELETE FROM blocklist WHERE user = ? AND jid = ?');
    this.removeAll = db.prepare<[string]>('DELETE FROM blocklist WHERE user = ?');
    this.edit = db.transaction((user: string, change: () => void): string[] => {
      change();
      return this.read(user);
    });
  }

  async get(user: string): Promise<string[]> {
    return this.read(user);
  }

  async add(user: string, jids: string[]): Promise<string[]> {
    return this.edit(user, () => {
      for (const jid of jids) this.insert.run(user, jid);
    });
  }

  async remove(user: string, jids: string[]): Promise<string[]> {
    return this.edit(user, () => {
      if (jids.length === 0) this.removeAll.run(user);
      for (const jid of jids) this.removeOne.run(user, jid);
    });
  }

  async deleteAll(user: string): Promise<void> {
    this.removeAll.run(user);
  }

  private read(user: string): string[] {
    return this.list.all(user).map((row) => row.jid);
  }
}

// BlocklistStore in the durable embedded store: one row per blocked JID, in the order added.
// Each edit is one transaction that returns the list after it, so a later per-list version
// (a table bumped in edit()) fits in the same step.
import type { BlocklistStore } from '../blocklist.js';
import { type DataDir, durable } from './database.js';

export class DurableBlocklistStore implements BlocklistStore {
  private readonly list;
  private readonly insert;
  private readonly removeOne;
  private readonly removeAll;
  private readonly edit;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.list = db.prepare<[string], { jid: string }>('SELECT jid FROM blocklist WHERE user = ? ORDER BY id');
    this.insert = db.prepare<[string, string]>('INSERT INTO blocklist (user, jid) VALUES (?, ?) ON CONFLICT (user, jid) DO NOTHING');
    this.removeOne = db.prepare<[string, string]>('DELETE FROM blocklist WHERE user = ? AND jid = ?');
    this.removeAll = db.prepare<[string]>('DELETE FROM blocklist WHERE user = ?');
    this.edit = db.transaction((user: string, change: () => number): { changed: boolean; list: string[] } => {
      const changed = change() > 0;
      return { changed, list: this.read(user) };
    });
  }

  async get(user: string): Promise<string[]> {
    return this.read(user);
  }

  async add(user: string, jids: string[]): Promise<string[]> {
    const { changed, list } = this.edit(user, () => jids.reduce((changes, jid) => changes + this.insert.run(user, jid).changes, 0));
    return durable(this.dir, changed, list);
  }

  async remove(user: string, jids: string[]): Promise<string[]> {
    const { changed, list } = this.edit(user, () =>
      jids.length === 0 ? this.removeAll.run(user).changes : jids.reduce((changes, jid) => changes + this.removeOne.run(user, jid).changes, 0),
    );
    return durable(this.dir, changed, list);
  }

  async deleteAll(user: string): Promise<void> {
    await durable(this.dir, this.removeAll.run(user).changes > 0, undefined);
  }

  private read(user: string): string[] {
    return this.list.all(user).map((row) => row.jid);
  }
}

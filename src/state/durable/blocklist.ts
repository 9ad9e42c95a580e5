// BlocklistStore in the durable embedded store: one row per blocked JID, in the order added.
// Each edit is one transaction that bumps the list's version and returns the list after it.
import type { BlocklistSnapshot, BlocklistStore } from '../blocklist.js';
import { type DataDir, durable } from './database.js';

export class DurableBlocklistStore implements BlocklistStore {
  private readonly list;
  private readonly insert;
  private readonly removeOne;
  private readonly removeAll;
  private readonly edit;
  private readonly readVersion;
  private readonly bump;
  private readonly dropVersion;
  private readonly snapshot;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.list = db.prepare<[string], { jid: string }>('SELECT jid FROM blocklist WHERE user = ? ORDER BY id');
    this.insert = db.prepare<[string, string]>('INSERT INTO blocklist (user, jid) VALUES (?, ?) ON CONFLICT (user, jid) DO NOTHING');
    this.removeOne = db.prepare<[string, string]>('DELETE FROM blocklist WHERE user = ? AND jid = ?');
    this.removeAll = db.prepare<[string]>('DELETE FROM blocklist WHERE user = ?');
    this.readVersion = db.prepare<[string], { version: number }>('SELECT version FROM blocklist_version WHERE user = ?');
    this.bump = db.prepare<[string], { version: number }>(
      'INSERT INTO blocklist_version (user, version) VALUES (?, 1) ON CONFLICT (user) DO UPDATE SET version = version + 1 RETURNING version',
    );
    this.dropVersion = db.prepare<[string]>('DELETE FROM blocklist_version WHERE user = ?');
    // Even an edit that changes nothing takes the next version, as the port says.
    this.edit = db.transaction((user: string, change: () => number): BlocklistSnapshot => {
      change();
      const version = this.bump.get(user)?.version ?? 0;
      return { items: this.read(user), version };
    });
    this.snapshot = db.transaction((user: string): BlocklistSnapshot => ({ items: this.read(user), version: this.readVersion.get(user)?.version ?? 0 }));
  }

  async get(user: string): Promise<string[]> {
    return this.read(user);
  }

  async load(user: string): Promise<BlocklistSnapshot> {
    return this.snapshot(user);
  }

  async add(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    const snapshot = this.edit(user, () => jids.reduce((changes, jid) => changes + this.insert.run(user, jid).changes, 0));
    return durable(this.dir, true, snapshot);
  }

  async remove(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    const snapshot = this.edit(user, () =>
      jids.length === 0 ? this.removeAll.run(user).changes : jids.reduce((changes, jid) => changes + this.removeOne.run(user, jid).changes, 0),
    );
    return durable(this.dir, true, snapshot);
  }

  async deleteAll(user: string): Promise<void> {
    const removed = this.removeAll.run(user).changes + this.dropVersion.run(user).changes;
    await durable(this.dir, removed > 0, undefined);
  }

  private read(user: string): string[] {
    return this.list.all(user).map((row: { jid: string }) => row.jid);
  }
}

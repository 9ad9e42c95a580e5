// PushStore in the durable embedded store: one row per registration (the push_registration
// migration); event claims in memory, as the embedded store is one process.
import { bounded, LocalEventClaims, type PushRegistration, type PushStore, registrationKey } from '../push.js';
import { type DataDir, durable } from './database.js';

export class DurablePushStore implements PushStore {
  private readonly select;
  private readonly replaceAll;
  private readonly removeOne;
  private readonly removeJid;
  private readonly removeAll;
  private readonly events = new LocalEventClaims();

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.select = db.prepare<[string], { record: string }>('SELECT record FROM push_registration WHERE user = ? ORDER BY since');
    const insert = db.prepare<[string, string, string, number]>('INSERT INTO push_registration (user, key, record, since) VALUES (?, ?, ?, ?)');
    this.removeAll = db.prepare<[string]>('DELETE FROM push_registration WHERE user = ?');
    this.removeOne = db.prepare<[string, string]>('DELETE FROM push_registration WHERE user = ? AND key = ?');
    this.removeJid = db.prepare<[string, string, string]>("DELETE FROM push_registration WHERE user = ? AND key >= ? AND key < ?");
    this.replaceAll = db.transaction((user: string, entries: PushRegistration[]) => {
      this.removeAll.run(user);
      for (const entry of entries) insert.run(user, registrationKey(entry.jid, entry.node), JSON.stringify(entry), entry.since);
    });
  }

  async enable(user: string, registration: PushRegistration, max: number): Promise<void> {
    this.replaceAll(user, bounded(await this.list(user), registration, max));
    await durable(this.dir, true, undefined);
  }

  async disable(user: string, jid: string, node?: string): Promise<number> {
    // Keys are `jid\nnode`: every node of one jid lies between `jid\n` and `jid\x0b`.
    const changes = node === undefined ? this.removeJid.run(user, `${jid}\n`, `${jid}\u000b`).changes : this.removeOne.run(user, registrationKey(jid, node)).changes;
    return durable(this.dir, changes > 0, changes);
  }

  async list(user: string): Promise<PushRegistration[]> {
    return this.select.all(user).map((row) => JSON.parse(row.record) as PushRegistration);
  }

  async claim(user: string, event: string, ttlMs: number): Promise<PushRegistration[]> {
    const current = await this.list(user);
    if (current.length === 0 || !this.events.claim(user, event, ttlMs)) return [];
    return current;
  }

  async deleteAll(user: string): Promise<void> {
    await durable(this.dir, this.removeAll.run(user).changes > 0, undefined);
  }
}

// PersonalStore in the durable embedded store: one row per item (migration 3). The limit checks
// and the write are one transaction.
import { byteLength, type PersonalLimits, type PersonalSetResult, type PersonalStore } from '../personal.js';
import { type DataDir, durable } from './database.js';

export class DurablePersonalStore implements PersonalStore {
  private readonly select;
  private readonly selectAll;
  private readonly countOf;
  private readonly upsert;
  private readonly removeOne;
  private readonly removeAll;
  private readonly setIfRoom;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.select = db.prepare<[string, string], { xml: string }>('SELECT xml FROM personal WHERE user = ? AND key = ?');
    this.selectAll = db.prepare<[string], { key: string; xml: string }>('SELECT key, xml FROM personal WHERE user = ? ORDER BY key');
    this.countOf = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM personal WHERE user = ?');
    this.upsert = db.prepare<[string, string, string]>('INSERT INTO personal (user, key, xml) VALUES (?, ?, ?) ON CONFLICT (user, key) DO UPDATE SET xml = excluded.xml');
    this.removeOne = db.prepare<[string, string]>('DELETE FROM personal WHERE user = ? AND key = ?');
    this.removeAll = db.prepare<[string]>('DELETE FROM personal WHERE user = ?');
    this.setIfRoom = db.transaction((user: string, key: string, xml: string, items: number): PersonalSetResult => {
      if (this.select.get(user, key) === undefined && (this.countOf.get(user)?.n ?? 0) >= items) return 'full';
      this.upsert.run(user, key, xml);
      return 'stored';
    });
  }

  async get(user: string, key: string): Promise<string | undefined> {
    return this.select.get(user, key)?.xml;
  }

  async set(user: string, key: string, xml: string, limits: PersonalLimits): Promise<PersonalSetResult> {
    if (byteLength(xml) > limits.itemBytes) return 'too-large';
    const result = this.setIfRoom(user, key, xml, limits.items);
    return durable(this.dir, result === 'stored', result);
  }

  async remove(user: string, key: string): Promise<boolean> {
    const removed = this.removeOne.run(user, key).changes > 0;
    return durable(this.dir, removed, removed);
  }

  async all(user: string): Promise<Map<string, string>> {
    return new Map(this.selectAll.all(user).map(({ key, xml }) => [key, xml]));
  }

  async deleteAll(user: string): Promise<void> {
    await durable(this.dir, this.removeAll.run(user).changes > 0, undefined);
  }
}

// OfflineStore in the durable embedded store: one row per message, in storage (rowid) order.
import type { OfflineStore, StoredMessage } from '../offline.js';
import { type DataDir, durable } from './database.js';

interface Row {
  xml: string;
  stamp: number;
  sid: string | null;
}

function fromRow({ xml, stamp, sid }: Row): StoredMessage {
  return { xml, stamp, ...(sid === null ? {} : { id: sid }) };
}

export class DurableOfflineStore implements OfflineStore {
  private readonly countOf;
  private readonly append;
  private readonly held;
  private readonly selectAll;
  private readonly removeAll;
  /** The limit check and the append in one transaction (the port's atomic step). */
  private readonly storeIfRoom;
  private readonly take;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.countOf = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM offline WHERE user = ?');
    this.append = db.prepare<[string, string, number, string | null]>('INSERT INTO offline (user, xml, stamp, sid) VALUES (?, ?, ?, ?)');
    this.held = db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM offline WHERE user = ? AND sid = ?');
    this.selectAll = db.prepare<[string], Row>('SELECT xml, stamp, sid FROM offline WHERE user = ? ORDER BY id');
    this.removeAll = db.prepare<[string]>('DELETE FROM offline WHERE user = ?');
    this.storeIfRoom = db.transaction((user: string, message: StoredMessage, limit: number): boolean => {
      if (message.id !== undefined && (this.held.get(user, message.id)?.n ?? 0) > 0) return true;
      if ((this.countOf.get(user)?.n ?? 0) >= limit) return false;
      this.append.run(user, message.xml, message.stamp, message.id ?? null);
      return true;
    });
    this.take = db.transaction((user: string): StoredMessage[] => {
      const messages = this.selectAll.all(user);
      if (messages.length > 0) this.removeAll.run(user);
      return messages.map(fromRow);
    });
  }

  async store(user: string, message: StoredMessage, limit: number): Promise<boolean> {
    const stored = this.storeIfRoom(user, message, limit);
    return durable(this.dir, stored, stored);
  }

  async takeAll(user: string): Promise<StoredMessage[]> {
    // Handed out only once their removal is on disk: a crash cannot deliver them twice.
    const messages = this.take(user);
    return durable(this.dir, messages.length > 0, messages);
  }

  async peek(user: string): Promise<StoredMessage[]> {
    return this.selectAll.all(user).map(fromRow);
  }

  async count(user: string): Promise<number> {
    return this.countOf.get(user)?.n ?? 0;
  }

  async deleteAll(user: string): Promise<void> {
    await durable(this.dir, this.removeAll.run(user).changes > 0, undefined);
  }
}

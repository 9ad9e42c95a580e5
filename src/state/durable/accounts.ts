// AccountStore in the durable embedded store: one row per account, credentials as JSON.
import { sameCredentials, type AccountStore, type StoredCredentials } from '../accounts.js';
import { type DataDir, durable } from './database.js';

/** Accounts listed per query: list() never holds a statement open across an await. */
const PAGE = 500;

export class DurableAccountStore implements AccountStore {
  private readonly insert;
  private readonly update;
  private readonly select;
  private readonly remove;
  private readonly page;
  private readonly total;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.insert = db.prepare<[string, string]>('INSERT INTO account (user, credentials) VALUES (?, ?) ON CONFLICT (user) DO NOTHING');
    this.update = db.prepare<[string, string]>('UPDATE account SET credentials = ? WHERE user = ?');
    this.select = db.prepare<[string], { credentials: string }>('SELECT credentials FROM account WHERE user = ?');
    this.remove = db.prepare<[string]>('DELETE FROM account WHERE user = ?');
    this.page = db.prepare<[string, number], { user: string }>('SELECT user FROM account WHERE user > ? ORDER BY user LIMIT ?');
    this.total = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM account');
  }

  async create(user: string, credentials: StoredCredentials): Promise<boolean> {
    const created = this.insert.run(user, JSON.stringify(credentials)).changes === 1;
    return durable(this.dir, created, created);
  }

  async setCredentials(user: string, credentials: StoredCredentials): Promise<boolean> {
    const updated = this.update.run(JSON.stringify(credentials), user).changes === 1;
    return durable(this.dir, updated, updated);
  }

  async replaceCredentials(user: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean> {
    // better-sqlite3 is synchronous: nothing else runs between the read and the write.
    const row = this.select.get(user);
    if (!row || !sameCredentials(JSON.parse(row.credentials) as StoredCredentials, expected)) return false;
    const updated = this.update.run(JSON.stringify(credentials), user).changes === 1;
    return durable(this.dir, updated, updated);
  }

  async credentials(user: string): Promise<StoredCredentials | undefined> {
    const row = this.select.get(user);
    return row ? (JSON.parse(row.credentials) as StoredCredentials) : undefined;
  }

  async exists(user: string): Promise<boolean> {
    return this.select.get(user) !== undefined;
  }

  async delete(user: string): Promise<boolean> {
    const deleted = this.remove.run(user).changes === 1;
    return durable(this.dir, deleted, deleted);
  }

  async *list(): AsyncIterable<string> {
    let after = '';
    for (;;) {
      const rows = this.page.all(after, PAGE);
      for (const row of rows) yield row.user;
      const last = rows.at(-1);
      if (!last || rows.length < PAGE) return;
      after = last.user;
    }
  }

  async count(): Promise<number> {
    return this.total.get()?.n ?? 0;
  }
}

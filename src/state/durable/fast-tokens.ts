// FastTokenStore in the durable embedded store: one row per account and device (the last
// migration), its tokens as JSON; each change is one transaction.
import { applyIssue, applyUse, type FastSlot, type FastToken, type FastTokens, type FastTokenStore, lastExpiry, unexpired } from '../fast-tokens.js';
import { type DataDir, durable } from './database.js';

export class DurableFastTokenStore implements FastTokenStore {
  private readonly select;
  private readonly upsert;
  private readonly removeOne;
  private readonly removeAll;
  private readonly issueTx;
  private readonly useTx;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    this.select = db.prepare<[string, string], { tokens: string }>('SELECT tokens FROM fast_token WHERE user = ? AND device = ?');
    this.upsert = db.prepare<[string, string, string, number]>(
      'INSERT INTO fast_token (user, device, tokens, expires) VALUES (?, ?, ?, ?) ON CONFLICT (user, device) DO UPDATE SET tokens = excluded.tokens, expires = excluded.expires',
    );
    this.removeOne = db.prepare<[string, string]>('DELETE FROM fast_token WHERE user = ? AND device = ?');
    this.removeAll = db.prepare<[string]>('DELETE FROM fast_token WHERE user = ?');
    const others = db.prepare<[string, string], { device: string }>('SELECT device FROM fast_token WHERE user = ? AND device != ? ORDER BY expires');
    this.issueTx = db.transaction((user: string, device: string, token: FastToken, maxDevices: number) => {
      const next = applyIssue(unexpired(this.read(user, device), token.issuedAt), token);
      const devices = others.all(user, device);
      // The devices whose tokens expire first make room.
      for (const { device: old } of devices.slice(0, Math.max(0, devices.length - Math.max(0, maxDevices - 1)))) this.removeOne.run(user, old);
      this.upsert.run(user, device, JSON.stringify(next), lastExpiry(next));
    });
    this.useTx = db.transaction((user: string, device: string, slot: FastSlot, secret: string, count: number | undefined, now: number): boolean => {
      const next = applyUse(this.read(user, device), slot, secret, count, now);
      if (!next) return false;
      this.upsert.run(user, device, JSON.stringify(next), lastExpiry(next));
      return true;
    });
  }

  private read(user: string, device: string): FastTokens {
    const row = this.select.get(user, device);
    return row ? (JSON.parse(row.tokens) as FastTokens) : {};
  }

  async issue(user: string, device: string, token: FastToken, maxDevices: number): Promise<void> {
    this.issueTx(user, device, token, maxDevices);
    await durable(this.dir, true, undefined);
  }

  async get(user: string, device: string, now: number): Promise<FastTokens> {
    return unexpired(this.read(user, device), now);
  }

  async use(user: string, device: string, slot: FastSlot, secret: string, count: number | undefined, now: number): Promise<boolean> {
    const used = this.useTx(user, device, slot, secret, count, now);
    return durable(this.dir, used, used);
  }

  async revoke(user: string, device: string): Promise<void> {
    await durable(this.dir, this.removeOne.run(user, device).changes > 0, undefined);
  }

  async deleteAll(user: string): Promise<void> {
    await durable(this.dir, this.removeAll.run(user).changes > 0, undefined);
  }
}

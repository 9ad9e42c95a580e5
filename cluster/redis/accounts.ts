// AccountStore on Redis: one hash per account, a secondary account counter.
import type { AccountStore, StoredCredentials } from '../../src/state/accounts.js';
import { decodeAccount, encodeScramKeys, RECORD_VERSION } from './codec.js';
import { scanKeys, type RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';
import { asCount } from './multi.js';
import type { Scripts } from './scripts.js';

export class RedisAccountStore implements AccountStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async create(user: string, credentials: StoredCredentials): Promise<boolean> {
    const outcome = await this.scripts.run('account-create-1', [this.keys.account(user)], this.fields(credentials));
    if (outcome.rejected) return false;
    // Secondary counter (another slot): bumped after the create that made the account.
    await this.client.incr(this.keys.accountCount());
    return true;
  }

  async setCredentials(user: string, credentials: StoredCredentials): Promise<boolean> {
    const outcome = await this.scripts.run('account-set-1', [this.keys.account(user)], this.fields(credentials));
    return !outcome.rejected;
  }

  async replaceCredentials(user: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean> {
    const [version, ...expectedKeys] = this.fields(expected);
    const [, ...newKeys] = this.fields(credentials);
    const outcome = await this.scripts.run('account-cas-1', [this.keys.account(user)], [version ?? String(RECORD_VERSION), ...expectedKeys, ...newKeys]);
    return !outcome.rejected;
  }

  async credentials(user: string): Promise<StoredCredentials | undefined> {
    const key = this.keys.account(user);
    return decodeAccount(await this.client.hgetall(key), key);
  }

  async exists(user: string): Promise<boolean> {
    return (await this.client.exists(this.keys.account(user))) === 1;
  }

  async delete(user: string): Promise<boolean> {
    if ((await this.client.del(this.keys.account(user))) !== 1) return false;
    await this.client.decr(this.keys.accountCount());
    return true;
  }

  async *list(): AsyncIterable<string> {
    for await (const key of scanKeys(this.client, this.keys.accountPattern())) {
      const bare = this.keys.bareOf(key, 'account');
      if (bare !== undefined) yield bare;
    }
  }

  async count(): Promise<number> {
    return Math.max(0, asCount(await this.client.get(this.keys.accountCount())));
  }

  private fields(credentials: StoredCredentials): string[] {
    return [String(RECORD_VERSION), encodeScramKeys(credentials['SHA-1']), encodeScramKeys(credentials['SHA-256'])];
  }
}

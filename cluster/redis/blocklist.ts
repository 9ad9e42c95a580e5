// BlocklistStore on Redis: one set per account; each edit and the read-back are one MULTI.
import type { BlocklistStore } from '../../src/state/blocklist.js';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';
import { asStrings, execMulti } from './multi.js';

export class RedisBlocklistStore implements BlocklistStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
  ) {}

  async get(user: string): Promise<string[]> {
    return this.client.smembers(this.keys.blocklist(user));
  }

  async add(user: string, jids: string[]): Promise<string[]> {
    const key = this.keys.blocklist(user);
    if (jids.length === 0) return this.client.smembers(key);
    const [, members] = await execMulti(this.client.multi().sadd(key, ...jids).smembers(key));
    return asStrings(members);
  }

  async remove(user: string, jids: string[]): Promise<string[]> {
    const key = this.keys.blocklist(user);
    if (jids.length === 0) {
      await this.client.del(key);
      return [];
    }
    const [, members] = await execMulti(this.client.multi().srem(key, ...jids).smembers(key));
    return asStrings(members);
  }

  async deleteAll(user: string): Promise<void> {
    await this.client.del(this.keys.blocklist(user));
  }
}

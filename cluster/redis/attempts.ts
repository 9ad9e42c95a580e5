// AttemptCounters on Redis: one counter key per attempt key, with a TTL of the window. Each key
// is its own hash tag, so the same commands work on a Redis Cluster.
import type { AttemptCounters } from '../../src/state/attempts.js';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';
import { asCount, execMulti } from './multi.js';

export class RedisAttemptCounters implements AttemptCounters {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
  ) {}

  async add(keys: readonly string[], windowMs: number, amount = 1): Promise<number[]> {
    return Promise.all(
      keys.map(async (key) => {
        const counter = this.keys.attempts(key);
        const [count] = await execMulti(this.client.multi().incrby(counter, amount).pexpire(counter, Math.max(1, Math.ceil(windowMs))));
        return asCount(count);
      }),
    );
  }

  async get(keys: readonly string[]): Promise<number[]> {
    return Promise.all(keys.map(async (key) => asCount(await this.client.get(this.keys.attempts(key)))));
  }

  async clear(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => this.client.del(this.keys.attempts(key))));
  }
}

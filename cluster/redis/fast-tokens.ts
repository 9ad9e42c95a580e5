// FastTokenStore on Redis (state/fast-tokens.ts): one hash per account (<p>:v1:{<bare>}:fast,
// device → JSON tokens) in the account's slot, so any node accepts a token another issued.
// Issuing and using are one script each (fast-issue-1, fast-use-1).
import { type FastSlot, type FastToken, type FastTokens, type FastTokenStore, unexpired } from '../../src/state/fast-tokens.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import type { Scripts } from './scripts.js';

export class RedisFastTokenStore implements FastTokenStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async issue(user: string, device: string, token: FastToken, maxDevices: number): Promise<void> {
    await this.scripts.run('fast-issue-1', [this.keys.fastTokens(user)], [device, JSON.stringify(token), Math.max(1, Math.floor(maxDevices)), token.issuedAt]);
  }

  async get(user: string, device: string, now: number): Promise<FastTokens> {
    const raw = await this.client.hget(this.keys.fastTokens(user), device);
    if (raw === null) return {};
    try {
      return unexpired(JSON.parse(raw) as FastTokens, now);
    } catch {
      throw new RedisStateError('ROOKERY_REDIS_CORRUPT', 'A FAST token record cannot be decoded');
    }
  }

  async use(user: string, device: string, slot: FastSlot, secret: string, count: number | undefined, now: number): Promise<boolean> {
    const outcome = await this.scripts.run('fast-use-1', [this.keys.fastTokens(user)], [device, slot, secret, count === undefined ? '' : count, now]);
    return !outcome.rejected;
  }

  async revoke(user: string, device: string): Promise<void> {
    await this.client.hdel(this.keys.fastTokens(user), device);
  }

  async deleteAll(user: string): Promise<void> {
    await this.client.del(this.keys.fastTokens(user));
  }
}

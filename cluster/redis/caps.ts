// CapsStore on Redis: one string per ver (JSON feature list), and an expiring claim beside it.
// A ver's entry expires after CAPS_TTL_SECONDS: clients can mint new vers at will, and one that
// is still in use is resolved again with one disco#info.
import type { CapsStore } from '../../src/state/caps.js';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';

const CAPS_TTL_SECONDS = 30 * 24 * 3600;

export class RedisCapsStore implements CapsStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
  ) {}

  async features(ver: string): Promise<string[] | undefined> {
    const stored = await this.client.get(this.keys.caps(ver));
    if (stored === null) return undefined;
    const features: unknown = JSON.parse(stored);
    return Array.isArray(features) ? features.map(String) : undefined;
  }

  async store(ver: string, features: string[]): Promise<void> {
    await this.client.set(this.keys.caps(ver), JSON.stringify(features), 'EX', CAPS_TTL_SECONDS);
  }

  async claim(ver: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(this.keys.capsClaim(ver), '1', 'PX', Math.max(1, Math.floor(ttlMs)), 'NX')) === 'OK';
  }
}

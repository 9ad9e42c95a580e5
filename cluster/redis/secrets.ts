// SharedSecrets on Redis: SET NX of 32 random bytes, then GET, so racing first calls agree.
import { randomBytes } from 'node:crypto';
import type { SecretName, SharedSecrets } from '../../src/state/secrets.js';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';

export class RedisSharedSecrets implements SharedSecrets {
  private readonly cache = new Map<SecretName, Buffer>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
  ) {}

  async obtain(name: SecretName): Promise<Buffer> {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const key = this.keys.secret(name);
    await this.client.set(key, randomBytes(32).toString('base64'), 'NX');
    const stored = await this.client.get(key);
    const secret = Buffer.from(stored ?? '', 'base64');
    if (secret.length < 32) throw new Error(`the Redis key ${key} holds no secret: delete it and restart the nodes`);
    this.cache.set(name, secret);
    return secret;
  }
}

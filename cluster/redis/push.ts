// PushStore on Redis (state/push.ts): the account's registrations in one hash under its hash
// tag (<p>:v1:{<bare>}:push); enabling with its bound is one script (push-enable-1), and the
// once-per-event claim is one script over the hash and an expiring event key (push-claim-2), so a
// held message costs one round trip whether or not the account has registrations.
import { type PushRegistration, type PushStore, registrationKey } from '../../src/state/push.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import type { Scripts } from './scripts.js';

function decode(raw: string): PushRegistration {
  try {
    const value = JSON.parse(raw) as PushRegistration;
    if (typeof value.jid === 'string' && typeof value.node === 'string' && typeof value.since === 'number') return { ...value, includeBody: value.includeBody === true };
  } catch {
    // reported below
  }
  throw new RedisStateError('ROOKERY_REDIS_CORRUPT', 'A push registration cannot be decoded');
}

export class RedisPushStore implements PushStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async enable(user: string, registration: PushRegistration, max: number): Promise<void> {
    const field = registrationKey(registration.jid, registration.node);
    await this.scripts.run('push-enable-1', [this.keys.pushRegistrations(user)], [field, JSON.stringify(registration), Math.max(1, Math.floor(max))]);
  }

  async disable(user: string, jid: string, node?: string): Promise<number> {
    const key = this.keys.pushRegistrations(user);
    if (node !== undefined) return this.client.hdel(key, registrationKey(jid, node));
    // Every node of one jid; one enabled meanwhile stays (it came after the disable).
    const fields = (await this.client.hkeys(key)).filter((field) => field.startsWith(`${jid}\n`));
    return fields.length === 0 ? 0 : this.client.hdel(key, ...fields);
  }

  async list(user: string): Promise<PushRegistration[]> {
    return (await this.client.hvals(this.keys.pushRegistrations(user))).map(decode).sort((a, b) => a.since - b.since);
  }

  async claim(user: string, event: string, ttlMs: number): Promise<PushRegistration[]> {
    const outcome = await this.scripts.run('push-claim-2', [this.keys.pushRegistrations(user), this.keys.pushEvent(user, event)], [Math.max(1, Math.floor(ttlMs))]);
    if (outcome.rejected) return [];
    if (!Array.isArray(outcome.value)) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'push-claim-2 answered no list');
    return outcome.value.map((raw) => decode(String(raw))).sort((a, b) => a.since - b.since);
  }

  async deleteAll(user: string): Promise<void> {
    await this.client.del(this.keys.pushRegistrations(user));
  }
}

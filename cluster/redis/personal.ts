// PersonalStore on Redis: one hash per account (<p>:v1:{<bare>}:personal, key → XML) in the
// account's slot. A set is one script (personal-set-1) that checks the item count and writes.
import type { PersonalLimits, PersonalSetResult, PersonalStore } from '../../src/state/personal.js';
import { byteLength } from '../../src/state/personal.js';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';
import type { Scripts } from './scripts.js';

export class RedisPersonalStore implements PersonalStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async get(user: string, key: string): Promise<string | undefined> {
    return (await this.client.hget(this.keys.personal(user), key)) ?? undefined;
  }

  async set(user: string, key: string, xml: string, limits: PersonalLimits): Promise<PersonalSetResult> {
    if (byteLength(xml) > limits.itemBytes) return 'too-large';
    const outcome = await this.scripts.run('personal-set-1', [this.keys.personal(user)], [key, xml, Math.max(0, Math.floor(limits.items))]);
    return outcome.rejected ? 'full' : 'stored';
  }

  async remove(user: string, key: string): Promise<boolean> {
    return (await this.client.hdel(this.keys.personal(user), key)) > 0;
  }

  async all(user: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.client.hgetall(this.keys.personal(user))));
  }

  async deleteAll(user: string): Promise<void> {
    await this.client.del(this.keys.personal(user));
  }
}

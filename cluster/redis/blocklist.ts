// BlocklistStore on Redis: per account a set and a version string in the account's slot; each
// edit is one script (blocklist-edit-2) that also takes the next version and reads the list back.
import type { BlocklistSnapshot, BlocklistStore } from '../../src/state/blocklist.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { asCount, asStrings, execMulti } from './multi.js';
import type { Scripts } from './scripts.js';

export class RedisBlocklistStore implements BlocklistStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async get(user: string): Promise<string[]> {
    return this.client.smembers(this.keys.blocklist(user));
  }

  async load(user: string): Promise<BlocklistSnapshot> {
    const [members, version] = await execMulti(this.client.multi().smembers(this.keys.blocklist(user)).get(this.keys.blocklistVersion(user)));
    return { items: asStrings(members), version: asCount(version) };
  }

  add(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    return this.edit(user, 'add', jids);
  }

  remove(user: string, jids: string[]): Promise<BlocklistSnapshot> {
    return this.edit(user, 'remove', jids);
  }

  async deleteAll(user: string): Promise<void> {
    await this.client.del(this.keys.blocklist(user), this.keys.blocklistVersion(user));
  }

  private async edit(user: string, verb: 'add' | 'remove', jids: string[]): Promise<BlocklistSnapshot> {
    const outcome = await this.scripts.run('blocklist-edit-2', [this.keys.blocklist(user), this.keys.blocklistVersion(user)], [verb, ...jids]);
    const reply = outcome.rejected ? undefined : outcome.value;
    if (!Array.isArray(reply) || typeof reply[0] !== 'number' || !reply.slice(1).every((jid) => typeof jid === 'string')) {
      throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'Script blocklist-edit-2 answered something other than a version and a list');
    }
    return { version: reply[0], items: reply.slice(1) as string[] };
  }
}

// RemoteResourceStore on Redis: one hash per account (full JID → encodeKnown) in the account's
// slot, expiring after its last set (state/remote-resources.ts).
import { decodeKnown, encodeKnown, type KnownResource, type RemoteResourceStore } from '../../src/state/remote-resources.js';
import { bareOf } from '../../src/xmpp/jid-string.js';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';
import type { Scripts } from './scripts.js';

export class RedisRemoteResourceStore implements RemoteResourceStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async set(account: string, resource: string, known: KnownResource, max: number, ttlMs: number): Promise<boolean> {
    const outcome = await this.scripts.run('remote-resource-set-1', [this.keys.remoteResources(account)], [resource, encodeKnown(known), max, Math.max(1, Math.floor(ttlMs))]);
    return !outcome.rejected;
  }

  async remove(account: string, resource: string): Promise<void> {
    await this.client.hdel(this.keys.remoteResources(account), resource);
  }

  async removeContact(account: string, contact: string): Promise<void> {
    const key = this.keys.remoteResources(account);
    const gone = (await this.client.hkeys(key)).filter((resource) => bareOf(resource) === contact);
    if (gone.length > 0) await this.client.hdel(key, ...gone);
  }

  async list(account: string): Promise<Map<string, KnownResource>> {
    const known = new Map<string, KnownResource>();
    for (const [resource, stored] of Object.entries(await this.client.hgetall(this.keys.remoteResources(account)))) {
      const decoded = decodeKnown(stored);
      if (decoded) known.set(resource, decoded);
    }
    return known;
  }
}

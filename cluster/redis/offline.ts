// OfflineStore on Redis: one list per account, and the set of the stanza identities it holds.
// store = one script (identity check, limit check, RPUSH); takeAll = LRANGE + DEL in one MULTI.
import type { OfflineStore, StoredMessage } from '../../src/state/offline.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';
import { asStrings, execMulti } from './multi.js';
import type { Scripts } from './scripts.js';

export class RedisOfflineStore implements OfflineStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async store(user: string, message: StoredMessage, limit: number): Promise<boolean> {
    if (Number.isNaN(limit)) throw new RangeError('The offline message limit must be a number');
    // Same semantics as "length >= limit" for any real limit: ceil for fractions, none for +Infinity.
    const bound = limit === Number.POSITIVE_INFINITY ? '' : Math.ceil(limit);
    if (bound !== '' && bound <= 0) return false;
    const outcome = await this.scripts.run('offline-store-2', [this.keys.offline(user), this.keys.offlineIds(user)], [bound, encodeMessage(message), message.id ?? '']);
    return !outcome.rejected;
  }

  async takeAll(user: string): Promise<StoredMessage[]> {
    const key = this.keys.offline(user);
    const [items] = await execMulti(this.client.multi().lrange(key, 0, -1).del(key, this.keys.offlineIds(user)));
    // The list is gone once the MULTI ran, so an undecodable entry must not cost the valid ones:
    // it is set aside under its own key (same hash tag) for an operator to look at.
    const messages: StoredMessage[] = [];
    const unreadable: string[] = [];
    for (const text of asStrings(items)) {
      try {
        messages.push(decodeMessage(text, key));
      } catch {
        unreadable.push(text);
      }
    }
    if (unreadable.length > 0) await this.client.rpush(this.keys.offlineUnreadable(user), ...unreadable);
    return messages;
  }

  async peek(user: string): Promise<StoredMessage[]> {
    const key = this.keys.offline(user);
    // An entry no release can decode is left where it is (takeAll sets it aside).
    return (await this.client.lrange(key, 0, -1)).flatMap((text) => {
      try {
        return [decodeMessage(text, key)];
      } catch {
        return [];
      }
    });
  }

  async count(user: string): Promise<number> {
    return this.client.llen(this.keys.offline(user));
  }

  async deleteAll(user: string): Promise<void> {
    await this.client.del(this.keys.offline(user), this.keys.offlineIds(user));
  }
}

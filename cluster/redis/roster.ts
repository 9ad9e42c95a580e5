// RosterStore on Redis: per account a hash of items, a hash of pending inbound stanzas and a
// version string, all in the account's slot. compareAndSet is one script over the three keys.
import type { ContactEntry, RosterItem, RosterSnapshot, RosterStore } from '../../src/state/roster.js';
import { decodeItem, encodeItem } from '../../src/state/roster-entry.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { asCount, asHash, asString, execMulti } from './multi.js';
import { integerReply, type Scripts } from './scripts.js';

export class RedisRosterStore implements RosterStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async load(user: string): Promise<RosterSnapshot> {
    const rosterKey = this.keys.roster(user);
    const [items, pending, version] = await execMulti(
      this.client.multi().hgetall(rosterKey).hgetall(this.keys.pending(user)).get(this.keys.rosterVersion(user)),
    );
    return {
      version: asCount(version),
      items: new Map(Object.entries(asHash(items)).map(([contact, text]) => [contact, this.decode(text, rosterKey)])),
      pendingIn: new Map(Object.entries(asHash(pending))),
    };
  }

  async items(user: string): Promise<ReadonlyMap<string, RosterItem>> {
    const rosterKey = this.keys.roster(user);
    return new Map(Object.entries(await this.client.hgetall(rosterKey)).map(([contact, text]) => [contact, this.decode(text, rosterKey)]));
  }

  async entry(user: string, contact: string): Promise<ContactEntry> {
    const rosterKey = this.keys.roster(user);
    const [item, pendingIn] = await execMulti(
      this.client.multi().hget(rosterKey, contact).hget(this.keys.pending(user), contact),
    );
    const itemText = asString(item);
    const pendingText = asString(pendingIn);
    return {
      ...(itemText !== undefined ? { item: this.decode(itemText, rosterKey) } : {}),
      ...(pendingText !== undefined ? { pendingIn: pendingText } : {}),
    };
  }

  async compareAndSet(user: string, contact: string, expected: ContactEntry, next: ContactEntry): Promise<number | undefined> {
    const outcome = await this.scripts.run(
      'roster-cas-3',
      [this.keys.roster(user), this.keys.pending(user), this.keys.rosterVersion(user)],
      [contact, item(expected.item), present(expected.pendingIn), item(next.item), present(next.pendingIn)],
    );
    return outcome.rejected ? undefined : integerReply('roster-cas-3', outcome);
  }

  async version(user: string): Promise<number> {
    return asCount(await this.client.get(this.keys.rosterVersion(user)));
  }

  async deleteAll(user: string): Promise<void> {
    await this.client.del(this.keys.roster(user), this.keys.pending(user), this.keys.rosterVersion(user));
  }

  private decode(text: string, key: string): RosterItem {
    try {
      return decodeItem(text);
    } catch (error) {
      throw new RedisStateError('ROOKERY_REDIS_CORRUPT', `Cannot decode a roster item in ${key}`, { cause: error });
    }
  }
}

/** roster-cas-3's value form: '' when absent, '=' + the stored string when present. */
function present(value: string | undefined): string {
  return value === undefined ? '' : `=${value}`;
}

function item(value: RosterItem | undefined): string {
  return present(value && encodeItem(value));
}

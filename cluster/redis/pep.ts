// PepStore on Redis: per account a hash of node configurations, a meta hash (publish counter,
// bytes in all), a hash of each node's explicit subscribers and one of their options, per node a
// hash of items and a sorted set of their publish order; all under the account's hash tag, so
// each change is one script (pep-*.lua) in one slot.
import { byteLength } from '../../src/state/personal.js';
import {
  decodeConfig,
  decodeSubscriptionOptions,
  effectiveMaxItems,
  encodeConfig,
  encodeSubscriptionOptions,
  type PepItem,
  type PepItemsQuery,
  type PepLimits,
  type PepNodeConfig,
  type PepPreconditions,
  type PepPublishResult,
  type PepStore,
  type PepSubscribeResult,
  type PepSubscriber,
  type PepSubscription,
  type SubscriptionOptions,
} from '../../src/state/pep.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { integerReply, type Scripts } from './scripts.js';

const UNLIMITED = { itemsPerNode: Number.MAX_SAFE_INTEGER };
const PUBLISH_REFUSALS = { 2: 'nodes-full', 3: 'precondition-not-met', 4: 'bytes-full' } as const;

function strings(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((part) => typeof part === 'string' || typeof part === 'number')) {
    throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'A pep script answered something other than a list');
  }
  return value.map(String);
}

/** A stored JSON array of strings ('' or absent: none). */
function decodeStrings(stored: string): string[] {
  if (stored === '') return [];
  const decoded: unknown = JSON.parse(stored);
  // cjson writes an empty array as {}; the scripts never store one, but read it as none.
  if (!Array.isArray(decoded)) return [];
  return decoded.filter((jid): jid is string => typeof jid === 'string');
}

/** The field of one subscription's options: node and JID apart by a NUL, which XML cannot hold. */
function optionsField(node: string, jid: string): string {
  return `${node}\u0000${jid}`;
}

/** A node's subscribers with their options, from `pepsubs` and the options stored for some of them. */
function subscribersWith(jids: string[], stored: ReadonlyMap<string, string>): PepSubscriber[] {
  return jids.map((jid) => ({ jid, options: decodeSubscriptionOptions(stored.get(jid)) }));
}

/** 'keep', '' (the defaults) or the JSON options, as pep-subscribe-3 takes them. */
function optionsArgument(options: SubscriptionOptions | undefined): string {
  return options === undefined ? 'keep' : (encodeSubscriptionOptions(options) ?? '');
}

export class RedisPepStore implements PepStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  private nodeKeys(user: string, node: string): string[] {
    return [this.keys.pepNodes(user), this.keys.pepMeta(user), this.keys.pepItems(user, node), this.keys.pepOrder(user, node)];
  }

  /** nodeKeys, the subscriptions and their options (pep-publish-6, pep-purge-6). */
  private nodeKeysWithSubscriptions(user: string, node: string): string[] {
    return [...this.nodeKeys(user, node), this.keys.pepSubscriptions(user), this.keys.pepSubscriptionOptions(user)];
  }

  async publish(user: string, node: string, item: PepItem, create: PepNodeConfig, preconditions: PepPreconditions, limits: PepLimits): Promise<PepPublishResult> {
    if (byteLength(item.xml) > limits.itemBytes) return { outcome: 'too-large' };
    const outcome = await this.scripts.run('pep-publish-6', this.nodeKeysWithSubscriptions(user, node), [
      node, item.id, item.xml, encodeConfig(create), JSON.stringify(preconditions), limits.nodes, limits.itemsPerNode, limits.totalBytes,
    ]);
    if (outcome.rejected) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'pep-publish-6 answered -1');
    if (typeof outcome.value === 'number') {
      const refusal = PUBLISH_REFUSALS[outcome.value as keyof typeof PUBLISH_REFUSALS];
      if (!refusal) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `pep-publish-6 answered ${outcome.value}`);
      return { outcome: refusal };
    }
    const [, created, config, subscribers, options, ...trimmed] = strings(outcome.value);
    const pairs = decodeStrings(options ?? '');
    const stored = new Map<string, string>();
    for (let i = 0; i + 1 < pairs.length; i += 2) stored.set(pairs[i] as string, pairs[i + 1] as string);
    return { outcome: 'published', created: created === '1', config: decodeConfig(config as string), trimmed, subscribers: subscribersWith(decodeStrings(subscribers ?? ''), stored) };
  }

  async items(user: string, node: string, query: PepItemsQuery = {}): Promise<{ config: PepNodeConfig; items: PepItem[] } | undefined> {
    if (query.ids?.length === 0) {
      const config = await this.config(user, node);
      return config ? { config, items: [] } : undefined;
    }
    const outcome = await this.scripts.run('pep-items-3', [this.keys.pepNodes(user), this.keys.pepItems(user, node), this.keys.pepOrder(user, node)], [
      node, query.max === undefined ? -1 : Math.max(0, query.max), ...(query.ids ?? []),
    ]);
    if (outcome.rejected) return undefined;
    const [config, ...pairs] = strings(outcome.value);
    const items: PepItem[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) items.push({ id: pairs[i] as string, xml: pairs[i + 1] as string });
    return { config: decodeConfig(config as string), items };
  }

  async config(user: string, node: string): Promise<PepNodeConfig | undefined> {
    const stored = await this.client.hget(this.keys.pepNodes(user), node);
    return stored === null ? undefined : decodeConfig(stored);
  }

  async create(user: string, node: string, config: PepNodeConfig, limits: PepLimits): Promise<'created' | 'exists' | 'nodes-full'> {
    const outcome = await this.scripts.run('pep-create-1', [this.keys.pepNodes(user)], [node, encodeConfig(config), limits.nodes]);
    if (outcome.rejected) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'pep-create-1 answered -1');
    const code = integerReply('pep-create-1', outcome);
    return code === 1 ? 'created' : code === 0 ? 'exists' : 'nodes-full';
  }

  async configure(user: string, node: string, config: PepNodeConfig): Promise<{ trimmed: string[] } | undefined> {
    const outcome = await this.scripts.run('pep-configure-4', this.nodeKeys(user, node), [node, encodeConfig(config), effectiveMaxItems(config, UNLIMITED)]);
    if (outcome.rejected) return undefined;
    const [, ...trimmed] = strings(outcome.value);
    return { trimmed };
  }

  async retract(user: string, node: string, id: string): Promise<boolean> {
    const outcome = await this.scripts.run('pep-retract-3', [this.keys.pepMeta(user), this.keys.pepItems(user, node), this.keys.pepOrder(user, node)], [id]);
    return !outcome.rejected && integerReply('pep-retract-3', outcome) === 1;
  }

  async purge(user: string, node: string): Promise<boolean> {
    const outcome = await this.scripts.run('pep-purge-6', this.nodeKeysWithSubscriptions(user, node), [node, '0']);
    return !outcome.rejected && integerReply('pep-purge-6', outcome) === 1;
  }

  async deleteNode(user: string, node: string): Promise<boolean> {
    const outcome = await this.scripts.run('pep-purge-6', this.nodeKeysWithSubscriptions(user, node), [node, '1']);
    return !outcome.rejected && integerReply('pep-purge-6', outcome) === 1;
  }

  async nodes(user: string): Promise<Map<string, PepNodeConfig>> {
    const stored = await this.client.hgetall(this.keys.pepNodes(user));
    return new Map(Object.entries(stored).map(([node, config]) => [node, decodeConfig(config)]));
  }

  async subscribe(user: string, node: string, jid: string, perNode: number, options?: SubscriptionOptions): Promise<PepSubscribeResult> {
    const keys = [this.keys.pepNodes(user), this.keys.pepSubscriptions(user), this.keys.pepSubscriptionOptions(user)];
    const outcome = await this.scripts.run('pep-subscribe-3', keys, [node, jid, perNode, optionsArgument(options)]);
    if (outcome.rejected) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'pep-subscribe-3 answered -1');
    const code = integerReply('pep-subscribe-3', outcome);
    return code === 1 ? 'subscribed' : code === 0 ? 'no-node' : 'full';
  }

  async setSubscriptionOptions(user: string, node: string, jid: string, options: SubscriptionOptions): Promise<boolean> {
    const keys = [this.keys.pepSubscriptions(user), this.keys.pepSubscriptionOptions(user)];
    const outcome = await this.scripts.run('pep-suboptions-2', keys, [node, jid, encodeSubscriptionOptions(options) ?? '']);
    return !outcome.rejected && integerReply('pep-suboptions-2', outcome) === 1;
  }

  async unsubscribe(user: string, node: string, jid: string): Promise<boolean> {
    const outcome = await this.scripts.run('pep-unsubscribe-2', [this.keys.pepSubscriptions(user), this.keys.pepSubscriptionOptions(user)], [node, jid]);
    return !outcome.rejected && integerReply('pep-unsubscribe-2', outcome) === 1;
  }

  async subscriptions(user: string, node?: string): Promise<PepSubscription[]> {
    const optionsKey = this.keys.pepSubscriptionOptions(user);
    if (node !== undefined) {
      const jids = decodeStrings((await this.client.hget(this.keys.pepSubscriptions(user), node)) ?? '');
      if (jids.length === 0) return [];
      const values = await this.client.hmget(optionsKey, ...jids.map((jid) => optionsField(node, jid)));
      const stored = new Map<string, string>();
      jids.forEach((jid, index) => {
        const value = values[index];
        if (typeof value === 'string') stored.set(jid, value);
      });
      return subscribersWith(jids, stored).map((subscriber) => ({ node, ...subscriber }));
    }
    const [all, options] = await Promise.all([this.client.hgetall(this.keys.pepSubscriptions(user)), this.client.hgetall(optionsKey)]);
    return Object.keys(all).sort().flatMap((name) => {
      const stored = new Map<string, string>();
      for (const jid of decodeStrings(all[name] ?? '')) {
        const value = options[optionsField(name, jid)];
        if (value !== undefined) stored.set(jid, value);
      }
      return subscribersWith(decodeStrings(all[name] ?? ''), stored).map((subscriber) => ({ node: name, ...subscriber }));
    });
  }

  /** One DEL of every key the account's nodes name (one slot); runs after the account is gone. */
  async deleteAll(user: string): Promise<void> {
    const nodes = await this.client.hkeys(this.keys.pepNodes(user));
    const keys = [this.keys.pepNodes(user), this.keys.pepMeta(user), this.keys.pepSubscriptions(user), this.keys.pepSubscriptionOptions(user), ...nodes.flatMap((node) => [this.keys.pepItems(user, node), this.keys.pepOrder(user, node)])];
    await this.client.del(...keys);
  }
}

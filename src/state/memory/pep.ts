// In-process PepStore: per account, nodes in a Map and each node's items in a Map whose
// insertion order is publish order (a republished id is deleted and set again, so it is newest).
import {
  byteLength,
} from '../personal.js';
import {
  DEFAULT_SUBSCRIPTION_OPTIONS,
  effectiveMaxItems,
  meetsPreconditions,
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
} from '../pep.js';

interface Node {
  config: PepNodeConfig;
  items: Map<string, string>;
  /** Explicit subscribers and their options, in subscription order. */
  subscribers: Map<string, SubscriptionOptions>;
}

interface Account {
  nodes: Map<string, Node>;
  bytes: number;
}

const UNLIMITED = { itemsPerNode: Number.MAX_SAFE_INTEGER };

/** Copies, so that a caller cannot change what is stored. */
function listed(subscribers: Map<string, SubscriptionOptions>): PepSubscriber[] {
  return [...subscribers].map(([jid, options]) => ({ jid, options: { ...options } }));
}

export class MemoryPepStore implements PepStore {
  private readonly accounts = new Map<string, Account>();

  private account(user: string): Account {
    let account = this.accounts.get(user);
    if (!account) {
      account = { nodes: new Map(), bytes: 0 };
      this.accounts.set(user, account);
    }
    return account;
  }

  async publish(user: string, node: string, item: PepItem, create: PepNodeConfig, preconditions: PepPreconditions, limits: PepLimits): Promise<PepPublishResult> {
    const size = byteLength(item.xml);
    if (size > limits.itemBytes) return { outcome: 'too-large' };
    const account = this.account(user);
    const existing = account.nodes.get(node);
    if (!existing && account.nodes.size >= limits.nodes) return { outcome: 'nodes-full' };
    if (existing && !meetsPreconditions(existing.config, preconditions)) return { outcome: 'precondition-not-met' };
    const config = existing?.config ?? { ...create };
    const items = existing?.items ?? new Map<string, string>();
    const subscribers = existing?.subscribers ?? new Map<string, SubscriptionOptions>();
    // What the publish would leave: the item newest, the oldest beyond max_items gone.
    const order = [...items.keys()].filter((id) => id !== item.id);
    const keep = effectiveMaxItems(config, limits) - 1;
    const trimmed = order.slice(0, Math.max(0, order.length - keep));
    let bytes = account.bytes + size - byteLength(items.get(item.id) ?? '');
    for (const id of trimmed) bytes -= byteLength(items.get(id) ?? '');
    if (bytes > limits.totalBytes) return { outcome: 'bytes-full' };
    for (const id of trimmed) items.delete(id);
    items.delete(item.id);
    items.set(item.id, item.xml);
    account.bytes = bytes;
    account.nodes.set(node, { config, items, subscribers });
    return { outcome: 'published', created: !existing, config: { ...config }, trimmed, subscribers: listed(subscribers) };
  }

  async items(user: string, node: string, query: PepItemsQuery = {}): Promise<{ config: PepNodeConfig; items: PepItem[] } | undefined> {
    const found = this.accounts.get(user)?.nodes.get(node);
    if (!found) return undefined;
    let items: PepItem[];
    if (query.ids) {
      items = query.ids.flatMap((id) => {
        const xml = found.items.get(id);
        return xml === undefined ? [] : [{ id, xml }];
      });
    } else {
      items = [...found.items].map(([id, xml]) => ({ id, xml })).reverse();
      if (query.max !== undefined) items = items.slice(0, Math.max(0, query.max));
    }
    return { config: { ...found.config }, items };
  }

  async config(user: string, node: string): Promise<PepNodeConfig | undefined> {
    const found = this.accounts.get(user)?.nodes.get(node);
    return found ? { ...found.config } : undefined;
  }

  async create(user: string, node: string, config: PepNodeConfig, limits: PepLimits): Promise<'created' | 'exists' | 'nodes-full'> {
    const account = this.account(user);
    if (account.nodes.has(node)) return 'exists';
    if (account.nodes.size >= limits.nodes) return 'nodes-full';
    account.nodes.set(node, { config: { ...config }, items: new Map(), subscribers: new Map() });
    return 'created';
  }

  async configure(user: string, node: string, config: PepNodeConfig): Promise<{ trimmed: string[] } | undefined> {
    const account = this.accounts.get(user);
    const found = account?.nodes.get(node);
    if (!account || !found) return undefined;
    const order = [...found.items.keys()];
    const trimmed = order.slice(0, Math.max(0, order.length - effectiveMaxItems(config, UNLIMITED)));
    for (const id of trimmed) {
      account.bytes -= byteLength(found.items.get(id) ?? '');
      found.items.delete(id);
    }
    found.config = { ...config };
    return { trimmed };
  }

  async retract(user: string, node: string, id: string): Promise<boolean> {
    const account = this.accounts.get(user);
    const xml = account?.nodes.get(node)?.items.get(id);
    if (!account || xml === undefined) return false;
    account.nodes.get(node)?.items.delete(id);
    account.bytes -= byteLength(xml);
    return true;
  }

  async purge(user: string, node: string): Promise<boolean> {
    const account = this.accounts.get(user);
    const found = account?.nodes.get(node);
    if (!account || !found) return false;
    for (const xml of found.items.values()) account.bytes -= byteLength(xml);
    found.items.clear();
    return true;
  }

  async deleteNode(user: string, node: string): Promise<boolean> {
    const account = this.accounts.get(user);
    if (!account?.nodes.has(node)) return false;
    await this.purge(user, node);
    account.nodes.delete(node);
    return true;
  }

  async nodes(user: string): Promise<Map<string, PepNodeConfig>> {
    const nodes = this.accounts.get(user)?.nodes ?? new Map<string, Node>();
    return new Map([...nodes].map(([name, found]) => [name, { ...found.config }]));
  }

  async subscribe(user: string, node: string, jid: string, perNode: number, options?: SubscriptionOptions): Promise<PepSubscribeResult> {
    const found = this.accounts.get(user)?.nodes.get(node);
    if (!found) return 'no-node';
    const current = found.subscribers.get(jid);
    if (current === undefined && found.subscribers.size >= perNode) return 'full';
    found.subscribers.set(jid, { ...(options ?? current ?? DEFAULT_SUBSCRIPTION_OPTIONS) });
    return 'subscribed';
  }

  async setSubscriptionOptions(user: string, node: string, jid: string, options: SubscriptionOptions): Promise<boolean> {
    const subscribers = this.accounts.get(user)?.nodes.get(node)?.subscribers;
    if (!subscribers?.has(jid)) return false;
    subscribers.set(jid, { ...options });
    return true;
  }

  async unsubscribe(user: string, node: string, jid: string): Promise<boolean> {
    return this.accounts.get(user)?.nodes.get(node)?.subscribers.delete(jid) ?? false;
  }

  async subscriptions(user: string, node?: string): Promise<PepSubscription[]> {
    const nodes = this.accounts.get(user)?.nodes ?? new Map<string, Node>();
    const chosen = node === undefined ? [...nodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : nodes.has(node) ? [[node, nodes.get(node) as Node] as const] : [];
    return chosen.flatMap(([name, found]) => listed(found.subscribers).map((subscriber) => ({ node: name, ...subscriber })));
  }

  async deleteAll(user: string): Promise<void> {
    this.accounts.delete(user);
  }
}

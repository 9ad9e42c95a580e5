// Personal eventing (XEP-0163) nodes of each account: their configuration and their items, in
// publish order. The store keeps what XEP-0060 says a node holds; access rules, notifications and
// the protocol's errors belong to the service (modules/pep/).

export type AccessModel = 'presence' | 'open' | 'roster' | 'whitelist';
export type SendLastPublished = 'never' | 'on_sub' | 'on_sub_and_presence';

/** A node's configuration (the pubsub#node_config fields PEP needs). */
export interface PepNodeConfig {
  access_model: AccessModel;
  /** Items kept at most; the oldest go first when a publish exceeds it. */
  max_items: number;
  persist_items: boolean;
  send_last_published_item: SendLastPublished;
  notify_retract: boolean;
  /** Bare JIDs allowed by `whitelist` (XEP-0060 §4.5 publisher/member affiliations). */
  whitelist: string[];
  /** Roster groups allowed by `roster`. */
  roster_groups_allowed: string[];
  title?: string;
}

export interface PepItem {
  id: string;
  /** The payload element as XML. */
  xml: string;
}

/** The bounds of one account's PEP data (limits.pep*). */
export interface PepLimits {
  nodes: number;
  itemsPerNode: number;
  itemBytes: number;
  /** Bytes of all items of all nodes of the account. */
  totalBytes: number;
}

/** Fields a publish requires of an existing node (XEP-0223 publish-options). */
export type PepPreconditions = Partial<Pick<PepNodeConfig, 'access_model' | 'max_items' | 'persist_items' | 'send_last_published_item'>>;

/** The subscription options PEP keeps (XEP-0060 §6.3, pubsub#subscribe_options). */
export interface SubscriptionOptions {
  /** pubsub#deliver: false holds the node's events back from this subscriber (it stays subscribed). */
  deliver: boolean;
  /** pubsub#include_body: events carry a <body/> summarising the payload, where one can be made. */
  include_body: boolean;
}

export const DEFAULT_SUBSCRIPTION_OPTIONS: Readonly<SubscriptionOptions> = { deliver: true, include_body: false };

/** An explicit subscriber (XEP-0060 §6.1): `jid` bare or full, as the subscriber gave it. */
export interface PepSubscriber {
  jid: string;
  options: SubscriptionOptions;
}

export interface PepSubscription extends PepSubscriber {
  node: string;
}

export type PepPublishResult =
  /** `subscribers`: the node's explicit subscribers with their options, read in the same step (for the notification). */
  | { outcome: 'published'; created: boolean; config: PepNodeConfig; trimmed: string[]; subscribers: PepSubscriber[] }
  | { outcome: 'too-large' | 'nodes-full' | 'bytes-full' | 'precondition-not-met' };

export type PepSubscribeResult = 'subscribed' | 'no-node' | 'full';

export interface PepItemsQuery {
  /** Newest `max` items. */
  max?: number;
  /** Only these ids (in this order; missing ones are left out). */
  ids?: string[];
}

/**
 * Guarantees: every change (publish, retract, purge, delete, create, configure, subscribe) checks
 * its limits and writes in one atomic step per account: two racing publishes never take an account
 * past `nodes` or `totalBytes`, nor a node past its `max_items`, nor racing subscribes a node past
 * its subscriber bound; a publish's preconditions are checked
 * against the configuration in the same step. Items are kept in publish order, a republished id
 * becoming the newest. Linearizable per account; nothing expires.
 */
export interface PepStore {
  /**
   * Stores `item` on `node`, creating it with `create` when missing (`preconditions` then only
   * shaped `create`); an existing node must match `preconditions` field by field.
   */
  publish(user: string, node: string, item: PepItem, create: PepNodeConfig, preconditions: PepPreconditions, limits: PepLimits): Promise<PepPublishResult>;
  /** undefined when the node does not exist; items newest first. */
  items(user: string, node: string, query?: PepItemsQuery): Promise<{ config: PepNodeConfig; items: PepItem[] } | undefined>;
  config(user: string, node: string): Promise<PepNodeConfig | undefined>;
  /** 'exists' when the node is there already. */
  create(user: string, node: string, config: PepNodeConfig, limits: PepLimits): Promise<'created' | 'exists' | 'nodes-full'>;
  /** Replaces the configuration; items past the new max_items go (their ids are returned). */
  configure(user: string, node: string, config: PepNodeConfig): Promise<{ trimmed: string[] } | undefined>;
  /** false when there was no such item (or node). */
  retract(user: string, node: string, id: string): Promise<boolean>;
  /** false when there was no such node. */
  purge(user: string, node: string): Promise<boolean>;
  deleteNode(user: string, node: string): Promise<boolean>;
  /** Every node with its configuration. */
  nodes(user: string): Promise<Map<string, PepNodeConfig>>;
  /**
   * Adds `jid` to the node's explicit subscribers, checked against `perNode` in the same step
   * (subscribing again is 'subscribed' and changes nothing but the options, when given). A new
   * subscription without `options` has the defaults. Deleting the node ends them.
   */
  subscribe(user: string, node: string, jid: string, perNode: number, options?: SubscriptionOptions): Promise<PepSubscribeResult>;
  /** Replaces a subscription's options; false when `jid` is not subscribed (or there is no such node). */
  setSubscriptionOptions(user: string, node: string, jid: string, options: SubscriptionOptions): Promise<boolean>;
  /** false when `jid` was not subscribed (or there is no such node). Its options go with it. */
  unsubscribe(user: string, node: string, jid: string): Promise<boolean>;
  /** The explicit subscriptions of one node, or of every node (by node name); a node's in subscription order. */
  subscriptions(user: string, node?: string): Promise<PepSubscription[]>;
  deleteAll(user: string): Promise<void>;
}

export const DEFAULT_NODE_CONFIG: PepNodeConfig = {
  access_model: 'presence',
  max_items: 1,
  persist_items: true,
  send_last_published_item: 'on_sub_and_presence',
  notify_retract: true,
  whitelist: [],
  roster_groups_allowed: [],
};

/** Whether an existing node's configuration meets the preconditions (XEP-0223 §7). */
export function meetsPreconditions(config: PepNodeConfig, preconditions: PepPreconditions): boolean {
  for (const [field, value] of Object.entries(preconditions)) {
    if (config[field as keyof PepPreconditions] !== value) return false;
  }
  return true;
}

/** A node without persistence still keeps its last item, for send_last_published_item. */
export function effectiveMaxItems(config: PepNodeConfig, limits: Pick<PepLimits, 'itemsPerNode'>): number {
  const wanted = config.persist_items ? config.max_items : 1;
  return Math.max(1, Math.min(wanted, limits.itemsPerNode));
}

/** The stored form of a configuration (JSON with a version field, as every stored record has). */
export function encodeConfig(config: PepNodeConfig): string {
  return JSON.stringify({ v: 1, ...config });
}

/** Stored subscription options: undefined for the defaults (nothing is stored then). */
export function encodeSubscriptionOptions(options: SubscriptionOptions): string | undefined {
  if (options.deliver === DEFAULT_SUBSCRIPTION_OPTIONS.deliver && options.include_body === DEFAULT_SUBSCRIPTION_OPTIONS.include_body) return undefined;
  return JSON.stringify({ v: 1, deliver: options.deliver, include_body: options.include_body });
}

/** What was stored, or the defaults for nothing (or something unreadable). */
export function decodeSubscriptionOptions(stored: string | null | undefined): SubscriptionOptions {
  if (stored === null || stored === undefined || stored === '') return { ...DEFAULT_SUBSCRIPTION_OPTIONS };
  try {
    const decoded = JSON.parse(stored) as Partial<Record<keyof SubscriptionOptions, unknown>>;
    return {
      deliver: typeof decoded.deliver === 'boolean' ? decoded.deliver : DEFAULT_SUBSCRIPTION_OPTIONS.deliver,
      include_body: typeof decoded.include_body === 'boolean' ? decoded.include_body : DEFAULT_SUBSCRIPTION_OPTIONS.include_body,
    };
  } catch {
    return { ...DEFAULT_SUBSCRIPTION_OPTIONS };
  }
}

export function decodeConfig(json: string): PepNodeConfig {
  const { v: _version, ...config } = JSON.parse(json) as PepNodeConfig & { v: number };
  return { ...DEFAULT_NODE_CONFIG, ...config };
}

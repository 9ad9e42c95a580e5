// PepStore in the durable embedded store (migration 4): each change is one transaction, its
// limit checks inside it; pep_account keeps the publish sequence and the bytes in all.
import { byteLength } from '../personal.js';
import {
  decodeConfig,
  decodeSubscriptionOptions,
  effectiveMaxItems,
  encodeConfig,
  encodeSubscriptionOptions,
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
import { type DataDir, durable } from './database.js';

function subscriberOf(row: { jid: string; options: string | null }): PepSubscriber {
  return { jid: row.jid, options: decodeSubscriptionOptions(row.options) };
}

const UNLIMITED = { itemsPerNode: Number.MAX_SAFE_INTEGER };

export class DurablePepStore implements PepStore {
  private readonly q;
  private readonly publishTx;
  private readonly configureTx;
  private readonly retractTx;
  private readonly purgeTx;
  private readonly deleteNodeTx;
  private readonly deleteAllTx;
  private readonly subscribeTx;

  constructor(private readonly dir: DataDir) {
    const { db } = dir;
    const q = {
      config: db.prepare<[string, string], { config: string }>('SELECT config FROM pep_node WHERE user = ? AND node = ?'),
      nodes: db.prepare<[string], { node: string; config: string }>('SELECT node, config FROM pep_node WHERE user = ? ORDER BY node'),
      nodeCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM pep_node WHERE user = ?'),
      putNode: db.prepare<[string, string, string]>('INSERT INTO pep_node (user, node, config) VALUES (?, ?, ?) ON CONFLICT (user, node) DO UPDATE SET config = excluded.config'),
      removeNode: db.prepare<[string, string]>('DELETE FROM pep_node WHERE user = ? AND node = ?'),
      item: db.prepare<[string, string, string], { xml: string }>('SELECT xml FROM pep_item WHERE user = ? AND node = ? AND id = ?'),
      oldestFirst: db.prepare<[string, string], { id: string; xml: string }>('SELECT id, xml FROM pep_item WHERE user = ? AND node = ? ORDER BY seq'),
      newestFirst: db.prepare<[string, string, number], { id: string; xml: string }>('SELECT id, xml FROM pep_item WHERE user = ? AND node = ? ORDER BY seq DESC LIMIT ?'),
      putItem: db.prepare<[string, string, string, string, number]>('INSERT INTO pep_item (user, node, id, xml, seq) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user, node, id) DO UPDATE SET xml = excluded.xml, seq = excluded.seq'),
      removeItem: db.prepare<[string, string, string]>('DELETE FROM pep_item WHERE user = ? AND node = ? AND id = ?'),
      removeItems: db.prepare<[string, string]>('DELETE FROM pep_item WHERE user = ? AND node = ?'),
      nodeBytes: db.prepare<[string, string], { bytes: number | null }>('SELECT sum(length(CAST(xml AS BLOB))) AS bytes FROM pep_item WHERE user = ? AND node = ?'),
      account: db.prepare<[string], { seq: number; bytes: number }>('SELECT seq, bytes FROM pep_account WHERE user = ?'),
      putAccount: db.prepare<[string, number, number]>('INSERT INTO pep_account (user, seq, bytes) VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE SET seq = excluded.seq, bytes = excluded.bytes'),
      removeAllItems: db.prepare<[string]>('DELETE FROM pep_item WHERE user = ?'),
      removeAllNodes: db.prepare<[string]>('DELETE FROM pep_node WHERE user = ?'),
      removeAccount: db.prepare<[string]>('DELETE FROM pep_account WHERE user = ?'),
      subscribers: db.prepare<[string, string], { jid: string; options: string | null }>('SELECT jid, options FROM pep_subscription WHERE user = ? AND node = ? ORDER BY id'),
      allSubscriptions: db.prepare<[string], { node: string; jid: string; options: string | null }>('SELECT node, jid, options FROM pep_subscription WHERE user = ? ORDER BY node, id'),
      subscriberCount: db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM pep_subscription WHERE user = ? AND node = ?'),
      isSubscribed: db.prepare<[string, string, string], { n: number }>('SELECT 1 AS n FROM pep_subscription WHERE user = ? AND node = ? AND jid = ?'),
      addSubscription: db.prepare<[string, string, string, string | null]>('INSERT INTO pep_subscription (user, node, jid, options) VALUES (?, ?, ?, ?)'),
      setOptions: db.prepare<[string | null, string, string, string]>('UPDATE pep_subscription SET options = ? WHERE user = ? AND node = ? AND jid = ?'),
      removeSubscription: db.prepare<[string, string, string]>('DELETE FROM pep_subscription WHERE user = ? AND node = ? AND jid = ?'),
      removeSubscriptions: db.prepare<[string, string]>('DELETE FROM pep_subscription WHERE user = ? AND node = ?'),
      removeAllSubscriptions: db.prepare<[string]>('DELETE FROM pep_subscription WHERE user = ?'),
    };
    this.q = q;
    const account = (user: string): { seq: number; bytes: number } => q.account.get(user) ?? { seq: 0, bytes: 0 };
    const addBytes = (user: string, delta: number): void => {
      const { seq, bytes } = account(user);
      q.putAccount.run(user, seq, bytes + delta);
    };
    this.publishTx = db.transaction((user: string, node: string, item: PepItem, create: PepNodeConfig, preconditions: PepPreconditions, limits: PepLimits): PepPublishResult => {
      const stored = q.config.get(user, node);
      const existing = stored ? decodeConfig(stored.config) : undefined;
      if (!existing && (q.nodeCount.get(user)?.n ?? 0) >= limits.nodes) return { outcome: 'nodes-full' };
      if (existing && !meetsPreconditions(existing, preconditions)) return { outcome: 'precondition-not-met' };
      const config = existing ?? create;
      const order = existing ? q.oldestFirst.all(user, node).filter(({ id }) => id !== item.id) : [];
      const keep = effectiveMaxItems(config, limits) - 1;
      const trimmed = order.slice(0, Math.max(0, order.length - keep));
      const { seq, bytes } = account(user);
      let total = bytes + byteLength(item.xml) - byteLength(q.item.get(user, node, item.id)?.xml ?? '');
      for (const old of trimmed) total -= byteLength(old.xml);
      if (total > limits.totalBytes) return { outcome: 'bytes-full' };
      if (!existing) q.putNode.run(user, node, encodeConfig(config));
      for (const old of trimmed) q.removeItem.run(user, node, old.id);
      q.putItem.run(user, node, item.id, item.xml, seq + 1);
      q.putAccount.run(user, seq + 1, total);
      const subscribers = existing ? q.subscribers.all(user, node).map(subscriberOf) : [];
      return { outcome: 'published', created: !existing, config, trimmed: trimmed.map(({ id }) => id), subscribers };
    });
    this.configureTx = db.transaction((user: string, node: string, config: PepNodeConfig): { trimmed: string[] } | undefined => {
      if (!q.config.get(user, node)) return undefined;
      const order = q.oldestFirst.all(user, node);
      const trimmed = order.slice(0, Math.max(0, order.length - effectiveMaxItems(config, UNLIMITED)));
      for (const old of trimmed) q.removeItem.run(user, node, old.id);
      addBytes(user, -trimmed.reduce((sum, old) => sum + byteLength(old.xml), 0));
      q.putNode.run(user, node, encodeConfig(config));
      return { trimmed: trimmed.map(({ id }) => id) };
    });
    this.retractTx = db.transaction((user: string, node: string, id: string): boolean => {
      const old = q.item.get(user, node, id);
      if (!old) return false;
      q.removeItem.run(user, node, id);
      addBytes(user, -byteLength(old.xml));
      return true;
    });
    this.purgeTx = db.transaction((user: string, node: string): boolean => {
      if (!q.config.get(user, node)) return false;
      addBytes(user, -(q.nodeBytes.get(user, node)?.bytes ?? 0));
      q.removeItems.run(user, node);
      return true;
    });
    this.deleteNodeTx = db.transaction((user: string, node: string): boolean => {
      if (!this.purgeTx(user, node)) return false;
      q.removeNode.run(user, node);
      q.removeSubscriptions.run(user, node);
      return true;
    });
    this.deleteAllTx = db.transaction((user: string): boolean => {
      const changed = q.removeAllNodes.run(user).changes > 0;
      q.removeAllItems.run(user);
      q.removeAccount.run(user);
      q.removeAllSubscriptions.run(user);
      return changed;
    });
    this.subscribeTx = db.transaction((user: string, node: string, jid: string, perNode: number, options: SubscriptionOptions | undefined): PepSubscribeResult | 'unchanged' => {
      if (!q.config.get(user, node)) return 'no-node';
      if (q.isSubscribed.get(user, node, jid)) {
        if (!options) return 'unchanged';
        q.setOptions.run(encodeSubscriptionOptions(options) ?? null, user, node, jid);
        return 'subscribed';
      }
      if ((q.subscriberCount.get(user, node)?.n ?? 0) >= perNode) return 'full';
      q.addSubscription.run(user, node, jid, options ? (encodeSubscriptionOptions(options) ?? null) : null);
      return 'subscribed';
    });
  }

  async publish(user: string, node: string, item: PepItem, create: PepNodeConfig, preconditions: PepPreconditions, limits: PepLimits): Promise<PepPublishResult> {
    if (byteLength(item.xml) > limits.itemBytes) return { outcome: 'too-large' };
    const result = this.publishTx(user, node, item, create, preconditions, limits);
    return durable(this.dir, result.outcome === 'published', result);
  }

  async items(user: string, node: string, query: PepItemsQuery = {}): Promise<{ config: PepNodeConfig; items: PepItem[] } | undefined> {
    const config = await this.config(user, node);
    if (!config) return undefined;
    if (query.ids) {
      const items = query.ids.flatMap((id) => {
        const found = this.q.item.get(user, node, id);
        return found ? [{ id, xml: found.xml }] : [];
      });
      return { config, items };
    }
    const items = this.q.newestFirst.all(user, node, query.max === undefined ? -1 : Math.max(0, query.max)).map(({ id, xml }) => ({ id, xml }));
    return { config, items };
  }

  async config(user: string, node: string): Promise<PepNodeConfig | undefined> {
    const stored = this.q.config.get(user, node);
    return stored ? decodeConfig(stored.config) : undefined;
  }

  async create(user: string, node: string, config: PepNodeConfig, limits: PepLimits): Promise<'created' | 'exists' | 'nodes-full'> {
    const result = this.dir.db.transaction((): 'created' | 'exists' | 'nodes-full' => {
      if (this.q.config.get(user, node)) return 'exists';
      if ((this.q.nodeCount.get(user)?.n ?? 0) >= limits.nodes) return 'nodes-full';
      this.q.putNode.run(user, node, encodeConfig(config));
      return 'created';
    })();
    return durable(this.dir, result === 'created', result);
  }

  async configure(user: string, node: string, config: PepNodeConfig): Promise<{ trimmed: string[] } | undefined> {
    const result = this.configureTx(user, node, config);
    return durable(this.dir, result !== undefined, result);
  }

  async retract(user: string, node: string, id: string): Promise<boolean> {
    const removed = this.retractTx(user, node, id);
    return durable(this.dir, removed, removed);
  }

  async purge(user: string, node: string): Promise<boolean> {
    const purged = this.purgeTx(user, node);
    return durable(this.dir, purged, purged);
  }

  async deleteNode(user: string, node: string): Promise<boolean> {
    const deleted = this.deleteNodeTx(user, node);
    return durable(this.dir, deleted, deleted);
  }

  async nodes(user: string): Promise<Map<string, PepNodeConfig>> {
    return new Map(this.q.nodes.all(user).map(({ node, config }) => [node, decodeConfig(config)]));
  }

  async subscribe(user: string, node: string, jid: string, perNode: number, options?: SubscriptionOptions): Promise<PepSubscribeResult> {
    const result = this.subscribeTx(user, node, jid, perNode, options);
    return durable(this.dir, result === 'subscribed', result === 'unchanged' ? 'subscribed' : result);
  }

  async setSubscriptionOptions(user: string, node: string, jid: string, options: SubscriptionOptions): Promise<boolean> {
    const changed = this.q.setOptions.run(encodeSubscriptionOptions(options) ?? null, user, node, jid).changes > 0;
    return durable(this.dir, changed, changed);
  }

  async unsubscribe(user: string, node: string, jid: string): Promise<boolean> {
    const removed = this.q.removeSubscription.run(user, node, jid).changes > 0;
    return durable(this.dir, removed, removed);
  }

  async subscriptions(user: string, node?: string): Promise<PepSubscription[]> {
    if (node === undefined) return this.q.allSubscriptions.all(user).map((row) => ({ node: row.node, ...subscriberOf(row) }));
    return this.q.subscribers.all(user, node).map((row) => ({ node, ...subscriberOf(row) }));
  }

  async deleteAll(user: string): Promise<void> {
    await durable(this.dir, this.deleteAllTx(user), undefined);
  }
}

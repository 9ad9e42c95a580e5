// Node liveness: every node writes a heartbeat into one sorted set. A node whose heartbeat is
// older than the dead-after bound is claimed by exactly one sweeper (ZREM answers 1 once), which
// marks it evicted; the node, if it comes back, sees the mark and closes its stale sockets.
// A node that finds itself gone from the set together with the epoch key was not evicted: Redis
// lost its data (restarted empty, or failed over to a replica without it), and the node
// registers again and writes back what it holds.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './connection.js';
import type { KeyBuilder } from './keys.js';

export interface LivenessOptions {
  heartbeatMs: number;
  deadAfterMs: number;
}

export class NodeLiveness {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  /**
   * Since when this node's heartbeats have all succeeded (undefined after a failed one). Only a
   * node that could write its own heartbeats for a whole dead-after period judges others dead:
   * after a Redis outage or failover every heartbeat is old, and no node is dead for it.
   */
  private healthySince: number | undefined;
  /** When this node last wrote its heartbeat. */
  private lastBeatAt = 0;
  /** The epoch value this node last saw. */
  private epoch: string | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly nodeId: string,
    private readonly options: LivenessOptions,
    /** Called when this node finds it was declared dead while it was away. */
    private readonly onEvicted: () => Promise<void>,
    private readonly onError: (error: unknown) => void = () => {},
    /** Called when a heartbeat finds that Redis lost its data; the node is registered again first. */
    private readonly onStoreLost: () => Promise<void> = async () => {},
  ) {}

  async start(): Promise<void> {
    await this.client.del(this.keys.nodeEvicted(this.nodeId));
    await this.client.zadd(this.keys.nodes(), Date.now(), this.nodeId);
    this.epoch = await this.currentEpoch();
    this.healthySince = Date.now();
    this.lastBeatAt = Date.now();
    this.timer = setInterval(() => {
      this.beating ??= this.beat()
        .then(() => {
          this.healthySince ??= Date.now();
          this.lastBeatAt = Date.now();
        })
        .catch((error: unknown) => {
          this.healthySince = undefined;
          this.onError(error);
        })
        .finally(() => (this.beating = undefined));
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat; an eviction noticed here is handled before the node registers again. */
  async beat(): Promise<void> {
    // Two commands, not a MULTI: the keys sit in different Redis Cluster slots. None is needed:
    // a sweeper removes the node from the live set before it sets the mark, so an eviction
    // between the two is still seen, as a ZADD XX that finds the node gone.
    const [epoch, mark, updated] = await Promise.all([
      this.client.get(this.keys.epoch()),
      this.client.get(this.keys.nodeEvicted(this.nodeId)),
      this.client.zadd(this.keys.nodes(), 'XX', 'CH', Date.now(), this.nodeId),
    ]);
    if (epoch !== this.epoch) {
      await this.client.zadd(this.keys.nodes(), Date.now(), this.nodeId);
      this.epoch = await this.currentEpoch();
      // Not awaited: heartbeats go on while the node writes back what it holds, or a restore
      // longer than the dead-after bound would get it declared dead by a sweep.
      void this.onStoreLost().catch(this.onError);
      return;
    }
    const evicted = mark !== null;
    const stillListed = Number(updated) === 1;
    if (!evicted && stillListed) return;
    await this.onEvicted();
    await this.client.del(this.keys.nodeEvicted(this.nodeId));
    await this.client.zadd(this.keys.nodes(), Date.now(), this.nodeId);
  }

  /** The epoch, set first by whichever node gets there. */
  private async currentEpoch(): Promise<string> {
    await this.client.set(this.keys.epoch(), randomBytes(8).toString('hex'), 'NX');
    return (await this.client.get(this.keys.epoch())) ?? '';
  }

  /**
   * Whether a sweeper may have declared this node dead: its last heartbeat is older than most
   * of the dead-after bound (a freeze, a partition). Never in normal running, where a heartbeat
   * is a few seconds old at most.
   */
  mayBeEvicted(now = Date.now()): boolean {
    return now - this.lastBeatAt > this.options.deadAfterMs * 0.75;
  }

  /** Resolves once a heartbeat succeeded (an eviction it found acted on), or after `timeoutMs`. */
  async verdict(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.mayBeEvicted() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  /** Nodes whose last heartbeat is older than the dead-after bound. */
  async deadNodes(now = Date.now()): Promise<string[]> {
    if (this.healthySince === undefined || now - this.healthySince < this.options.deadAfterMs) return [];
    return this.client.zrangebyscore(this.keys.nodes(), '-inf', String(now - this.options.deadAfterMs));
  }

  /** true for exactly one caller per death: that caller cleans up after the node. */
  async claimDead(node: string): Promise<boolean> {
    const removed = await this.client.zrem(this.keys.nodes(), node);
    if (removed !== 1) return false;
    await this.client.set(this.keys.nodeEvicted(node), String(Date.now()), 'PX', Math.max(60_000, this.options.deadAfterMs * 10));
    await this.client.zadd(this.keys.evictedNodes(), Date.now(), node);
    return true;
  }

  /**
   * Nodes evicted within `windowMs` that have not come back. A sender whose cache still named
   * such a node may have written to its inbox after the clean-up read it, so sweeps take these inboxes
   * inboxes again for a while.
   */
  async recentlyEvicted(windowMs: number, now = Date.now()): Promise<string[]> {
    await this.client.zremrangebyscore(this.keys.evictedNodes(), '-inf', String(now - windowMs));
    const evicted = await this.client.zrange(this.keys.evictedNodes(), '0', '-1');
    if (evicted.length === 0) return [];
    const live = new Set(await this.liveNodes());
    return evicted.filter((node) => !live.has(node));
  }

  async lastBeat(node: string): Promise<number | undefined> {
    const score = await this.client.zscore(this.keys.nodes(), node);
    return score === null ? undefined : Number(score);
  }

  liveNodes(): Promise<string[]> {
    return this.client.zrange(this.keys.nodes(), '0', '-1');
  }

  /**
   * A clean exit: the node leaves the live set itself, and is listed as recently gone, so that
   * sweepers take its inbox again for a while (a sender whose cache still named it).
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.beating;
    await this.client.zrem(this.keys.nodes(), this.nodeId);
    await this.client.zadd(this.keys.evictedNodes(), Date.now(), this.nodeId);
  }
}

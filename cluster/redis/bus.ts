// The node bus on Redis Streams: one inbox stream per node, read through a consumer group and
// acknowledged (and deleted) only after the envelope was handled, so nothing sent between nodes
// is lost while the receiver is busy, reconnecting or restarting.
//
// Round trips are batched: what one event-loop turn sends to a node is one bus-send script (one
// entry per envelope, as XADD writes them; stanzas for a session taken over from that node are
// refused, see bus-take-2); the reader takes
// up to BATCH entries per XREADGROUP, asks for the next batch while it delivers this one, and
// acknowledges and deletes a batch with one bus-ack script.
import type { BusEnvelope, BusSendOutcome, NodeBus, NodeInbox, StatePush, TakenResource } from '../../src/state/bus.js';
import { duplicateClient, type RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { loadScripts, type Scripts } from './scripts.js';

const GROUP = 'rookery';
/** Envelope schema version; a node reads this and the previous one. */
export const ENVELOPE_VERSION = 1;
const BATCH = 256;
/** Envelopes per bus-send call at most (a turn's batch for one node is split beyond it). */
const SEND_BATCH = 256;
const BLOCK_MS = 1000;
/** Taking an inbox for longer than this loses its exclusivity (its node likely died meanwhile). */
const TAKE_INBOX_LOCK_MS = 60_000;

type StreamEntries = Array<[id: string, fields: string[]]>;
type StreamReply = Array<[key: string, entries: StreamEntries]> | null;

export interface RedisNodeBusOptions {
  onError?(error: unknown): void;
  /**
   * True while this node cannot be sure it was not declared dead (its last heartbeat is old, as
   * after a freeze): a sweeper may be taking its inbox, so each entry is claimed (deleted)
   * before it is handled, and one the sweeper took is left to it.
   */
  mayBeEvicted?(): boolean;
  /**
   * Resolves once this node's next heartbeat has told whether it was evicted (and an eviction
   * was acted on: its sessions closed). Awaited before handling entries while `mayBeEvicted`, so
   * that a node let go on after a freeze does not write them to sockets of sessions taken over.
   */
  heartbeatVerdict?(): Promise<void>;
}

/** Envelopes for one node, sent in one round trip and settled together (one promise for all: the positions refused). */
interface Batch {
  node: string;
  /** Per envelope: its resource ('' = none), the session it names ('' = unknown), its JSON. */
  args: string[];
  size: number;
  done: Promise<ReadonlySet<number>>;
  resolve: (refused: ReadonlySet<number>) => void;
  reject: (error: unknown) => void;
}

function newBatch(node: string): Batch {
  let resolve!: (refused: ReadonlySet<number>) => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<ReadonlySet<number>>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { node, args: [], size: 0, done, resolve, reject };
}

export class RedisNodeBus implements NodeBus {
  private reader: RedisClient | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly seen = new RecentIds(25_000);
  /** This turn's envelopes, by destination node, in the order they were sent. */
  private readonly outbox = new Map<string, Batch>();
  /** Batches of this turn that reached SEND_BATCH envelopes. */
  private readonly full: Batch[] = [];
  private flushScheduled = false;
  private scripts: Promise<Scripts> | undefined;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly nodeId: string,
    private readonly options: RedisNodeBusOptions = {},
  ) {}

  async start(inbox: NodeInbox): Promise<void> {
    await this.ensureGroup();
    this.reader = duplicateClient(this.client);
    this.reader.on('error', (error: unknown) => this.options.onError?.(error));
    this.running = true;
    this.loop = this.readLoop(inbox);
  }

  /**
   * Resolves once the envelope is in the node's inbox; sent with the others of this event-loop
   * turn for the same node. Fails at once while the connection is down, rather than waiting in
   * ioredis's queue: the caller holds the envelope (OutageBuffer).
   */
  send(node: string, envelope: BusEnvelope): Promise<BusSendOutcome> {
    if (this.client.status !== 'ready') return Promise.reject(unreachable(this.client));
    let batch = this.outbox.get(node);
    if (!batch) {
      batch = newBatch(node);
      this.outbox.set(node, batch);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushOutbox);
      }
    }
    const stanza = envelope.kind === 'stanza';
    batch.args.push(stanza ? envelope.to : '', stanza ? (envelope.sessionId ?? '') : '', JSON.stringify(envelope));
    const position = (batch.size += 1);
    if (batch.size >= SEND_BATCH) {
      this.full.push(batch);
      this.outbox.delete(node);
    }
    return batch.done.then((refused) => (refused.has(position) ? 'moved' : 'sent'));
  }

  flush(): void {
    if (this.flushScheduled) this.flushOutbox();
  }

  private readonly flushOutbox = (): void => {
    this.flushScheduled = false;
    const batches = [...this.full.splice(0), ...this.outbox.values()];
    this.outbox.clear();
    for (const batch of batches) void this.sendBatch(batch);
  };

  /** One round trip: the bus-send script. */
  private async sendBatch(batch: Batch): Promise<void> {
    let refused: ReadonlySet<number>;
    try {
      if (this.client.status !== 'ready') throw unreachable(this.client);
      const outcome = await (await this.loadedScripts()).run('bus-send-2', [this.keys.nodeInbox(batch.node), this.keys.nodeMoved(batch.node)], [ENVELOPE_VERSION, ...batch.args]);
      refused = new Set(!outcome.rejected && Array.isArray(outcome.value) ? (outcome.value as number[]) : []);
    } catch (error) {
      batch.reject(error);
      return;
    }
    batch.resolve(refused);
  }

  private loadedScripts(): Promise<Scripts> {
    this.scripts ??= loadScripts(this.client);
    return this.scripts;
  }

  /**
   * One taker at a time per inbox (sweeps on several nodes may overlap), and each entry is
   * deleted as it is taken, so an envelope is re-routed once. What arrives after the last read is
   * left for the next sweep to take (liveness.recentlyEvicted).
   */
  async takeInbox(node: string, inbox: NodeInbox): Promise<number> {
    const key = this.keys.nodeInbox(node);
    const lock = this.keys.takeInboxLock(node);
    const owner = `${this.nodeId}:${Date.now()}:${Math.random()}`;
    if ((await this.client.set(lock, owner, 'PX', TAKE_INBOX_LOCK_MS, 'NX')) !== 'OK') return 0;
    let handled = 0;
    try {
      for (;;) {
        const entries = (await this.client.xrange(key, '-', '+', 'COUNT', BATCH)) as StreamEntries;
        for (const [id, fields] of entries) {
          // Claimed before it is handled: the inbox's own node, back from a freeze, may be
          // reading the same entry (it claims too), and exactly one of the two may handle it.
          if ((await this.client.xdel(key, id)) !== 1) continue;
          const envelope = decodeEnvelope(fields);
          if (envelope) {
            await this.handle(inbox, envelope);
            handled += 1;
          }
        }
        if (entries.length < BATCH) break;
      }
      if ((await this.client.xlen(key)) === 0) await this.client.del(key);
    } finally {
      if ((await this.client.get(lock)) === owner) await this.client.del(lock);
    }
    return handled;
  }

  async takeFor(node: string, resources: readonly TakenResource[]): Promise<BusEnvelope[]> {
    if (resources.length === 0) return [];
    const args = resources.flatMap(({ to, sessionId }) => [to, sessionId ?? '']);
    const outcome = await (await this.loadedScripts()).run('bus-take-2', [this.keys.nodeInbox(node), this.keys.nodeMoved(node)], args);
    const flat = outcome.rejected ? [] : (outcome.value as string[]);
    const envelopes: BusEnvelope[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const envelope = decodeEnvelope(['v', flat[i] as string, 'e', flat[i + 1] as string]);
      if (!envelope || this.seen.has(envelope.id)) continue;
      // Taken from this node's own inbox: its read loop, which may hold it already, leaves it.
      if (node === this.nodeId) this.seen.add(envelope.id);
      envelopes.push(envelope);
    }
    return envelopes;
  }

  async close(): Promise<void> {
    this.running = false;
    this.reader?.disconnect();
    await this.loop?.catch(() => {});
    this.reader = undefined;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.client.xgroup('CREATE', this.keys.nodeInbox(this.nodeId), GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  private async readLoop(inbox: NodeInbox): Promise<void> {
    const key = this.keys.nodeInbox(this.nodeId);
    // First what a previous process with this node id read but never acknowledged (its entries
    // stay pending until acknowledged, so this reads from just after the last one it handled).
    let history: string | undefined = '0';
    // The next batch, asked for while this one is delivered (new entries only: history is read
    // one batch after the other, since its acknowledgements move the cursor).
    let ahead: Promise<StreamReply> | undefined;
    while (this.running) {
      try {
        const next = ahead ?? this.read(key, history ?? '>');
        ahead = undefined;
        const reply: StreamReply = await next;
        const entries: StreamEntries = reply?.[0]?.[1] ?? [];
        if (history !== undefined) {
          if (entries.length === 0) {
            history = undefined;
            continue;
          }
          history = entries[entries.length - 1]?.[0] ?? history;
        } else if (entries.length > 0 && this.running) {
          ahead = this.read(key, '>');
          // Awaited on the next turn of the loop; not reported twice if this one fails.
          ahead.catch(() => undefined);
        }
        if (entries.length === 0) continue;
        const contested = this.options.mayBeEvicted?.() === true;
        if (contested) await this.options.heartbeatVerdict?.();
        const ids: string[] = [];
        for (const [id, fields] of entries) {
          ids.push(id);
          if (contested && (await this.client.xdel(key, id)) !== 1) continue;
          const envelope = decodeEnvelope(fields);
          if (envelope) await this.handle(inbox, envelope);
        }
        await (await this.loadedScripts()).run('bus-ack-1', [key], [GROUP, ...ids]);
      } catch (error) {
        if (!this.running) return;
        if (String((error as Error).message).includes('NOGROUP')) {
          await this.ensureGroup().catch((err: unknown) => this.options.onError?.(err));
        } else {
          this.options.onError?.(error);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private async read(key: string, cursor: string): Promise<StreamReply> {
    return (await (this.reader as RedisClient).xreadgroup(
      'GROUP', GROUP, this.nodeId, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', key, cursor,
    )) as StreamReply;
  }

  /** Handles an envelope once per id; a failing handler is reported, not retried forever. */
  private async handle(inbox: NodeInbox, envelope: BusEnvelope): Promise<void> {
    if (this.seen.has(envelope.id)) return;
    this.seen.add(envelope.id);
    try {
      await inbox.receive(envelope);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}

/**
 * The ids of the envelopes handled lately (the last 25 000 to 50 000), in two generations: a
 * lookup is two Set probes, and forgetting is dropping the older generation.
 */
class RecentIds {
  private current = new Set<string>();
  private previous = new Set<string>();

  constructor(private readonly generation: number) {}

  has(id: string): boolean {
    return this.current.has(id) || this.previous.has(id);
  }

  add(id: string): void {
    if (this.current.size >= this.generation) {
      this.previous = this.current;
      this.current = new Set();
    }
    this.current.add(id);
  }
}

function unreachable(client: RedisClient): RedisStateError {
  return new RedisStateError('ROOKERY_REDIS_UNREACHABLE', `Redis is ${client.status}`);
}

/** The envelope of a stream entry, or undefined for one this version cannot read. */
export function decodeEnvelope(fields: string[] | null): BusEnvelope | undefined {
  // An entry deleted after it was delivered (taken by another node) reads back without fields.
  if (!fields) return undefined;
  // The last value of a field counts, should one repeat.
  let versionField: string | undefined;
  let data: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'v') versionField = fields[i + 1];
    else if (fields[i] === 'e') data = fields[i + 1];
  }
  const version = Number(versionField);
  if (version !== ENVELOPE_VERSION && version !== ENVELOPE_VERSION - 1) return undefined;
  try {
    const envelope = JSON.parse(data ?? '') as BusEnvelope;
    if (envelope.kind === 'stanza' && typeof envelope.to === 'string' && typeof envelope.xml === 'string') {
      if (envelope.sid !== undefined && typeof envelope.sid !== 'string') delete envelope.sid;
      if (envelope.push === undefined || isStatePush(envelope.push)) return envelope;
      // A push we cannot read is delivered as a plain stanza, as a previous release would.
      const { push: _unreadable, ...plain } = envelope;
      return plain;
    }
    if (envelope.kind === 'kick' && typeof envelope.to === 'string' && typeof envelope.sessionId === 'string') {
      const { condition, text } = envelope;
      const known = condition === 'not-authorized' || condition === 'reset';
      return { kind: 'kick', id: envelope.id, to: envelope.to, sessionId: envelope.sessionId, ...(known ? { condition } : {}), ...(known && typeof text === 'string' ? { text } : {}) };
    }
    if (envelope.kind === 'takeover' && typeof envelope.to === 'string' && typeof envelope.sessionId === 'string') return envelope;
    if (envelope.kind === 'fanout' && Array.isArray(envelope.to) && envelope.to.every((to) => typeof to === 'string') && typeof envelope.xml === 'string') {
      if (envelope.sid !== undefined && typeof envelope.sid !== 'string') delete envelope.sid;
      return envelope;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function isStatePush(value: unknown): value is StatePush {
  if (typeof value !== 'object' || value === null) return false;
  const push = value as Record<string, unknown>;
  return (
    (push.state === 'roster' || push.state === 'blocklist') &&
    typeof push.version === 'number' &&
    Number.isSafeInteger(push.version) &&
    Array.isArray(push.keys) &&
    push.keys.every((key) => typeof key === 'string')
  );
}

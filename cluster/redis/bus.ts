// The node bus on Redis Streams: one inbox stream per node, read through a consumer group and
// acknowledged (and deleted) only after the envelope was handled, so nothing sent between nodes
// is lost while the receiver is busy, reconnecting or restarting. Sending is one XADD.
import type { BusEnvelope, NodeBus, NodeInbox } from '../../src/state/bus.js';
import { duplicateClient, type RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { Lru } from '../../src/state/cached/lru.js';

const GROUP = 'rookery';
/** Envelope schema version; a node reads this and the previous one. */
export const ENVELOPE_VERSION = 1;
const BATCH = 256;
const BLOCK_MS = 1000;
/** A drain taking longer than this loses its exclusivity (its node likely died meanwhile). */
const DRAIN_LOCK_MS = 60_000;

type StreamEntries = Array<[id: string, fields: string[]]>;
type StreamReply = Array<[key: string, entries: StreamEntries]> | null;

export interface RedisNodeBusOptions {
  onError?(error: unknown): void;
}

export class RedisNodeBus implements NodeBus {
  private reader: RedisClient | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly seen = new Lru<string, true>(50_000);

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

  /** Fails at once while the connection is down, rather than waiting in ioredis's queue: the caller holds the envelope (PendingBus). */
  async send(node: string, envelope: BusEnvelope): Promise<void> {
    if (this.client.status !== 'ready') throw new RedisStateError('ROOKERY_REDIS_UNREACHABLE', `Redis is ${this.client.status}`);
    await this.client.xadd(this.keys.nodeInbox(node), '*', 'v', String(ENVELOPE_VERSION), 'e', JSON.stringify(envelope));
  }

  /**
   * One drainer at a time per inbox (sweeps on several nodes may overlap), and each entry is
   * deleted once handled, so an envelope is re-routed once. What arrives after the last read is
   * left for the next sweep's drain (liveness.recentlyEvicted).
   */
  async drain(node: string, inbox: NodeInbox): Promise<number> {
    const key = this.keys.nodeInbox(node);
    const lock = this.keys.nodeDrainLock(node);
    const owner = `${this.nodeId}:${Date.now()}:${Math.random()}`;
    if ((await this.client.set(lock, owner, 'PX', DRAIN_LOCK_MS, 'NX')) !== 'OK') return 0;
    let handled = 0;
    try {
      for (;;) {
        const entries = (await this.client.xrange(key, '-', '+', 'COUNT', BATCH)) as StreamEntries;
        for (const [id, fields] of entries) {
          const envelope = decodeEnvelope(fields);
          if (envelope) {
            await this.handle(inbox, envelope);
            handled += 1;
          }
          await this.client.xdel(key, id);
        }
        if (entries.length < BATCH) break;
      }
      if ((await this.client.xlen(key)) === 0) await this.client.del(key);
    } finally {
      if ((await this.client.get(lock)) === owner) await this.client.del(lock);
    }
    return handled;
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
    // First what a previous process with this node id read but never acknowledged.
    let cursor = '0';
    while (this.running) {
      try {
        const reply = (await (this.reader as RedisClient).xreadgroup(
          'GROUP', GROUP, this.nodeId, 'COUNT', BATCH, 'BLOCK', BLOCK_MS, 'STREAMS', key, cursor,
        )) as StreamReply;
        const entries = reply?.[0]?.[1] ?? [];
        if (cursor === '0' && entries.length === 0) cursor = '>';
        if (entries.length === 0) continue;
        const ids: string[] = [];
        for (const [id, fields] of entries) {
          const envelope = decodeEnvelope(fields);
          if (envelope) await this.handle(inbox, envelope);
          ids.push(id);
        }
        if (cursor === '0') cursor = entries[entries.length - 1]?.[0] ?? cursor;
        await this.client.multi().xack(key, GROUP, ...ids).xdel(key, ...ids).exec();
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

  /** Handles an envelope once per id; a failing handler is reported, not retried forever. */
  private async handle(inbox: NodeInbox, envelope: BusEnvelope): Promise<void> {
    if (this.seen.get(envelope.id)) return;
    this.seen.set(envelope.id, true);
    try {
      await inbox.receive(envelope);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}

/** The envelope of a stream entry, or undefined for one this version cannot read. */
export function decodeEnvelope(fields: string[]): BusEnvelope | undefined {
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i] as string, fields[i + 1] as string);
  const version = Number(values.get('v'));
  if (version !== ENVELOPE_VERSION && version !== ENVELOPE_VERSION - 1) return undefined;
  try {
    const envelope = JSON.parse(values.get('e') ?? '') as BusEnvelope;
    if (envelope.kind === 'stanza' && typeof envelope.to === 'string' && typeof envelope.xml === 'string') return envelope;
    if (envelope.kind === 'kick' && typeof envelope.to === 'string' && typeof envelope.sessionId === 'string') {
      const { condition, text } = envelope;
      const known = condition === 'not-authorized' || condition === 'reset';
      return { kind: 'kick', id: envelope.id, to: envelope.to, sessionId: envelope.sessionId, ...(known ? { condition } : {}), ...(known && typeof text === 'string' ? { text } : {}) };
    }
    if (envelope.kind === 'takeover' && typeof envelope.to === 'string' && typeof envelope.sessionId === 'string') return envelope;
  } catch {
    return undefined;
  }
  return undefined;
}

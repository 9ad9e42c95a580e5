// In-process ResumptionStore.
import { Delivered } from '../delivered.js';
import type { QueuedStanza, ResumptionRecord, ResumptionSnapshot, ResumptionStore } from '../resumption.js';

interface Stream {
  record: ResumptionRecord;
  queue: QueuedStanza[];
  delivered: Delivered;
}

export class MemoryResumptionStore implements ResumptionStore {
  private readonly streams = new Map<string, Stream>();

  async create(user: string, record: ResumptionRecord): Promise<void> {
    this.streams.set(key(user, record.token), { record: { ...record }, queue: [], delivered: new Delivered() });
  }

  async append(user: string, token: string, node: string, stanza: QueuedStanza, epoch?: number): Promise<boolean> {
    const stream = this.streams.get(key(user, token));
    if (!stream || stream.record.owner !== node) return false;
    if (epoch !== undefined && (stream.record.epoch ?? 0) > epoch) return false;
    if (!stream.delivered.admit(stanza.id)) return true;
    const seq = stanza.seq === 0 ? stream.record.sent + 1 : stanza.seq;
    stream.queue.push({ ...stanza, seq });
    stream.record.sent = seq;
    return true;
  }

  async ack(user: string, token: string, acked: number, inbound: number): Promise<void> {
    const stream = this.streams.get(key(user, token));
    if (!stream) return;
    stream.queue = stream.queue.filter((stanza) => stanza.seq > acked);
    stream.record.acked = Math.max(stream.record.acked, acked);
    stream.record.inbound = Math.max(stream.record.inbound, inbound);
  }

  async detach(user: string, token: string, owner: string, inbound: number, at: number, expectedOwner?: string): Promise<boolean> {
    const stream = this.streams.get(key(user, token));
    if (!stream || (expectedOwner !== undefined && stream.record.owner !== expectedOwner)) return false;
    stream.record.owner = owner;
    stream.record.inbound = Math.max(stream.record.inbound, inbound);
    stream.record.detached_at = at;
    return true;
  }

  async takeOver(user: string, token: string, node: string, options: { onlyIfDetached?: boolean } = {}): Promise<ResumptionSnapshot | undefined> {
    const stream = this.streams.get(key(user, token));
    if (!stream || (options.onlyIfDetached === true && stream.record.detached_at === 0)) return undefined;
    stream.record.owner = node;
    stream.record.detached_at = 0;
    stream.record.epoch = (stream.record.epoch ?? 0) + 1;
    return { record: { ...stream.record }, queue: stream.queue.map((stanza) => ({ ...stanza })), delivered: stream.delivered.entries() };
  }

  async setSession(user: string, token: string, sessionId: string): Promise<void> {
    const stream = this.streams.get(key(user, token));
    if (stream) stream.record.session_id = sessionId;
  }

  async get(user: string, token: string): Promise<ResumptionRecord | undefined> {
    const stream = this.streams.get(key(user, token));
    return stream ? { ...stream.record } : undefined;
  }

  async delete(user: string, token: string): Promise<void> {
    this.streams.delete(key(user, token));
  }
}

function key(user: string, token: string): string {
  return `${user}\n${token}`;
}

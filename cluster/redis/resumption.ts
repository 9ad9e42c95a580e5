// ResumptionStore on Redis: per stream a hash (the record) and a list (the unacked queue), under the
// account's hash tag. append, ack and takeOver are scripts, so ownership is checked and the
// queue changed in one step.
import type { QueuedStanza, ResumptionRecord, ResumptionSnapshot, ResumptionStore } from '../../src/state/resumption.js';
import type { RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import type { Scripts } from './scripts.js';

const RECORD_VERSION = '1';

export class RedisResumptionStore implements ResumptionStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async create(user: string, record: ResumptionRecord): Promise<void> {
    const state = this.keys.smState(user, record.token);
    await this.client
      .multi()
      .del(state, this.keys.smQueue(user, record.token), this.keys.smDelivered(user, record.token))
      .hset(state, { v: RECORD_VERSION, ...stringify(record) })
      .exec();
  }

  async append(user: string, token: string, node: string, stanza: QueuedStanza, epoch?: number): Promise<boolean> {
    const keys = [this.keys.smState(user, token), this.keys.smQueue(user, token), this.keys.smDelivered(user, token)];
    const outcome = await this.scripts.run('sm-append-3', keys, [node, stanza.seq, stanza.xml, stanza.stamp, stanza.id ?? '', epoch ?? '']);
    return !outcome.rejected;
  }

  async ack(user: string, token: string, acked: number, inbound: number): Promise<void> {
    await this.scripts.run('sm-ack-2', [this.keys.smState(user, token), this.keys.smQueue(user, token)], [acked, inbound]);
  }

  async detach(user: string, token: string, owner: string, inbound: number, at: number, expectedOwner?: string): Promise<boolean> {
    // One script: a missing hash is not recreated, and the owner check and the change are one step.
    const outcome = await this.scripts.run('sm-detach-1', [this.keys.smState(user, token)], [owner, inbound, at, expectedOwner ?? '*']);
    return !outcome.rejected;
  }

  async takeOver(user: string, token: string, node: string, options: { onlyIfDetached?: boolean } = {}): Promise<ResumptionSnapshot | undefined> {
    const state = this.keys.smState(user, token);
    const keys = [state, this.keys.smQueue(user, token), this.keys.smDelivered(user, token)];
    const outcome = await this.scripts.run('sm-takeover-3', keys, [node, options.onlyIfDetached ? '1' : '0']);
    if (outcome.rejected) return undefined;
    const [flat, queue, delivered] = outcome.value as [string[], string[], string[]];
    return { record: parseRecord(pairs(flat), state), queue: queue.map((item) => parseQueued(item, state)), delivered: pairs(delivered) };
  }

  async setSession(user: string, token: string, sessionId: string): Promise<void> {
    const state = this.keys.smState(user, token);
    if (await this.client.exists(state)) await this.client.hset(state, 'session_id', sessionId);
  }

  async get(user: string, token: string): Promise<ResumptionRecord | undefined> {
    const state = this.keys.smState(user, token);
    const fields = await this.client.hgetall(state);
    return Object.keys(fields).length === 0 ? undefined : parseRecord(fields, state);
  }

  async delete(user: string, token: string): Promise<void> {
    await this.client.del(this.keys.smState(user, token), this.keys.smQueue(user, token), this.keys.smDelivered(user, token));
  }
}

function stringify(record: ResumptionRecord): Record<string, string> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, String(value)]));
}

function pairs(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
  return fields;
}

function parseRecord(fields: Record<string, string>, where: string): ResumptionRecord {
  if (fields.v !== RECORD_VERSION || fields.token === undefined || fields.full_jid === undefined || fields.session_id === undefined) {
    throw new RedisStateError('ROOKERY_REDIS_CORRUPT', `${where}: not a stream management record`);
  }
  const number = (name: string): number => Number(fields[name] ?? 0);
  return {
    token: fields.token,
    full_jid: fields.full_jid,
    session_id: fields.session_id,
    owner: fields.owner ?? '',
    inbound: number('inbound'),
    acked: number('acked'),
    sent: number('sent'),
    detached_at: number('detached_at'),
    epoch: number('epoch'),
  };
}

function parseQueued(text: string, where: string): QueuedStanza {
  const item = JSON.parse(text) as Partial<QueuedStanza>;
  if (typeof item.seq !== 'number' || typeof item.xml !== 'string' || typeof item.stamp !== 'number') {
    throw new RedisStateError('ROOKERY_REDIS_CORRUPT', `${where}: bad queued stanza`);
  }
  return { seq: item.seq, xml: item.xml, stamp: item.stamp, ...(typeof item.id === 'string' ? { id: item.id } : {}) };
}

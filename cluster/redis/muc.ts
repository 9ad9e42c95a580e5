// MucStore on Redis: each room's keys on the room's hash tag (keys.ts), read with room-read-2,
// changed with room-commit-4 (optimistic: a decision made on a version another node has since
// changed is decided again), a groupchat message checked and recorded with room-message-4.
import type { HistoryEntry, MessageOutcome, MucStore, Occupant, Recipient, RoomDecision, RoomRecord, RoomSnapshot } from '../../src/state/muc.js';
import { bareOf } from '../../src/xmpp/jid-string.js';
import { scanKeys, type RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { integerReply, type Scripts } from './scripts.js';

/** Decisions retried this often under contention before the store gives up. */
const MAX_ATTEMPTS = 50;

export class RedisMucStore implements MucStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyBuilder,
    private readonly scripts: Scripts,
  ) {}

  async get(room: string): Promise<RoomSnapshot | undefined> {
    const outcome = await this.scripts.run('room-read-2', [this.keys.roomState(room), this.keys.roomOccupants(room)], []);
    const reply = outcome.rejected ? [] : (outcome.value as string[]);
    if (reply.length < 2) return undefined;
    const occupants = new Map<string, Occupant>();
    for (let i = 2; i + 1 < reply.length; i += 2) occupants.set(reply[i] as string, decode<Occupant>(reply[i + 1] as string));
    return { version: Number(reply[0]), record: decode<RoomRecord>(reply[1] as string), occupants };
  }

  async transact<T>(room: string, decide: RoomDecision<T>): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const before = await this.get(room);
      const { change, value } = decide(before);
      if (!change) return value;
      const puts = (change.put ?? []).flatMap((occupant) => [occupant.nick, JSON.stringify(occupant)]);
      const removes = change.remove ?? [];
      const args = [before?.version ?? 0, change.record ? JSON.stringify(change.record) : '', change.destroy ? '1' : '0', removes.length, ...removes, ...puts];
      const outcome = await this.scripts.run('room-commit-4', this.roomKeys(room), args);
      if (!outcome.rejected) {
        integerReply('room-commit-4', outcome);
        return value;
      }
    }
    throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `Room ${room} changed ${MAX_ATTEMPTS} times while a change was decided`);
  }

  async message(room: string, real: string, entry: HistoryEntry, historyLength: number): Promise<MessageOutcome> {
    const outcome = await this.scripts.run('room-message-4', this.roomKeys(room), [real, JSON.stringify(entry), Math.max(0, Math.floor(historyLength))]);
    const reply = outcome.rejected ? [] : (outcome.value as string[]);
    const status = reply[0];
    if (status === 'no-room' || status === 'not-occupant' || status === 'no-voice') return { ok: false, reason: status };
    if (status !== 'ok') throw new RedisStateError('ROOKERY_REDIS_SCRIPT', `room-message-4 answered ${String(status)}`);
    const recipients: Recipient[] = [];
    for (let i = 3; i + 1 < reply.length; i += 2) {
      const [nick, node] = decode<[string, string]>(reply[i + 1] as string);
      recipients.push({ jid: reply[i] as string, nick, node });
    }
    return { ok: true, nick: reply[1] as string, recipients, recordVersion: String(reply[2]) };
  }

  async history(room: string): Promise<HistoryEntry[]> {
    return (await this.client.lrange(this.keys.roomHistory(room), 0, -1)).map((json) => decode<HistoryEntry>(json));
  }

  async *rooms(): AsyncIterable<string> {
    for await (const key of scanKeys(this.client, this.keys.roomPattern())) {
      const room = this.keys.roomOf(key);
      if (room !== undefined) yield room;
    }
  }

  async markJoined(real: string, room: string): Promise<void> {
    await this.client.sadd(this.keys.mucRooms(bareOf(real)), JSON.stringify([real, room]));
  }

  async markLeft(real: string, room: string): Promise<void> {
    await this.client.srem(this.keys.mucRooms(bareOf(real)), JSON.stringify([real, room]));
  }

  async roomsOf(real: string): Promise<string[]> {
    const members = await this.client.smembers(this.keys.mucRooms(bareOf(real)));
    return members.map((json) => decode<[string, string]>(json)).filter(([jid]) => jid === real).map(([, room]) => room);
  }

  private roomKeys(room: string): string[] {
    return [this.keys.roomState(room), this.keys.roomOccupants(room), this.keys.roomReals(room), this.keys.roomHistory(room)];
  }
}

function decode<T>(json: string): T {
  try {
    return JSON.parse(json) as T;
  } catch {
    throw new RedisStateError('ROOKERY_REDIS_CORRUPT', 'A stored room value cannot be decoded');
  }
}

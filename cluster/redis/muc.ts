// MucStore on Redis: each room's keys on the room's hash tag (keys.ts), read with room-read-2,
// changed with room-commit-4 (optimistic: a decision made on a version another node has since
// changed is decided again), a groupchat message checked and recorded with room-message-4. The
// directory of listed rooms is on each domain's own tag (room-list-2, room-page-2): another slot,
// so it is written after the room's commit, and read back until the two agree.
import { type DirectoryPage, type DirectoryQuery, type HistoryEntry, listed, type MessageOutcome, type MucStore, type Occupant, type Recipient, type RoomDecision, type RoomRecord, type RoomSnapshot } from '../../src/state/muc.js';
import { bareOf, domainOf } from '../../src/xmpp/jid-string.js';
import { scanKeys, type RedisClient } from './connection.js';
import { RedisStateError } from './errors.js';
import type { KeyBuilder } from './keys.js';
import { integerReply, type Scripts } from './scripts.js';

/** Decisions retried this often under contention before the store gives up. */
const MAX_ATTEMPTS = 50;
/** Writes of a room's directory entry before giving up (each means its record changed meanwhile). */
const LISTING_ROUNDS = 5;

export class RedisMucStore implements MucStore {
  /** Per room, the end of this node's queue of decisions. */
  private readonly deciding = new Map<string, Promise<unknown>>();

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

  /**
   * One decision per room at a time on this node: racing joins to a busy room would otherwise
   * keep invalidating each other's reads, and an unlucky one could lose every round. Only the
   * other nodes contend, and a lost round waits a random moment before it reads again.
   */
  transact<T>(room: string, decide: RoomDecision<T>): Promise<T> {
    const previous = this.deciding.get(room) ?? Promise.resolve();
    const mine = previous.then(() => this.decideAndCommit(room, decide));
    const tail = mine.catch(() => undefined);
    this.deciding.set(room, tail);
    void tail.then(() => {
      if (this.deciding.get(room) === tail) this.deciding.delete(room);
    });
    return mine;
  }

  private async decideAndCommit<T>(room: string, decide: RoomDecision<T>): Promise<T> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
      const before = await this.get(room);
      const { change, value } = decide(before);
      if (!change) return value;
      const puts = (change.put ?? []).flatMap((occupant) => [occupant.nick, JSON.stringify(occupant)]);
      const removes = change.remove ?? [];
      const vcard = change.vcard === undefined ? '' : change.vcard === null ? '-' : change.vcard;
      const args = [before?.version ?? 0, change.record ? JSON.stringify(change.record) : '', change.destroy ? '1' : '0', vcard, removes.length, ...removes, ...puts];
      const outcome = await this.scripts.run('room-commit-4', this.roomKeys(room), args);
      if (!outcome.rejected) {
        integerReply('room-commit-4', outcome);
        // The change is committed whatever happens to its directory entry: a failed write leaves
        // the entry as it was until the room's record changes again.
        if (change.record || change.destroy) await this.list(room).catch(() => undefined);
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

  async directory(domain: string, query: DirectoryQuery): Promise<DirectoryPage> {
    const [mode, at] = query.after !== undefined ? ['after', query.after] : query.before !== undefined ? ['before', query.before] : ['index', query.index ?? 0];
    const keys = [this.keys.mucDirectory(domain), this.keys.mucDirectoryNames(domain)];
    const outcome = await this.scripts.run('room-page-2', keys, [Math.max(0, Math.floor(query.max)), mode, mode === 'index' ? Math.max(0, Math.floor(Number(at))) : at]);
    const reply = outcome.rejected ? [] : (outcome.value as Array<string | number>);
    const rooms: DirectoryPage['rooms'] = [];
    for (let i = 2; i + 1 < reply.length; i += 2) rooms.push({ jid: String(reply[i]), name: String(reply[i + 1]) });
    return { rooms, index: Number(reply[1] ?? 0), count: Number(reply[0] ?? 0) };
  }

  async vcard(room: string): Promise<string | undefined> {
    const [record, vcard] = await this.client.hmget(this.keys.roomState(room), 'record', 'vcard');
    return record === null ? undefined : vcard ?? undefined;
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

  /**
   * Writes the room's directory entry as its record now says, then reads the record again:
   * another node's commit may have landed in between, and the last writer is the one that sees
   * the record unchanged after its write.
   */
  private async list(room: string): Promise<void> {
    const domain = domainOf(room);
    const keys = [this.keys.mucDirectory(domain), this.keys.mucDirectoryNames(domain)];
    let entry = await this.listing(room);
    for (let round = 0; round < LISTING_ROUNDS; round += 1) {
      await this.scripts.run('room-list-2', keys, [room, entry === undefined ? '0' : '1', entry ?? '']);
      const now = await this.listing(room);
      if (now === entry) return;
      entry = now;
    }
  }

  /** The room's name if it is listed, else undefined. */
  private async listing(room: string): Promise<string | undefined> {
    const json = await this.client.hget(this.keys.roomState(room), 'record');
    if (json === null) return undefined;
    const record = decode<RoomRecord>(json);
    return listed(record) ? record.config.name : undefined;
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

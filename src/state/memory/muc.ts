// In-process MucStore: rooms in maps; a decision runs and commits without awaiting, so it is
// atomic, and the directory of listed rooms follows each commit at once.
import { domainOf } from '../../xmpp/jid-string.js';
import { applyChange, compareJids, type DirectoryPage, type DirectoryQuery, type HistoryEntry, listed, messageCheck, type MessageOutcome, type MucStore, pageOf, type RoomDecision, type RoomRecord, type RoomSnapshot } from '../muc.js';

/** Where the room records live: in memory here; the durable store keeps them in SQLite. */
export interface RoomRecords {
  load(room: string): RoomRecord | undefined;
  save(room: string, record: RoomRecord | undefined): void;
  list(): string[];
  history(room: string): HistoryEntry[];
  append(room: string, entry: HistoryEntry, historyLength: number): void;
  vcard(room: string): string | undefined;
  /** Replaces the room's vCard; undefined removes it (so does `save(room, undefined)`). */
  saveVcard(room: string, xml: string | undefined): void;
  /** Resolves once what was written is durable (the embedded store's fsync); at once in memory. */
  settle(): Promise<void>;
}

export class MemoryRoomRecords implements RoomRecords {
  private readonly records = new Map<string, RoomRecord>();
  private readonly histories = new Map<string, HistoryEntry[]>();
  private readonly vcards = new Map<string, string>();

  load(room: string): RoomRecord | undefined {
    return this.records.get(room);
  }

  save(room: string, record: RoomRecord | undefined): void {
    if (record) {
      this.records.set(room, record);
    } else {
      this.records.delete(room);
      this.histories.delete(room);
      this.vcards.delete(room);
    }
  }

  vcard(room: string): string | undefined {
    return this.vcards.get(room);
  }

  saveVcard(room: string, xml: string | undefined): void {
    if (xml === undefined) this.vcards.delete(room);
    else this.vcards.set(room, xml);
  }

  list(): string[] {
    return [...this.records.keys()];
  }

  history(room: string): HistoryEntry[] {
    return [...(this.histories.get(room) ?? [])];
  }

  append(room: string, entry: HistoryEntry, historyLength: number): void {
    const entries = this.histories.get(room) ?? [];
    entries.push(entry);
    if (entries.length > historyLength) entries.splice(0, entries.length - Math.max(0, historyLength));
    this.histories.set(room, entries);
  }

  async settle(): Promise<void> {}
}

/** Occupants are kept in memory by both in-process stores: they mean nothing after a restart. */
export class MemoryMucStore implements MucStore {
  private readonly live = new Map<string, Omit<RoomSnapshot, 'record'>>();
  private readonly joined = new Map<string, Set<string>>();
  /** Counts the records committed, over all rooms: each commit's token is new (MessageOutcome.recordVersion). */
  private readonly recordVersions = new Map<string, string>();
  private recordsCommitted = 0;
  /** Per domain, listed room JID → name; built from the records at the first directory read. */
  private listings: Map<string, Map<string, string>> | undefined;
  /** Per domain, the listed JIDs in order, until the next change of that domain's listing. */
  private readonly sorted = new Map<string, string[]>();

  constructor(private readonly records: RoomRecords = new MemoryRoomRecords()) {}

  async get(room: string): Promise<RoomSnapshot | undefined> {
    return this.snapshot(room);
  }

  async transact<T>(room: string, decide: RoomDecision<T>): Promise<T> {
    const before = this.snapshot(room);
    const { change, value } = decide(before);
    if (!change) return value;
    const after = applyChange(before, change);
    this.records.save(room, after?.record);
    if (after && change.vcard !== undefined) this.records.saveVcard(room, change.vcard ?? undefined);
    if (change.record || change.destroy) this.list(room, after?.record);
    if (change.record) this.recordVersions.set(room, String((this.recordsCommitted += 1)));
    if (after) this.live.set(room, { version: after.version, occupants: after.occupants });
    else this.live.delete(room);
    if (change.record || change.destroy) await this.records.settle();
    return value;
  }

  async message(room: string, real: string, entry: HistoryEntry, historyLength: number): Promise<MessageOutcome> {
    const snapshot = this.snapshot(room);
    const outcome = messageCheck(snapshot, real, this.recordVersions.get(room) ?? '0');
    if (outcome.ok) {
      this.records.append(room, { ...entry, nick: outcome.nick, v: snapshot?.version ?? 0 }, historyLength);
      await this.records.settle();
    }
    return outcome;
  }

  async history(room: string): Promise<HistoryEntry[]> {
    return this.records.history(room);
  }

  async *rooms(): AsyncIterable<string> {
    yield* this.records.list();
  }

  async directory(domain: string, query: DirectoryQuery): Promise<DirectoryPage> {
    const names = this.listingsOf(domain);
    let jids = this.sorted.get(domain);
    if (!jids) {
      jids = [...names.keys()].sort(compareJids);
      this.sorted.set(domain, jids);
    }
    const { start, end } = pageOf(jids, query);
    return { rooms: jids.slice(start, end).map((jid) => ({ jid, name: names.get(jid) ?? '' })), index: start, count: jids.length };
  }

  async vcard(room: string): Promise<string | undefined> {
    return this.records.load(room) ? this.records.vcard(room) : undefined;
  }

  async markJoined(real: string, room: string): Promise<void> {
    const rooms = this.joined.get(real) ?? new Set<string>();
    rooms.add(room);
    this.joined.set(real, rooms);
  }

  async markLeft(real: string, room: string): Promise<void> {
    const rooms = this.joined.get(real);
    rooms?.delete(room);
    if (rooms?.size === 0) this.joined.delete(real);
  }

  async roomsOf(real: string): Promise<string[]> {
    return [...(this.joined.get(real) ?? [])];
  }

  private listingsOf(domain: string): Map<string, string> {
    if (!this.listings) {
      this.listings = new Map();
      for (const room of this.records.list()) this.list(room, this.records.load(room));
    }
    let names = this.listings.get(domain);
    if (!names) {
      names = new Map();
      this.listings.set(domain, names);
    }
    return names;
  }

  /** Puts the room in its domain's listing, or takes it out, as its record says. */
  private list(room: string, record: RoomRecord | undefined): void {
    if (!this.listings) return;
    const domain = domainOf(room);
    const names = this.listings.get(domain) ?? new Map<string, string>();
    this.listings.set(domain, names);
    const before = names.get(room);
    if (record && listed(record)) names.set(room, record.config.name);
    else names.delete(room);
    if (before === undefined || names.get(room) === undefined) this.sorted.delete(domain);
  }

  private snapshot(room: string): RoomSnapshot | undefined {
    const record = this.records.load(room);
    if (!record) return undefined;
    const live = this.live.get(room);
    // A room kept across a restart goes on from its history's versions (HistoryEntry.v), so that
    // a newcomer's history is not cut at a version the room had before.
    const version = live?.version ?? Math.max(0, ...this.records.history(room).map((entry) => entry.v ?? 0));
    // Deep copies: a decision may build on the snapshot without touching the store.
    return structuredClone({ version, record, occupants: live?.occupants ?? new Map() });
  }
}

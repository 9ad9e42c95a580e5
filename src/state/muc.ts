// Multi-user chat rooms (XEP-0045) as shared state: no room lives in one process. A room is its
// record (configuration, affiliations, subject), its occupants and its discussion history.
// Occupancy is a shared record like a session's (doc/session-model.md, "Occupancy"): each
// occupant is a nick holding one or more real full JIDs, each with the node its session is on.

export type Role = 'moderator' | 'participant' | 'visitor' | 'none';
export type Affiliation = 'owner' | 'admin' | 'member' | 'outcast' | 'none';

/** The muc#roomconfig settings the service knows (XEP-0045 §10.2). */
export interface RoomConfig {
  name: string;
  description: string;
  persistent: boolean;
  public: boolean;
  membersOnly: boolean;
  /** Empty: no password. */
  password: string;
  moderated: boolean;
  maxOccupants: number;
  /** Who sees real JIDs: 'anyone' makes the room non-anonymous. */
  whois: 'moderators' | 'anyone';
  /** Messages kept as discussion history. */
  historyLength: number;
  allowPrivateMessages: 'anyone' | 'participants' | 'moderators' | 'none';
  /** Occupants (not only moderators) may change the subject. */
  changeSubject: boolean;
  /** Occupants (not only admins and owners) may invite. */
  allowInvites: boolean;
  /**
   * Groupchat messages go to the room's message archive (XEP-0313, Prosody's
   * muc#roomconfig_enablearchiving). Absent in rooms stored before archives: on, the default.
   */
  archiving?: boolean;
}

export interface Subject {
  text: string;
  nick: string;
  stamp: number;
}

export interface RoomRecord {
  config: RoomConfig;
  /** Bare JID → affiliation other than 'none'. */
  affiliations: Record<string, Affiliation>;
  subject?: Subject;
  /** A reserved room waiting for its owner's configuration (XEP-0045 §10.1.3): nobody else may enter. */
  locked: boolean;
  /** Random, per room: occupant ids (XEP-0421) are derived from it. */
  salt: string;
  created: number;
  /**
   * The SHA-1 (hex) of the photo in the room's vCard (XEP-0153, XEP-0486), committed with the
   * vCard (RoomChange.vcard); absent when the vCard has no photo or there is none.
   */
  avatar?: string;
}

/** One session of an occupant: its real full JID, the node that holds it, its presence (XML). */
export interface OccupantSession {
  jid: string;
  node: string;
  presence: string;
}

export interface Occupant {
  nick: string;
  /** The bare JID behind the nick: a nick is held by one account, from one or more sessions. */
  bare: string;
  role: Role;
  sessions: OccupantSession[];
}

export interface RoomSnapshot {
  /** Increases with every committed change of the room. */
  version: number;
  record: RoomRecord;
  /** By nick. */
  occupants: Map<string, Occupant>;
}

/**
 * What a decision writes: the record replaced whole, occupants replaced or removed by nick, the
 * room's vCard (XEP-0054 XML) replaced or removed (null), or the room destroyed (record,
 * occupants, history and vCard gone).
 */
export interface RoomChange {
  record?: RoomRecord;
  put?: Occupant[];
  remove?: string[];
  vcard?: string | null;
  destroy?: boolean;
}

/** Whether the room's messages are archived (XEP-0313): on unless its owner turned it off, as in Prosody (muc_log_by_default). */
export function archives(config: RoomConfig): boolean {
  return config.archiving ?? true;
}

/** Whether a room is in its domain's directory (XEP-0045 §6.3): public, and configured (not locked). */
export function listed(record: RoomRecord): boolean {
  return record.config.public && !record.locked;
}

/**
 * A page of a domain's directory of rooms, in the order of their JIDs (UTF-8 bytes, as Redis
 * orders them): XEP-0059's `after` and `before` name a room JID (one no longer listed still
 * marks a place), `before: ''` asks for the last page, `index` for a position.
 */
export interface DirectoryQuery {
  max: number;
  after?: string;
  before?: string;
  index?: number;
}

export interface DirectoryPage {
  /** Each room's JID and its configured name ('' when it has none). */
  rooms: Array<{ jid: string; name: string }>;
  /** The position of the first room in the whole directory. */
  index: number;
  /** The rooms in the whole directory of the domain. */
  count: number;
}

/** A message of the discussion history: the stanza as reflected, without its `from`. */
export interface HistoryEntry {
  nick: string;
  xml: string;
  stamp: number;
  /**
   * The room's version when `message` appended it (set by the store). An occupant whose entry a
   * `transact` committed at version V was among the recipients of every entry with v ≥ V, so its
   * history on entering holds only those below. Absent (entries of an earlier release): 0.
   */
  v?: number;
}

/** Who receives a groupchat message: each real full JID with its nick and node. */
export interface Recipient {
  jid: string;
  nick: string;
  node: string;
}

export type MessageOutcome =
  /**
   * `recordVersion` names the room's record (configuration, affiliations, subject) as of the
   * message: equal tokens mean equal records, and a record replaced by a different one gets a
   * new token (a room destroyed and created again too); occupants coming and going change
   * nothing. A node's copy of the record is current while the token it was read with is the one
   * a message reports.
   */
  | { ok: true; nick: string; recipients: Recipient[]; recordVersion: string }
  | { ok: false; reason: 'not-occupant' | 'no-voice' | 'no-room' };

/**
 * Decides a change from the room as it is (`undefined`: no such room). Returns the change to
 * commit and a value for the caller, or only a value to commit nothing. Must be pure: it may run
 * more than once when another node changed the room meanwhile.
 */
export type RoomDecision<T> = (room: RoomSnapshot | undefined) => { change?: RoomChange; value: T };

/**
 * Guarantees: `transact` is atomic per room — the decision sees one version of the room and its
 * change is committed only if the room is still at that version (otherwise it is decided again),
 * so joins, leaves, role, affiliation and configuration changes racing on different nodes never
 * lose an occupant nor leave one behind. `message` checks the sender and appends the history in
 * one atomic step (the entry tagged with the room's version, `HistoryEntry.v`), and returns the recipients and the record's version as of that step (a
 * record committed by a `transact` that finished before `message` began is reported by a new
 * number); the history keeps at most
 * `historyLength` entries (oldest out first). `rooms` lists without loading all at once.
 *
 * The index of a real JID's rooms (`markJoined`, `roomsOf`) is a secondary index, written apart
 * from the room: callers mark before joining and unmark after leaving, so it holds at least every
 * room the JID is in (a stale entry is harmless; the room itself is the truth).
 *
 * The directory (`directory`) lists each domain's rooms that are `listed`, kept by the store
 * from every committed record: in process, with the commit; on Redis, written right after it and
 * read back until room and directory agree, so once a room's changes stop its entry is right (a
 * node dying between a commit and its directory write, or a write that fails, leaves the entry as
 * it was until the room's record changes again). A room's vCard (`vcard`) is written with the record by
 * `transact` and goes with the room.
 *
 * Nothing expires. Linearizable per room.
 */
export interface MucStore {
  get(room: string): Promise<RoomSnapshot | undefined>;
  transact<T>(room: string, decide: RoomDecision<T>): Promise<T>;
  message(room: string, real: string, entry: HistoryEntry, historyLength: number): Promise<MessageOutcome>;
  /** Oldest first. */
  history(room: string): Promise<HistoryEntry[]>;
  /** Every room's JID (on all MUC domains). */
  rooms(): AsyncIterable<string>;
  /** A page of the domain's listed rooms. */
  directory(domain: string, query: DirectoryQuery): Promise<DirectoryPage>;
  /** The room's vCard (XML), if it has one. */
  vcard(room: string): Promise<string | undefined>;
  markJoined(real: string, room: string): Promise<void>;
  markLeft(real: string, room: string): Promise<void>;
  roomsOf(real: string): Promise<string[]>;
}

/** Whether the real JID is in the room, and under which nick. */
export function nickOf(room: RoomSnapshot, real: string): string | undefined {
  for (const occupant of room.occupants.values()) {
    if (occupant.sessions.some((session) => session.jid === real)) return occupant.nick;
  }
  return undefined;
}

/** Applies a change to a snapshot (the in-process implementations and the decision share it). */
export function applyChange(room: RoomSnapshot | undefined, change: RoomChange): RoomSnapshot | undefined {
  if (change.destroy) return undefined;
  const record = change.record ?? room?.record;
  if (!record) return undefined;
  const occupants = new Map(room?.occupants);
  for (const nick of change.remove ?? []) occupants.delete(nick);
  for (const occupant of change.put ?? []) occupants.set(occupant.nick, occupant);
  return { version: (room?.version ?? 0) + 1, record, occupants };
}

/** Recipients of a groupchat message, or why the sender may not send one. */
export function messageCheck(room: RoomSnapshot | undefined, real: string, recordVersion: string): MessageOutcome {
  if (!room) return { ok: false, reason: 'no-room' };
  const nick = nickOf(room, real);
  if (nick === undefined) return { ok: false, reason: 'not-occupant' };
  const role = room.occupants.get(nick)?.role;
  if (role !== 'moderator' && role !== 'participant') return { ok: false, reason: 'no-voice' };
  const recipients: Recipient[] = [];
  for (const occupant of room.occupants.values()) {
    for (const session of occupant.sessions) recipients.push({ jid: session.jid, nick: occupant.nick, node: session.node });
  }
  return { ok: true, nick, recipients, recordVersion };
}

/** UTF-8 byte order (Redis's lexicographic order), so every store pages rooms alike. */
export function compareJids(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The page a query asks for, out of every listed room's JID sorted by compareJids. */
export function pageOf(sorted: readonly string[], query: DirectoryQuery): { start: number; end: number } {
  const max = Math.max(0, Math.floor(query.max));
  const firstAbove = (jid: string, inclusive: boolean): number => {
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      const order = compareJids(sorted[middle] as string, jid);
      if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
      else high = middle;
    }
    return low;
  };
  if (query.after !== undefined) {
    const start = firstAbove(query.after, false);
    return { start, end: Math.min(sorted.length, start + max) };
  }
  if (query.before !== undefined) {
    const end = query.before === '' ? sorted.length : firstAbove(query.before, true);
    return { start: Math.max(0, end - max), end };
  }
  const start = Math.min(sorted.length, Math.max(0, Math.floor(query.index ?? 0)));
  return { start, end: Math.min(sorted.length, start + max) };
}

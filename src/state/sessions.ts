// The shared half of every connected resource (the session record of doc/session-model.md):
// what other nodes need to route to it. The socket half stays in the owning process.

export interface SessionRecord {
  full_jid: string;
  /** Node that owns the socket. */
  node: string;
  /** Unique per bind: guards against a replaced session's late writes. */
  session_id: string;
  /** The resource priority, default 0 (RFC 6121 §4.7.2.3). */
  priority: number;
  /** Last broadcast available presence as XML (with its <delay/>); absent = not an available resource. */
  presence?: string;
  /** Requested the roster: receives roster pushes (an interested resource). */
  interested: boolean;
  /** XEP-0280 carbons enabled. */
  carbons: boolean;
  /** Requested the XEP-0191 blocklist: receives blocklist pushes. */
  blocklist_interested: boolean;
  /** The XEP-0198 resumption token, while the stream is resumable. */
  sm_token?: string;
}

/** The `node` of a record whose resumable stream no node serves (drained or failed): stanzas for it are queued in the ResumptionStore. */
export const PARKED_NODE = '~parked';

/**
 * The `node` of an address that is no session of ours (a user of another server, over s2s, or
 * of a component), where a shared record names one (group chat occupancy): any node reaches it
 * through its router, none through the node bus.
 */
export const REMOTE_NODE = '~remote';

export type SessionPatch = Partial<Pick<SessionRecord, 'priority' | 'interested' | 'carbons' | 'blocklist_interested' | 'sm_token'>> & {
  /** null clears it (the resource becomes unavailable). */
  presence?: string | null;
};

/** What `claimWithin` did: stored (with the record it replaced, if any), or refused by the limit. */
export type ClaimOutcome = { claimed: true; replaced?: SessionRecord } | { claimed: false };

/** What `reassert` found: the record was missing, there (this bind's), or another bind's. */
export type ReassertOutcome = 'written' | 'kept' | 'replaced';

export interface ReadOptions {
  /**
   * Read the store itself, not this node's cache (the cache then holds what was read): for a
   * decision that must see another node's latest write, such as taking a stream over.
   */
  fresh?: boolean;
}

/**
 * Guarantees: `claim` is atomic — one full JID has at most one record, and of two racing
 * claims one replaces the other and is told so. `claimWithin` checks its limit in the same
 * atomic step, so racing claims never leave an account more records than the limit (a claim
 * that replaces the full JID's own record is never refused). `update` and `release` apply only while the
 * record still carries the caller's session_id, so a replaced session can never overwrite or
 * remove its successor. Records do not expire by themselves: a node removes its own on exit,
 * and the records of a node that died are removed through `byNode`.
 *
 * Staleness: a node may cache `get` and `resources` per account (state/cached/sessions.ts). Its
 * own writes are seen at once; another node's once that node's change notice arrives (the change
 * feed is pub/sub, at-most-once: a lost notice leaves the entry stale until it is evicted or the
 * feed resets). `{ fresh: true }` reads past the cache.
 */
export interface SessionRegistry {
  /** Stores the record, returning the one it replaced (to be kicked with <conflict/>). */
  claim(record: SessionRecord): Promise<SessionRecord | undefined>;
  /**
   * `claim`, unless the account already has `maxResources` records, none of them for this full
   * JID (RFC 6120 §7.6.2.1, resource-constraint): then nothing is stored.
   */
  claimWithin(record: SessionRecord, maxResources: number): Promise<ClaimOutcome>;
  update(fullJid: string, sessionId: string, patch: SessionPatch): Promise<boolean>;
  release(fullJid: string, sessionId: string): Promise<boolean>;
  /**
   * Writes back the record of a session its node still holds, after the store lost data (Redis
   * restarted empty, or failed over to a replica that lagged): 'written' when it was missing,
   * 'kept' when that bind's record was there (the node's view replaces it), 'replaced' when
   * another bind holds the full JID (the caller's session must end).
   */
  reassert(record: SessionRecord): Promise<ReassertOutcome>;
  get(fullJid: string, options?: ReadOptions): Promise<SessionRecord | undefined>;
  /** Every connected resource of one account (bare JID). */
  resources(bareJid: string, options?: ReadOptions): Promise<SessionRecord[]>;
  /**
   * The account's records as this node holds them already, with no read, no copy and no
   * promise (undefined when it holds none): for a path that looks at many accounts at once and
   * changes nothing (a PEP event's fan-out). As stale as `resources`.
   */
  peek?(bareJid: string): readonly Readonly<SessionRecord>[] | undefined;
  /** Every record a node owns. */
  byNode(node: string): AsyncIterable<SessionRecord>;
  /** Every record of the deployment, without loading them all at once. */
  all(): AsyncIterable<SessionRecord>;
  count(): Promise<number>;
  /** Drops what this node caches about the account, if it caches anything (before routing again). */
  invalidate?(bareJid: string): void;
  /**
   * True when each write that changes a record also publishes the account's change notice
   * (ChangeFeed, kind 'sessions') itself, after the write and in the same round trip: a cache
   * in front of the registry then publishes none of its own.
   */
  readonly publishesChanges?: boolean;
}

// Rosters and subscription state (RFC 6121 §2, §3; XEP-0237 versioning).

export type Subscription = 'none' | 'to' | 'from' | 'both';

export interface RosterItem {
  jid: string; // contact's bare JID
  name?: string;
  groups: string[];
  subscription: Subscription;
  /** Outbound subscription request pending (RFC 6121 §3.1.2 'ask'). */
  ask: boolean;
  /** Inbound subscription pre-approved (RFC 6121 §3.4). */
  approved: boolean;
}

/** One contact's entry: the roster item and/or a pending inbound request (the stanza as XML). */
export interface ContactEntry {
  item?: RosterItem;
  pendingIn?: string;
}

export interface RosterSnapshot {
  /** 0 for a roster never saved; every change adds one. */
  version: number;
  items: Map<string, RosterItem>;
  pendingIn: Map<string, string>;
}

/**
 * Guarantees: `compareAndSet` is atomic per account — it applies only if the contact's entry
 * still equals `expected`, and takes the next version number in the same step, so two writers
 * never lose an update or share a version. Reads are linearizable. Nothing expires.
 */
export interface RosterStore {
  load(user: string): Promise<RosterSnapshot>;
  /** The items alone, without pending requests or the version: what an event's fan-out reads (one read on Redis). */
  items(user: string): Promise<ReadonlyMap<string, RosterItem>>;
  entry(user: string, contact: string): Promise<ContactEntry>;
  /**
   * Writes `next` (an empty entry deletes the contact) if the stored entry equals `expected`.
   * Returns the new roster version, or undefined when the entry changed meanwhile.
   */
  compareAndSet(user: string, contact: string, expected: ContactEntry, next: ContactEntry): Promise<number | undefined>;
  version(user: string): Promise<number>;
  deleteAll(user: string): Promise<void>;
}

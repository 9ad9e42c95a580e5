// XEP-0160 offline message storage.

export interface StoredMessage {
  /** The stanza as XML, as routed (original `to` kept). */
  xml: string;
  /** Storage time, ms since the epoch (for XEP-0203 <delay/>). */
  stamp: number;
  /**
   * The stanza's stable identity (src/state/delivered.ts), when its sender's stream was
   * resumable: a copy routed again (a client's re-send after a resume, a bus envelope handled
   * twice) is not stored twice.
   */
  id?: string;
}

/**
 * Guarantees: `store` checks the limit and appends in one atomic step (a full store never takes
 * one more); a message whose `id` the account already holds is not stored again (true: it is
 * held), checked in the same step; `takeAll` removes and returns everything in one atomic step, in storage order, so a
 * message is handed out once. Messages do not expire.
 */
export interface OfflineStore {
  /** false when the account already holds `limit` messages. */
  store(user: string, message: StoredMessage, limit: number): Promise<boolean>;
  takeAll(user: string): Promise<StoredMessage[]>;
  /** The stored messages in storage order, left in place (for export). */
  peek(user: string): Promise<StoredMessage[]>;
  count(user: string): Promise<number>;
  deleteAll(user: string): Promise<void>;
}

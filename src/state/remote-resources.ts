// Resources of other servers' users, as an account of ours hears of them: the available presence
// a remote contact's resource sends the account (RFC 6121 §4.2.2), with the XEP-0115 caps it
// announces. The session registry knows only our own sessions; this is what lets the account's
// PEP events reach the remote resources that want them (XEP-0163 §4.3), as Prosody's mod_pep
// keeps `recipients` per account.

/**
 * Guarantees: `set` and `remove` are atomic per (account, resource), the last write wins. An
 * account holds at most `max` resources: a `set` of one more is refused (false), so a remote
 * server cannot grow the list without end. Not durable: the embedded store keeps the lists in
 * memory (a restart forgets them; a contact's next presence, or its answer to the account's
 * probe at login, brings them back); on Redis an account's list expires `ttlMs` after its last
 * `set` (a server that vanished without sending unavailable stops costing events).
 */
export interface RemoteResourceStore {
  /** Records the caps ver a remote full JID announced to `account`. */
  set(account: string, resource: string, ver: string, max: number, ttlMs: number): Promise<boolean>;
  remove(account: string, resource: string): Promise<void>;
  /** Forgets every resource of one remote contact (its bare JID). */
  removeContact(account: string, contact: string): Promise<void>;
  /** Remote full JID → caps ver. */
  list(account: string): Promise<Map<string, string>>;
}

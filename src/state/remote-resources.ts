// Resources an account knows of by the presence they sent it, beyond the broadcast the session
// registry shows: the available presence a remote contact's resource sends the account (RFC 6121
// §4.2.2), and the directed presence (§4.6) a resource of ours sends it, each with the XEP-0115
// caps it announced. This is what lets the account's PEP events reach those resources
// (XEP-0163 §4.3), as Prosody's mod_pep keeps `recipients` per account from the presence that
// reaches the account's bare JID.

/** What an account knows of one resource that sent it presence. */
export interface KnownResource {
  /** The XEP-0115 verification string it announced. */
  ver: string;
  /**
   * A resource of ours (directed presence): the session that sent it, so that a later session
   * of the same full JID, which sent nothing, does not count (its `session_id`, or the XEP-0198
   * token that a resumption on another node keeps).
   */
  session?: { id: string; token?: string };
}

/**
 * Guarantees: `set` and `remove` are atomic per (account, resource), the last write wins. An
 * account holds at most `max` resources: a `set` of one more is refused (false), so another
 * server or a client cannot grow the list without end. Not durable: the embedded store keeps the
 * lists in memory (a restart forgets them; a contact's next presence, or its answer to the
 * account's probe at login, brings them back); on Redis an account's list expires `ttlMs` after
 * its last `set` (a server that vanished without sending unavailable stops costing events).
 */
export interface RemoteResourceStore {
  /** Records what a full JID (another server's, or one of ours by directed presence) announced to `account`. */
  set(account: string, resource: string, known: KnownResource, max: number, ttlMs: number): Promise<boolean>;
  remove(account: string, resource: string): Promise<void>;
  /** Forgets every resource of one contact (its bare JID). */
  removeContact(account: string, contact: string): Promise<void>;
  /** Full JID → what it announced. */
  list(account: string): Promise<Map<string, KnownResource>>;
}

/**
 * The stored form: a remote resource's entry is its ver alone (as it always was, so that a node
 * of the previous release reads it); one of ours is JSON with a version field. A ver is base64,
 * so it never starts with `{`.
 */
export function encodeKnown(known: KnownResource): string {
  return known.session === undefined ? known.ver : JSON.stringify({ v: 1, ver: known.ver, session: known.session });
}

export function decodeKnown(stored: string): KnownResource | undefined {
  if (!stored.startsWith('{')) return { ver: stored };
  try {
    const decoded = JSON.parse(stored) as { ver?: unknown; session?: { id?: unknown; token?: unknown } };
    if (typeof decoded.ver !== 'string' || typeof decoded.session?.id !== 'string') return undefined;
    const token = decoded.session.token;
    return { ver: decoded.ver, session: { id: decoded.session.id, ...(typeof token === 'string' ? { token } : {}) } };
  } catch {
    return undefined;
  }
}

// XEP-0357 push registrations of an account (src/modules/push/), and the claim that makes one
// held message cause one push, whichever node held it.

/** One app server node a client enabled (XEP-0357 §5). */
export interface PushRegistration {
  /** The app server's JID (`jid` of <enable/>). */
  jid: string;
  /** The node on it (`node`; '' when the client gave none). */
  node: string;
  /** The publish-options data form (XML) sent with every notification, without our own fields. */
  options?: string;
  /** The client asked for the message body in the summary (modules/push: `include-body`). */
  includeBody: boolean;
  /** When it was enabled (ms): the oldest registration makes room past the limit. */
  since: number;
}

/**
 * Guarantees: every method is atomic per account. A (jid, node) pair is one registration: enabling
 * it again replaces it. An account holds at most `max` registrations; past it, the oldest is
 * dropped (as Prosody's `push_max_devices`). `claim` is the once-per-event rule: of all the calls
 * for one account and one event id within `ttlMs`, across the cluster, exactly one gets the
 * registrations (when there are any), the others get none.
 */
export interface PushStore {
  enable(user: string, registration: PushRegistration, max: number): Promise<void>;
  /** Disables one (jid, node), or with no node every registration of that jid; returns how many. */
  disable(user: string, jid: string, node?: string): Promise<number>;
  list(user: string): Promise<PushRegistration[]>;
  /** The registrations to notify of `event`, once: [] when there are none or it was claimed already. */
  claim(user: string, event: string, ttlMs: number): Promise<PushRegistration[]>;
  deleteAll(user: string): Promise<void>;
}

/** The field that names a registration in its account's set (a JID holds no newline). */
export function registrationKey(jid: string, node: string): string {
  return `${jid}\n${node}`;
}

/** The registrations left after adding `added` to `current`, the oldest dropped past `max`. */
export function bounded(current: readonly PushRegistration[], added: PushRegistration, max: number): PushRegistration[] {
  const key = registrationKey(added.jid, added.node);
  const others = current.filter((entry) => registrationKey(entry.jid, entry.node) !== key).sort((a, b) => a.since - b.since);
  return [...others.slice(Math.max(0, others.length - Math.max(0, max - 1))), added];
}

/** Event claims of one process, forgotten once expired (the memory and embedded stores). */
export class LocalEventClaims {
  private readonly claims = new Map<string, number>();

  claim(user: string, event: string, ttlMs: number, now = Date.now()): boolean {
    if (this.claims.size > 10_000) {
      for (const [key, until] of this.claims) if (until <= now) this.claims.delete(key);
    }
    const key = `${user}\n${event}`;
    if ((this.claims.get(key) ?? 0) > now) return false;
    this.claims.set(key, now + ttlMs);
    return true;
  }
}

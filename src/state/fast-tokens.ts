// XEP-0484 FAST tokens: per account and device (a hash of the client's XEP-0388 user-agent id),
// the current token and the one it replaced. The HT-* mechanisms key their HMAC with the token
// itself, so the store holds the secret (as Prosody's mod_sasl2_fast does); a password change or
// an account deletion deletes every token of the account (core/accounts.ts).

export interface FastToken {
  /** The HT-* mechanism it was issued for; it is accepted with no other (XEP-0484 §3.3). */
  mechanism: string;
  secret: string;
  /** Milliseconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
  /** The highest XEP-0484 count accepted so far (replay protection); 0 before its first use. */
  count: number;
}

export type FastSlot = 'current' | 'previous';

/** A device's tokens; absent when none, or expired. */
export interface FastTokens {
  current?: FastToken;
  previous?: FastToken;
}

/**
 * Guarantees: every method is atomic and linearizable per account, so any node accepts a token
 * another node issued, and a count is accepted at most once across the cluster. Tokens past
 * `expiresAt` are never returned nor accepted; storage is bounded by `maxDevices` per account.
 */
export interface FastTokenStore {
  /**
   * Issues `token` for the device: its current token becomes the previous one (a client that
   * missed the new token still logs in once with the old), the previous one is forgotten. An
   * account already holding `maxDevices` other devices loses the one whose token expires first.
   */
  issue(user: string, device: string, token: FastToken, maxDevices: number): Promise<void>;
  get(user: string, device: string, now: number): Promise<FastTokens>;
  /**
   * Records a use of the token in `slot` with this secret: false when it is no longer there or
   * expired, or `count` is not above the count stored (undefined: one above). A use of the current
   * token forgets the previous one (rotation is complete).
   */
  use(user: string, device: string, slot: FastSlot, secret: string, count: number | undefined, now: number): Promise<boolean>;
  /** Forgets the device's tokens (XEP-0484 invalidate). */
  revoke(user: string, device: string): Promise<void>;
  /** Forgets every token of the account (password change, deletion). */
  deleteAll(user: string): Promise<void>;
}

/** Applies a use to a device's tokens (the rule every implementation follows); undefined when refused. */
export function applyUse(tokens: FastTokens, slot: FastSlot, secret: string, count: number | undefined, now: number): FastTokens | undefined {
  const token = tokens[slot];
  if (!token || token.secret !== secret || token.expiresAt <= now) return undefined;
  const next = count ?? token.count + 1;
  if (!Number.isSafeInteger(next) || next <= token.count) return undefined;
  const used = { ...token, count: next };
  return slot === 'current' ? { current: used } : { ...tokens, previous: used };
}

/** Applies an issue: the new token is current, the current one previous. */
export function applyIssue(tokens: FastTokens, token: FastToken): FastTokens {
  return tokens.current ? { current: token, previous: tokens.current } : { current: token };
}

/** Drops expired tokens. */
export function unexpired(tokens: FastTokens, now: number): FastTokens {
  const kept: FastTokens = {};
  if (tokens.current && tokens.current.expiresAt > now) kept.current = tokens.current;
  if (tokens.previous && tokens.previous.expiresAt > now) kept.previous = tokens.previous;
  return kept;
}

/** When a device's tokens stop mattering (for eviction and key expiry). */
export function lastExpiry(tokens: FastTokens): number {
  return Math.max(tokens.current?.expiresAt ?? 0, tokens.previous?.expiresAt ?? 0);
}

// Accounts and their SCRAM credentials (RFC 6120 §6, RFC 5802).
// In every store, `user` is the account's bare JID as a prepared string (user@domain).

export type ScramHash = 'SHA-1' | 'SHA-256';
/** One hash's SCRAM keys (RFC 5802 §3); all binary fields are base64 strings. */
export interface ScramKeys { salt: string; iterations: number; storedKey: string; serverKey: string }
/** What is stored for an account: SCRAM keys per hash, never the password. */
export interface StoredCredentials { 'SHA-1': ScramKeys; 'SHA-256': ScramKeys }

/** Keys with no iterations are unknown: an import that had the other hash's keys only (xep0227/account.ts). */
export function keysKnown(keys: ScramKeys | undefined): keys is ScramKeys {
  return keys !== undefined && keys.iterations > 0;
}

/** Field-by-field equality of two credentials (the comparison of replaceCredentials). */
export function sameCredentials(a: StoredCredentials, b: StoredCredentials): boolean {
  return (['SHA-1', 'SHA-256'] as const).every((hash) => {
    const [x, y] = [a[hash], b[hash]];
    return x.salt === y.salt && x.iterations === y.iterations && x.storedKey === y.storedKey && x.serverKey === y.serverKey;
  });
}

/**
 * Guarantees: `create` is atomic (exactly one of two racing creates succeeds); every method is
 * linearizable per account; nothing expires. Passwords are never stored, only SCRAM keys.
 */
export interface AccountStore {
  /** Creates the account; false if it already exists. */
  create(user: string, credentials: StoredCredentials): Promise<boolean>;
  /** Replaces the credentials; false if the account does not exist. */
  setCredentials(user: string, credentials: StoredCredentials): Promise<boolean>;
  /**
   * Compare-and-set: replaces the credentials only if they are still `expected` (every field of
   * both hashes equal), atomically; false if they changed meanwhile or the account is gone. Used to
   * add keys derived at login without undoing a password change that raced with it.
   */
  replaceCredentials(user: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean>;
  credentials(user: string): Promise<StoredCredentials | undefined>;
  exists(user: string): Promise<boolean>;
  /** Deletes the account's credentials; the other stores are emptied by the caller. */
  delete(user: string): Promise<boolean>;
  /** Every account's bare JID, in no particular order, without loading them all at once. */
  list(): AsyncIterable<string>;
  count(): Promise<number>;
}

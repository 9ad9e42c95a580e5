// Counts of recent attempts (failed logins per address and per account, registrations per
// address), shared by every node so that a limit holds for the whole cluster and not once per
// node behind the load balancer.

/**
 * Guarantees: `add` is atomic per key; a key's count is forgotten `windowMs` after its last
 * `add`; the embedded implementation keeps a bounded number of keys (the least recently added
 * go first), the Redis one lets them expire.
 */
export interface AttemptCounters {
  /** Adds `amount` (default one; the bytes of an upload for a quota) to each key and returns the new counts, in order. */
  add(keys: readonly string[], windowMs: number, amount?: number): Promise<number[]>;
  /** The current count of each key (0 when unknown or expired). */
  get(keys: readonly string[]): Promise<number[]>;
  clear(keys: readonly string[]): Promise<void>;
}

// XEP-0115 entity capabilities known to the cluster: a verification string's feature list,
// resolved once (one node asks one resource, checks the hash) and kept for every node.

/**
 * Guarantees: `store` keeps a ver's features for a long while (at least a day; a verified ver
 * names one feature set, so a second store of the same ver writes the same list, and one that
 * was forgotten is resolved again). `claim` is atomic: of racing claims for
 * one ver, one gets true until `ttlMs` passes, so one resource in the cluster is asked at a time.
 */
export interface CapsStore {
  features(ver: string): Promise<string[] | undefined>;
  store(ver: string, features: string[]): Promise<void>;
  claim(ver: string, ttlMs: number): Promise<boolean>;
}

// XEP-0114 external components (src/component/): which node holds the connection of each
// component domain, so that every node routes a stanza for that domain to the node holding it.

/** The connection serving a component domain: its node, and an id unique on that node. */
export interface ComponentHolder {
  node: string;
  connection: string;
}

/** What a claim found: `claimed`, or the holder that keeps the domain. */
export type ComponentClaim = { claimed: true } | { claimed: false; holder: ComponentHolder };

/**
 * Guarantees: `claim` is atomic (compare-and-set), so at most one connection holds a domain
 * across the cluster; a domain held by another connection is taken over only when the caller
 * names that holder as `replacing` (it found it gone: its node is dead, or it is this node's and
 * no longer open). `release` removes only the caller's own hold. Holds never expire by
 * themselves: those of a dead node are removed by `releaseNode` (the dead-node clean-up). A
 * handful of domains per deployment: nothing here is sized for many.
 */
export interface ComponentRegistry {
  claim(domain: string, holder: ComponentHolder, replacing?: ComponentHolder): Promise<ComponentClaim>;
  release(domain: string, holder: ComponentHolder): Promise<boolean>;
  holder(domain: string): Promise<ComponentHolder | undefined>;
  /** Removes every hold of `node`; returns their domains. */
  releaseNode(node: string): Promise<string[]>;
}

export function sameHolder(a: ComponentHolder | undefined, b: ComponentHolder | undefined): boolean {
  return a !== undefined && b !== undefined && a.node === b.node && a.connection === b.connection;
}

// XEP-0191 blocklists.

/** A list with the version it had: every edit takes the next version. */
export interface BlocklistSnapshot {
  items: string[];
  /** 0 for a list never edited. */
  version: number;
}

/**
 * Guarantees: each edit is atomic and takes the next version number in the same step, even an
 * edit that changes nothing, so versions order every edit of one account (pushes from different
 * nodes are put in order by them, core/state-push.ts). Items are JIDs as prepared strings;
 * nothing expires. `get` may be served from a cache; `load` reads the list and its version together.
 */
export interface BlocklistStore {
  get(user: string): Promise<string[]>;
  load(user: string): Promise<BlocklistSnapshot>;
  /** Adds the items; returns the list after the change and the change's version. */
  add(user: string, jids: string[]): Promise<BlocklistSnapshot>;
  /** Removes the items, or everything when `jids` is empty; returns the list after the change and its version. */
  remove(user: string, jids: string[]): Promise<BlocklistSnapshot>;
  deleteAll(user: string): Promise<void>;
}

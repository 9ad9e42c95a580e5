// XEP-0191 blocklists.

/** Guarantees: each edit is atomic; items are JIDs as prepared strings; nothing expires. */
export interface BlocklistStore {
  get(user: string): Promise<string[]>;
  /** Adds the items; returns the list after the change. */
  add(user: string, jids: string[]): Promise<string[]>;
  /** Removes the items, or everything when `jids` is empty; returns the list after the change. */
  remove(user: string, jids: string[]): Promise<string[]>;
  deleteAll(user: string): Promise<void>;
}

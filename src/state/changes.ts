// Change notices between nodes, so each can cache other accounts' shared state.

export type ChangeKind = 'sessions' | 'blocklist' | 'roster';

export interface ChangeListener {
  changed(bareJid: string, kind: ChangeKind): void;
  /** Notices may have been missed (the feed reconnected): forget everything cached. */
  reset(): void;
}

/**
 * Guarantees: at-most-once. A notice published while a subscriber is disconnected is lost, so
 * after every reconnect subscribers get reset(). Notices from one publisher arrive in order.
 */
export interface ChangeFeed {
  publish(bareJid: string, kind: ChangeKind): Promise<void>;
  /** A notice went out with a store write (the store published it itself): counted as this node's. */
  publishedWithWrite?(kind: ChangeKind): void;
  subscribe(listener: ChangeListener): void;
  close(): Promise<void>;
}

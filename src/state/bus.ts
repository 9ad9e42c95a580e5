// Delivery to sessions that other nodes own. The in-process deployment has no other nodes.

/**
 * Guarantees (for the cluster implementation): a stanza handed to `deliver` reaches the owning
 * node at least once and is written to the session at most once; false means the node or the
 * session is gone and the caller applies the RFC 6121 fallback (offline storage or a bounce).
 */
export interface NodeBus {
  deliver(node: string, fullJid: string, stanza: string): Promise<boolean>;
  /** Asks the owning node to close a session that a newer bind replaced (<conflict/>). */
  kick(node: string, fullJid: string, sessionId: string): Promise<void>;
}

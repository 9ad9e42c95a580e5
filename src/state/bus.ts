// Delivery to sessions that other nodes own. The in-process deployment has no other nodes.

/** What a node's inbox carries. `hops` counts re-routes, so a stale route cannot loop. */
export type BusEnvelope =
  /** `at`: when it was sent (ms since the epoch), for the cross-node latency metric. */
  | { kind: 'stanza'; id: string; to: string; xml: string; hops: number; at?: number }
  /**
   * Close that session: replaced by a newer bind (<conflict/>), or with `condition` (account
   * deleted, password changed). A node of the previous version ignores the condition and closes
   * with <conflict/>.
   */
  | { kind: 'kick'; id: string; to: string; sessionId: string; condition?: 'not-authorized' | 'reset'; text?: string }
  /** Another node resumed this session's stream: forget it without a trace (no unavailable, no bounce). */
  | { kind: 'takeover'; id: string; to: string; sessionId: string };

export interface NodeInbox {
  /** Handles one envelope; the bus acknowledges it once this resolves. */
  receive(envelope: BusEnvelope): Promise<void>;
}

/**
 * Guarantees: an envelope sent to a node is kept in that node's inbox until the node has
 * handled it (at-least-once, in order per sender), and the receiving node drops duplicates by
 * id, so each is handled once. Envelopes left in a dead node's inbox are handed to whoever
 * calls `drain` for it.
 */
export interface NodeBus {
  start(inbox: NodeInbox): Promise<void>;
  send(node: string, envelope: BusEnvelope): Promise<void>;
  /** Hands every envelope still in `node`'s inbox to `inbox`, then deletes the inbox. */
  drain(node: string, inbox: NodeInbox): Promise<number>;
  close(): Promise<void>;
}

// Delivery to sessions that other nodes own. The in-process deployment has no other nodes.

export type PushedState = 'roster' | 'blocklist';

/** What travels with a push of shared state (core/state-push.ts), on the bus envelope too. */
export interface StatePush {
  state: PushedState;
  /** The stored version the push describes (the version its change took). */
  version: number;
  /** What it describes: one roster contact; blocklist items, or '*' (every key: ALL_KEYS). */
  keys: string[];
}

/**
 * What a node's inbox carries (JSON in the Redis inbox: a wire format, see doc/architecture.md).
 * `hops` is always 0 and read by no one: it is not loop protection. An envelope is never
 * forwarded; a node that no longer holds the resource routes the stanza again from fresh state
 * (core/node-inbox.ts), which sends a new envelope only to the node the registry names now. The
 * field stays because releases that run side by side all write it.
 */
export type BusEnvelope =
  /**
   * `at`: when it was sent (ms since the epoch), for the cross-node latency metric. `push`: the
   * stanza is a push of shared state at that stored version; the receiving node drops it if the
   * session was already shown a newer one (a node of the previous version delivers it as is).
   * `sessionId`: the session the sender's registry named; the inbox refuses the stanza if that
   * session was taken over from its node (`takeFor`), and the sender routes it again.
   */
  | { kind: 'stanza'; id: string; to: string; xml: string; hops: number; at?: number; push?: StatePush; sid?: string; sessionId?: string }
  /**
   * Close that session: replaced by a newer bind (<conflict/>), or with `condition` (account
   * deleted, password changed). A node of the previous version ignores the condition and closes
   * with <conflict/>.
   */
  | { kind: 'kick'; id: string; to: string; sessionId: string; condition?: 'not-authorized' | 'reset'; text?: string }
  /** Another node resumed this session's stream: forget it without a trace (no unavailable, no bounce). */
  | { kind: 'takeover'; id: string; to: string; sessionId: string }
  /**
   * One stanza for several resources of the receiving node (a PEP event or a group chat stanza
   * fanned out): the node writes it to each, `to` set to that resource. Sent only where two or more recipients share
   * a node; a node of the previous release cannot read it and drops it (events are notices,
   * XEP-0163 keeps the last item for the next login). `sid`: the stanza's identity, as on `stanza`.
   */
  | { kind: 'fanout'; id: string; to: string[]; xml: string; at?: number; sid?: string };

export interface NodeInbox {
  /** Handles one envelope; the bus acknowledges it once this resolves. */
  receive(envelope: BusEnvelope): Promise<void>;
}

/**
 * Guarantees: an envelope sent to a node is kept in that node's inbox until the node has
 * handled it (at-least-once), and the receiving node drops duplicates by id, so each is handled
 * once. Envelopes left in a dead node's inbox are handed to whoever calls `takeInbox` for it.
 *
 * Ordering: envelopes from one sending node to one receiving node are handled in the order
 * sent (one inbox stream, read in order, handled one at a time). Nothing orders envelopes from
 * different senders against each other, nor against what the receiving node writes to its own
 * sessions directly; a taken inbox is handled after the live traffic that overtook it. So a
 * stanza whose order matters across nodes carries its own order: state pushes carry the stored
 * version (`push`, core/state-push.ts); doc/ordering.md lists what is and is not ordered.
 */
/** When a node last wrote its heartbeat (ms), or undefined when it is not among the live nodes. */
export interface NodeHeartbeats {
  lastBeat(node: string): Promise<number | undefined>;
}

/**
 * A resource whose envelopes are taken out of a node's inbox; with `sessionId` (the session that
 * node held), stanzas for that session sent to the node afterwards are refused ('moved').
 */
export interface TakenResource {
  to: string;
  sessionId?: string;
}

/** `moved`: the envelope named a session that was taken over from that node; route it again from fresh state. */
export type BusSendOutcome = 'sent' | 'moved';

export interface NodeBus {
  start(inbox: NodeInbox): Promise<void>;
  send(node: string, envelope: BusEnvelope): Promise<BusSendOutcome>;
  /**
   * Sends what `send` was given so far in this event-loop turn now rather than at the turn's end
   * (order per destination kept): a fan-out's envelopes then leave before the node writes to its
   * own clients, so the other nodes deliver meanwhile instead of after it.
   */
  flush?(): void;
  /** Hands every envelope still in `node`'s inbox to `inbox`, then deletes the inbox. */
  takeInbox(node: string, inbox: NodeInbox): Promise<number>;
  /**
   * Takes the stanza envelopes for some resources out of `node`'s inbox, oldest first, each
   * deleted as taken (handled once), in one scan of the inbox: a node resuming a stream whose
   * node stopped answering puts them ahead of what reaches the stream directly, so one sender's
   * stanzas keep their order. Resources given with their session are marked moved first, in the
   * same step, so that no stanza for them lands in the inbox behind the scan.
   */
  takeFor(node: string, resources: readonly TakenResource[]): Promise<BusEnvelope[]>;
  close(): Promise<void>;
}

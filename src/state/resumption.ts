// XEP-0198 resumption state, shared so a client can resume on any node.

export interface ResumptionRecord {
  token: string;
  full_jid: string;
  /** session_id of the registry record the stream belongs to. */
  session_id: string;
  /** Node that serves the stream now; '' while no node does (its node drained or died). */
  owner: string;
  /** Stanzas the server handled from the client (the server's `h`). */
  inbound: number;
  /** Outbound stanzas the client acknowledged. */
  acked: number;
  /** Outbound stanzas queued so far (the sequence number of the last one). */
  sent: number;
  /** ms since the epoch when the stream lost its connection; 0 while attached. */
  detached_at: number;
  /**
   * Fencing token: raised by every takeOver. An owner's append carries the epoch it took the
   * stream with, and one below the stored epoch is refused (a node id can come back in a new
   * process, or wake from a freeze, while the stream was taken over under the same id). Absent: 0.
   */
  epoch?: number;
}

export interface QueuedStanza {
  seq: number;
  xml: string;
  /** When it was queued (ms), for the <delay/> on redelivery. */
  stamp: number;
  /** The stanza's stable identity (src/state/delivered.ts), when its sender's stream was resumable. */
  id?: string;
}

export interface ResumptionSnapshot {
  record: ResumptionRecord;
  /** Unacknowledged stanzas, oldest first. */
  queue: QueuedStanza[];
  /** What the stream was given, per sender stream (`Delivered`'s entries); absent when not kept. */
  delivered?: Record<string, string>;
}

/**
 * Guarantees: every method is atomic per stream. `append` succeeds only while `owner` is the
 * caller's node, so after `takeOver` no other node can add to the queue: the new owner's
 * snapshot plus what it queues itself is everything. Records expire only by `delete`.
 */
export interface ResumptionStore {
  create(user: string, record: ResumptionRecord): Promise<void>;
  /**
   * Queues an outbound stanza (seq 0: the next number, for a parked stream); false when `node` no
   * longer owns the stream. A stanza whose `id` the stream was already given is not queued again
   * (true: it is handled), checked in the same step.
   */
  append(user: string, token: string, node: string, stanza: QueuedStanza, epoch?: number): Promise<boolean>;
  /** Drops queued stanzas up to `acked` and records the counters. */
  ack(user: string, token: string, acked: number, inbound: number): Promise<void>;
  /**
   * Marks the stream detached (owner '' when no node keeps it); `inbound` only ever raises the
   * stored count. With `expectedOwner`, only while that node still owns the stream. False when
   * the stream is unknown or another node owns it.
   */
  detach(user: string, token: string, owner: string, inbound: number, at: number, expectedOwner?: string): Promise<boolean>;
  /**
   * Makes `node` the owner, raises `epoch`, and returns the state at that instant, or undefined if unknown. With
   * `onlyIfDetached` (hibernation expiry), a stream whose client resumed meanwhile is not taken.
   */
  takeOver(user: string, token: string, node: string, options?: { onlyIfDetached?: boolean }): Promise<ResumptionSnapshot | undefined>;
  /** The stream now belongs to another bind (it was resumed elsewhere). */
  setSession(user: string, token: string, sessionId: string): Promise<void>;
  get(user: string, token: string): Promise<ResumptionRecord | undefined>;
  delete(user: string, token: string): Promise<void>;
}

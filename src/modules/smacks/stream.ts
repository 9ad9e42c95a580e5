// XEP-0198 §4-§5: the per-session half of stream management — the counters, the queue of
// unacknowledged stanzas (mirrored into the ResumptionStore when the stream is resumable), and the
// server's ack requests.
import { parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { C2SSession, ManagedStream } from '../../core/session.js';
import { Delivered } from '../../state/delivered.js';
import type { QueuedStanza } from '../../state/resumption.js';
import { NS_SM } from '../../xmpp/ns.js';

/** How long outbound stanzas may go unrequested before the server asks for an ack. */
const REQUEST_DELAY_MS = 100;

/**
 * Where a stream is in its life. `attached`: its connection is live and stanzas are written.
 * `detaching`: it is letting go of its connection (lost, or half-open and replaced by a
 * resumption); stanzas are queued. `hibernating`: no connection, kept by this node until its
 * client resumes or its time is up. `parked`: handed over by a draining node, kept by no node
 * (the ResumptionStore holds its queue). `ending`: the session really ends and must not
 * hibernate again. Only `attached` writes to the client.
 */
export type StreamPhase = 'attached' | 'detaching' | 'hibernating' | 'parked' | 'ending';

/** What the module does with a stanza the ResumptionStore would not queue for this node (it lost the stream). */
export type RefusedHandler = (stream: Stream, stanza: QueuedStanza, token: string) => void;

export class Stream implements ManagedStream {
  /** Set when the client asked for resumption. */
  token: string | undefined;
  inbound = 0;
  sent = 0;
  acked = 0;
  queue: QueuedStanza[] = [];
  phase: StreamPhase = 'attached';
  /** The epoch this node took the stream with (0: created here); its appends carry it. */
  epoch = 0;
  /** What this stream was given, by stanza identity: a copy that comes again is dropped. */
  delivered = new Delivered();
  /** Set while it is detaching after losing its connection; resolves to whether it hibernates. */
  detached: Promise<boolean> | undefined;
  /**
   * While a resumption taken over from another node is set up, outbound stanzas wait here
   * unnumbered: their sequence numbers follow the snapshot's, which is not known yet.
   */
  private held: Array<{ xml: string; stamp: number; id: string | undefined }> | undefined;
  /** The inbound count is being written to the store; `persistAgain`: it changed meanwhile. */
  private persisting = false;
  private persistAgain = false;
  private requestTimer: NodeJS.Timeout | undefined;
  private awaitingAck = false;
  /** How many stanzas were written when the last <r/> went out: no new one until more are. */
  private requestedAt = -1;
  /** Armed by an <r/>, cleared by the <a/>: past it, what the client left unacknowledged is pushed. */
  private ackTimer: NodeJS.Timeout | undefined;
  private ackWaiters: Array<() => void> = [];
  /** A stanza from the client is being handled (between the pre-* hooks and inboundHandled). */
  private busy = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly host: Host,
    readonly session: C2SSession,
    private readonly maxQueue: number,
    private readonly onRefused?: RefusedHandler,
  ) {}

  get user(): string {
    return this.session.bare_jid as string;
  }

  outbound(xml: string, identity?: string): boolean {
    if (this.held) {
      this.held.push({ xml, stamp: Date.now(), id: identity });
      return false;
    }
    // A copy of a stanza this stream was given already (redelivered after a node died): dropped.
    if (!this.delivered.admit(identity)) return false;
    const stanza: QueuedStanza = { seq: ++this.sent, xml, stamp: Date.now(), ...(identity === undefined ? {} : { id: identity }) };
    this.queue.push(stanza);
    if (this.token !== undefined) this.mirror(stanza, this.token);
    if (this.queue.length > this.maxQueue) {
      // A client that never acknowledges must not make the server hold its traffic forever.
      this.host.telemetry.limitEnforced('sm_queue');
      this.session.close();
    }
    if (this.phase !== 'attached') {
      // No connection: the client may need waking up (XEP-0357 push notifications).
      if (xml.startsWith('<message')) void this.host.hooks.fire('message-held', { user: this.user, stanza: parse(xml), place: 'hibernating' });
      return false;
    }
    this.requestSoon();
    return true;
  }

  /** Starts holding outbound stanzas back (see `held`). */
  hold(): void {
    this.held ??= [];
  }

  /** Gives up holding: what was held back, for the caller to route elsewhere. */
  dropHeld(): string[] {
    const held = this.held ?? [];
    this.held = undefined;
    return held.map((item) => item.xml);
  }

  /**
   * Numbers and queues what was held back, after the counters were restored from a snapshot;
   * `first`: stanzas that were on their way before any of it (a dead node's inbox).
   */
  release(first: ReadonlyArray<{ xml: string; stamp: number; id: string | undefined }> = []): void {
    const held = [...first, ...(this.held ?? [])];
    this.held = undefined;
    for (const { xml, stamp, id } of held) {
      if (!this.delivered.admit(id)) continue;
      const stanza: QueuedStanza = { seq: ++this.sent, xml, stamp, ...(id === undefined ? {} : { id }) };
      this.queue.push(stanza);
      if (this.token !== undefined) this.mirror(stanza, this.token);
    }
  }

  /**
   * Called by the pre-* hooks: a stanza from the client is being handled. Its identity, when the
   * stream is resumable: the token and the count it will have once handled.
   */
  inboundStarted(): string | undefined {
    this.busy = true;
    return this.token === undefined ? undefined : `${this.token}:${this.inbound + 1}`;
  }

  inboundHandled(): void {
    this.inbound += 1;
    this.busy = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
    // Once routed, the count is stored, so that <resumed h/> after this node dies covers it and
    // the client does not send it again under a seq the next stanza would then reuse.
    if (this.token !== undefined) this.persistInbound();
  }

  /** One write at a time; counts that came meanwhile go in the next one. */
  private persistInbound(): void {
    if (this.persisting) {
      this.persistAgain = true;
      return;
    }
    this.persisting = true;
    void this.persistCounters().finally(() => {
      this.persisting = false;
      if (!this.persistAgain) return;
      this.persistAgain = false;
      this.persistInbound();
    });
  }

  /**
   * Waits until no stanza from the client is half handled (at most `timeoutMs`), so that
   * `inbound` is final once the connection no longer reads: a stanza handled after the count
   * was handed over would be sent again by the client after resuming.
   */
  async quiesce(timeoutMs: number): Promise<void> {
    if (!this.busy) return;
    const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([idle, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** Whether `h` is possible (XEP-0198 §4); an error text when not. */
  check(h: number): string | undefined {
    if (h > this.sent) return 'Client acknowledged more stanzas than sent by server';
    if (h < this.acked) return 'Client acknowledged less stanzas than already acknowledged';
    return undefined;
  }

  /** Applies the client's `h`; an error text when it is impossible (XEP-0198 §4). */
  acknowledge(h: number): string | undefined {
    const problem = this.check(h);
    if (problem) return problem;
    this.acked = h;
    let drop = 0;
    while (drop < this.queue.length && (this.queue[drop] as QueuedStanza).seq <= h) drop += 1;
    if (drop > 0) this.queue = this.queue.slice(drop);
    this.awaitingAck = false;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    for (const wake of this.ackWaiters.splice(0)) wake();
    if (this.token !== undefined) void this.persistCounters();
    if (this.queue.length > 0) this.requestSoon();
    return undefined;
  }

  /** Records both counters in the ResumptionStore (after acks, and before the stream detaches); false when that failed. */
  async persistCounters(): Promise<boolean> {
    if (this.token === undefined) return false;
    try {
      await this.host.state.resumption.ack(this.user, this.token, this.acked, this.inbound);
      return true;
    } catch (err) {
      this.host.log.error({ event: 'sm_ack_persist_failed', session: this.session.id, err });
      return false;
    }
  }

  /** Held stanzas were written (client state indication): they want acknowledging like any. */
  flushed(): void {
    this.requestSoon();
  }

  /** Sends <r/> now (after a resumption), while attached. */
  request(): void {
    if (this.phase !== 'attached') {
      this.stop();
      return;
    }
    this.writeRequest();
  }

  /**
   * Asks for a last ack and waits for it, at most `timeoutMs` (a node handing over a stream that
   * was attached until now): what the client acknowledges is not sent to it again after it resumes.
   */
  async settle(timeoutMs: number): Promise<void> {
    const acked = new Promise<void>((resolve) => this.ackWaiters.push(resolve));
    this.writeRequest();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([acked, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  stop(): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
  }

  /**
   * The messages written to the client that it never acknowledged count as held from now
   * (message-held, which push notifications start from): its connection is lost, or its node
   * parks it, or its ack is overdue. As Prosody's mod_cloud_notify on smacks-hibernation-start
   * and smacks-ack-delayed: a phone whose connection died unnoticed is woken for them. A message
   * notified before (queued while detached, or overdue already) is pushed once all the same.
   * Resolves once the notices are taken (the push claimed and scheduled): a draining node waits
   * for them before it exits.
   */
  async heldUnacknowledged(place: 'hibernating' | 'parked' | 'unacknowledged'): Promise<void> {
    const written = this.written();
    const notices: Array<Promise<unknown>> = [];
    for (const stanza of this.queue) {
      if (stanza.seq > written) break;
      if (stanza.xml.startsWith('<message')) notices.push(this.host.hooks.fire('message-held', { user: this.user, stanza: parse(stanza.xml), place }));
    }
    await Promise.all(notices);
  }

  /** Copies a queued stanza into the ResumptionStore; one it refuses goes to the module (the stream moved). */
  private mirror(stanza: QueuedStanza, token: string): void {
    void this.host.state.resumption.append(this.user, token, this.host.nodeId, stanza, this.epoch).then(
      (kept) => {
        if (kept || this.token !== token) return;
        if (this.onRefused) this.onRefused(this, stanza, token);
        else this.host.log.warn({ event: 'sm_append_refused', session: this.session.id });
      },
      (err: unknown) => this.host.log.error({ event: 'sm_append_failed', session: this.session.id, err }),
    );
  }

  private writeRequest(): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    this.awaitingAck = true;
    this.requestedAt = this.written();
    this.ackTimer ??= setTimeout(() => this.ackOverdue(), this.host.config.limits.smAckDelaySeconds * 1000).unref();
    this.session.conn.write(`<r xmlns='${NS_SM}'/>`);
  }

  private ackOverdue(): void {
    this.ackTimer = undefined;
    if (this.awaitingAck && this.phase === 'attached' && !this.session.destroyed) void this.heldUnacknowledged('unacknowledged');
  }

  /**
   * Stanzas written to the client: the numbered ones but those client state indication holds
   * back, which the client cannot acknowledge yet. Asking for those would have an inactive
   * client answer the same <a/> over and over; as Prosody's mod_smacks (`last_requested_h`),
   * an <r/> goes out only when something was written since the last one.
   */
  private written(): number {
    return this.sent - (this.session.outputHold?.held ?? 0);
  }

  private requestSoon(): void {
    if (this.awaitingAck || this.requestTimer) return;
    this.requestTimer = setTimeout(() => {
      this.requestTimer = undefined;
      const written = this.written();
      if (written > this.acked && written !== this.requestedAt && !this.session.destroyed) this.request();
    }, REQUEST_DELAY_MS);
    this.requestTimer.unref();
  }
}

// XEP-0198 §4-§5: the per-session half of stream management — the counters, the queue of
// unacknowledged stanzas (mirrored into the SmStore when the stream is resumable), and the
// server's ack requests.
import type { Host } from '../../core/host.js';
import type { C2SSession, ManagedStream } from '../../core/session.js';
import type { QueuedStanza } from '../../state/stream-management.js';
import { NS_SM } from '../../xmpp/ns.js';

/** How long outbound stanzas may go unrequested before the server asks for an ack. */
const REQUEST_DELAY_MS = 100;

export class Stream implements ManagedStream {
  /** Set when the client asked for resumption. */
  token: string | undefined;
  inbound = 0;
  sent = 0;
  acked = 0;
  queue: QueuedStanza[] = [];
  hibernating = false;
  private requestTimer: NodeJS.Timeout | undefined;
  private awaitingAck = false;
  private ackWaiters: Array<() => void> = [];

  constructor(
    private readonly host: Host,
    readonly session: C2SSession,
    private readonly maxQueue: number,
  ) {}

  get user(): string {
    return this.session.bare_jid as string;
  }

  outbound(xml: string): boolean {
    const stanza: QueuedStanza = { seq: ++this.sent, xml, stamp: Date.now() };
    this.queue.push(stanza);
    if (this.token !== undefined) {
      const token = this.token;
      void this.host.state.streams.append(this.user, token, this.host.nodeId, stanza).then(
        (kept) => {
          if (!kept && this.token === token) this.host.log.warn({ event: 'sm_append_refused', session: this.session.id });
        },
        (err: unknown) => this.host.log.error({ event: 'sm_append_failed', session: this.session.id, err }),
      );
    }
    if (this.queue.length > this.maxQueue) {
      // A client that never acknowledges must not make the server hold its traffic forever.
      this.host.telemetry.limitEnforced('sm_queue');
      this.session.close();
    }
    if (this.hibernating) return false;
    this.requestSoon();
    return true;
  }

  inboundHandled(): void {
    this.inbound += 1;
  }

  /** Applies the client's `h`; an error text when it is impossible (XEP-0198 §4). */
  acknowledge(h: number): string | undefined {
    if (h > this.sent) return 'Client acknowledged more stanzas than sent by server';
    if (h < this.acked) return 'Client acknowledged less stanzas than already acknowledged';
    this.acked = h;
    let drop = 0;
    while (drop < this.queue.length && (this.queue[drop] as QueuedStanza).seq <= h) drop += 1;
    if (drop > 0) this.queue = this.queue.slice(drop);
    this.awaitingAck = false;
    for (const wake of this.ackWaiters.splice(0)) wake();
    if (this.token !== undefined) void this.persistCounters();
    if (this.queue.length > 0) this.requestSoon();
    return undefined;
  }

  /** Records both counters in the SmStore (after acks, and before the stream detaches). */
  async persistCounters(): Promise<void> {
    if (this.token === undefined) return;
    try {
      await this.host.state.streams.ack(this.user, this.token, this.acked, this.inbound);
    } catch (err) {
      this.host.log.error({ event: 'sm_ack_persist_failed', session: this.session.id, err });
    }
  }

  /** Sends <r/> now (drain, resume). */
  request(): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    if (this.hibernating) return;
    this.awaitingAck = true;
    this.session.conn.write(`<r xmlns='${NS_SM}'/>`);
  }

  /** Asks for an ack and waits for it, at most `timeoutMs` (a node handing the stream over). */
  async settle(timeoutMs: number): Promise<void> {
    if (this.hibernating || this.queue.length === 0) return;
    const acked = new Promise<void>((resolve) => this.ackWaiters.push(resolve));
    this.request();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([acked, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  stop(): void {
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  private requestSoon(): void {
    if (this.awaitingAck || this.requestTimer) return;
    this.requestTimer = setTimeout(() => {
      this.requestTimer = undefined;
      if (this.queue.length > 0 && !this.session.destroyed) this.request();
    }, REQUEST_DELAY_MS);
    this.requestTimer.unref();
  }
}

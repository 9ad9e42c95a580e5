// Envelopes for other nodes while the bus cannot take them (Redis restarting or failing over):
// they wait here, in order, in a queue bounded in count, bytes and time, and are sent once the
// bus works again. One that waits too long, or finds the queue full, is bounced to its sender
// (RFC 6120 §8.3.3: recipient-unavailable and resource-constraint are both "wait" errors), so
// a stanza the node accepted is never dropped in silence.
import type { BusEnvelope, BusSendOutcome, NodeBus, NodeInbox, TakenResource } from '../state/bus.js';
import type { PendingOutcome, Telemetry } from '../telemetry.js';

export interface PendingLimits {
  /** Envelopes held at most; the next one is bounced at once. */
  maxEnvelopes: number;
  /** Bytes of stanza XML held at most. */
  maxBytes: number;
  /** An envelope older than this is bounced. */
  maxWaitMs: number;
  /** How often sending is tried again while envelopes wait. */
  retryMs: number;
}

/** What becomes of an envelope that is given up on: 'expired' (waited too long) or 'overflow'. */
export type GiveUp = (envelope: BusEnvelope, reason: Exclude<PendingOutcome, 'sent'>) => Promise<void>;
/** An envelope that waited and was then refused by its node (the session moved): routed again from fresh state. */
export type Reroute = (envelope: BusEnvelope) => Promise<void>;

interface Waiting {
  node: string;
  envelope: BusEnvelope;
  bytes: number;
  since: number;
}

export class OutageBuffer implements NodeBus {
  private readonly waiting: Waiting[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private resending: Promise<void> | undefined;
  private closed = false;
  private readonly unregister: () => void;

  constructor(
    private readonly inner: NodeBus,
    private readonly limits: PendingLimits,
    private readonly giveUp: GiveUp,
    private readonly reroute: Reroute,
    private readonly telemetry: Telemetry,
    private readonly onError: (error: unknown) => void,
  ) {
    this.unregister = telemetry.pendingEnvelopes(() => this.waiting.length);
  }

  get size(): number {
    return this.waiting.length;
  }

  start(inbox: NodeInbox): Promise<void> {
    return this.inner.start(inbox);
  }

  takeInbox(node: string, inbox: NodeInbox): Promise<number> {
    return this.inner.takeInbox(node, inbox);
  }

  takeFor(node: string, resources: readonly TakenResource[]): Promise<BusEnvelope[]> {
    return this.inner.takeFor(node, resources);
  }

  /** What waits here goes when the bus works again; what the inner bus holds goes now. */
  flush(): void {
    this.inner.flush?.();
  }

  /** Sends now if nothing waits (order per sender is kept); otherwise joins the queue ('sent': it is the buffer's now). */
  async send(node: string, envelope: BusEnvelope): Promise<BusSendOutcome> {
    if (this.waiting.length === 0) {
      try {
        return await this.inner.send(node, envelope);
      } catch (error) {
        this.onError(error);
      }
    }
    const bytes = envelope.kind === 'stanza' || envelope.kind === 'fanout' ? Buffer.byteLength(envelope.xml) : 64;
    if (this.waiting.length >= this.limits.maxEnvelopes || this.bytes + bytes > this.limits.maxBytes) {
      await this.abandon(envelope, 'overflow');
      return 'sent';
    }
    this.waiting.push({ node, envelope, bytes, since: Date.now() });
    this.bytes += bytes;
    this.schedule();
    return 'sent';
  }

  /** One last try to send what waits; what still cannot go is bounced (this node will not send it later). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.resending;
    await this.resend();
    await Promise.allSettled(this.waiting.splice(0).map((item) => this.abandon(item.envelope, 'expired')));
    this.bytes = 0;
    this.unregister();
    await this.inner.close();
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.resending ??= this.resend().finally(() => (this.resending = undefined));
    }, this.limits.retryMs);
    this.timer.unref();
  }

  /** Bounces what waited too long, then sends the rest in order until one fails. */
  private async resend(): Promise<void> {
    const deadline = Date.now() - this.limits.maxWaitMs;
    while (this.waiting.length > 0 && (this.waiting[0] as Waiting).since < deadline) {
      const expired = this.waiting.shift() as Waiting;
      this.bytes -= expired.bytes;
      await this.abandon(expired.envelope, 'expired');
    }
    while (this.waiting.length > 0) {
      const head = this.waiting[0] as Waiting;
      let outcome: BusSendOutcome;
      try {
        outcome = await this.inner.send(head.node, head.envelope);
      } catch {
        break;
      }
      this.waiting.shift();
      this.bytes -= head.bytes;
      this.telemetry.pendingEnvelope('sent');
      if (outcome === 'moved') await this.reroute(head.envelope).catch(this.onError);
    }
    if (this.waiting.length > 0) this.schedule();
  }

  private async abandon(envelope: BusEnvelope, reason: Exclude<PendingOutcome, 'sent'>): Promise<void> {
    this.telemetry.pendingEnvelope(reason);
    await this.giveUp(envelope, reason).catch(this.onError);
  }
}

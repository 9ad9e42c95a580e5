// How fast a connection reads from its client. Reading pauses while any read limit holds it
// back: the queue of inbound elements not yet handled, the byte budget, or the stanza budget
// (as Prosody's mod_limits does): the client is slowed down, nothing it sent is lost.
// On a framed link (WebSocket) input comes as whole messages, and a message is parsed whole, once
// the byte budget has paid for all of it (link.ts checks that each holds whole elements).
import type { Link } from './link.js';
import type { Telemetry } from '../telemetry.js';
import type { TokenBucket } from '../core/rate-limit.js';

/** Inbound elements queued before the socket is paused (backpressure on the client). */
const QUEUE_HIGH = 32;
const QUEUE_LOW = 8;

export interface ReadGateOwner {
  /** Parses bytes the budget lets through. */
  parse(chunk: Buffer): void;
  /** Input is ignored (closed, or between <proceed/> and the end of the TLS handshake). */
  ignoringInput(): boolean;
  closed(): boolean;
  /** Before authentication, for the limit's metric label. */
  unauthenticated(): boolean;
}

export class ReadGate {
  /** The inbound queue is past QUEUE_HIGH, until it is back to QUEUE_LOW. */
  private queueFull = false;
  /** Bytes read past the byte budget, fed to the parser as it refills; reading is paused meanwhile. */
  private unread: Buffer | undefined;
  private unreadTimer: NodeJS.Timeout | undefined;
  /** The next element waits for the stanza budget; reading is paused meanwhile. */
  private stanzaWait = false;
  /** Whether the socket is paused, for whichever of the reasons above. */
  private readingPaused = false;

  constructor(
    private socket: Link,
    private readonly owner: ReadGateOwner,
    private readonly telemetry: Telemetry,
    /** The byte budget tightens before authentication (see setBytesBudget); none when unlimited. */
    private bytesBudget: TokenBucket | undefined,
    private readonly stanzaBudget: TokenBucket | undefined,
    /** Each chunk is a message, parsed whole. */
    private readonly framed = false,
  ) {}

  /** Messages waiting for the byte budget (framed); reading is paused meanwhile. */
  private messages: Buffer[] = [];
  /** Bytes of messages[0] the budget has paid for. */
  private paid = 0;

  /** After STARTTLS: a fresh socket, flowing; what was read in the clear is dropped. */
  setSocket(socket: Link): void {
    this.unread = undefined;
    this.readingPaused = false;
    this.socket = socket;
  }

  setBytesBudget(budget: TokenBucket | undefined): void {
    this.bytesBudget = budget;
  }

  readonly onData = (chunk: Buffer): void => {
    if (this.owner.ignoringInput()) return;
    if (this.framed) {
      if (!this.bytesBudget && this.messages.length === 0) this.owner.parse(chunk);
      else {
        this.messages.push(chunk);
        this.feedMessages();
      }
      return;
    }
    if (!this.bytesBudget && !this.unread) {
      this.owner.parse(chunk);
      return;
    }
    this.unread = this.unread ? Buffer.concat([this.unread, chunk]) : chunk;
    this.feedUnread();
  };

  /** The inbound queue grew to `length`. */
  queued(length: number): void {
    if (length >= QUEUE_HIGH && !this.queueFull) {
      this.queueFull = true;
      this.update();
    }
  }

  /** The inbound queue shrank to `length`. */
  dequeued(length: number): void {
    if (this.queueFull && length <= QUEUE_LOW) {
      this.queueFull = false;
      this.update();
    }
  }

  /** Whether elements are rate limited at all (spendStanza then need not be awaited). */
  get limitsStanzas(): boolean {
    return this.stanzaBudget !== undefined;
  }

  /** Waits, reading paused, until the stanza budget has an element to spend; false if the connection closed meanwhile. */
  async spendStanza(): Promise<boolean> {
    const budget = this.stanzaBudget;
    if (!budget) return true;
    for (let wait = budget.msUntil(1); wait > 0; wait = budget.msUntil(1)) {
      if (!this.stanzaWait) {
        this.stanzaWait = true;
        this.telemetry.limitEnforced('c2s_stanza_rate');
        this.update();
      }
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (this.owner.closed()) return false;
    }
    if (this.stanzaWait) {
      this.stanzaWait = false;
      this.update();
    }
    budget.take(1);
    return true;
  }

  /** Parses as much of the unread input as the byte budget allows; past it, reading pauses until it refills. */
  private feedUnread(): void {
    this.unreadTimer = undefined;
    const unread = this.unread;
    if (!unread || this.owner.ignoringInput()) return;
    const budget = this.bytesBudget;
    const allowed = budget ? budget.take(unread.length) : unread.length;
    this.unread = allowed < unread.length ? unread.subarray(allowed) : undefined;
    if (allowed > 0) this.owner.parse(allowed < unread.length ? unread.subarray(0, allowed) : unread);
    if (this.unread && budget && !this.owner.closed()) {
      if (!this.readingPaused) this.telemetry.limitEnforced(this.owner.unauthenticated() ? 'c2s_unauthed_bytes_rate' : 'c2s_bytes_rate');
      this.unreadTimer = setTimeout(() => this.feedUnread(), Math.max(1, budget.msUntil(this.unread.length)));
      this.unreadTimer.unref();
    }
    this.update();
  }

  /** Parses the messages the byte budget has paid for; past it, reading pauses until it refills. */
  private feedMessages(): void {
    this.unreadTimer = undefined;
    const budget = this.bytesBudget;
    for (let message = this.messages[0]; message && !this.owner.ignoringInput(); message = this.messages[0]) {
      if (budget) this.paid += budget.take(message.length - this.paid);
      if (this.paid < message.length && budget) break;
      this.messages.shift();
      this.paid = 0;
      this.owner.parse(message);
    }
    const waiting = this.messages[0];
    if (waiting && budget && !this.owner.closed() && !this.owner.ignoringInput()) {
      if (!this.readingPaused) this.telemetry.limitEnforced(this.owner.unauthenticated() ? 'c2s_unauthed_bytes_rate' : 'c2s_bytes_rate');
      this.unreadTimer = setTimeout(() => this.feedMessages(), Math.max(1, budget.msUntil(waiting.length - this.paid)));
      this.unreadTimer.unref();
    }
    this.update();
  }

  private update(): void {
    const pause = !this.owner.closed() && (this.queueFull || this.unread !== undefined || this.messages.length > 0 || this.stanzaWait);
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }
}

// One client connection (RFC 6120 §4): the socket, the XML stream over it, and the session it
// carries. Negotiation (STARTTLS, SASL, bind) lives in negotiation.ts; bound stanzas go to the router.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { Element, escapeXML } from 'ltx';
import type { Host } from '../core/host.js';
import { randomId } from '../random-id.js';
import { rescueUndelivered } from '../core/undelivered.js';
import { C2SSession, type Conn, type StreamConnection } from '../core/session.js';
import { StreamParser, type StreamHeader } from '../xml/stream-parser.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import { errorReply, isClientStanza, stanzaType } from '../xmpp/stanza.js';
import type { StanzaLabel } from '../telemetry.js';
import type { Transport } from '../xmpp/kinds.js';
import { NS_CLIENT, NS_STREAMS } from '../xmpp/ns.js';
import type { AuthThrottle } from './auth-throttle.js';
import { Negotiation, type NegotiatingConnection } from './negotiation.js';
import { bucketFor, type TokenBucket } from './rate-limit.js';
import type { TlsMaterial } from './tls.js';


export interface ConnectionContext {
  host: Host;
  tls: TlsMaterial;
  throttle: AuthThrottle;
  /** Told about every connection that opens and closes (metrics, drain). */
  onClose?(connection: Connection): void;
}

/** Inbound stanzas queued before the socket is paused (backpressure on the client). */
const QUEUE_HIGH = 32;
const QUEUE_LOW = 8;
/** After our closing tag, how long the peer gets to close its side. */
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * Output is written once per event-loop turn: what all the stanzas handled in one turn send to a
 * client goes out as one write (one syscall, one TLS record) instead of one per stanza. One
 * setImmediate serves every connection with output waiting.
 */
const unflushed: Array<() => void> = [];
let flushScheduled = false;

function scheduleFlush(flush: () => void): void {
  unflushed.push(flush);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flushAll);
}

function flushAll(): void {
  flushScheduled = false;
  // A flush may not schedule another (nothing is written meanwhile), but stay safe if one does.
  const flushes = unflushed.splice(0);
  for (const flush of flushes) flush();
}

export class Connection implements Conn, StreamConnection, NegotiatingConnection {
  /** Replaced when this connection resumes a stream-managed session (XEP-0198). */
  session: C2SSession;
  transport: Transport;
  private socket: Socket;
  private readonly parser: StreamParser;
  private readonly negotiation: Negotiation;
  private headerSent = false;
  private closed = false;
  private socketError: string | undefined;
  private readonly queue: Element[] = [];
  /** Output of this event-loop turn, written by flushOutput (see scheduleFlush). */
  private output = '';
  /** Outbound data kept back while the socket's buffer is full (see write). */
  private readonly backlog: string[] = [];
  private backlogBytes = 0;
  private readonly writableWaiters: Array<() => void> = [];
  private pumping = false;
  /** The client's closing tag arrived; the stream ends once the inbound queue is pumped empty. */
  private peerClosed = false;
  private paused = false;
  /** Read rate limits (token buckets; none when unlimited). The byte budget tightens before authentication. */
  private bytesBudget: TokenBucket | undefined;
  private readonly stanzaBudget: TokenBucket | undefined;
  /** Bytes read past the byte budget, fed to the parser as it refills; reading is paused meanwhile. */
  private unread: Buffer | undefined;
  private unreadTimer: NodeJS.Timeout | undefined;
  /** The next element waits for the stanza budget; reading is paused meanwhile. */
  private stanzaWait = false;
  /** Whether this connection has paused its socket, for whichever of the reasons above. */
  private readingPaused = false;
  /** Input is ignored between <proceed/> and the end of the TLS handshake. */
  private awaitingTls = false;
  private readonly authTimer: NodeJS.Timeout;

  constructor(
    readonly ctx: ConnectionContext,
    socket: Socket,
    directTls: boolean,
    /** The client's address when a trusted proxy named it (PROXY protocol); else the socket's peer. */
    private readonly clientAddress?: string,
  ) {
    this.socket = socket;
    this.transport = directTls ? 'directtls' : 'plain';
    this.session = new C2SSession(randomId(9), this, ctx.host.telemetry);
    const limits = ctx.host.config.limits;
    this.parser = new StreamParser(
      {
        streamStart: (header) => this.onStreamStart(header),
        stanza: (element) => this.enqueue(element),
        streamEnd: () => this.onStreamEnd(),
        error: (error) => this.close(error),
        limit: (name) => this.host.telemetry.limitEnforced(name),
      },
      { maxStanzaBytes: limits.maxStanzaBytesUnauthenticated, maxDepth: limits.maxDepth },
    );
    this.negotiation = new Negotiation(this);
    this.bytesBudget = bucketFor(limits.c2sUnauthedBytesPerSecond, limits.c2sUnauthedBurstBytes);
    this.stanzaBudget = bucketFor(limits.c2sStanzasPerSecond, limits.c2sStanzaBurst);
    this.listen(socket);
    this.authTimer = setTimeout(() => {
      if (this.session.type === 'c2s') return;
      this.host.telemetry.limitEnforced('auth_timeout');
      this.close(new StreamError('connection-timeout'));
    }, limits.authTimeoutSeconds * 1000);
    this.authTimer.unref();
  }

  get remoteAddress(): string {
    return this.clientAddress ?? this.socket.remoteAddress ?? 'unknown';
  }

  get secure(): boolean {
    return this.transport !== 'plain';
  }

  get host(): Host {
    return this.ctx.host;
  }

  write(data: string): void {
    if (this.closed) {
      // Between the close and the session's end it is still routable: what reaches it then is
      // rescued like a slow reader's backlog (with stream management, its queue keeps it).
      if (this.session.type === 'c2s' && !this.session.destroyed && !this.session.sm) this.rescue([data]);
      return;
    }
    if (this.backlog.length === 0 && !this.socket.writableNeedDrain) {
      this.out(data);
      return;
    }
    // The client reads slower than it is sent to: whole stanzas wait here, where they can still
    // be rescued, rather than in the socket's buffer.
    this.backlog.push(data);
    this.backlogBytes += data.length;
    if (this.backlog.length === 1) this.socket.once('drain', this.flushBacklog);
    if (this.backlogBytes + this.socket.writableLength > this.host.config.limits.maxOutboundBytes) this.overflow();
  }

  /**
   * Joins this turn's output. Past the socket's high-water mark it is written at once, so that the
   * socket reports a full buffer and what follows waits in the backlog, as without the batching.
   */
  private out(data: string): void {
    if (this.output === '') scheduleFlush(this.flushOutput);
    this.output += data;
    if (this.output.length + this.socket.writableLength >= this.socket.writableHighWaterMark) this.flushOutput();
  }

  private readonly flushOutput = (): void => {
    if (this.output === '') return;
    const data = this.output;
    this.output = '';
    // A socket the peer closed takes nothing more, as when each stanza was written at once.
    if (!this.socket.destroyed) this.socket.write(data);
  };

  writable(): Promise<void> {
    if (this.closed || (this.backlog.length === 0 && !this.socket.writableNeedDrain)) return Promise.resolve();
    return new Promise((resolve) => {
      this.writableWaiters.push(resolve);
      // With a backlog, flushBacklog wakes the waiters once it is gone.
      if (this.backlog.length === 0) this.socket.once('drain', () => this.wakeWriters());
    });
  }

  private readonly flushBacklog = (): void => {
    while (this.backlog.length > 0 && !this.socket.writableNeedDrain && !this.closed) {
      const data = this.backlog.shift() as string;
      this.backlogBytes -= data.length;
      this.socket.write(data);
    }
    if (this.backlog.length > 0 && !this.closed) {
      this.socket.once('drain', this.flushBacklog);
      return;
    }
    this.wakeWriters();
  };

  private wakeWriters(): void {
    for (const wake of this.writableWaiters.splice(0)) wake();
  }

  /** Before the socket ends: what waits goes out after all (the client may yet read it). */
  private writeBacklog(): void {
    // This turn's output precedes the backlog (there is never both: see write).
    this.flushOutput();
    for (const data of this.backlog.splice(0)) this.socket.write(data);
    this.backlogBytes = 0;
    this.wakeWriters();
  }

  /** Past the outbound bound: cut the client off; what it never took is stored or bounced. */
  private overflow(): void {
    this.host.telemetry.limitEnforced('outbound_buffer');
    const untaken = this.backlog.splice(0);
    this.backlogBytes = 0;
    this.wakeWriters();
    const session = this.session;
    this.close(new StreamError('policy-violation', 'Too much unread data'));
    // With stream management the session's own queue holds them, for a resumption.
    if (!session.sm) this.rescue(untaken, session);
  }

  private rescue(xmls: string[], session = this.session): void {
    void rescueUndelivered(this.host, session, xmls).catch((err: unknown) => {
      this.host.log.error({ event: 'undelivered_rescue_failed', session: session.id, err });
    });
  }

  /**
   * Writes an optional stream error and our closing tag, then ends the socket. After a stream
   * error the session ends at once rather than when the peer closes its side: a client that
   * never does would otherwise stay a routable, available resource whose stanzas are lost.
   */
  close(error?: StreamError): void {
    if (this.closed) return;
    if (error) {
      this.host.log.info({ event: 'stream_error_sent', session: this.session.id, condition: error.condition });
      this.host.telemetry.streamError(error.condition);
    }
    if (!this.headerSent) this.sendHeader();
    this.closed = true;
    this.queue.length = 0;
    clearTimeout(this.authTimer);
    this.writeBacklog();
    this.socket.end(`${error ? error.toElement().toString() : ''}</stream:stream>`);
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
    if (error) {
      // Deferred, so that a caller ending the session itself right after close() (a kicked
      // session, shutdown, a deleted account) does it with its own reason.
      setImmediate(() => {
        void this.host.local.destroy(this.session, error.condition).catch((err: unknown) => {
          this.host.log.error({ event: 'session_destroy_failed', session: this.session.id, err });
        });
      });
    }
  }

  /** Ends the socket without a stream error; the session is no longer this connection's concern. */
  closeQuietly(): void {
    if (this.closed) return;
    this.disown();
    this.closed = true;
    this.queue.length = 0;
    clearTimeout(this.authTimer);
    this.writeBacklog();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
  }

  attachSession(session: C2SSession): void {
    this.session = session;
    session.conn = this;
    clearTimeout(this.authTimer);
  }

  /** Lets go of the session (it lives on elsewhere): closing this socket no longer ends it. */
  private disown(): void {
    const orphan = new C2SSession(this.session.id, this);
    orphan.destroyed = true;
    this.session = orphan;
  }

  /** Called by the negotiation after <proceed/>: the rest of this socket's input is TLS. */
  startTls(): void {
    const raw = this.socket;
    // <proceed/> goes out in the clear, before the handshake.
    this.flushOutput();
    this.unlisten(raw);
    this.queue.length = 0; // anything sent after <starttls/> in the clear is discarded (RFC 6120 §5.4.3.3)
    this.awaitingTls = true;
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.ctx.tls.context });
    this.unread = undefined;
    this.readingPaused = false; // a fresh socket, flowing
    this.socket = secure;
    this.listen(secure);
    secure.once('secure', () => {
      this.transport = 'starttls';
      this.awaitingTls = false;
      this.restartStream();
    });
  }

  /** A new stream over the same socket (after TLS or SASL success, RFC 6120 §4.3.3). */
  restartStream(): void {
    this.parser.reset();
    this.headerSent = false;
    this.session.notopen = true;
  }

  /** Authenticated: stanzas may now be as large, and come as fast, as the configured limits. */
  authenticated(): void {
    const limits = this.host.config.limits;
    this.parser.setLimits({ maxStanzaBytes: limits.maxStanzaBytes });
    this.bytesBudget = bucketFor(limits.c2sBytesPerSecond, limits.c2sBurstBytes);
  }

  bound(): void {
    clearTimeout(this.authTimer);
  }

  private listen(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
  }

  private unlisten(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('close', this.onSocketClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed || this.awaitingTls) return;
    if (!this.bytesBudget && !this.unread) {
      this.parser.write(chunk);
      return;
    }
    this.unread = this.unread ? Buffer.concat([this.unread, chunk]) : chunk;
    this.feedUnread();
  };

  /**
   * Parses as much of the unread input as the byte budget allows. Past it, reading pauses until
   * the budget refills (as Prosody's mod_limits does): the client is slowed down, nothing is lost.
   */
  private feedUnread(): void {
    this.unreadTimer = undefined;
    const held = this.unread;
    if (!held || this.closed || this.awaitingTls) return;
    const budget = this.bytesBudget;
    const allowed = budget ? budget.take(held.length) : held.length;
    this.unread = allowed < held.length ? held.subarray(allowed) : undefined;
    if (allowed > 0) this.parser.write(allowed < held.length ? held.subarray(0, allowed) : held);
    if (this.unread && budget && !this.closed) {
      if (!this.readingPaused) this.host.telemetry.limitEnforced(this.session.type === 'c2s_unauthed' ? 'c2s_unauthed_bytes_rate' : 'c2s_bytes_rate');
      this.unreadTimer = setTimeout(() => this.feedUnread(), Math.max(1, budget.msUntil(this.unread.length)));
      this.unreadTimer.unref();
    }
    this.updateReading();
  }

  /** Reading pauses while any read limit holds it back: the inbound queue, the byte or the stanza budget. */
  private updateReading(): void {
    const pause = !this.closed && (this.paused || this.unread !== undefined || this.stanzaWait);
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  private readonly onError = (error: Error): void => {
    this.socketError = (error as NodeJS.ErrnoException).code ?? error.message;
  };

  private readonly onSocketClose = (): void => {
    this.output = '';
    this.wakeWriters();
    this.closed = true;
    this.queue.length = 0;
    clearTimeout(this.authTimer);
    this.ctx.onClose?.(this);
    void this.host.local.destroy(this.session, this.socketError).catch((err: unknown) => {
      this.host.log.error({ event: 'session_destroy_failed', session: this.session.id, err });
    });
  };

  private sendHeader(): void {
    this.headerSent = true;
    const id = randomId(12);
    this.out(
      `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAMS}' id='${id}' from='${escapeXML(this.host.domain)}' version='1.0' xml:lang='en'>`,
    );
  }

  private onStreamStart(header: StreamHeader): void {
    this.sendHeader();
    this.session.notopen = false;
    const error = this.negotiation.checkHeader(header);
    if (error) {
      this.close(error);
      return;
    }
    // Joined with the header: one write.
    this.out(this.negotiation.features().toString());
  }

  /**
   * The client closed its stream. RFC 6120 §4.4: what it sent before the closing tag is still
   * handled (a last message, an unavailable presence), so the queue drains first; then our
   * closing tag, then the session ends.
   */
  private onStreamEnd(): void {
    this.peerClosed = true;
    if (!this.pumping) this.finishStream();
  }

  private finishStream(): void {
    if (!this.closed) {
      this.closed = true;
      this.queue.length = 0;
      clearTimeout(this.authTimer);
      this.flushOutput();
      this.socket.end('</stream:stream>');
    }
    void this.host.local.destroy(this.session, undefined, true).catch((err: unknown) => {
      this.host.log.error({ event: 'session_destroy_failed', session: this.session.id, err });
    });
  }

  private enqueue(element: Element): void {
    if (this.closed) return;
    this.queue.push(element);
    if (this.queue.length >= QUEUE_HIGH && !this.paused) {
      this.paused = true;
      this.updateReading();
    }
    if (!this.pumping) void this.pump();
  }

  /** Handles queued elements one at a time, in order. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let element = this.queue.shift(); element; element = this.queue.shift()) {
        if (this.paused && this.queue.length <= QUEUE_LOW) {
          this.paused = false;
          this.updateReading();
        }
        if (this.stanzaBudget && !(await this.spendStanza(this.stanzaBudget))) break;
        try {
          await this.handle(element);
        } catch (err) {
          // A StanzaError is an answer a handler chose; anything else is a failure of ours.
          if (!(err instanceof StanzaError)) this.host.log.error({ event: 'stanza_failed', session: this.session.id, name: element.name, id: element.attrs.id, err });
          this.failed(element, err instanceof StanzaError ? err : new StanzaError('internal-server-error'));
        }
        if (this.closed) break;
      }
    } finally {
      this.pumping = false;
    }
    if (this.peerClosed) this.finishStream();
  }

  /** Waits, reading paused, until the stanza budget has an element to spend; false if the connection closed meanwhile. */
  private async spendStanza(budget: TokenBucket): Promise<boolean> {
    for (let wait = budget.msUntil(1); wait > 0; wait = budget.msUntil(1)) {
      if (!this.stanzaWait) {
        this.stanzaWait = true;
        this.host.telemetry.limitEnforced('c2s_stanza_rate');
        this.updateReading();
      }
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (this.closed) return false;
    }
    if (this.stanzaWait) {
      this.stanzaWait = false;
      this.updateReading();
    }
    budget.take(1);
    return true;
  }

  /** A stanza whose handling failed is answered, not lost (RFC 6120 §8.3.3.5). */
  private failed(element: Element, error: StanzaError): void {
    if (!isClientStanza(element) || this.session.type !== 'c2s') return;
    const type = stanzaType(element);
    if (type === 'error' || (element.name === 'iq' && type === 'result')) {
      this.host.telemetry.routed('dropped');
      return;
    }
    this.host.telemetry.routed('bounced');
    this.session.send(errorReply(element, error));
  }

  private async handle(element: Element): Promise<void> {
    if (this.session.type === 'c2s') {
      if (isClientStanza(element)) {
        this.host.telemetry.stanzaIn(element.name as StanzaLabel);
        const session = this.session;
        try {
          await this.host.router.fromClient(session, element);
        } finally {
          // Counted even when handling failed (the client was answered): a resumed client must not resend it.
          session.sm?.inboundHandled();
        }
      } else if (!(await this.host.hooks.fire('stream-nonza', { connection: this, element }))) {
        this.close(new StreamError('unsupported-stanza-type'));
      }
      return;
    }
    await this.negotiation.handle(element);
  }
}

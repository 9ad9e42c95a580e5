// One client connection (RFC 6120 §4): the socket, the XML stream over it, and the session it
// carries. Negotiation (STARTTLS, SASL, bind) lives in negotiation.ts; bound stanzas go to the
// router. Writing (batching, backlog) is output.ts; the pace of reading is read-gate.ts. What
// carries it is a Link with its Framing (link.ts): a TCP socket, or a WebSocket (RFC 7395).
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Element } from 'ltx';
import type { Host } from '../core/host.js';
import { randomId } from '../random-id.js';
import { rescueUndelivered } from '../core/undelivered.js';
import { C2SSession, type Conn, type StreamConnection } from '../core/session.js';
import { StreamParser, type StreamHeader } from '../xml/stream-parser.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import { errorReply, isClientStanza, stanzaType } from '../xmpp/stanza.js';
import type { StanzaLabel } from '../telemetry.js';
import type { Transport } from '../xmpp/kinds.js';
import type { AuthThrottle } from './auth-throttle.js';
import { type Carrier, type Framing, type Link, socketCarrier } from './link.js';
import { Negotiation, type NegotiatingConnection } from './negotiation.js';
import { Output } from './output.js';
import { bucketFor } from '../core/rate-limit.js';
import { ReadGate } from './read-gate.js';
import type { TlsMaterial } from './tls.js';

export interface ConnectionContext {
  host: Host;
  tls: TlsMaterial;
  throttle: AuthThrottle;
  /** Told about every connection that opens and closes (metrics, drain). */
  onClose?(connection: Connection): void;
}

/** After our closing tag, how long the peer gets to close its side. */
const CLOSE_TIMEOUT_MS = 5_000;

/** How a connection ends (see shut). */
type Ending = 'closing-tag' | 'quietly' | 'client-closed-stream' | 'socket-closed';

export class Connection implements Conn, StreamConnection, NegotiatingConnection {
  /** Replaced when this connection resumes a stream-managed session (XEP-0198). */
  session: C2SSession;
  transport: Transport;
  private socket: Link;
  private readonly framing: Framing;
  /** Whether the link counts as encrypted without STARTTLS (a WebSocket's carrier decides). */
  private readonly carrierSecure: boolean | undefined;
  private readonly parser: StreamParser;
  private readonly negotiation: Negotiation;
  private headerSent = false;
  private closed = false;
  private socketError: string | undefined;
  private readonly queue: Element[] = [];
  private readonly output: Output;
  private readonly gate: ReadGate;
  private pumping = false;
  /** The client's closing tag arrived; the stream ends once the inbound queue is pumped empty. */
  private peerClosed = false;
  /** Input is ignored between <proceed/> and the end of the TLS handshake. */
  private awaitingTls = false;
  private readonly authTimer: NodeJS.Timeout;

  constructor(
    readonly ctx: ConnectionContext,
    socket: Socket | Carrier,
    directTls: boolean,
    /** The client's address when a trusted proxy named it (PROXY protocol); else the socket's peer. */
    private readonly clientAddress?: string,
  ) {
    const carrier = 'framing' in socket ? socket : socketCarrier(socket, directTls);
    ({ link: this.socket, framing: this.framing, transport: this.transport, secure: this.carrierSecure } = carrier);
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
    this.output = new Output(this.socket, limits.maxOutboundBytes, () => this.closed, (untaken) => this.overflow(untaken), this.framing.framed);
    this.gate = new ReadGate(
      this.socket,
      {
        parse: (chunk) => this.parse(chunk),
        ignoringInput: () => this.closed || this.awaitingTls,
        closed: () => this.closed,
        unauthenticated: () => this.session.type === 'c2s_unauthed',
      },
      ctx.host.telemetry,
      bucketFor(limits.c2sUnauthedBytesPerSecond, limits.c2sUnauthedBurstBytes),
      bucketFor(limits.c2sStanzasPerSecond, limits.c2sStanzaBurst),
      this.framing.framed,
    );
    this.listen(this.socket);
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

  /** The TLS socket under a TCP link, for channel binding (channel-binding.ts); undefined in the clear and on a WebSocket. */
  get tlsSocket(): TLSSocket | undefined { return this.socket instanceof TLSSocket ? this.socket : undefined; }

  get secure(): boolean {
    return this.carrierSecure ?? this.transport !== 'plain';
  }

  /** STARTTLS is a TCP matter: a WebSocket is secured, or not, by its HTTP connection (RFC 7395 §3.8). */
  get canStartTls(): boolean {
    return this.carrierSecure === undefined;
  }

  private parse(chunk: Buffer): void {
    const error = this.framing.input(chunk, this.parser);
    if (error) this.close(error);
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
    this.output.write(data);
  }

  /** Joins this event-loop turn's output (output.ts). */
  private out(data: string): void {
    this.output.out(data);
  }

  writable(): Promise<void> {
    return this.output.writable();
  }

  /** Past the outbound bound: cut the client off; what it never took is stored or bounced. */
  private overflow(untaken: string[]): void {
    this.host.telemetry.limitEnforced('outbound_buffer');
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
    this.shut('closing-tag', [...(error ? [error.toElement().toString()] : []), this.framing.handOff ?? this.framing.footer]);
    // Deferred, so that a caller ending the session itself right after close() (a kicked
    // session, shutdown, a deleted account) does it with its own reason.
    if (error) setImmediate(() => this.endSession(error.condition));
  }

  /** Ends the socket without a stream error or closing tag (but a drain's redirect, Framing.handOff); the session is no longer this connection's concern. */
  closeQuietly(): void {
    if (this.closed) return;
    this.disown();
    this.shut('quietly', this.framing.handOff === undefined ? [] : [this.framing.handOff]);
  }

  /**
   * The one way a connection stops: no more input is handled and the authentication timer is
   * off. Then, by how it ends: when we close (with our closing tag, or quietly without one),
   * what waits is written, then `tail`, and the peer gets CLOSE_TIMEOUT_MS to close its side;
   * when the client closed its stream, this turn's output and our closing tag follow; when the
   * socket is already gone, what waits is dropped.
   */
  private shut(ending: Ending, tail: string[] = []): void {
    this.closed = true;
    this.queue.length = 0;
    clearTimeout(this.authTimer);
    switch (ending) {
      case 'socket-closed':
        this.output.discard();
        return;
      case 'client-closed-stream':
        this.output.flush();
        this.end(tail);
        return;
      case 'closing-tag':
      case 'quietly':
        this.output.writeAll();
        this.end(tail);
        setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
    }
  }

  /** A socket ends with the tail in its last write; a framed link sends each element, then closes. */
  private end(tail: string[]): void {
    if (tail.length === 0) this.socket.end();
    else if (!this.framing.framed) this.socket.end(tail.join(''));
    else {
      for (const element of tail) this.socket.write(element);
      this.socket.end();
    }
  }

  /** The session ends with its connection (unless a module keeps it: stream management). */
  private endSession(reason?: string, clean = false): void {
    void this.host.local.destroy(this.session, reason, clean).catch((err: unknown) => {
      this.host.log.error({ event: 'session_destroy_failed', session: this.session.id, err });
    });
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
    const raw = this.socket as Socket; // canStartTls: only a TCP socket gets here
    // <proceed/> goes out in the clear, before the handshake.
    this.output.flush();
    this.unlisten(raw);
    this.queue.length = 0; // anything sent after <starttls/> in the clear is discarded (RFC 6120 §5.4.3.3)
    this.awaitingTls = true;
    const secure = new TLSSocket(raw, { isServer: true, secureContext: this.ctx.tls.context });
    this.gate.setSocket(secure); // a fresh socket, flowing
    this.output.setSocket(secure);
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
    this.framing.reset();
    this.headerSent = false;
    this.session.notopen = true;
  }

  /** Authenticated: stanzas may now be as large, and come as fast, as the configured limits. */
  authenticated(): void {
    const limits = this.host.config.limits;
    this.parser.setLimits({ maxStanzaBytes: limits.maxStanzaBytes });
    this.gate.setBytesBudget(bucketFor(limits.c2sBytesPerSecond, limits.c2sBurstBytes));
  }

  bound(): void {
    clearTimeout(this.authTimer);
  }

  private listen(socket: Link): void {
    socket.on('data', this.gate.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
  }

  private unlisten(socket: Link): void {
    socket.off('data', this.gate.onData);
    socket.off('error', this.onError);
    socket.off('close', this.onSocketClose);
  }

  private readonly onError = (error: Error): void => {
    this.socketError = (error as NodeJS.ErrnoException).code ?? error.message;
  };

  private readonly onSocketClose = (): void => {
    this.shut('socket-closed');
    this.ctx.onClose?.(this);
    this.endSession(this.socketError);
  };

  private sendHeader(): void {
    this.headerSent = true;
    this.out(this.framing.header(randomId(12), this.host.domain));
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
    if (!this.closed) this.shut('client-closed-stream', [this.framing.footer]);
    this.endSession(undefined, true);
  }

  private enqueue(element: Element): void {
    if (this.closed) return;
    this.queue.push(element);
    this.gate.queued(this.queue.length);
    if (!this.pumping) void this.pump();
  }

  /** Handles queued elements one at a time, in order. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let element = this.queue.shift(); element; element = this.queue.shift()) {
        this.gate.dequeued(this.queue.length);
        if (this.gate.limitsStanzas && !(await this.gate.spendStanza())) break;
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

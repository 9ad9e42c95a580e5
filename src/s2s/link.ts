// The plumbing both directions of a server-to-server stream share (RFC 6120 §4): a socket (TCP,
// then TLS), the stream parser in the `jabber:server` namespace with the c2s size limits, the
// stream header, stream errors, an idle timer, the pace of reading (a byte budget, as Prosody's
// mod_limits for s2sin: past it reading pauses, nothing is lost), the closing handshake (§4.4:
// after our closing tag, read on until the peer closes its stream too), and output batched per
// event-loop turn (one write, one TLS record, for what a turn sends down the stream).
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { connect as connectTls, TLSSocket } from 'node:tls';
import type { Element } from 'ltx';
import { type StreamHeader, StreamParser } from '../xml/stream-parser.js';
import { StreamError } from '../xmpp/errors.js';
import { NS_DIALBACK, NS_SERVER, NS_STREAMS } from '../xmpp/ns.js';
import type { Limits } from '../config/schema.js';
import type { TokenBucket } from '../core/rate-limit.js';
import type { TrustStore } from './certificate.js';
import { certificateNames } from './names.js';

export interface LinkEvents {
  header(header: StreamHeader): void;
  element(element: Element): void;
  /** The socket closed (for whatever reason); called once. */
  closed(error: StreamError | undefined): void;
  /** Reading paused for the byte budget (once per pause). */
  limited?(): void;
}

/** Past this much output in one turn, it is written at once (the socket then reports a full buffer). */
const FLUSH_BYTES = 64 * 1024;

export class S2SLink {
  socket: Socket;
  readonly parser: StreamParser;
  secure = false;
  /** The peer's certificate verified against the trust store (names are checked by `certifies`). */
  authorized = false;
  /** TLS from the first byte (XEP-0368), not STARTTLS. */
  directTls = false;
  private ended = false;
  /** Our closing tag is written: nothing more is (RFC 6120 §4.4). */
  private closingSent = false;
  /** The peer's closing tag arrived: everything it sent before was read. */
  peerClosed = false;
  private readonly closeWaiters: Array<(peerClosed: boolean) => void> = [];
  private idleTimer: NodeJS.Timeout | undefined;
  /** When anything last went either way (ms): the idle timer re-arms itself from it. */
  private lastActivity = Date.now();
  /** This turn's output, written by flush. */
  private pending = '';
  /** Bytes read past the budget, parsed as it refills; reading is paused meanwhile. */
  private unread: Buffer | undefined;
  private unreadTimer: NodeJS.Timeout | undefined;
  private paused = false;
  /** Reading held back by the stream's owner (hold()), apart from the byte budget. */
  private held = false;

  constructor(
    socket: Socket,
    private readonly events: LinkEvents,
    private readonly limits: Limits,
    readonly remoteAddress: string,
    /** None: read as fast as the peer sends. */
    private budget?: TokenBucket,
  ) {
    this.socket = socket;
    // Direct TLS (XEP-0368): secure from the first byte.
    if (socket instanceof TLSSocket && socket.encrypted) {
      this.secure = true;
      this.directTls = true;
      this.authorized = socket.authorized;
    }
    this.parser = new StreamParser(
      {
        streamStart: (header) => this.events.header(header),
        stanza: (element) => this.events.element(element),
        streamEnd: () => {
          this.peerClosed = true;
          this.close();
        },
        error: (error) => this.close(error),
      },
      { maxStanzaBytes: limits.maxStanzaBytes, maxDepth: limits.maxDepth },
      NS_SERVER,
    );
    this.listen(socket);
    this.touch();
  }

  private listen(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onClose);
    socket.on('close', this.onClose);
  }

  private unlisten(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onClose);
    socket.off('close', this.onClose);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.touch();
    if (!this.budget && !this.unread) return this.parser.write(chunk);
    this.unread = this.unread ? Buffer.concat([this.unread, chunk]) : chunk;
    this.feed();
  };

  /** Parses as much unread input as the budget allows; past it, pauses reading until it refills. */
  private feed(): void {
    this.unreadTimer = undefined;
    const unread = this.unread;
    const budget = this.budget;
    if (!unread || this.ended) return;
    const allowed = budget ? budget.take(unread.length) : unread.length;
    this.unread = allowed < unread.length ? unread.subarray(allowed) : undefined;
    if (allowed > 0) this.parser.write(allowed < unread.length ? unread.subarray(0, allowed) : unread);
    if (this.unread && budget && !this.ended) {
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
        this.events.limited?.();
      }
      this.unreadTimer = setTimeout(() => this.feed(), Math.max(1, budget.msUntil(this.unread.length)));
      this.unreadTimer.unref();
    } else if (this.paused) {
      this.paused = false;
      if (!this.held) this.socket.resume();
    }
  }

  /** Stops reading (true) until told otherwise: the owner's backlog of elements is long. Nothing is lost. */
  hold(held: boolean): void {
    if (this.held === held) return;
    this.held = held;
    if (held) this.socket.pause();
    else if (!this.paused) this.socket.resume();
  }

  private readonly onClose = (): void => {
    // What was read but held back by the budget was sent before the peer left: it is handled.
    const unread = this.unread;
    this.unread = undefined;
    if (unread && !this.ended) this.parser.write(unread);
    this.finish(undefined);
  };

  /** Idle streams are closed (doc/federation.md); any traffic either way restarts the timer. */
  private touch(): void {
    this.lastActivity = Date.now();
    if (this.idleTimer === undefined && !this.ended) this.armIdleTimer(this.limits.s2sIdleSeconds * 1000);
  }

  /** One timer per stream, not one per stanza: when it fires early (traffic since), it waits the rest. */
  private armIdleTimer(ms: number): void {
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      const idleFor = Date.now() - this.lastActivity;
      const limit = this.limits.s2sIdleSeconds * 1000;
      if (idleFor >= limit) this.close(new StreamError('connection-timeout'));
      else if (!this.ended) this.armIdleTimer(limit - idleFor);
    }, ms);
    this.idleTimer.unref();
  }

  writeHeader(attrs: Record<string, string>): void {
    const text = Object.entries({ ...attrs, version: '1.0' })
      .map(([name, value]) => ` ${name}="${escapeAttr(value)}"`)
      .join('');
    this.write(`<?xml version='1.0'?><stream:stream xmlns='${NS_SERVER}' xmlns:stream='${NS_STREAMS}' xmlns:db='${NS_DIALBACK}'${text}>`);
  }

  write(data: Element | string): void {
    if (this.ended || this.closingSent) return;
    this.touch();
    if (this.pending === '') setImmediate(this.flush);
    this.pending += typeof data === 'string' ? data : data.toString();
    if (this.pending.length >= FLUSH_BYTES) this.flush();
  }

  /** Writes this turn's output (before anything that bypasses it: the socket's end, TLS over it). */
  private readonly flush = (): void => {
    if (this.pending === '') return;
    const data = this.pending;
    this.pending = '';
    if (!this.socket.destroyed) this.socket.write(data);
  };

  /** Ends the stream (with an error, if given) and the socket. */
  close(error?: StreamError): void {
    if (this.ended) return;
    this.flush();
    if (this.closingSent) {
      this.socket.end();
    } else {
      this.closingSent = true;
      if (error) this.socket.write(error.toElement().toString());
      this.socket.end('</stream:stream>');
    }
    this.finish(error);
    // A peer that never closes its side is not waited for.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /**
   * The closing handshake (RFC 6120 §4.4): writes our closing tag, then reads on, as fast as the
   * peer sends (the byte budget no longer applies), so that what it wrote meanwhile is handled,
   * until it closes its stream too or `timeoutMs` passes (then the socket is closed). Resolves
   * whether the peer's closing tag arrived.
   */
  closeGracefully(timeoutMs: number): Promise<boolean> {
    if (this.ended) return Promise.resolve(this.peerClosed);
    const finished = new Promise<boolean>((resolve) => this.closeWaiters.push(resolve));
    this.budget = undefined;
    if (!this.closingSent) {
      this.flush();
      this.closingSent = true;
      this.socket.write('</stream:stream>');
    }
    if (this.unread) this.feed();
    const timer = setTimeout(() => this.close(), timeoutMs);
    void finished.then(() => clearTimeout(timer));
    return finished;
  }

  private finish(error: StreamError | undefined): void {
    if (this.ended) {
      return;
    }
    this.ended = true;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    clearTimeout(this.unreadTimer);
    this.unread = undefined;
    this.events.closed(error);
    for (const resolve of this.closeWaiters.splice(0)) resolve(this.peerClosed);
  }

  get closed(): boolean {
    return this.ended;
  }

  /**
   * Replaces the socket by TLS over it (RFC 6120 §5). Resolves once the handshake is done; the
   * stream restarts (a fresh parser state) either way.
   */
  upgrade(options: { isServer: boolean; key: string; cert: string; ca?: string | undefined; trust: TrustStore; servername?: string | undefined }): Promise<void> {
    // <proceed/> (ours, as the receiving side) goes out in the clear, before TLS takes the socket.
    this.flush();
    const raw = this.socket;
    this.unlisten(raw);
    // Bytes after <starttls/> are not ours to read (RFC 6120 §5.4.3.3); TLS reads from here on.
    clearTimeout(this.unreadTimer);
    this.unread = undefined;
    if (this.paused) {
      this.paused = false;
      raw.resume();
    }
    const common = {
      key: options.key,
      cert: options.cert,
      ...(options.ca ? { ca: options.ca } : {}),
      // Verification is ours to judge: dialback may stand in for an unverifiable certificate.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2' as const,
    };
    const secure = options.isServer
      ? new TLSSocket(raw, { ...common, isServer: true, requestCert: true })
      : connectTls({ ...common, socket: raw, checkServerIdentity: skipNameCheck, ...(options.servername && !isIP(options.servername) ? { servername: options.servername } : {}) });
    this.socket = secure;
    this.parser.reset();
    this.listen(secure);
    if (this.held) secure.pause();
    return new Promise((resolve) => {
      secure.once(options.isServer ? 'secure' : 'secureConnect', () => {
        this.secure = true;
        // A server-side socket outside a tls.Server never sets `authorized` (certificate.ts).
        this.authorized = options.isServer ? options.trust.trustsPeer(secure) : secure.authorized;
        resolve();
      });
    });
  }

  /** RFC 6125: the peer's certificate verified and names this domain (names.ts: DNS-ID, SRV-ID, XmppAddr). */
  certifies(domain: string): boolean {
    if (!this.authorized || !(this.socket instanceof TLSSocket)) return false;
    // Not getPeerX509Certificate(): Node 20 returns it once, then undefined (the trust check took it).
    const raw = this.socket.getPeerCertificate().raw as Buffer | undefined;
    return raw !== undefined && certificateNames(new X509Certificate(raw), domain);
  }
}

/**
 * `authorized` then says whether the chain verifies, nothing more: names are checked by
 * `certifies` against the domain (Node would check the SNI name, or `localhost` without one).
 */
export const skipNameCheck = (): undefined => undefined;

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

// One outgoing server-to-server stream from this node to a remote domain (RFC 6120 §4, §5, §6;
// XEP-0178; XEP-0220 §2.1; XEP-0368): connect (TCP, or direct TLS), STARTTLS, then SASL EXTERNAL
// when the peer offers it and our certificate is valid, else (or when it fails) dialback, then
// write stanzas in the order routed. Until the stream is ready, stanzas wait in a bounded queue;
// if it cannot be made ready, they bounce. A drain closes it with the closing handshake.
import { isIP } from 'node:net';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Element } from 'ltx';
import { Element as XmlElement } from 'ltx';
import type { RoutedStanza } from '../core/events.js';
import { StanzaError, type StanzaErrorCondition } from '../xmpp/errors.js';
import { NS_DIALBACK, NS_DIALBACK_FEATURE, NS_SASL, NS_SM, NS_STREAMS, NS_TLS } from '../xmpp/ns.js';
import type { S2SContext } from './context.js';
import { dialbackKey } from './dialback.js';
import { S2SLink, skipNameCheck } from './link.js';
import { resolveTargets, type Target } from './resolve.js';

/** `closing`: our closing tag is written (a drain), the peer's is awaited. */
type Phase = 'connecting' | 'negotiating' | 'ready' | 'closing' | 'closed';
/** SASL EXTERNAL on this stream: not tried, <auth/> sent, succeeded (the stream restarted), failed. */
type External = 'none' | 'attempting' | 'succeeded' | 'failed';

export class OutgoingStream {
  phase: Phase = 'connecting';
  private link: S2SLink | undefined;
  private streamId: string | undefined;
  private readonly queue: RoutedStanza[] = [];
  /** db:verify requests waiting for the stream (key by id), then for their answer. */
  private readonly verifies = new Map<string, { key: string; sent: boolean; resolve: (valid: boolean) => void }>();
  private readonly timer: NodeJS.Timeout;
  /** The (secured) stream's features arrived: db:verify may be sent. */
  private featuresSeen = false;
  /** XEP-0198 on this stream: the peer offered it, and then enabled it. */
  private smOffered = false;
  private sm: { unacked: RoutedStanza[]; acked: number; requested: boolean } | undefined;
  private external: External = 'none';
  /** Told once the stream is ready or closed (a drain waits for a stream being set up). */
  private readonly settled: Array<() => void> = [];

  constructor(
    private readonly ctx: S2SContext,
    /** Our domain this stream speaks for. */
    readonly local: string,
    readonly remote: string,
    private readonly onClosed: (stream: OutgoingStream) => void,
  ) {
    this.timer = setTimeout(() => this.fail('remote-server-timeout', 'not ready in time'), ctx.config.limits.s2sConnectTimeoutSeconds * 1000);
    void this.connect();
  }

  async send(routed: RoutedStanza): Promise<void> {
    if (this.phase === 'ready' && this.link) return this.write(routed);
    if (this.phase === 'closed') return this.ctx.bounce(routed, new StanzaError('remote-server-not-found'));
    if (this.phase === 'closing') return this.ctx.bounce(routed, new StanzaError('remote-server-timeout', 'This server is shutting down'));
    if (this.queue.length >= this.ctx.config.limits.s2sQueueStanzas) return this.ctx.bounce(routed, new StanzaError('resource-constraint', 'Too many stanzas wait for this server'));
    this.queue.push(routed);
  }

  /** Sends <db:verify/> on this stream (authenticated or not) and resolves with the answer. */
  verify(streamId: string, key: string): Promise<boolean> {
    if (this.phase === 'closed' || this.phase === 'closing') return Promise.resolve(false);
    return new Promise((resolve) => {
      this.verifies.get(streamId)?.resolve(false);
      this.verifies.set(streamId, { key, sent: false, resolve });
      if (this.featuresSeen) this.sendVerifies();
    });
  }

  get secure(): boolean {
    return this.link?.secure === true;
  }

  get directTls(): boolean {
    return this.link?.directTls === true;
  }

  /** How we authenticated to the peer: SASL EXTERNAL, else dialback. */
  get auth(): 'external' | 'dialback' {
    return this.external === 'succeeded' ? 'external' : 'dialback';
  }

  /** Stop: what is queued bounces, the stream ends at once. */
  close(): void {
    this.fail('remote-server-timeout', 'this server is shutting down');
  }

  /**
   * Drain (doc/federation.md): a stream being set up gets until `timeoutMs` to be ready (then its
   * queue is written); a ready one ends with the closing handshake, so that the peer has read
   * every stanza before it. Whatever cannot be written bounces.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.phase === 'connecting' || this.phase === 'negotiating') {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.settled.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    }
    if (this.phase !== 'ready' || !this.link) return this.close();
    this.phase = 'closing';
    await this.link.closeGracefully(Math.max(0, deadline - Date.now()));
  }

  private async connect(): Promise<void> {
    let targets: Target[];
    try {
      targets = await resolveTargets(this.remote, this.ctx.routes);
    } catch {
      targets = [];
    }
    for (const target of targets) {
      if (this.phase === 'closed') return;
      const socket = await open(target, this.ctx.tls, this.remote).catch(() => undefined);
      if (!socket) continue;
      if ((this.phase as Phase) === 'closed') {
        socket.destroy();
        return;
      }
      this.ctx.count('stream_out');
      this.phase = 'negotiating';
      this.link = new S2SLink(socket, {
        header: (header) => (this.streamId = header.attrs.id),
        element: (element) => void this.onElement(element).catch((err: unknown) => this.ctx.log.error({ event: 's2s_out_failed', err })),
        closed: () => this.fail('remote-server-not-found', 'the stream closed'),
      }, this.ctx.config.limits, `${target.host}:${target.port}`);
      this.openStream();
      return;
    }
    this.fail('remote-server-not-found', 'no server of this domain could be reached');
  }

  private openStream(): void {
    this.link?.writeHeader({ from: this.local, to: this.remote });
  }

  private async onElement(element: Element): Promise<void> {
    const link = this.link;
    if (!link) return;
    const xmlns = element.attrs.xmlns;
    if (element.name === 'features' && xmlns === NS_STREAMS) {
      if (!link.secure && element.getChild('starttls', NS_TLS)) {
        link.write(new XmlElement('starttls', { xmlns: NS_TLS }));
        return;
      }
      if (!link.secure && this.ctx.policy.requiresTls(this.remote)) return this.fail('remote-server-not-found', 'the server offers no TLS');
      if (this.ctx.policy.requiresCertificate(this.remote) && !link.certifies(this.remote)) return this.fail('remote-server-not-found', 'the certificate does not verify');
      if (this.streamId === undefined) return this.fail('remote-server-not-found', 'the stream has no id');
      this.smOffered = element.getChild('sm', NS_SM) !== undefined;
      if (this.external === 'succeeded') {
        // The features of the stream restarted after <success/> (RFC 6120 §6.4.6): authenticated.
        this.featuresSeen = true;
        this.sendVerifies();
        return this.authenticated();
      }
      if (link.secure && this.external === 'none' && this.ctx.certificateValid(this.local) && offersExternal(element)) {
        // XEP-0178 §3 step 5: the authorization identity is our domain. db:verify waits for the
        // restarted stream, which <success/> begins.
        this.external = 'attempting';
        link.write(new XmlElement('auth', { xmlns: NS_SASL, mechanism: 'EXTERNAL' }).t(Buffer.from(this.local).toString('base64')));
        return;
      }
      this.featuresSeen = true;
      this.sendVerifies();
      if (!element.getChild('dialback', NS_DIALBACK_FEATURE)) this.ctx.log.debug({ event: 's2s_no_dialback_feature', remote: this.remote });
      this.dialback();
      return;
    }
    if (element.name === 'success' && xmlns === NS_SASL && this.external === 'attempting') {
      this.external = 'succeeded';
      link.parser.reset();
      this.openStream();
      return;
    }
    if (element.name === 'failure' && xmlns === NS_SASL && this.external === 'attempting') {
      // As Prosody and ejabberd: dialback on the same stream.
      this.external = 'failed';
      this.ctx.log.info({ event: 's2s_external_refused', remote: this.remote, condition: element.children.find((child) => typeof child !== 'string')?.toString() ?? '' });
      this.featuresSeen = true;
      this.sendVerifies();
      this.dialback();
      return;
    }
    if (element.name === 'proceed' && xmlns === NS_TLS) {
      await link.upgrade({ isServer: false, key: this.ctx.tls.key, cert: this.ctx.tls.cert, ca: this.ctx.tls.ca, trust: this.ctx.tls.trust, servername: this.remote });
      this.openStream();
      return;
    }
    if (element.name === 'result' && xmlns === NS_DIALBACK) {
      if (element.attrs.type !== 'valid') return this.fail('remote-server-not-found', `dialback refused (${String(element.attrs.type)})`);
      return this.authenticated();
    }
    if (element.name === 'verify' && xmlns === NS_DIALBACK) {
      const id = String(element.attrs.id ?? '');
      const pending = this.verifies.get(id);
      this.verifies.delete(id);
      pending?.resolve(element.attrs.type === 'valid');
      return;
    }
    if (xmlns === NS_SM) return this.onSm(element);
    if (element.name === 'error' && xmlns === NS_STREAMS) {
      this.ctx.log.info({ event: 's2s_stream_error', remote: this.remote, error: element.children.map((child) => (typeof child === 'string' ? child : child.name)).join(' ') });
    }
  }

  /**
   * Writes a stanza. With stream management it is kept until the peer acknowledges it: a stream
   * that closes first hands it back to be sent again (doc/federation.md).
   */
  private write(routed: RoutedStanza): void {
    this.link?.write(routed.stanza);
    this.ctx.count('stanza_out');
    const sm = this.sm;
    if (!sm) return;
    sm.unacked.push(routed);
    if (sm.requested) return;
    sm.requested = true;
    setImmediate(() => {
      sm.requested = false;
      if (this.phase === 'ready' && this.sm === sm && sm.unacked.length > 0) this.link?.write(new XmlElement('r', { xmlns: NS_SM }));
    });
  }

  private onSm(element: Element): void {
    const sm = this.sm;
    if (!sm) return;
    if (element.name === 'failed') {
      this.sm = undefined;
      return;
    }
    if (element.name === 'r') {
      this.link?.write(new XmlElement('a', { xmlns: NS_SM, h: '0' }));
      return;
    }
    if (element.name !== 'a') return;
    const h = Number(element.attrs.h);
    if (!Number.isInteger(h)) return;
    // h counts modulo 2^32 (XEP-0198 §5).
    const count = (h - sm.acked + 2 ** 32) % 2 ** 32;
    if (count > sm.unacked.length) return;
    sm.unacked.splice(0, count);
    sm.acked = h;
  }

  private dialback(): void {
    const key = dialbackKey(this.ctx.secret, this.remote, this.local, this.streamId ?? '');
    this.link?.write(new XmlElement('db:result', { from: this.local, to: this.remote }).t(key));
  }

  private authenticated(): void {
    if (this.smOffered) {
      // XEP-0198 §3: the peer counts what we send from <enable/> on.
      this.link?.write(new XmlElement('enable', { xmlns: NS_SM }));
      this.sm = { unacked: [], acked: 0, requested: false };
    }
    this.ready();
  }

  private sendVerifies(): void {
    for (const [id, pending] of this.verifies) {
      if (pending.sent) continue;
      pending.sent = true;
      this.link?.write(new XmlElement('db:verify', { from: this.local, to: this.remote, id }).t(pending.key));
    }
  }

  private ready(): void {
    if (!this.link || this.phase !== 'negotiating') return;
    clearTimeout(this.timer);
    this.phase = 'ready';
    this.ctx.log.info({ event: 's2s_out_ready', remote: this.remote, secure: this.link.secure, mechanism: this.external === 'succeeded' ? 'EXTERNAL' : 'dialback' });
    for (const routed of this.queue.splice(0)) this.write(routed);
    for (const settle of this.settled.splice(0)) settle();
  }

  private fail(condition: StanzaErrorCondition, reason: string): void {
    if (this.phase === 'closed') return;
    const established = this.phase === 'ready' || this.phase === 'closing';
    // The peer answered our closing tag: it read every stanza written before it (RFC 6120 §4.4).
    const closing = this.phase === 'closing';
    const drained = closing && this.link?.peerClosed === true;
    this.phase = 'closed';
    clearTimeout(this.timer);
    if (established) {
      // clean: the peer's closing tag arrived (RFC 6120 §4.4), rather than the socket just ending.
      this.ctx.log.info({ event: 's2s_out_closed', remote: this.remote, clean: this.link?.peerClosed === true, reason: closing ? 'drain' : reason });
    } else {
      this.ctx.count('failure');
      this.ctx.log.info({ event: 's2s_out_failed', remote: this.remote, condition, reason });
    }
    for (const pending of this.verifies.values()) pending.resolve(false);
    this.verifies.clear();
    for (const routed of this.queue.splice(0)) void this.ctx.bounce(routed, new StanzaError(condition));
    // Written but never acknowledged: sent once more on a new stream (at least once), else bounced.
    const unacked = this.sm?.unacked.splice(0) ?? [];
    if (!drained) for (const routed of unacked) void this.ctx.resend(routed);
    this.sm = undefined;
    this.link?.close();
    for (const settle of this.settled.splice(0)) settle();
    this.onClosed(this);
  }
}

function offersExternal(features: Element): boolean {
  return features.getChild('mechanisms', NS_SASL)?.getChildren('mechanism').some((mechanism) => mechanism.getText().trim() === 'EXTERNAL') === true;
}

/** A TCP (or direct TLS) connection to one target, or a rejection. */
function open(target: Target, tls: S2SContext['tls'], domain: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = target.directTls
      ? connectTls({ host: target.host, port: target.port, key: tls.key, cert: tls.cert, ...(tls.ca ? { ca: tls.ca } : {}), ...(isIP(domain.replace(/^\[|\]$/g, '')) ? {} : { servername: domain }), rejectUnauthorized: false, checkServerIdentity: skipNameCheck, ALPNProtocols: ['xmpp-server'], minVersion: 'TLSv1.2' })
      : connectTcp({ host: target.host, port: target.port });
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), 10_000);
    socket.once(target.directTls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

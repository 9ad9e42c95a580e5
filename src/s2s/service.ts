// Federation on one node (doc/federation.md): the s2s listeners (STARTTLS, and direct TLS per
// XEP-0368), this node's outgoing streams by remote domain (each node keeps its own), and the
// Router.remote seam through which the core hands over stanzas for other domains.
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Element } from 'ltx';
import type { RoutedStanza } from '../core/events.js';
import type { Host } from '../core/host.js';
import type { RemoteDomains } from '../core/router.js';
import { parseRoutes } from '../config/types.js';
import { bucketFor } from '../core/rate-limit.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import { certificateValidFor, TrustStore } from './certificate.js';
import type { S2SContext, S2SEvent } from './context.js';
import { IncomingStream } from './incoming.js';
import { OutgoingStream } from './outgoing.js';
import { S2SPolicy } from './policy.js';

export class S2SService implements RemoteDomains {
  /** By `<our domain> <remote domain>`: one stream per pair (XEP-0220 §2.1). */
  private readonly outgoing = new Map<string, OutgoingStream>();
  private readonly validFor = new Map<string, boolean>();
  private readonly incoming = new Set<IncomingStream>();
  private server: Server | undefined;
  private tlsServer: TlsServer | undefined;
  /** Set once a drain closes the outgoing streams: stanzas for other domains bounce from then on. */
  private stopping = false;
  /** Stanzas already sent once more after their stream closed unacknowledged. */
  private readonly resent = new WeakSet<Element>();
  private readonly ctx: S2SContext;
  /** Counts by event, read by tests and the admin view (no domain names). */
  readonly counts = new Map<S2SEvent, number>();

  constructor(
    private readonly host: Host,
    tls: { key: string; cert: string },
    secret: Buffer,
  ) {
    const config = host.config;
    const ca = config.s2sCaFile ? readFileSync(config.s2sCaFile, 'utf8') : undefined;
    const trust = new TrustStore(ca);
    this.ctx = {
      domain: host.domain,
      serves: (domain) => domain === host.domain || host.services.has(domain),
      config,
      policy: new S2SPolicy(config),
      routes: parseRoutes(config.s2sRoutes ?? ''),
      log: host.log,
      tls: { ...tls, ca, trust },
      certificateValid: (domain) => {
        let valid = this.validFor.get(domain);
        if (valid === undefined) this.validFor.set(domain, (valid = certificateValidFor(tls.cert, domain, trust)));
        return valid;
      },
      secret,
      route: (routed) => host.router.route(routed),
      bounce: async (routed, error) => {
        this.count('bounce');
        await host.router.bounce(routed.stanza, error, routed.origin);
      },
      resend: async (routed) => {
        if (this.resent.has(routed.stanza)) return this.ctx.bounce(routed, new StanzaError('remote-server-timeout'));
        this.resent.add(routed.stanza);
        await this.send(routed);
      },
      verify: (receiving, originating, streamId, key) => this.streamTo(receiving, originating).verify(streamId, key),
      count: (event) => this.count(event),
      incomingBudget: () => bucketFor(config.limits.s2sBytesPerSecond, config.limits.s2sBurstBytes),
      limited: () => host.telemetry.limitEnforced('s2s_bytes_rate'),
    };
  }

  private count(event: S2SEvent): void {
    this.counts.set(event, (this.counts.get(event) ?? 0) + 1);
    this.host.telemetry.s2s(event);
  }

  async send(routed: RoutedStanza): Promise<void> {
    if (!this.ctx.policy.permits(routed.to.domain)) return this.ctx.bounce(routed, new StanzaError('policy-violation', 'Federation with this domain is not allowed'));
    if (this.stopping) return this.ctx.bounce(routed, new StanzaError('remote-server-timeout', 'This server is shutting down'));
    if (this.server === undefined) return this.ctx.bounce(routed, new StanzaError('remote-server-not-found'));
    // A peer accepts from a stream only what comes from a domain it authenticated (RFC 6120 §13.9.2).
    if (!this.ctx.serves(routed.from.domain)) return this.ctx.bounce(routed, new StanzaError('not-allowed', 'Only our own domains send to other servers'));
    await this.streamTo(routed.from.domain, routed.to.domain).send(routed);
  }

  private streamTo(local: string, remote: string): OutgoingStream {
    const key = `${local} ${remote}`;
    let stream = this.outgoing.get(key);
    if (!stream || stream.phase === 'closed') {
      stream = new OutgoingStream(this.ctx, local, remote, (closed) => {
        if (this.outgoing.get(key) === closed) this.outgoing.delete(key);
      });
      this.outgoing.set(key, stream);
    }
    return stream;
  }

  /** What this node's streams are now (for tests and operators): no stanza content. */
  streams(): S2SStreamInfo[] {
    return [
      ...[...this.outgoing.values()].map((stream) => ({ direction: 'out' as const, remote: stream.remote, ready: stream.phase === 'ready', secure: stream.secure, directTls: stream.directTls, auth: stream.auth })),
      ...[...this.incoming].flatMap((stream) => stream.domains().map(({ domain, auth }) => ({ direction: 'in' as const, remote: domain, ready: true, secure: stream.link.secure, directTls: stream.link.directTls, auth }))),
    ];
  }

  /** Whether our certificate verifies for our domain, so that outgoing streams try SASL EXTERNAL. */
  get certificateValid(): boolean {
    return this.ctx.certificateValid(this.ctx.domain);
  }

  private accept = (socket: Socket): void => {
    socket.setNoDelay(true);
    const stream = new IncomingStream(this.ctx, socket, (closed) => this.incoming.delete(closed));
    this.incoming.add(stream);
  };

  async listen(port: number, address: string): Promise<number> {
    const server = createServer(this.accept);
    await listenOn(server, port, address);
    this.server = server;
    this.host.router.remote = this;
    return portOf(server);
  }

  /**
   * XEP-0368: TLS from the first byte, ALPN `xmpp-server`. The peer's certificate is asked for and
   * judged by the stream (EXTERNAL or dialback), as after STARTTLS.
   */
  async listenTls(port: number, address: string): Promise<number> {
    const { key, cert, ca } = this.ctx.tls;
    const server = createTlsServer({ key, cert, ...(ca ? { ca } : {}), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', ALPNProtocols: ['xmpp-server'] }, this.accept);
    server.on('tlsClientError', (error) => this.host.log.debug({ event: 's2s_tls_client_error', err: error.message }));
    await listenOn(server, port, address);
    this.tlsServer = server;
    return portOf(server);
  }

  get port(): number {
    return portOf(this.server);
  }

  get tlsPort(): number {
    return portOf(this.tlsServer);
  }

  /**
   * Drain (doc/federation.md), once the node's sessions are handed over: the listeners close;
   * incoming streams end with the closing handshake, what their peers still send routed, so that
   * each peer opens its next stream to a node that stays; then outgoing streams (which carried
   * the sessions' last stanzas and the answers to those incoming ones) end the same way, every
   * stanza written before the peer's closing tag read by it. Within `timeoutMs`, half of it for
   * each direction at most; what is left is closed at once.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    this.server?.close();
    this.tlsServer?.close();
    await Promise.all([...this.incoming].map((stream) => stream.drain(timeoutMs / 2)));
    this.stopping = true;
    await Promise.all([...this.outgoing.values()].map((stream) => stream.drain(Math.max(0, deadline - Date.now()))));
    this.close();
  }

  /** Stops listening; queued stanzas bounce, streams end at once. */
  close(): void {
    this.stopping = true;
    this.server?.close();
    this.server = undefined;
    this.tlsServer?.close();
    this.tlsServer = undefined;
    for (const stream of this.outgoing.values()) stream.close();
    this.outgoing.clear();
    for (const stream of this.incoming) stream.close(new StreamError('system-shutdown'));
    this.incoming.clear();
  }
}

export interface S2SStreamInfo {
  direction: 'out' | 'in';
  remote: string;
  ready: boolean;
  secure: boolean;
  /** TLS from the first byte (XEP-0368) rather than STARTTLS. */
  directTls: boolean;
  /** How the remote side (in) or we (out) authenticated: SASL EXTERNAL or dialback. */
  auth: 'external' | 'dialback';
}

function listenOn(server: Server, port: number, address: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function portOf(server: Server | undefined): number {
  const bound = server?.address();
  return typeof bound === 'object' && bound ? bound.port : 0;
}

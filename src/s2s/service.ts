// Federation on one node (doc/federation.md): the s2s listener, this node's outgoing streams by
// remote domain (each node keeps its own), and the Router.remote seam through which the core
// hands over stanzas for other domains.
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Element } from 'ltx';
import type { RoutedStanza } from '../core/events.js';
import type { Host } from '../core/host.js';
import type { RemoteDomains } from '../core/router.js';
import { parseRoutes } from '../config/types.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import type { S2SContext, S2SEvent } from './context.js';
import { IncomingStream } from './incoming.js';
import { OutgoingStream } from './outgoing.js';
import { S2SPolicy } from './policy.js';

export class S2SService implements RemoteDomains {
  private readonly outgoing = new Map<string, OutgoingStream>();
  private readonly incoming = new Set<IncomingStream>();
  private server: Server | undefined;
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
    this.ctx = {
      domain: host.domain,
      config,
      policy: new S2SPolicy(config),
      routes: parseRoutes(config.s2sRoutes ?? ''),
      log: host.log,
      tls: { ...tls, ca: config.s2sCaFile ? readFileSync(config.s2sCaFile, 'utf8') : undefined },
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
      verify: (originating, streamId, key) => this.streamTo(originating).verify(streamId, key),
      count: (event) => this.count(event),
    };
  }

  private count(event: S2SEvent): void {
    this.counts.set(event, (this.counts.get(event) ?? 0) + 1);
    this.host.telemetry.s2s(event);
  }

  async send(routed: RoutedStanza): Promise<void> {
    if (!this.ctx.policy.permits(routed.to.domain)) return this.ctx.bounce(routed, new StanzaError('policy-violation', 'Federation with this domain is not allowed'));
    if (this.server === undefined) return this.ctx.bounce(routed, new StanzaError('remote-server-not-found'));
    await this.streamTo(routed.to.domain).send(routed);
  }

  private streamTo(domain: string): OutgoingStream {
    let stream = this.outgoing.get(domain);
    if (!stream || stream.phase === 'closed') {
      stream = new OutgoingStream(this.ctx, domain, (closed) => {
        if (this.outgoing.get(domain) === closed) this.outgoing.delete(domain);
      });
      this.outgoing.set(domain, stream);
    }
    return stream;
  }

  /** What this node's streams are now (for tests and operators): no stanza content. */
  streams(): Array<{ direction: 'out' | 'in'; remote: string; ready: boolean; secure: boolean }> {
    return [
      ...[...this.outgoing.values()].map((stream) => ({ direction: 'out' as const, remote: stream.remote, ready: stream.phase === 'ready', secure: stream.secure })),
      ...[...this.incoming].flatMap((stream) => stream.domains().map((remote) => ({ direction: 'in' as const, remote, ready: true, secure: stream.link.secure }))),
    ];
  }

  async listen(port: number, address: string): Promise<number> {
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      const stream = new IncomingStream(this.ctx, socket, (closed) => this.incoming.delete(closed));
      this.incoming.add(stream);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.host.router.remote = this;
    const bound = server.address();
    return typeof bound === 'object' && bound ? bound.port : 0;
  }

  get port(): number {
    const bound = this.server?.address();
    return typeof bound === 'object' && bound ? bound.port : 0;
  }

  /** Stops listening; queued stanzas bounce, streams end (doc/federation.md: drain). */
  close(): void {
    this.server?.close();
    this.server = undefined;
    for (const stream of this.outgoing.values()) stream.close();
    this.outgoing.clear();
    for (const stream of this.incoming) stream.close(new StreamError('system-shutdown'));
    this.incoming.clear();
  }
}

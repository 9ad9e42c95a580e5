// XMPP over WebSocket (RFC 7395) on the node's HTTP port, and its discovery (XEP-0156). A
// WebSocket becomes a Link (link.ts) with the WebSocket framing, and from there it is the same
// Connection as on the c2s ports: negotiation, limits, stream management, metrics (transport
// `websocket`).
//
// Security (RFC 7395 §3.8, §5): STARTTLS is never offered on a WebSocket. It counts as encrypted
// when its peer is loopback (a TLS-terminating proxy on this machine, or a local client) or when
// `httpPublicUrl` is https:// (the operator says a proxy terminates TLS in front of the HTTP port);
// otherwise it is a plain connection, and SASL needs allowPlaintextAuth as on port 5222 without
// STARTTLS. Prosody asks the operator instead (consider_websocket_secure, off by default); here
// httpPublicUrl already says it. A plain-HTTP proxy on the same machine would be trusted wrongly:
// the README says to terminate TLS there.
import { escapeXML } from 'ltx';
import type { Config } from '../config.js';
import { isIP } from 'node:net';
import { LOOPBACK, Networks } from '../config/networks.js';
import { parseOrigins } from '../config/types.js';
import type { HttpReply, HttpRequestHead, HttpRoute, WebSocketPeer, WebSocketRequest, WebSocketRoute, WebSocketSink } from '../http.js';
import { randomId } from '../random-id.js';
import type { StreamError } from '../xmpp/errors.js';
import { type Carrier, type Link, standalone, WebSocketFraming } from './link.js';

export const WEBSOCKET_PATH = '/xmpp-websocket';
/** RFC 7395 §3.1 */
export const WEBSOCKET_PROTOCOL = 'xmpp';
/** A message may be as large as a stanza, or an <open/> as large as a stream header. */
const MIN_MESSAGE_BYTES = 10_000;

type LinkEvent = 'data' | 'error' | 'close';

/**
 * A WebSocket as the connection sees it: each write is one message. One listener per event, the
 * connection's (connection.ts listen), kept in a field, and the link is the peer's sink: no
 * EventEmitter and no closure per connection, since idle WebSockets are held by the thousand.
 */
class WebSocketLink implements Link, WebSocketSink {
  readonly writableHighWaterMark = 16 * 1024;
  private onData: ((data: Buffer) => void) | undefined;
  private onError: ((error: Error) => void) | undefined;
  private onClose: (() => void) | undefined;

  constructor(
    private readonly peer: WebSocketPeer,
    /** The client's (clientAddress), which a proxy may have told. */
    readonly remoteAddress: string,
  ) {
    peer.attach(this);
  }

  message(data: Buffer): void {
    this.onData?.(data);
  }

  error(error: Error): void {
    this.onError?.(error);
  }

  closed(): void {
    this.onClose?.();
  }

  get destroyed(): boolean {
    return this.peer.closed;
  }

  get writableNeedDrain(): boolean {
    return this.peer.needsDrain;
  }

  get writableLength(): number {
    return this.peer.bufferedAmount;
  }

  write(data: string): void {
    if (!this.peer.closed) this.peer.send(standalone(data));
  }

  end(data?: string): void {
    if (data !== undefined) this.write(data);
    if (!this.peer.closed) this.peer.close(1000);
  }

  destroy(): void {
    this.peer.terminate();
  }

  pause(): void {
    this.peer.pause();
  }

  resume(): void {
    this.peer.resume();
  }

  once(_event: 'drain', listener: () => void): void {
    this.peer.onceDrained(listener);
  }

  on(event: LinkEvent, listener: (...args: never[]) => void): void {
    if (this.listener(event) !== undefined) throw new Error(`a WebSocket link takes one '${event}' listener`);
    this.setListener(event, listener);
  }

  off(event: LinkEvent, listener: (...args: never[]) => void): void {
    if (this.listener(event) === listener) this.setListener(event, undefined);
  }

  private listener(event: LinkEvent): unknown {
    return event === 'data' ? this.onData : event === 'error' ? this.onError : this.onClose;
  }

  private setListener(event: LinkEvent, listener: ((...args: never[]) => void) | undefined): void {
    if (event === 'data') this.onData = listener as ((data: Buffer) => void) | undefined;
    else if (event === 'error') this.onError = listener as ((error: Error) => void) | undefined;
    else this.onClose = listener as (() => void) | undefined;
  }
}

/** What the server does with a WebSocket: admit it (or refuse with a stream error) and run its connection. */
export interface WebSocketAcceptor {
  /** The node is draining: a stream it closes is sent to the public URL (see-other-uri). */
  draining(): boolean;
  admit(remoteAddress: string): StreamError | undefined;
  accept(carrier: Carrier, remoteAddress: string): void;
}

/**
 * Which browser pages may open the WebSocket (RFC 6455 §10.2). As Prosody's mod_websocket
 * (`cross_domain_websocket`): by default the node's own origin only, `*` any, else the listed
 * ones. Unlike Prosody, an upgrade without Origin is let through: every browser sends one, so
 * its absence means a native client, which no page can drive (and SASL still guards the stream).
 */
export function originPolicy(config: Config): (origin: string, host: string | undefined) => boolean {
  if (config.webOrigins !== undefined) {
    const listed = new Set(parseOrigins(config.webOrigins));
    return listed.has('*') ? () => true : (origin) => listed.has(origin);
  }
  if (config.httpPublicUrl !== undefined) {
    const own = new URL(config.httpPublicUrl).origin.toLowerCase();
    return (origin) => origin === own;
  }
  // Same origin as the request: its host is the Host the page's browser sent.
  return (origin, host) => host !== undefined && URL.canParse(origin) && new URL(origin).host === host.toLowerCase();
}

export function webSocketSecure(config: Config, remoteAddress: string): boolean {
  return LOOPBACK.has(remoteAddress) || config.httpPublicUrl?.startsWith('https:') === true;
}

/**
 * The client's address: the peer's, or, when the peer is one of `trustedProxies` (an ingress),
 * the last address of X-Forwarded-For that is not itself a trusted proxy (each proxy appends
 * the address it saw, so what lies left of the first untrusted one may be forged). The
 * connection's logs and per-address limits see this address, as with the PROXY protocol.
 */
export function clientAddress(trusted: Networks, peer: string, forwardedFor: string | string[] | undefined): string {
  if (forwardedFor === undefined || !trusted.has(peer)) return peer;
  const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((entry) => entry.trim());
  let address = peer;
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i] as string;
    // A malformed entry ends the walk: the address so far is the last one known to be true.
    if (isIP(hop) === 0) return address;
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}

/** `/xmpp-websocket`: subprotocol `xmpp`, the Origin checked against webOrigins. */
export function xmppWebSocketRoute(config: Config, acceptor: WebSocketAcceptor): WebSocketRoute {
  const allowed = originPolicy(config);
  const trusted = new Networks(config.trustedProxies);
  const seeOtherUri = publicWebSocketUrl(config);
  const draining = (): boolean => acceptor.draining();
  return {
    path: WEBSOCKET_PATH,
    protocol: WEBSOCKET_PROTOCOL,
    maxMessageBytes: Math.max(config.limits.maxStanzaBytes, MIN_MESSAGE_BYTES),
    refuse(request: WebSocketRequest): HttpReply | undefined {
      const origin = request.headers.origin;
      if (origin === undefined || allowed(origin.toLowerCase(), request.headers.host)) return undefined;
      return { status: 403, body: { error: 'origin-not-allowed' } };
    },
    open(peer: WebSocketPeer, request: WebSocketRequest): void {
      const address = clientAddress(trusted, request.remoteAddress, request.headers['x-forwarded-for']);
      const refusal = acceptor.admit(address);
      // Only the configured public URL: a Host header is not known to lead past this node.
      const framing = new WebSocketFraming(seeOtherUri, draining);
      if (refusal) {
        // As on the c2s ports (connection-gate.ts refuse): a stream opened only to carry the error.
        for (const element of [framing.header(randomId(12), config.domain), refusal.toElement().toString(), framing.footer]) peer.send(standalone(element));
        peer.close(1000);
        return;
      }
      const link = new WebSocketLink(peer, address);
      // Secure or not is the hop to this node: a TLS-terminating proxy's, not its client's.
      acceptor.accept({ link, framing, transport: 'websocket', secure: webSocketSecure(config, request.remoteAddress) }, address);
    },
  };
}

const ALT_WEBSOCKET = 'urn:xmpp:alt-connections:websocket';
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/** The WebSocket URL at httpPublicUrl (wss:// for https://), if it is set. */
export function publicWebSocketUrl(config: Config): string | undefined {
  if (config.httpPublicUrl === undefined) return undefined;
  const base = new URL(config.httpPublicUrl);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  base.pathname = `${base.pathname.replace(/\/$/, '')}${WEBSOCKET_PATH}`;
  base.search = '';
  base.hash = '';
  return base.toString();
}

/** The WebSocket URL clients are told: from httpPublicUrl, else from the request's Host (plain ws://). */
export function webSocketUrl(config: Config, request: HttpRequestHead): string | undefined {
  const configured = publicWebSocketUrl(config);
  if (configured !== undefined) return configured;
  const host = request.headers.host;
  return host !== undefined && HOST.test(host) ? `ws://${host}${WEBSOCKET_PATH}` : undefined;
}

/** XEP-0156 §3: host-meta as XRD (RFC 6415) and as JSON (JRD), readable by pages of any origin. */
export function hostMetaRoutes(config: Config): HttpRoute[] {
  const cors = { 'access-control-allow-origin': '*' };
  const noHost: HttpReply = { status: 400, body: { error: 'bad-request', text: 'no usable Host header, and httpPublicUrl is not set' } };
  return [
    {
      method: 'GET',
      path: '/.well-known/host-meta',
      handler: (request) => {
        const url = webSocketUrl(config, request);
        if (url === undefined) return noHost;
        const text = `<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n  <Link rel='${ALT_WEBSOCKET}' href='${escapeXML(url)}'/>\n</XRD>\n`;
        return { status: 200, text, contentType: 'application/xrd+xml; charset=utf-8', headers: cors };
      },
    },
    {
      method: 'GET',
      path: '/.well-known/host-meta.json',
      handler: (request) => {
        const url = webSocketUrl(config, request);
        if (url === undefined) return noHost;
        return { status: 200, body: { links: [{ rel: ALT_WEBSOCKET, href: url }] }, headers: cors };
      },
    },
  ];
}

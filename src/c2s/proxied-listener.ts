// A client listener behind a proxy that speaks the PROXY protocol (HAProxy `send-proxy-v2`, AWS
// NLB, ingress-nginx): each connection starts with the client's real address, then the stream
// (or, on the direct TLS port, the TLS handshake). Only the configured proxies may send it; any
// other peer, or a connection without a valid header, is closed before a byte of XMPP.
import { createServer, type Server, type Socket } from 'node:net';
import { type SecureContext, TLSSocket } from 'node:tls';
import type { Networks } from '../config/networks.js';
import { readProxyHeader } from './proxy-protocol.js';

/** How long a proxy has to send the header (it sends it at once). */
const HEADER_TIMEOUT_MS = 5_000;

export type ProxyRefusal = 'proxy_untrusted' | 'proxy_header';

export interface ProxiedListenerOptions {
  trusted: Networks;
  /** Set on the direct TLS port: the handshake follows the header. */
  tls?: { secureContext: SecureContext; ALPNProtocols: string[] };
  /** A client ready for XMPP (TLS done on the direct TLS port), with its real address. */
  accept(socket: Socket, clientAddress: string): void;
  refused(reason: ProxyRefusal, peer: string | undefined, detail: string): void;
}

export function proxiedListener(options: ProxiedListenerOptions): Server {
  return createServer((raw) => {
    const peer = raw.remoteAddress;
    if (!options.trusted.has(peer)) {
      options.refused('proxy_untrusted', peer, 'not in trustedProxies');
      raw.destroy();
      return;
    }
    raw.on('error', () => raw.destroy());
    readProxyHeader(raw, HEADER_TIMEOUT_MS).then(
      (header) => {
        // LOCAL: the proxy's own health check, which speaks for itself.
        const clientAddress = header.kind === 'proxied' ? header.address : (peer ?? 'unknown');
        if (!options.tls) {
          options.accept(raw, clientAddress);
          raw.resume();
          return;
        }
        const secure = new TLSSocket(raw, { isServer: true, ...options.tls, minVersion: 'TLSv1.2' } as ConstructorParameters<typeof TLSSocket>[1]);
        secure.once('secure', () => options.accept(secure, clientAddress));
        secure.once('error', () => secure.destroy());
      },
      (error: unknown) => {
        options.refused('proxy_header', peer, error instanceof Error ? error.message : String(error));
        raw.destroy();
      },
    );
  });
}

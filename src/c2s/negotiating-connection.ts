// What stream negotiation (legacy SASL and bind, SASL2 and Bind2) needs of its connection;
// c2s/connection.ts implements it.
import type { TLSSocket } from 'node:tls';
import type { Host } from '../core/host.js';
import type { Conn, StreamConnection } from '../core/session.js';
import type { AuthThrottle } from './auth-throttle.js';

/** What the negotiation needs of its connection (c2s/connection.ts implements it). */
export interface NegotiatingConnection extends StreamConnection, Conn {
  readonly host: Host;
  readonly ctx: { readonly throttle: AuthThrottle };
  readonly secure: boolean;
  /** False on a WebSocket: no STARTTLS is offered there (RFC 7395 §3.8). */
  readonly canStartTls: boolean;
  readonly remoteAddress: string;
  /** The TLS socket of a TCP link (channel binding); undefined in the clear and on a WebSocket. */
  readonly tlsSocket: TLSSocket | undefined;
  /** After <proceed/>: the rest of the socket's input is TLS. */
  startTls(): void;
  /** SASL succeeded: the authenticated limits apply. */
  authenticated(): void;
  restartStream(): void;
  bound(): void;
}

// The shape of HTTP routes the core offers (admin API, probes). metrics/http.ts serves them; the
// core knows no HTTP framework, so a route is plain data and a handler a plain function.
import type { IncomingHttpHeaders } from 'node:http';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** What a guard sees: the request before its body has been read. */
export interface HttpRequestHead {
  method: HttpMethod;
  /** The path as sent (still percent-encoded), without the query. */
  path: string;
  /** The route's `:name` segments, percent-decoded. */
  params: Readonly<Record<string, string>>;
  remoteAddress: string;
  headers: IncomingHttpHeaders;
}

export interface HttpRequest extends HttpRequestHead {
  /** Parsed JSON, or undefined when the request had no body. */
  body: unknown;
}

export interface HttpReply {
  status: number;
  body?: unknown;
  /** Sent as is (text/plain) instead of JSON. */
  text?: string;
  contentType?: string;
  headers?: Readonly<Record<string, string>>;
}

export type HttpHandler = (request: HttpRequest) => Promise<HttpReply> | HttpReply;

/** Runs before the body is read, so a refused client cannot make the node buffer one. A reply refuses. */
export type HttpGuard = (request: HttpRequestHead) => HttpReply | undefined;

export interface HttpRoute {
  method: HttpMethod;
  /** `/admin/users/:jid/password`: literal segments and `:name` parameters. */
  path: string;
  handler: HttpHandler;
  guard?: HttpGuard;
}

/**
 * One accepted WebSocket (RFC 6455), as the HTTP listener hands it over: text messages in and
 * out, flow control, and the close. The listener's framework stays out of the core.
 */
export interface WebSocketPeer {
  /** Sends one message (a text frame). */
  send(data: string): void;
  /** Bytes accepted by send() and not yet written to the network. */
  readonly bufferedAmount: number;
  /** Whether the network socket's buffer is full (then 'drain' follows). */
  readonly needsDrain: boolean;
  onceDrained(listener: () => void): void;
  /** Stops (resumes) reading messages from the network. */
  pause(): void;
  resume(): void;
  /** The closing handshake (RFC 6455 §7). */
  close(code: number, reason?: string): void;
  /** Ends the TCP connection at once. */
  terminate(): void;
  readonly closed: boolean;
  /** Text messages; a binary one closes the WebSocket (1003). */
  onMessage(listener: (data: Buffer) => void): void;
  onClose(listener: () => void): void;
  onError(listener: (error: Error) => void): void;
}

/** What the upgrade handler gets besides the socket. */
export interface WebSocketRequest {
  remoteAddress: string;
  headers: IncomingHttpHeaders;
}

/**
 * A WebSocket endpoint: `refuse` runs before the upgrade (a reply refuses it with that HTTP
 * status), `open` once the handshake is complete with the one subprotocol it speaks.
 */
export interface WebSocketRoute {
  path: string;
  /** The subprotocol (RFC 6455 §1.9); an upgrade that does not offer it is refused. */
  protocol: string;
  /** Largest message accepted; a larger one closes the socket (1009). */
  maxMessageBytes: number;
  refuse(request: WebSocketRequest): HttpReply | undefined;
  open(peer: WebSocketPeer, request: WebSocketRequest): void;
}

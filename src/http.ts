// The shape of HTTP routes the core offers (admin API, probes). metrics/http.ts serves them; the
// core knows no HTTP framework, so a route is plain data and a handler a plain function.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';

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
  /** A file body, sent as is with `contentType` (and its length in `headers`). */
  stream?: Readable;
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
 * A route whose body is not parsed but handed over as it arrives (an HTTP upload's PUT): the guard
 * sees the headers first, so a refused request never has its body read.
 */
export interface HttpStreamRoute {
  method: 'PUT';
  path: string;
  guard(request: HttpRequestHead): HttpReply | undefined;
  handler(request: HttpRequestHead, body: Readable): Promise<HttpReply>;
  /** A body that sends nothing this long is given up (408 and closed). */
  idleTimeoutMs: number;
}

/** Who receives what arrives on a WebSocket: its connection's link. */
export interface WebSocketSink {
  /** A text message; a binary one closes the WebSocket (1003) and is not passed on. */
  message(data: Buffer): void;
  error(error: Error): void;
  /** The WebSocket is closed (after the closing handshake or without one). */
  closed(): void;
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
  /** From now on, what arrives goes to `sink` (one sink, for the life of the WebSocket). */
  attach(sink: WebSocketSink): void;
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

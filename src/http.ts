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

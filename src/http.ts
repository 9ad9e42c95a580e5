// The shape of HTTP routes the core offers (admin API, probes); metrics/http.ts serves them.
import type { IncomingHttpHeaders } from 'node:http';

export interface HttpRequest {
  method: string;
  path: string;
  /** Decoded path segments after the route's prefix. */
  params: string[];
  body: unknown;
  remoteAddress: string;
  headers: IncomingHttpHeaders;
}

export interface HttpReply {
  status: number;
  body?: unknown;
  /** Sent as is (text/plain) instead of JSON. */
  text?: string;
  contentType?: string;
}

export type HttpHandler = (request: HttpRequest) => Promise<HttpReply> | HttpReply;

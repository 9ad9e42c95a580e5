// Who may call the admin API. Every request needs the bearer token, from loopback too: a browser
// on the operator's machine is a loopback client that any web page can drive. A request that a
// browser sent for another site (an Origin that is not this node's) is refused before the token is
// looked at, and a body must be JSON: a cross-site form or `text/plain` fetch cannot pass.
import { timingSafeEqual } from 'node:crypto';
import type { HttpGuard, HttpReply, HttpRequestHead } from '../http.js';

export interface AdminAuth {
  /** Undefined when no token could be set up (the API then refuses everything with 503). */
  token: string | undefined;
  /** The port the node's HTTP listener is bound to (known once it listens). */
  port(): number;
}

const NO_TOKEN: HttpReply = { status: 503, body: { error: 'admin-disabled', message: 'no admin token could be set up; see the node log' } };
const FOREIGN_ORIGIN: HttpReply = { status: 403, body: { error: 'forbidden-origin' } };
const UNAUTHORIZED: HttpReply = { status: 401, body: { error: 'unauthorized' }, headers: { 'www-authenticate': 'Bearer' } };
const NOT_JSON: HttpReply = { status: 415, body: { error: 'unsupported-media-type', message: 'send application/json' } };

export function adminGuard(auth: AdminAuth): HttpGuard {
  return (request) => {
    if (!ownOrigin(request, auth.port())) return FOREIGN_ORIGIN;
    if (auth.token === undefined) return NO_TOKEN;
    if (!bearerMatches(request.headers.authorization, auth.token)) return UNAUTHORIZED;
    if ((request.method === 'POST' || request.method === 'PUT') && !isJson(request.headers['content-type'])) return NOT_JSON;
    return undefined;
  };
}

/** No Origin (curl, the CLI), or the node's own: loopback on its port, or what the Host header names. */
export function ownOrigin(request: HttpRequestHead, port: number): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const own = [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`];
  if (request.headers.host !== undefined) own.push(`http://${request.headers.host.toLowerCase()}`);
  return own.includes(origin.toLowerCase());
}

export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function isJson(contentType: string | undefined): boolean {
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  return media === 'application/json';
}

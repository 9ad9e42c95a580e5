// Hostile HTTP requests, by class, drawn with fast-check from a fixed seed. A raw case is bytes
// for a net socket (anything goes, even what no HTTP client would send); a fetch case is what a
// browser-like client can be made to send. Each class says which answers are acceptable.
import fc from 'fast-check';

export type CaseClass =
  | 'bad percent escapes'
  | 'bad or unknown methods'
  | 'huge headers or URL'
  | 'huge bodies'
  | 'truncated bodies'
  | 'bad JSON'
  | 'wrong content types'
  | 'path traversal'
  | 'NUL bytes'
  | 'request smuggling shapes'
  | 'slow senders'
  | 'parallel connections'
  | 'garbage bytes'
  | 'bad token or foreign Origin'
  | 'legitimate requests';

export interface RawCase {
  kind: CaseClass;
  via: 'raw';
  chunks: Buffer[];
  pauseMs?: number;
  /** Half-close after the last chunk. */
  end?: boolean;
  responses?: number;
}

export interface FetchCase {
  kind: CaseClass;
  via: 'fetch';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export type Case = RawCase | FetchCase;

export const ROUTES = ['/healthz', '/readyz', '/metrics', '/admin/users', '/admin/sessions', '/admin/users/alice', '/admin/users/alice/password', '/nowhere'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD'];

/** A request line and headers (Connection: close, so the server ends the exchange), and a body (UTF-8). */
export function raw(kind: CaseClass, method: string, path: string, headers: string[] = [], body = ''): RawCase {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers];
  return { kind, via: 'raw', chunks: [Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body)])] };
}

/** The same request over a raw socket (fetch costs several times the CPU of a raw exchange). */
export function overRawSocket(test: FetchCase): RawCase {
  const headers = Object.entries(test.headers).map(([name, value]) => `${name}: ${value}`);
  if (test.body !== undefined) headers.push(`Content-Length: ${Buffer.byteLength(test.body)}`);
  return raw(test.kind, test.method, test.path, headers, test.body ?? '');
}

function draw<T>(arbitrary: fc.Arbitrary<T>, count: number, seed: number): T[] {
  return fc.sample(arbitrary, { seed, numRuns: count });
}

const route = fc.constantFrom(...ROUTES);
const method = fc.constantFrom(...METHODS);
const hex = fc.constantFrom(...'0123456789abcdefABCDEF');
const notHex = fc.constantFrom(...'gzGZ%/ -.~!');
/** `%` followed by what does not make a valid UTF-8 escape. */
const badEscape = fc.oneof(
  fc.constantFrom('%', '%%', '%ZZ', '%E0%A4%A', '%C0%AF', '%FF', '%80', '%ED%A0%80', '%u0041', '%0', '%F4%90%80%80', '%E0%A4', '%%32%65'),
  fc.tuple(hex, notHex).map(([a, b]) => `%${a}${b}`),
  fc.tuple(notHex, hex).map(([a, b]) => `%${a}${b}`),
);

export function badEscapes(count: number, seed: number, token: string): RawCase[] {
  const where = fc.constantFrom('append', 'replace', 'middle', 'query');
  return draw(fc.tuple(route, badEscape, where, method, fc.boolean()), count, seed).map(([path, escape, at, verb, withToken]) => {
    const target =
      at === 'append' ? `${path}/${escape}` : at === 'replace' ? path.replace(/[^/]+$/, escape) : at === 'middle' ? path.replace('/', `/${escape}`) : `${path}?q=${escape}`;
    // The query is not the router's: with the token, `DELETE /admin/users/alice?q=%ZZ` is a valid request.
    const auth = withToken && at !== 'query' ? [`Authorization: Bearer ${token}`] : [];
    return raw('bad percent escapes', verb, target, auth);
  });
}

export function badMethods(count: number, seed: number): RawCase[] {
  const verb = fc.oneof(
    fc.constantFrom('BREW', 'PROPFIND', 'get', 'Get', 'CONNECT', 'TRACE', 'OPTIONS', 'PATCH', 'M-SEARCH', 'PURGE', 'MKCOL', 'LOCK', 'SEARCH', 'QUERY', 'GET\tX', 'G ET', ''),
    fc.stringMatching(/^[A-Z]{1,12}$/),
    fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/[\r\n ]/.test(s)),
  );
  return draw(fc.tuple(verb, route), count, seed).map(([name, path]) => raw('bad or unknown methods', name, path));
}

export function hugeHeaders(count: number, seed: number): RawCase[] {
  const shape = fc.oneof(
    fc.integer({ min: 17, max: 64 }).map((kib) => ({ headers: [`X-Big: ${'a'.repeat(kib * 1024)}`], path: '/healthz' })),
    // Node counts the bytes of names and values: 2,000 of these are over 16 KiB.
    fc.integer({ min: 2_000, max: 5_000 }).map((n) => ({ headers: Array.from({ length: n }, (_, i) => `X-H${i}: vvvvvvvvvv`), path: '/healthz' })),
    fc.integer({ min: 17, max: 48 }).map((kib) => ({ headers: [], path: `/admin/users/${'a'.repeat(kib * 1024)}` })),
    fc.integer({ min: 17, max: 32 }).map((kib) => ({ headers: [`Cookie: ${'c=1; '.repeat((kib * 1024) / 5)}`], path: '/metrics' })),
  );
  return draw(shape, count, seed).map(({ headers, path }) => raw('huge headers or URL', 'GET', path, headers));
}

export function hugeBodies(count: number, seed: number, token: string): RawCase[] {
  const shape = fc.record({ kib: fc.integer({ min: 65, max: 256 }), declared: fc.boolean(), withToken: fc.boolean(), chunked: fc.boolean() });
  return draw(shape, count, seed).map(({ kib, declared, withToken, chunked }) => {
    const auth = withToken ? [`Authorization: Bearer ${token}`] : [];
    const payload = `{"jid":"big","password":"${'x'.repeat(kib * 1024)}"}`;
    if (!declared) return raw('huge bodies', 'POST', '/admin/users', [...auth, 'Content-Type: application/json', 'Content-Length: 999999999999'], '{');
    if (chunked) return raw('huge bodies', 'POST', '/admin/users', [...auth, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], `${payload.length.toString(16)}\r\n${payload}\r\n0\r\n\r\n`);
    return raw('huge bodies', 'POST', '/admin/users', [...auth, 'Content-Type: application/json', `Content-Length: ${payload.length}`], payload);
  });
}

/** Fewer bytes than Content-Length says: the server waits for the rest until its request timeout, or sees the half-close. */
export function truncatedBodies(count: number, seed: number, token: string): RawCase[] {
  const shape = fc.record({ declared: fc.integer({ min: 10, max: 60_000 }), sent: fc.nat({ max: 9 }), end: fc.boolean(), path: fc.constantFrom('/admin/users', '/admin/users/alice/password') });
  return draw(shape, count, seed).map(({ declared, sent, end, path }) => {
    const verb = path === '/admin/users' ? 'POST' : 'PUT';
    const base = raw('truncated bodies', verb, path, [`Authorization: Bearer ${token}`, 'Content-Type: application/json', `Content-Length: ${declared}`], '{"jid":"tr'.slice(0, sent));
    return { ...base, end };
  });
}

const badJsonText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json().map((text) => text.slice(0, Math.max(1, text.length - 1))),
  fc.json().map((text) => `${text}}`),
  fc.constantFrom('{', '{"jid":', '{"jid":"a","password":}', '[1,2', 'nul', 'tru', '{"a":1,}', "{'jid':'a'}", '\u0000', '{"jid":"a"\u0000}', '"\\ud800"', '1e999999', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}'),
);
/** Valid JSON of the wrong shape: never an object with string jid and password (that would create an account). */
const wrongShape = fc.json().filter((text) => {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null) return true;
  const fields = value as Record<string, unknown>;
  return typeof fields.jid !== 'string' && typeof fields.password !== 'string';
});

export function badJson(count: number, seed: number, token: string): FetchCase[] {
  return draw(fc.tuple(fc.oneof(badJsonText, wrongShape), fc.boolean()), count, seed).map(([body, create]) => ({
    kind: 'bad JSON',
    via: 'fetch',
    method: create ? 'POST' : 'PUT',
    // No such account: a valid password body there answers 404, changing nothing.
    path: create ? '/admin/users' : '/admin/users/nobody/password',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  }));
}

const NOT_JSON = ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'text/json', 'application/jsonp', 'application/json-patch+json', 'application/javascript', 'text/html', 'application/octet-stream', 'json', 'application/', '*/*'];

export function wrongContentTypes(count: number, seed: number, token: string): FetchCase[] {
  const shape = fc.record({ type: fc.option(fc.constantFrom(...NOT_JSON), { nil: undefined }), put: fc.boolean(), withToken: fc.boolean(), n: fc.nat(1_000_000) });
  return draw(shape, count, seed).map(({ type, put, withToken, n }) => ({
    kind: 'wrong content types',
    via: 'fetch',
    method: put ? 'PUT' : 'POST',
    path: put ? '/admin/users/alice/password' : '/admin/users',
    headers: { ...(withToken ? { authorization: `Bearer ${token}` } : {}), ...(type !== undefined ? { 'content-type': type } : {}) },
    // A valid request in all but its type: accepted, it would create ct-N or change alice's password.
    body: JSON.stringify({ jid: `ct-${n}`, password: 'typed-wrong' }),
  }));
}

const TRAVERSALS = ['..', '%2e%2e', '%2E%2E', '.%2e', '%2e.', '..%2f', '%2e%2e%2f', '..%5c', '%252e%252e', '..;', '.', '%2e', '..\\', '%c0%ae%c0%ae', '....//', '%00..'];

export function traversals(count: number, seed: number, token: string): RawCase[] {
  const shape = fc.record({ base: route, step: fc.constantFrom(...TRAVERSALS), depth: fc.integer({ min: 1, max: 6 }), tail: fc.constantFrom('etc/passwd', 'healthz', 'admin/users', 'admin-token', ''), withToken: fc.boolean(), verb: fc.constantFrom('GET', 'DELETE', 'PUT') });
  return draw(shape, count, seed).map(({ base, step, depth, tail, withToken, verb }) => {
    // With the token only GET: a traversal must not be able to reach a real account's DELETE.
    const auth = withToken && verb === 'GET' ? [`Authorization: Bearer ${token}`] : [];
    return raw('path traversal', verb, `${base}/${`${step}/`.repeat(depth)}${tail}`, auth);
  });
}

export function nulBytes(count: number, seed: number, token: string): RawCase[] {
  const auth = `Authorization: Bearer ${token}`;
  const shape = fc.oneof(
    route.map((path) => raw('NUL bytes', 'GET', `${path}\u0000`)),
    route.map((path) => raw('NUL bytes', 'GET', `${path}%00`, [auth])),
    fc.constantFrom('al%00ice', '%00', 'alice%00@localhost', 'a@loc%00alhost').map((jid) => raw('NUL bytes', 'DELETE', `/admin/users/${jid}`, [auth])),
    route.map((path) => raw('NUL bytes', 'GET', path, [`X-Nul: a\u0000b`])),
    route.map((path) => raw('NUL bytes', 'GET', path, [`X-N\u0000ul: ab`])),
    fc.constantFrom('{"jid":"a\\u0000b","password":"x"}', '{"jid":"nul","password":"p\\u0000w"}', '{"jid":"n\u0000ul","password":"pw"}').map((body) =>
      raw('NUL bytes', 'POST', '/admin/users', [auth, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body, 'latin1')}`], body),
    ),
  );
  return draw(shape, count, seed);
}

/** Framing that a proxy and the node could read differently; each followed by a second request that a desync would answer. */
export function smuggling(count: number, seed: number, token: string): RawCase[] {
  const next = 'GET /admin/users HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
  const framing = fc.constantFrom(
    ['Content-Length: 5', 'Content-Length: 6'],
    ['Content-Length: 5', 'Content-Length: 5'],
    ['Content-Length: 5, 5'],
    ['Content-Length: 5', 'Transfer-Encoding: chunked'],
    ['Transfer-Encoding: chunked', 'Content-Length: 5'],
    ['Transfer-Encoding: chunked, identity'],
    ['Transfer-Encoding: identity, chunked'],
    ['Transfer-Encoding: xchunked'],
    ['Transfer-Encoding : chunked'],
    ['Transfer-Encoding: \u000bchunked'],
    ['Transfer-Encoding: chunked', 'Transfer-Encoding: identity'],
    ['Transfer-Encoding:', ' chunked'],
    ['Content-Length: +5'],
    ['Content-Length: -5'],
    ['Content-Length: 0x5'],
    ['Content-Length: 5 5'],
    ['Content-Length: 99999999999999999999999'],
    ['Transfer-Encoding: chunked'],
  );
  const chunk = fc.constantFrom('5\r\nabcde\r\n0\r\n\r\n', '-1\r\n\r\n', 'fffffffffffffffff\r\nx\r\n0\r\n\r\n', '0x5\r\nabcde\r\n0\r\n\r\n', '5;ext\r\nabcde\r\n0\r\n\r\n', '5\nabcde\n0\n\n', '0\r\n\r\n', 'abcde');
  return draw(fc.tuple(framing, chunk, fc.boolean()), count, seed).map(([headers, body, withToken]) => {
    const lines = ['POST /admin/users HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', ...(withToken ? [`Authorization: Bearer ${token}`] : []), ...headers];
    return { kind: 'request smuggling shapes', via: 'raw', responses: 2, chunks: [Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}${next}`, 'latin1')] };
  });
}

/** Bytes one at a time, never finishing the headers (or the body), or nothing at all. */
export function slowSenders(count: number, seed: number, token: string): RawCase[] {
  const shape = fc.constantFrom('headers', 'body', 'silent');
  return draw(shape, count, seed).map((what) => {
    if (what === 'silent') return { kind: 'slow senders', via: 'raw', chunks: [] };
    if (what === 'headers') return { kind: 'slow senders', via: 'raw', pauseMs: 200, chunks: Array.from('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', (c) => Buffer.from(c)) };
    // With the token, so the guard lets it through to the body it never finishes.
    const head = Buffer.from(`POST /admin/users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`);
    return { kind: 'slow senders', via: 'raw', pauseMs: 200, chunks: [head, ...Array.from({ length: 100 }, () => Buffer.from(' '))] };
  });
}

export function garbage(count: number, seed: number): RawCase[] {
  const bytes = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 2_000 }).map((array) => Buffer.from(array)),
    fc.string({ maxLength: 300 }).map((text) => Buffer.from(`${text}\r\n\r\n`)),
    fc.tuple(method, route, fc.uint8Array({ minLength: 1, maxLength: 200 })).map(([verb, path, tail]) => Buffer.concat([Buffer.from(`${verb} ${path} `), Buffer.from(tail), Buffer.from('\r\n\r\n')])),
    fc.constantFrom('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'GET /healthz HTTP/9.9\r\n\r\n', 'GET /healthz\r\n\r\n', 'GET /healthz HTTP/1.1\n\n', '\r\n\r\n', 'GET  /healthz  HTTP/1.1\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003').map((text) => Buffer.from(text, 'latin1')),
  );
  return draw(bytes, count, seed).map((chunk) => ({ kind: 'garbage bytes', via: 'raw', chunks: [chunk], end: true }));
}

export function badAuth(count: number, seed: number, token: string, port: number): FetchCase[] {
  const authorization = fc.oneof(
    fc.string({ maxLength: 80 }).filter((s) => /^[\x20-\x7e]*$/.test(s)).map((s) => `Bearer ${s}`),
    // Not `Bearer <token> `: trailing whitespace is not part of a header value (RFC 9110 §5.5).
    fc.constantFrom(`bearer ${token}`, `Bearer  ${token}`, `Bearer ${token.slice(1)}`, `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`, token, 'Bearer', ''),
  );
  // Not fc.webUrl(): drawing 500 of those takes seconds.
  const site = fc.tuple(fc.constantFrom('http', 'https'), fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.constantFrom('com', 'example', 'localhost', 'internal'), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }));
  const origin = fc.oneof(site.map(([scheme, name, tld, at]) => `${scheme}://${name}.${tld}${at === undefined ? '' : `:${at}`}`), fc.constantFrom('null', `http://127.0.0.1:${port + 1}`, `https://localhost:${port}`, `http://127.0.0.1.evil.example:${port}`, 'file://'));
  const shape = fc.oneof(
    fc.tuple(authorization, fc.constantFrom('/admin/users', '/admin/sessions')).map(([value, path]) => ({ headers: { authorization: value }, path, method: 'GET' })),
    fc.tuple(origin, fc.boolean()).map(([value, post]) => ({ headers: { authorization: `Bearer ${token}`, origin: value, 'content-type': 'application/json' }, path: '/admin/users', method: post ? 'POST' : 'GET' })),
  );
  return draw(shape, count, seed).map(({ headers, path, method: verb }) => ({
    kind: 'bad token or foreign Origin',
    via: 'fetch',
    method: verb,
    path,
    headers,
    ...(verb === 'POST' ? { body: JSON.stringify({ jid: 'origin-crossed', password: 'pw' }) } : {}),
  }));
}

export function legitimate(count: number, token: string): FetchCase[] {
  const auth = { authorization: `Bearer ${token}` };
  return Array.from({ length: count }, (_, i): FetchCase => {
    const which = i % 6;
    if (which === 0) return { kind: 'legitimate requests', via: 'fetch', method: 'GET', path: '/healthz', headers: {} };
    if (which === 1) return { kind: 'legitimate requests', via: 'fetch', method: 'GET', path: '/readyz', headers: {} };
    if (which === 2) return { kind: 'legitimate requests', via: 'fetch', method: 'GET', path: '/metrics', headers: {} };
    if (which === 3) return { kind: 'legitimate requests', via: 'fetch', method: 'GET', path: '/admin/users', headers: auth };
    if (which === 4) return { kind: 'legitimate requests', via: 'fetch', method: 'GET', path: '/admin/sessions', headers: auth };
    return { kind: 'legitimate requests', via: 'fetch', method: 'POST', path: '/admin/users', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ jid: `legit-${i}`, password: 'pw' }) };
  });
}

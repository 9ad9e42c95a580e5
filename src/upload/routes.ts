// The HTTP side of upload (XEP-0363 §5): PUT of a slot's file with its token, GET (and HEAD) of a
// stored file, and the CORS answers a web client's browser asks for first. Any node serves them.
import type { HttpReply, HttpRequestHead, HttpRoute, HttpStreamRoute } from '../http.js';
import type { UploadService } from './service.js';

const PATH = '/upload/:slot/:name';

/** A browser page on another origin (Converse.js) PUTs with an Authorization header: CORS allows it, without credentials. */
const CORS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, PUT, OPTIONS',
  'access-control-allow-headers': 'Authorization, Content-Type',
  'access-control-max-age': '86400',
};

/** Served files never run as a page of the node's origin. */
const FILE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'public, max-age=31536000, immutable',
};

const INLINE = /^(image|audio|video)\//;

function refusal(status: number, error: string): HttpReply {
  return { status, body: { error }, headers: CORS };
}

function header(request: HttpRequestHead, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function uploadRoutes(upload: UploadService): { routes: HttpRoute[]; stream: HttpStreamRoute } {
  const slotOf = (request: HttpRequestHead) => upload.slotFor(header(request, 'authorization'), request.params.slot ?? '', request.params.name ?? '');
  const stream: HttpStreamRoute = {
    method: 'PUT',
    path: PATH,
    idleTimeoutMs: 60_000,
    guard(request) {
      // Files go straight to the bucket with S3; nothing is PUT to a node.
      if (!upload.store.receive) return refusal(405, 'method-not-allowed');
      if (header(request, 'authorization') === undefined) return refusal(401, 'unauthorized');
      const slot = slotOf(request);
      if (!slot) return refusal(403, 'forbidden');
      const length = header(request, 'content-length');
      if (length === undefined) return refusal(411, 'length-required');
      if (Number(length) > slot.size) return refusal(413, 'payload-too-large');
      if (Number(length) !== slot.size) return refusal(400, 'size-mismatch');
      if (slot.type !== '' && (header(request, 'content-type') ?? '') !== slot.type) return refusal(400, 'content-type-mismatch');
      return undefined;
    },
    async handler(request, body) {
      const slot = slotOf(request);
      if (!slot || !upload.store.receive) return refusal(403, 'forbidden');
      const result = await upload.store.receive(slot, body);
      if (result === 'exists') return refusal(409, 'conflict');
      if (result === 'size-mismatch') return refusal(400, 'size-mismatch');
      return { status: 201, body: { stored: true }, headers: CORS };
    },
  };
  const get: HttpRoute = {
    method: 'GET',
    path: PATH,
    async handler(request) {
      const found = await upload.store.fetch(request.params.slot ?? '', request.params.name ?? '');
      if (!found) return refusal(404, 'not-found');
      if ('redirect' in found) return { status: 302, headers: { ...CORS, location: found.redirect }, text: '' };
      const { file } = found;
      const type = file.type || 'application/octet-stream';
      const headers = {
        ...CORS,
        ...FILE_HEADERS,
        'content-length': String(file.size),
        'content-disposition': `${INLINE.test(type) ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.name)}`,
      };
      if (request.method === 'HEAD') {
        file.body.destroy();
        return { status: 200, headers, contentType: type, text: '' };
      }
      return { status: 200, headers, contentType: type, stream: file.body };
    },
  };
  const preflight: HttpRoute = { method: 'OPTIONS', path: PATH, handler: () => ({ status: 204, headers: CORS, text: '' }) };
  return { routes: [get, preflight], stream };
}

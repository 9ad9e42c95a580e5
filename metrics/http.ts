// The node's HTTP listener (ROOKERY_HTTP_PORT): health probes, and whatever routes the
// composition root mounts (admin API, metrics).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpHandler, HttpReply } from '../src/http.js';

const MAX_BODY_BYTES = 64 * 1024;

export class HttpListener {
  private readonly routes: Array<{ method: string; prefix: string; handler: HttpHandler }> = [];
  private server: Server | undefined;

  /** Requests whose path equals `prefix` or starts with `prefix/`. */
  route(method: string, prefix: string, handler: HttpHandler): void {
    this.routes.push({ method, prefix, handler });
  }

  async listen(port: number, address: string): Promise<number> {
    const server = createServer((request, response) => void this.dispatch(request, response));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => resolve());
    });
    const bound = server.address();
    return typeof bound === 'object' && bound ? bound.port : port;
  }

  close(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = undefined;
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const route = this.routes.find(
      (candidate) => candidate.method === method && (url.pathname === candidate.prefix || url.pathname.startsWith(`${candidate.prefix}/`)),
    );
    if (!route) return send(response, { status: 404, body: { error: 'not-found' } });
    let body: unknown;
    try {
      body = await readJson(request);
    } catch {
      return send(response, { status: 400, body: { error: 'bad-request' } });
    }
    const params = url.pathname.slice(route.prefix.length).split('/').filter(Boolean).map(decodeURIComponent);
    try {
      send(response, await route.handler({ method, path: url.pathname, params, body, remoteAddress: request.socket.remoteAddress ?? '', headers: request.headers }));
    } catch {
      send(response, { status: 500, body: { error: 'internal-server-error' } });
    }
  }
}

function send(response: ServerResponse, reply: HttpReply): void {
  if (reply.text !== undefined) {
    response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'text/plain; charset=utf-8' });
    response.end(reply.text);
    return;
  }
  response.writeHead(reply.status, { 'content-type': 'application/json' });
  response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

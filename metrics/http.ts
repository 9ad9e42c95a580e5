// The node's HTTP listener (ROOKERY_HTTP_PORT): the routes the composition root mounts (probes,
// /metrics, the admin API), served by fastify on a node:http server whose limits bound what one
// client can make the node hold: header bytes, body bytes, time to send a request, connections.
// WebSocket routes (XMPP over WebSocket, RFC 7395) are routed by fastify and upgraded by ws
// (websocket.ts), then handed to the core as a WebSocketPeer.
// Nothing a client sends ends the process: malformed requests answer 4xx, a handler that throws
// answers 500 and is logged.
import { createServer, type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { HttpMethod, HttpReply, HttpRequestHead, HttpRoute, HttpStreamRoute, WebSocketRoute } from '../src/http.js';
import type { Logger } from '../src/log.js';
import { WebSocketUpgrades } from './websocket.js';

export interface HttpLimits {
  /** Bytes of the request line and headers (node's maxHeaderSize); past it, 431. */
  maxHeaderBytes: number;
  /** Bytes of a request body; past it, 413. */
  maxBodyBytes: number;
  /** Time to send the headers, and the whole request; past it, 408 and the socket is closed (slow senders). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Open connections at most; past it node closes new ones at once. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_024,
};

/** Told of every answer: the route pattern (or `unmatched`, or `unparsed` for what the HTTP parser refused) and the status. */
export type ResponseObserver = (route: string, status: number) => void;

/** A JID is at most 3 × 1023 bytes (RFC 7622 §3.1), percent-encoded up to three times that. */
const MAX_PARAM_LENGTH = 3 * 3 * 1023;

export class HttpListener {
  private readonly routes: HttpRoute[] = [];
  private readonly webSockets: WebSocketRoute[] = [];
  private readonly streams: HttpStreamRoute[] = [];
  private app: FastifyInstance | undefined;
  private upgrades: WebSocketUpgrades | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly limits: HttpLimits = DEFAULT_HTTP_LIMITS,
    private readonly observe: ResponseObserver = () => {},
  ) {}

  /** Before listen(). */
  route(route: HttpRoute): void {
    this.routes.push(route);
  }

  /** Before listen(). */
  stream(route: HttpStreamRoute): void {
    this.streams.push(route);
  }

  /** Before listen(). */
  webSocket(route: WebSocketRoute): void {
    this.webSockets.push(route);
  }

  async listen(port: number, address: string): Promise<number> {
    const app = this.build();
    this.app = app;
    await app.listen({ port, host: address });
    const bound = app.server.address();
    return typeof bound === 'object' && bound ? bound.port : port;
  }

  /** Idempotent: every call gets the first one's promise. */
  close(): Promise<void> {
    this.upgrades?.close();
    this.closing ??= this.app?.close() ?? Promise.resolve();
    return this.closing;
  }

  private build(): FastifyInstance {
    const { limits, log, observe } = this;
    const app = Fastify({
      logger: false,
      bodyLimit: limits.maxBodyBytes,
      forceCloseConnections: true,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      // A streamed body (an upload) may take longer than requestTimeoutMs: node's whole-request
      // timeout is then off and the other routes get their own deadline (bodyDeadline).
      serverFactory: (handler) => nodeServer(limits, handler, this.streams.length === 0),
      clientErrorHandler: (error, socket) => refuseUnparsed(error, socket, observe),
      // Bad percent escapes and the like, found by the router before any route runs.
      // fastify runs no onResponse hook for these: they are counted here.
      frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
        observe('unmatched', 400);
        void send(reply, clientError(400, error));
      },
    });
    // JSON only: fastify's text/plain parser would let a cross-site "simple" request in.
    app.removeContentTypeParser('text/plain');
    app.addHook('onResponse', async (request, reply) => observe(request.routeOptions.url ?? 'unmatched', reply.statusCode));
    app.setNotFoundHandler((_request, reply) => void reply.code(404).send({ error: 'not-found' }));
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const status = error.statusCode ?? 500;
      // fastify's own 4xx (body too large, not JSON, bad JSON) are the client's fault; the rest is ours.
      if (status >= 400 && status < 500) return send(reply, clientError(status, error));
      log.error({ event: 'http_handler_failed', method: request.method, route: request.routeOptions.url, err: error });
      return send(reply, { status: 500, body: { error: 'internal-server-error' } });
    });
    const deadline = this.streams.length > 0 ? bodyDeadline(limits.requestTimeoutMs, observe) : undefined;
    for (const route of this.routes) {
      const { guard, handler } = route;
      app.route({
        method: route.method,
        url: route.path,
        onRequest: [
          ...(deadline ? [deadline.start] : []),
          // Before the body is read: a refused client never makes the node buffer one.
          ...(guard ? [async (request: FastifyRequest, reply: FastifyReply) => refuse(reply, guard(head(request)))] : []),
        ],
        ...(deadline ? { preHandler: deadline.stop, onResponse: deadline.stop } : {}),
        handler: async (request, reply) => send(reply, await handler({ ...head(request), body: request.body })),
      });
    }
    if (this.streams.length > 0) this.mountStreams(app);
    if (this.webSockets.length > 0) {
      this.upgrades = new WebSocketUpgrades(this.webSockets);
      this.upgrades.mount(app, send);
    }
    return app;
  }

  private mountStreams(app: FastifyInstance): void {
    const { streams: routes, observe } = this;
    void app.register(async (scoped) => {
      // The body stays unread for the handler, whatever its type.
      scoped.removeAllContentTypeParsers();
      scoped.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      for (const route of routes) {
        scoped.route({
          method: route.method,
          url: route.path,
          onRequest: async (request: FastifyRequest, reply: FastifyReply) => refuse(reply, route.guard(head(request))),
          handler: async (request, reply) => {
            request.raw.setTimeout(route.idleTimeoutMs, () => {
              observe(route.path, 408);
              request.raw.destroy();
            });
            return send(reply, await route.handler(head(request), request.raw));
          },
        });
      }
    });
  }
}

/**
 * requestTimeoutMs for the body of an ordinary route, when node's own whole-request timeout is off
 * (a streamed upload may take longer): 408 and the connection closed, as node would do.
 */
function bodyDeadline(timeoutMs: number, observe: ResponseObserver) {
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  return {
    start: async (request: FastifyRequest, reply: FastifyReply) => {
      timers.set(request, setTimeout(() => {
        observe(request.routeOptions.url ?? 'unmatched', 408);
        if (!reply.sent) void reply.code(408).header('connection', 'close').type('application/json').send(JSON.stringify({ error: 'request-timeout' }));
        request.raw.socket.destroySoon();
      }, timeoutMs));
    },
    stop: async (request: FastifyRequest) => {
      clearTimeout(timers.get(request));
      timers.delete(request);
    },
  };
}

function nodeServer(limits: HttpLimits, handler: Parameters<typeof createServer>[1], wholeRequestTimeout: boolean): Server {
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.requestTimeoutMs,
      requestTimeout: wholeRequestTimeout ? limits.requestTimeoutMs : 0,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often node looks for requests past their timeout (its default, 30 s, would let a slow sender stay 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.requestTimeoutMs / 5))),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/** `{"error":"payload-too-large","code":"FST_ERR_CTP_BODY_TOO_LARGE"}`: no echo of what the client sent. */
function clientError(status: number, error: FastifyError): HttpReply {
  return { status, body: { error: statusName(status), code: error.code } };
}

/** 413 → `payload-too-large`. */
function statusName(status: number): string {
  return (STATUS_CODES[status] ?? 'Bad Request').toLowerCase().replace(/[^a-z]+/g, '-');
}

/**
 * What the HTTP parser refused (malformed, headers too large, too slow): fastify's default answer,
 * counted. The connection cannot be trusted to be in step any more, so it is closed.
 */
function refuseUnparsed(error: Error & { code?: string }, socket: Socket, observe: ResponseObserver): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  observe('unparsed', status);
  if (socket.writable) {
    const body = JSON.stringify({ error: statusName(status), code: error.code });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

function head(request: FastifyRequest): HttpRequestHead {
  return {
    method: request.method as HttpMethod,
    path: request.url.split('?', 1)[0] ?? '/',
    params: request.params as Record<string, string>,
    remoteAddress: request.socket.remoteAddress ?? '',
    headers: request.headers,
  };
}

/** fastify's way to end a request in an async hook: send, and return the reply. */
function refuse(reply: FastifyReply, refusal: HttpReply | undefined): FastifyReply | undefined {
  return refusal ? send(reply, refusal) : undefined;
}

function send(reply: FastifyReply, answer: HttpReply): FastifyReply {
  reply.code(answer.status);
  if (answer.headers) reply.headers(answer.headers);
  if (answer.stream) return reply.type(answer.contentType ?? 'application/octet-stream').send(answer.stream);
  if (answer.text !== undefined) return reply.type(answer.contentType ?? 'text/plain; charset=utf-8').send(answer.text);
  return reply.type('application/json').send(answer.body === undefined ? '' : JSON.stringify(answer.body));
}

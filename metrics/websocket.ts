// WebSocket upgrades (RFC 6455 §4.2) on the HTTP listener: an upgrade request goes through
// fastify's router like any request (hooks, refusals, 404, metrics), and a WebSocket route's
// handler completes it with `ws`. Once upgraded, nothing of the HTTP request is kept: a
// connection holds its WebSocket, its socket and the route's peer, no request, reply, headers or
// closure over them (@fastify/websocket kept all of these for the life of the socket, about
// 3 KiB per idle connection).
// No permessage-deflate (RFC 7692): its zlib contexts cost far more per connection than the
// bytes they save on XMPP's short stanzas; Prosody's mod_websocket does not offer it either.
import { type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import type { HttpReply, WebSocketPeer, WebSocketRequest, WebSocketRoute, WebSocketSink } from '../src/http.js';

/** The upgrade request's socket and the bytes past its headers, until a route takes them or answers. */
interface PendingUpgrade {
  socket: Socket;
  head: Buffer;
  response: ServerResponse;
}

type Send = (reply: FastifyReply, answer: HttpReply) => FastifyReply;

export class WebSocketUpgrades {
  private readonly pending = new WeakMap<IncomingMessage, PendingUpgrade>();
  private readonly server: WebSocketServer;
  private readonly open = new Set<XmppWebSocket>();
  private readonly protocols: Set<string>;
  private closed = false;

  constructor(private readonly routes: readonly WebSocketRoute[]) {
    this.protocols = new Set(routes.map((route) => route.protocol));
    this.server = new WebSocketServer({
      noServer: true,
      WebSocket: XmppWebSocket,
      // Tracked in `open`, without ws's closure per connection.
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: Math.max(...routes.map((route) => route.maxMessageBytes)),
      // Only a subprotocol some route speaks; the route's onRequest refused upgrades without one.
      handleProtocols: (offered: Set<string>) => [...offered].find((protocol) => this.protocols.has(protocol)) ?? false,
    });
  }

  /** Mounts the routes on `app` and takes the upgrades of its node server. */
  mount(app: FastifyInstance, send: Send): void {
    app.server.on('upgrade', this.onUpgrade(app));
    for (const route of this.routes) {
      app.get(route.path, {
        onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
          const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((protocol) => protocol.trim());
          if (!this.pending.has(request.raw) || request.headers.upgrade?.toLowerCase() !== 'websocket') return send(reply, { status: 426, body: { error: 'upgrade-required' }, headers: { upgrade: 'websocket' } });
          if (!offered.includes(route.protocol)) return send(reply, { status: 400, body: { error: 'subprotocol-required', protocol: route.protocol } });
          const refusal = route.refuse(webSocketRequest(request.raw));
          return refusal ? send(reply, refusal) : undefined;
        },
        handler: (request: FastifyRequest, reply: FastifyReply) => {
          reply.hijack();
          this.complete(request.raw, route);
        },
      });
    }
  }

  /** Idempotent. Closes the WebSockets still open (1001, going away). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ws of this.open) ws.close(1001);
    this.server.close();
  }

  private onUpgrade(app: FastifyInstance) {
    // node's server hands a net.Socket (typed as a Duplex, which a custom server might pass).
    return (request: IncomingMessage, socket: Socket, head: Buffer): void => {
      // node removed its own error listener before the 'upgrade' event; ws adds one once it has the socket.
      socket.on('error', destroyOnError);
      const response = new ServerResponse(request);
      response.assignSocket(socket);
      // An upgrade to an ordinary route, or a refused one, gets its HTTP answer and then the
      // connection ends: node no longer parses this socket as HTTP.
      response.once('finish', () => socket.destroySoon());
      this.pending.set(request, { socket, head, response });
      try {
        app.routing(request, response);
      } catch {
        socket.destroy();
      }
    };
  }

  private complete(request: IncomingMessage, route: WebSocketRoute): void {
    const upgrade = this.pending.get(request);
    if (upgrade === undefined) return;
    this.pending.delete(request);
    const { socket, head, response } = upgrade;
    response.detachSocket(socket);
    socket.off('error', destroyOnError);
    // The route reads what it needs of the request now: nothing below holds it afterwards.
    const about = webSocketRequest(request);
    this.server.handleUpgrade(request, socket, head, (ws) => {
      const peer = ws as XmppWebSocket;
      peer.track(socket, this.open);
      route.open(peer, about);
    });
  }
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

function webSocketRequest(request: IncomingMessage): WebSocketRequest {
  return { remoteAddress: request.socket.remoteAddress ?? '', headers: request.headers };
}

/**
 * ws's WebSocket as the core sees it, the peer itself rather than a wrapper. Its listeners are
 * its own prototype's methods, which find the sink on `this` (an EventEmitter calls a listener
 * on the emitter), as ws does with its own: no closure and no second object per connection.
 */
class XmppWebSocket extends WebSocket implements WebSocketPeer {
  /** The TCP socket beneath: flow control is its own. */
  private socket: Socket | undefined;
  private sink: WebSocketSink | undefined;
  /** The open WebSockets of the listener, which this one leaves when it closes. */
  private openSet: Set<XmppWebSocket> | undefined;

  get needsDrain(): boolean {
    return this.socket?.writableNeedDrain ?? false;
  }

  onceDrained(listener: () => void): void {
    this.socket?.once('drain', listener);
  }

  get closed(): boolean {
    return this.readyState === this.CLOSING || this.readyState === this.CLOSED;
  }

  attach(sink: WebSocketSink): void {
    this.sink = sink;
  }

  /** Listens, and stays in `open` until it closes. */
  track(socket: Socket, open: Set<XmppWebSocket>): void {
    this.socket = socket;
    this.openSet = open;
    open.add(this);
    this.on('message', this.received);
    this.on('error', this.failed);
    this.on('close', this.ended);
  }

  private received(data: Buffer | ArrayBuffer | Buffer[], binary: boolean): void {
    // Text frames only (RFC 7395 §3.2; Prosody's mod_websocket closes with 1003 too).
    if (binary) this.close(1003, 'text frames only');
    else this.sink?.message(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));
  }

  private failed(error: Error): void {
    this.sink?.error(error);
  }

  private ended(): void {
    this.openSet?.delete(this);
    this.sink?.closed();
  }
}

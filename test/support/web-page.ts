// What the browser test needs around the nodes: a page that loads Converse.js from
// node_modules on a loopback origin of its own, and a balancer that stands where an ingress
// would (one stable WebSocket URL), holding a new connection until its node is ready again.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer as createHttpServer, get, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket, connect } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ready } from './cluster.js';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', 'converse.js', 'dist');
const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
};

export interface WebPage {
  readonly origin: string;
  /** The page that runs Converse.js with these settings (serialized into the page). */
  url(settings: Record<string, unknown>): string;
  close(): Promise<void>;
}

/** Serves `/dist/*` from converse.js's dist and `/` as a page that starts Converse.js. */
export async function serveConverse(): Promise<WebPage> {
  const pages = new Map<string, string>();
  const server = createHttpServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const page = pages.get(path);
    if (page !== undefined) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
      return;
    }
    const file = normalize(join(DIST, path.replace(/^\/dist\//, '')));
    if (!path.startsWith('/dist/') || !file.startsWith(DIST) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  const port = await listen(server);
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url(settings) {
      const path = `/chat-${pages.size}.html`;
      pages.set(path, converseHtml(settings));
      return `${origin}${path}`;
    },
    close: () => closeServer(server),
  };
}

/** A plugin exposes Converse's API to the test as `window.rookery` (its API is closed to pages otherwise). */
function converseHtml(settings: Record<string, unknown>): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Rookery and Converse.js</title>
<link rel="stylesheet" href="/dist/converse.min.css">
<script type="module" src="/dist/converse.min.js"></script></head>
<body class="converse-fullscreen">
<script type="module">
converse.plugins.add('rookery-test', {
  initialize() { window.rookery = { api: this._converse.api, converse: this._converse }; },
});
converse.initialize(${JSON.stringify({ ...settings, whitelisted_plugins: ['rookery-test'], assets_path: '/dist/' })});
</script></body></html>`;
}

export interface Balancer {
  readonly port: number;
  /** Connections forwarded so far. */
  readonly forwarded: number;
  close(): Promise<void>;
}

/**
 * A TCP balancer in front of one node's HTTP port, as an ingress with one pod: a new connection
 * waits (up to `holdMs`) until the node's /readyz answers 200, then is piped to it; a connection
 * in progress ends when the backend's side ends.
 */
export async function holdUntilReady(httpPort: () => number, holdMs = 30_000): Promise<Balancer> {
  const sockets = new Set<Socket>();
  let forwarded = 0;
  const server: NetServer = createNetServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    void (async () => {
      const deadline = Date.now() + holdMs;
      while (!client.destroyed && !(await ready(httpPort()))) {
        if (Date.now() > deadline) return client.destroy();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (client.destroyed) return;
      const upstream = connect({ host: '127.0.0.1', port: httpPort() });
      sockets.add(upstream);
      forwarded += 1;
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    })();
  });
  const port = await listen(server);
  return {
    port,
    get forwarded() {
      return forwarded;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
}

function listen(server: HttpServer | NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

function closeServer(server: HttpServer | NetServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

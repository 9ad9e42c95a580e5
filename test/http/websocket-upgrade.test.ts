// WebSocket upgrades on the HTTP listener (metrics/websocket.ts), on real sockets with the ws
// client: refusals are HTTP answers from the router, permessage-deflate is never negotiated, an
// open WebSocket keeps nothing of its upgrade request, and closing the listener closes it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_HTTP_LIMITS, HttpListener } from '../../metrics/http.js';
import type { WebSocketPeer, WebSocketSink } from '../../src/http.js';
import { exchange } from './support.js';

/** What the route saw: each WebSocket with what reached its sink, and a weak hold on its request's headers. */
interface Opened {
  peer: WebSocketPeer;
  messages: string[];
  closed: boolean;
  headers: WeakRef<object>;
}

let listener: HttpListener;
let port: number;
const opened: Opened[] = [];
const answered: string[] = [];

function startListener(): Promise<number> {
  listener = new HttpListener(pino({ level: 'silent' }), DEFAULT_HTTP_LIMITS, (route, status) => answered.push(`${route} ${status}`));
  listener.route({ method: 'GET', path: '/ok', handler: () => ({ status: 200, text: 'ok\n' }) });
  listener.webSocket({
    path: '/ws',
    protocol: 'xmpp',
    maxMessageBytes: 1_000,
    refuse: (request) => (request.headers.origin === 'https://elsewhere.example' ? { status: 403, body: { error: 'origin-not-allowed' } } : undefined),
    open(peer, request) {
      const entry: Opened = { peer, messages: [], closed: false, headers: new WeakRef(request.headers) };
      const sink: WebSocketSink = {
        message: (data) => {
          entry.messages.push(data.toString('utf8'));
          peer.send(`echo ${data.toString('utf8')}`);
        },
        error: () => {},
        closed: () => {
          entry.closed = true;
        },
      };
      peer.attach(sink);
      opened.push(entry);
    },
  });
  return listener.listen(0, '127.0.0.1');
}

beforeAll(async () => {
  port = await startListener();
});
afterAll(() => listener.close());

function connect(path: string, options: WebSocket.ClientOptions = {}): Promise<{ ws: WebSocket; extensions: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, ['xmpp'], options);
    let extensions: string | undefined;
    ws.once('upgrade', (response) => {
      extensions = response.headers['sec-websocket-extensions'] as string | undefined;
    });
    ws.once('open', () => resolve({ ws, extensions }));
    ws.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString('utf8'))));
}

/** A full collection, with gc exposed for this process only while it runs. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('a WebSocket upgrade on the HTTP listener', () => {
  it('opens with the route’s subprotocol and carries text messages both ways', async () => {
    const { ws } = await connect('/ws');
    expect(ws.protocol).toBe('xmpp');
    const reply = nextMessage(ws);
    ws.send('<open/>');
    expect(await reply).toBe('echo <open/>');
    expect(opened.at(-1)?.messages).toEqual(['<open/>']);
    ws.close();
  });

  it('does not negotiate permessage-deflate, even when the client offers it', async () => {
    const { ws, extensions } = await connect('/ws', { perMessageDeflate: true });
    expect(extensions).toBeUndefined();
    expect(ws.extensions).toBe('');
    ws.close();
  });

  it('answers a refused upgrade, a missing subprotocol, a plain GET and an unknown path over HTTP, each counted', async () => {
    answered.length = 0;
    await expect(connect('/ws', { headers: { origin: 'https://elsewhere.example' } })).rejects.toThrow('HTTP 403');
    const noProtocol = await exchange(port, { chunks: [Buffer.from(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16).toString('base64')}\r\n\r\n`)], responses: 2, waitMs: 5_000 });
    expect(noProtocol).toMatchObject({ statuses: [400], closed: true });
    expect((await fetch(`http://127.0.0.1:${port}/ws`)).status).toBe(426);
    await expect(connect('/nowhere')).rejects.toThrow('HTTP 404');
    await expect.poll(() => [...answered].sort()).toEqual(['/ws 400', '/ws 403', '/ws 426', 'unmatched 404']);
  });

  it('answers an upgrade to an ordinary route as a request, then closes the connection', async () => {
    const answer = await exchange(port, { chunks: [Buffer.from('GET /ok HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')], responses: 2, waitMs: 5_000 });
    expect(answer).toMatchObject({ statuses: [200], closed: true });
  });

  it('keeps nothing of the upgrade request while the WebSocket stays open', async () => {
    const { ws } = await connect('/ws');
    const entry = opened.at(-1) as Opened;
    // Let the upgrade's own turn end before looking.
    await new Promise((resolve) => setImmediate(resolve));
    collectGarbage();
    expect(entry.headers.deref()).toBeUndefined();
    const reply = nextMessage(ws);
    ws.send('<still-open/>');
    expect(await reply).toBe('echo <still-open/>');
    ws.close();
  });

  it('closes its open WebSockets (1001, going away) when the listener closes', async () => {
    const { ws } = await connect('/ws');
    const entry = opened.at(-1) as Opened;
    const code = new Promise<number>((resolve) => ws.once('close', (closeCode: number) => resolve(closeCode)));
    await listener.close();
    expect(await code).toBe(1001);
    await expect.poll(() => entry.closed).toBe(true);
    port = await startListener();
  });
});

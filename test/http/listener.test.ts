// The HTTP listener's own promises, on real sockets: a handler that throws answers 500 and is
// logged while the listener keeps serving; headers, bodies, time and connections are bounded.
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_HTTP_LIMITS, HttpListener } from '../../metrics/http.js';
import { exchange } from './support.js';

const TIMEOUT_MS = 1_000;
const MAX_CONNECTIONS = 20;

let listener: HttpListener;
let port: number;
const logged: Array<Record<string, unknown>> = [];
const answered: string[] = [];

beforeAll(async () => {
  const log = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
  listener = new HttpListener(log, { ...DEFAULT_HTTP_LIMITS, requestTimeoutMs: TIMEOUT_MS, maxConnections: MAX_CONNECTIONS }, (route, status) => answered.push(`${route} ${status}`));
  listener.route({ method: 'GET', path: '/ok', handler: () => ({ status: 200, text: 'ok\n' }) });
  listener.route({ method: 'GET', path: '/throws', handler: () => { throw new Error('handler bug'); } });
  listener.route({ method: 'POST', path: '/echo', handler: (request) => ({ status: 200, body: request.body }) });
  port = await listener.listen(0, '127.0.0.1');
});
afterAll(() => listener.close());

const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${port}${path}`);

describe('the HTTP listener', () => {
  it('answers a handler that throws with 500, logs it, and keeps serving', async () => {
    const answer = await get('/throws');
    expect(answer.status).toBe(500);
    expect(await answer.json()).toEqual({ error: 'internal-server-error' });
    expect(logged).toContainEqual(expect.objectContaining({ event: 'http_handler_failed', route: '/throws' }));
    expect((await get('/ok')).status).toBe(200);
  });

  it('tells its observer of every answer by route pattern and status, including what the parser refused', async () => {
    answered.length = 0;
    await get('/ok');
    await get('/nowhere');
    await get('/ok/%ZZ');
    await exchange(port, { chunks: [Buffer.from('NOT HTTP\r\n\r\n')], waitMs: 5_000 });
    // Observed as each response finishes, which may come after the client has read it.
    await expect.poll(() => [...answered].sort()).toEqual(['/ok 200', 'unmatched 400', 'unmatched 404', 'unparsed 400']);
  });

  it('answers headers over 16 KiB with 431', async () => {
    const answer = await exchange(port, { chunks: [Buffer.from(`GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`)], waitMs: 5_000 });
    expect(answer.statuses).toEqual([431]);
  });

  it('answers a JSON body over 64 KiB with 413', async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify('x'.repeat(65 * 1024)) });
    expect(answer.status).toBe(413);
  });

  it('answers bad JSON with 400 and a body of another type with 415', async () => {
    const post = (type: string, body: string): Promise<Response> => fetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post('application/json', '{"a":')).status).toBe(400);
    expect((await post('text/plain', 'hello')).status).toBe(415);
    expect((await post('application/json', '{"a":1}')).status).toBe(200);
  });

  it('answers a smuggling shape (Content-Length and Transfer-Encoding) with 400 and closes', async () => {
    const request = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
    const answer = await exchange(port, { chunks: [Buffer.from(request)], responses: 2, waitMs: 5_000 });
    expect(answer).toMatchObject({ statuses: [400], closed: true });
  });

  it('cuts off a client that never finishes its headers within the request timeout', async () => {
    const dribble = Array.from('GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', (c) => Buffer.from(c));
    // Waits for a second answer that never comes, so it sees the close.
    const answer = await exchange(port, { chunks: dribble, pauseMs: 100, responses: 2, waitMs: 10_000 });
    expect(answer).toMatchObject({ statuses: [408], closed: true });
    // Node looks for late requests every TIMEOUT_MS / 5; the slack is for a loaded machine.
    expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS + 2_000);
  });

  it('cuts off a client that sends a body slower than the request timeout allows', async () => {
    const head = Buffer.from('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
    const answer = await exchange(port, { chunks: [head, ...Array.from({ length: 99 }, () => Buffer.from(' '))], pauseMs: 100, responses: 2, waitMs: 10_000 });
    expect(answer).toMatchObject({ statuses: [408], closed: true });
    expect(answer.elapsedMs).toBeLessThan(TIMEOUT_MS + 2_000);
  });

  it('holds at most its connection cap at once, closing the rest, and serves again once they are gone', async () => {
    const held: Socket[] = [];
    const closedAtOnce: Promise<boolean>[] = [];
    for (let i = 0; i < MAX_CONNECTIONS + 10; i++) {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      held.push(socket);
      closedAtOnce.push(new Promise((resolve) => {
        socket.once('close', () => resolve(true));
        socket.once('connect', () => socket.write('GET /ok HTTP/1.1\r\nHost: x\r\n'));
        setTimeout(() => resolve(false), TIMEOUT_MS / 2);
      }));
    }
    const closed = (await Promise.all(closedAtOnce)).filter(Boolean).length;
    expect(closed).toBeGreaterThanOrEqual(10);
    for (const socket of held) socket.destroy();
    await expect.poll(async () => (await get('/ok').catch(() => undefined))?.status, { timeout: 5_000 }).toBe(200);
  });
});

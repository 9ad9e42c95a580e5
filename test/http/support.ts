// A real node (composition root, embedded store) for the HTTP tests, with its own data directory
// and a logger that keeps every warning and error; and a raw HTTP/1.1 exchange over a net socket
// that reports what came back, however malformed the request was.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Config, DEFAULT_LIMITS, defaultConfig } from '../../src/config.js';
import { type RunningNode, startNode } from '../../src/main.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import { RawClient } from '../support/client.js';

export const PASSWORD = 'http-test-password';

export interface HttpNode {
  node: RunningNode;
  config: Config;
  port: number;
  dataDir: string;
  /** Log entries at warn level or above. */
  problems: Array<Record<string, unknown>>;
  url(path: string): string;
  createUser(local: string): Promise<void>;
  /** STARTTLS, PLAIN, bind: the XMPP side still serves. */
  login(local: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startHttpNode(config: Partial<Config> = {}, limits: Partial<Config['limits']> = {}): Promise<HttpNode> {
  const dataDir = config.dataDir ?? mkdtempSync(join(tmpdir(), 'rookery-http-'));
  const full: Config = {
    ...defaultConfig(),
    s2sPort: 0, // no federation: test nodes on one machine would contend for 5269
    bindAddress: '127.0.0.1',
    c2sPort: 0,
    c2sTlsPort: 0,
    httpPort: 0,
    nodeId: `http-${randomBytes(3).toString('hex')}`,
    dataDir,
    ...config,
    limits: { ...DEFAULT_LIMITS, ...limits },
  };
  const problems: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void problems.push(JSON.parse(line) as Record<string, unknown>) });
  const node = await startNode(full, logger);
  problems.length = 0; // start-up warnings (a self-signed certificate)
  const clients: RawClient[] = [];
  return {
    node,
    config: full,
    port: node.httpPort,
    dataDir,
    problems,
    url: (path) => `http://127.0.0.1:${node.httpPort}${path}`,
    async createUser(local) {
      await node.state.accounts.create(`${local}@${full.domain}`, await deriveCredentials(PASSWORD, 4096));
    },
    async login(local) {
      const client = await RawClient.connect({ port: node.server.ports().c2s, domain: full.domain });
      clients.push(client);
      return client.login(local, PASSWORD, 'check');
    },
    async stop() {
      for (const client of clients) client.destroy();
      await node.stop();
      if (config.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Exchange {
  /** Status of each response read, in order (a pipelined request may get several). */
  statuses: number[];
  /** The server closed the connection (after answering or not). */
  closed: boolean;
  /** No answer and no close within the wait: the server is holding the connection. */
  hung: boolean;
  elapsedMs: number;
}

export interface Sending {
  /** Written one after the other, `pauseMs` apart (a slow sender). */
  chunks: Buffer[];
  pauseMs?: number;
  /** Half-close after the last chunk. */
  end?: boolean;
  /** Stop reading after this many responses (keep-alive would otherwise leave the socket open). */
  responses?: number;
  /** Give up waiting after this long. */
  waitMs: number;
}

/** Writes the bytes, reads responses until the server closes, `responses` have come, or `waitMs`. */
export function exchange(port: number, sending: Sending): Promise<Exchange> {
  const started = Date.now();
  const wanted = sending.responses ?? 1;
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    let statuses: number[] = [];
    let settled = false;
    const finish = (closed: boolean, hung: boolean): void => {
      if (settled) return;
      settled = true;
      // A HEAD answer announces a body it does not send: at the close, a complete head counts.
      if (closed) statuses = parseResponses(received, true);
      clearTimeout(timer);
      socket.destroy();
      resolve({ statuses, closed, hung, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false, statuses.length === 0), sending.waitMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      statuses = parseResponses(received);
      if (statuses.length >= wanted) finish(false, false);
    });
    socket.on('error', () => finish(true, false));
    socket.on('close', () => finish(true, false));
    socket.on('connect', () => void write(socket, sending.chunks, sending.pauseMs ?? 0, () => settled).then(() => sending.end && !socket.destroyed && socket.end()));
  });
}

async function write(socket: ReturnType<typeof connect>, chunks: Buffer[], pauseMs: number, stopped: () => boolean): Promise<void> {
  for (const [i, chunk] of chunks.entries()) {
    if (stopped() || socket.destroyed) return;
    if (i > 0 && pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    if (stopped() || socket.destroyed) return;
    socket.write(chunk);
  }
}

/** The status of each complete response in `bytes` (fastify and node always send Content-Length). */
export function parseResponses(bytes: Buffer, atClose = false): number[] {
  const statuses: number[] = [];
  let offset = 0;
  for (;;) {
    const end = bytes.indexOf('\r\n\r\n', offset);
    if (end < 0) return statuses;
    const head = bytes.subarray(offset, end).toString('latin1');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!status) return statuses;
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (end + 4 + length > bytes.length) return atClose ? [...statuses, Number(status[1])] : statuses;
    statuses.push(Number(status[1]));
    offset = end + 4 + length;
  }
}

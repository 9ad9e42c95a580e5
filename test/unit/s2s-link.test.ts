// The end of a server-to-server stream (src/s2s/link.ts, RFC 6120 §4.4), over real sockets on
// loopback: the closing handshake a drain uses reads what the peer still sends; input held back by
// the byte budget is handled even when the peer leaves at once.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Element } from 'ltx';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/config.js';
import { bucketFor } from '../../src/core/rate-limit.js';
import { S2SLink } from '../../src/s2s/link.js';

const HEADER = `<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' from='peer.example' to='us.example' version='1.0'>`;
const message = (index: number): string => `<message from='a@peer.example' to='b@us.example' id='m${index}'><body>${'x'.repeat(200)}</body></message>`;

interface Pair {
  link: S2SLink;
  /** The peer's end of the socket. */
  peer: Socket;
  /** What the peer received from the link. */
  peerReceived(): string;
  ids: string[];
  closed: Promise<void>;
}

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A link on the accepting side of a loopback connection, as an incoming stream has (with a byte budget, if given). */
async function pair(budget?: { rate: number; burst: number }): Promise<Pair> {
  const ids: string[] = [];
  let markClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server?.address();
  const peer = connect({ port: typeof address === 'object' && address ? address.port : 0, host: '127.0.0.1' });
  let received = '';
  peer.on('data', (chunk: Buffer) => (received += chunk.toString()));
  peer.on('error', () => undefined);
  const socket = await accepted;
  const link = new S2SLink(
    socket,
    {
      header: () => undefined,
      element: (element: Element) => ids.push(String(element.attrs.id)),
      closed: () => markClosed(),
    },
    DEFAULT_LIMITS,
    '127.0.0.1',
    budget ? bucketFor(budget.rate, budget.burst) : undefined,
  );
  return { link, peer, peerReceived: () => received, ids, closed };
}

const until = async (check: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('the end of an s2s stream', () => {
  it('reads what the peer sends after our closing tag, until its own, and writes nothing after ours', async () => {
    const { link, peer, peerReceived, ids } = await pair();
    peer.write(HEADER + message(1));
    await until(() => ids.length === 1);
    const closing = link.closeGracefully(5000);
    await until(() => peerReceived().includes('</stream:stream>'));
    link.write('<message id="late"/>');
    // The peer had more on its way before it read our closing tag.
    peer.write(message(2) + message(3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(link.closed).toBe(false);
    peer.end('</stream:stream>');
    expect(await closing).toBe(true);
    expect(ids).toEqual(['m1', 'm2', 'm3']);
    expect(peerReceived()).not.toContain('late');
    expect(peerReceived().match(/<\/stream:stream>/g)).toHaveLength(1);
  });

  it('gives up on a peer that never closes its stream, and says so', async () => {
    const { link, peer, closed } = await pair();
    peer.write(HEADER);
    const started = Date.now();
    expect(await link.closeGracefully(200)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await closed;
    expect(link.closed).toBe(true);
  });

  it('reads as fast as the peer sends once closing, past the byte budget', async () => {
    const { link, peer, ids } = await pair({ rate: 1000, burst: 1000 });
    const count = 40; // about 10 kB: 9 s at the budget's pace
    peer.write(HEADER + Array.from({ length: count }, (_, index) => message(index)).join(''));
    await until(() => ids.length > 0);
    expect(ids.length).toBeLessThan(count);
    const started = Date.now();
    const closing = link.closeGracefully(5000);
    peer.end('</stream:stream>');
    expect(await closing).toBe(true);
    expect(ids).toHaveLength(count);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reads nothing while its owner holds it, and everything once let go', async () => {
    const { link, peer, ids } = await pair();
    peer.write(HEADER + message(1));
    await until(() => ids.length === 1);
    link.hold(true);
    peer.write(message(2) + message(3));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ids).toEqual(['m1']);
    link.hold(false);
    await until(() => ids.length === 3);
    expect(ids).toEqual(['m1', 'm2', 'm3']);
  });

  it('handles input the byte budget held back when the peer resets the connection', async () => {
    const { peer, ids, closed } = await pair({ rate: 1000, burst: 1000 });
    const count = 40;
    peer.write(HEADER + Array.from({ length: count }, (_, index) => message(index)).join(''), () => peer.resetAndDestroy());
    await closed;
    expect(ids).toHaveLength(count);
  });
});

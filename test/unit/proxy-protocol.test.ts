// The PROXY protocol header parser (versions 1 and 2), as HAProxy's proxy-protocol.txt gives them.
import { createServer, type Socket, connect } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseProxyHeader, readProxyHeader } from '../../src/c2s/proxy-protocol.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function v2(command: number, family: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x20 | command;
  head[1] = (family << 4) | 1;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, head, body]);
}

function inet(source: number[], sourcePort: number): Buffer {
  const body = Buffer.alloc(12);
  Buffer.from(source).copy(body, 0);
  Buffer.from([10, 0, 0, 1]).copy(body, 4);
  body.writeUInt16BE(sourcePort, 8);
  body.writeUInt16BE(5222, 10);
  return body;
}

describe('parsing a PROXY protocol header', () => {
  it('reads a v1 TCP4 line', () => {
    const line = Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 5222\r\n<stream');
    expect(parseProxyHeader(line)).toEqual({ kind: 'proxied', address: '203.0.113.7', port: 51234, length: line.length - 7 });
  });

  it('reads a v1 TCP6 line and a v1 UNKNOWN line', () => {
    expect(parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 4000 5222\r\n'))).toMatchObject({ kind: 'proxied', address: '2001:db8::1', port: 4000 });
    expect(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'))).toEqual({ kind: 'local', length: 15 });
  });

  it('reads a v2 INET header, a v2 INET6 header and a v2 LOCAL header', () => {
    expect(parseProxyHeader(v2(1, 1, inet([198, 51, 100, 9], 40000)))).toEqual({ kind: 'proxied', address: '198.51.100.9', port: 40000, length: 28 });
    const six = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000042', 'hex').copy(six, 0);
    six.writeUInt16BE(6000, 32);
    expect(parseProxyHeader(v2(1, 2, six))).toMatchObject({ kind: 'proxied', address: '2001:db8::42', port: 6000 });
    expect(parseProxyHeader(v2(0, 0, Buffer.alloc(0)))).toEqual({ kind: 'local', length: 16 });
  });

  it('shows an IPv4-mapped IPv6 source as an IPv4 address', () => {
    const six = Buffer.alloc(36);
    Buffer.from('00000000000000000000ffffc0000201', 'hex').copy(six, 0);
    expect(parseProxyHeader(v2(1, 2, six))).toMatchObject({ address: '192.0.2.1' });
  });

  it('asks for more bytes at every split of a valid header', () => {
    for (const header of [Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 51234 5222\r\n'), v2(1, 1, inet([1, 2, 3, 4], 5))]) {
      for (let cut = 1; cut < header.length; cut++) expect(parseProxyHeader(header.subarray(0, cut))).toEqual({ kind: 'incomplete' });
    }
  });

  it('refuses what is not a header: a stream header, bad addresses, a line too long, another version', () => {
    const invalid = (text: string | Buffer) => parseProxyHeader(typeof text === 'string' ? Buffer.from(text) : text).kind;
    expect(invalid("<?xml version='1.0'?><stream:stream>")).toBe('invalid');
    expect(invalid('PROXY TCP4 300.1.1.1 10.0.0.1 1 2\r\n')).toBe('invalid');
    expect(invalid('PROXY TCP4 1.1.1.1 10.0.0.1 99999 2\r\n')).toBe('invalid');
    expect(invalid('PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n')).toBe('invalid');
    expect(invalid(`PROXY TCP4 ${'1'.repeat(120)}`)).toBe('invalid');
    const v3 = v2(1, 1, inet([1, 2, 3, 4], 5));
    v3[12] = 0x31;
    expect(invalid(v3)).toBe('invalid');
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), fc.boolean(), (bytes, withSignature, withPrefix) => {
        const data = Buffer.concat([withSignature ? SIGNATURE : Buffer.alloc(0), withPrefix ? Buffer.from('PROXY ') : Buffer.alloc(0), Buffer.from(bytes)]);
        expect(['incomplete', 'invalid', 'proxied', 'local']).toContain(parseProxyHeader(data).kind);
      }),
      { seed: 227, numRuns: 5000 },
    );
  });
});

describe('reading a PROXY protocol header off a socket', () => {
  async function pair(): Promise<{ client: Socket; server: Socket; close(): void }> {
    let accepted: (socket: Socket) => void = () => {};
    const serverSide = new Promise<Socket>((resolve) => (accepted = resolve));
    const listener = createServer((socket) => accepted(socket));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const address = listener.address();
    const client = connect(typeof address === 'object' && address ? address.port : 0, '127.0.0.1');
    const server = await serverSide;
    return { client, server, close: () => { client.destroy(); server.destroy(); listener.close(); } };
  }

  it('takes the header and leaves the stream bytes after it for the reader', async () => {
    const { client, server, close } = await pair();
    const header = readProxyHeader(server, 2000);
    client.write('PROXY TCP4 203.0.113.7 10.0.0.1 51234 5222\r\n<stream:stream');
    expect(await header).toMatchObject({ address: '203.0.113.7' });
    const rest = new Promise<string>((resolve) => server.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    // Left paused, so that nothing flows before the connection's own reader is attached.
    server.resume();
    expect(await rest).toBe('<stream:stream');
    close();
  });

  it('rejects a peer that sends no header in time', async () => {
    const { server, close } = await pair();
    await expect(readProxyHeader(server, 100)).rejects.toThrow('no PROXY protocol header in time');
    close();
  });
});

// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): a trusted load balancer
// (HAProxy `send-proxy-v2`, AWS NLB, ingress-nginx) prefixes each connection with the client's
// real address, so that limits, logs and metrics see the client rather than the proxy.
import { isIP, type Socket } from 'node:net';

/** What the header says: the client's address, or LOCAL (the proxy's own health check). */
export type ProxyHeader =
  | { kind: 'proxied'; address: string; port: number; length: number }
  | { kind: 'local'; length: number };

export type ParseResult = ProxyHeader | { kind: 'incomplete' } | { kind: 'invalid'; reason: string };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** v1: "a 108-byte buffer is always enough to store all the line and a trailing zero". */
const V1_MAX = 107;
/** v2: 16 bytes of header and at most 65535 of addresses and TLVs; we accept far less. */
const V2_MAX_BODY = 2048;

/** Parses a header at the start of `data`, which may be only its first bytes. */
export function parseProxyHeader(data: Buffer): ParseResult {
  if (startsWith(data, V2_SIGNATURE)) return parseV2(data);
  if (startsWith(data, V1_PREFIX)) return parseV1(data);
  const prefixOf = (signature: Buffer): boolean => data.length < signature.length && signature.subarray(0, data.length).equals(data);
  if (prefixOf(V2_SIGNATURE) || prefixOf(V1_PREFIX)) return { kind: 'incomplete' };
  return { kind: 'invalid', reason: 'no PROXY protocol header' };
}

function parseV1(data: Buffer): ParseResult {
  const end = data.indexOf('\r\n');
  if (end === -1) return data.length >= V1_MAX ? { kind: 'invalid', reason: 'v1 header too long' } : { kind: 'incomplete' };
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: 'v1 header too long' };
  const fields = data.subarray(0, end).toString('latin1').split(' ');
  const length = end + 2;
  if (fields[1] === 'UNKNOWN') return { kind: 'local', length };
  if (fields.length !== 6 || (fields[1] !== 'TCP4' && fields[1] !== 'TCP6')) return { kind: 'invalid', reason: 'malformed v1 header' };
  const [, family, source, , sourcePort] = fields as [string, string, string, string, string, string];
  if (isIP(source) !== (family === 'TCP4' ? 4 : 6)) return { kind: 'invalid', reason: 'bad v1 source address' };
  const port = Number(sourcePort);
  if (!/^\d{1,5}$/.test(sourcePort) || port > 65535) return { kind: 'invalid', reason: 'bad v1 source port' };
  return { kind: 'proxied', address: source, port, length };
}

function parseV2(data: Buffer): ParseResult {
  if (data.length < 16) return { kind: 'incomplete' };
  const versionCommand = data[12] as number;
  if (versionCommand >> 4 !== 2) return { kind: 'invalid', reason: 'unsupported PROXY protocol version' };
  const bodyLength = data.readUInt16BE(14);
  if (bodyLength > V2_MAX_BODY) return { kind: 'invalid', reason: 'v2 header too long' };
  const length = 16 + bodyLength;
  if (data.length < length) return { kind: 'incomplete' };
  const command = versionCommand & 0x0f;
  if (command === 0) return { kind: 'local', length };
  if (command !== 1) return { kind: 'invalid', reason: 'unknown v2 command' };
  const family = (data[13] as number) >> 4;
  const body = data.subarray(16, length);
  if (family === 1 && body.length >= 12) {
    return { kind: 'proxied', address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8), length };
  }
  if (family === 2 && body.length >= 36) {
    const groups: string[] = [];
    for (let offset = 0; offset < 16; offset += 2) groups.push(body.readUInt16BE(offset).toString(16));
    return { kind: 'proxied', address: compactIPv6(groups), port: body.readUInt16BE(32), length };
  }
  // UNSPEC or UNIX: the spec says to use the connection's own addresses.
  if (family === 0 || family === 3) return { kind: 'local', length };
  return { kind: 'invalid', reason: 'malformed v2 addresses' };
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.subarray(0, prefix.length).equals(prefix);
}

/** The usual text form: an IPv4-mapped address as a.b.c.d, otherwise the longest zero run as '::'. */
function compactIPv6(groups: string[]): string {
  if (groups.slice(0, 5).every((group) => group === '0') && groups[5] === 'ffff') {
    const high = Number.parseInt(groups[6] as string, 16);
    const low = Number.parseInt(groups[7] as string, 16);
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < 8; start++) {
    let run = 0;
    while (start + run < 8 && groups[start + run] === '0') run++;
    if (run > bestLength && run > 1) [bestStart, bestLength] = [start, run];
  }
  if (bestStart === -1) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Reads the header off `socket` and puts back whatever followed it, leaving the socket paused for
 * the next reader to resume. Resolves with the header, or
 * rejects (the caller closes the socket) when the peer sends something else or nothing in time.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    const finish = (error: Error | undefined, header?: ProxyHeader): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (error) reject(error);
      else resolve(header as ProxyHeader);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const result = parseProxyHeader(buffered);
      if (result.kind === 'incomplete') return;
      if (result.kind === 'invalid') return finish(new Error(result.reason));
      const rest = buffered.subarray(result.length);
      finish(undefined, result);
      if (rest.length > 0) socket.unshift(rest);
    };
    const onClose = (): void => finish(new Error('closed before the PROXY protocol header'));
    const timer = setTimeout(() => finish(new Error('no PROXY protocol header in time')), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

// A DNS server on loopback that answers SRV questions from a fixed table (RFC 1035 §4, RFC 2782),
// so that SRV resolution (XEP-0368 `_xmpps-server._tcp`) is tested against real DNS messages.
// Anything not in the table is NXDOMAIN.
import { createSocket } from 'node:dgram';

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

function encodeName(name: string): Buffer {
  const labels = name.split('.').filter((label) => label !== '');
  return Buffer.concat([...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'ascii')])), Buffer.from([0])]);
}

/** The question's name and its end offset (no compression in questions of stub resolvers). */
function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  for (let length = message[at] ?? 0; length > 0; length = message[at] ?? 0) {
    labels.push(message.subarray(at + 1, at + 1 + length).toString('ascii'));
    at += 1 + length;
  }
  return { name: labels.join('.').toLowerCase(), end: at + 1 };
}

export async function startDnsServer(records: Record<string, SrvRecord[]>): Promise<{ address: string; close(): void }> {
  const socket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    const { name, end } = readName(query, 12);
    const type = query.readUInt16BE(end);
    const answers = type === 33 ? (records[name] ?? []) : [];
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    // QR, opcode 0, AA, RD copied; RA; RCODE 3 (NXDOMAIN) when the name is unknown.
    header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (records[name] ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((record) => {
      const target = encodeName(record.target);
      const rdata = Buffer.alloc(6);
      rdata.writeUInt16BE(record.priority, 0);
      rdata.writeUInt16BE(record.weight, 2);
      rdata.writeUInt16BE(record.port, 4);
      const fixed = Buffer.alloc(12);
      fixed.writeUInt16BE(0xc00c, 0); // the question's name
      fixed.writeUInt16BE(33, 2);
      fixed.writeUInt16BE(1, 4);
      fixed.writeUInt32BE(60, 6);
      fixed.writeUInt16BE(rdata.length + target.length, 10);
      return Buffer.concat([fixed, rdata, target]);
    });
    socket.send(Buffer.concat([header, query.subarray(12, end + 4), ...rrs]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${socket.address().port}`, close: () => socket.close() };
}

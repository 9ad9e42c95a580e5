// Address lists in settings: `10.0.0.0/8, 192.0.2.7, 2001:db8::/32`, checked with node's BlockList.
import { BlockList, isIP } from 'node:net';

/** Why `text` is not a list of addresses and networks, or undefined when it is. */
export function networkListProblem(text: string): string | undefined {
  for (const entry of entries(text)) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits))) {
      return `addresses or networks (CIDR) separated by commas; "${entry}" is neither`;
    }
  }
  return undefined;
}

export class Networks {
  private readonly list = new BlockList();

  constructor(text: string | undefined) {
    for (const entry of entries(text ?? '')) {
      const [address = '', bits] = entry.split('/');
      // Checked already (networkListProblem); a colon tells the family without node's IPv6
      // expression, whose first use costs ~9 ms, paid by every command through LOOPBACK below.
      const family = address.includes(':') ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.list.addAddress(address, family);
      else this.list.addSubnet(address, Number(bits), family);
    }
  }

  has(address: string | undefined): boolean {
    if (address === undefined) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const plain = mapped ?? address;
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** 127.0.0.0/8 and ::1 (IPv4-mapped forms included): this machine itself. */
export const LOOPBACK = new Networks('127.0.0.0/8, ::1');

function entries(text: string): string[] {
  return text.split(',').map((entry) => entry.trim()).filter(Boolean);
}

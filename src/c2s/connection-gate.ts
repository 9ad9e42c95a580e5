// Admission of new client connections (RFC 6120 §13.12, "limit the number of connections that
// it will accept from a given IP address", and the number it holds at all). Over the node's cap
// a connection gets <resource-constraint/> (§4.9.3.17: the server lacks the resources to serve
// it); over its address's rate, <policy-violation/> (§4.9.3.14: a local service policy). Either
// way the stream opens, carries the error and closes (§4.9.1.1), so the client can tell a
// refusal from a network failure and back off.
import { randomBytes } from 'node:crypto';
import { isIPv6, type Socket } from 'node:net';
import { escapeXML } from 'ltx';
import type { Limits } from '../config.js';
import { StreamError } from '../xmpp/errors.js';
import { NS_CLIENT, NS_STREAMS } from '../xmpp/ns.js';
import { type Clock, monotonicMs, TokenBucket } from '../core/rate-limit.js';

export type GateLimits = Pick<Limits, 'maxConnections' | 'addressConnectionsPerMinute' | 'addressConnectionBurst'>;

export interface Refusal {
  /** The label the enforcement is counted under. */
  limit: 'c2s_connection_cap' | 'c2s_connection_rate';
  error: StreamError;
}

/** Addresses remembered at most; past it the least recently seen is forgotten. */
const MAX_ADDRESSES = 50_000;
/** How long a refused socket may stay open for the peer to read the error. */
const REFUSAL_LINGER_MS = 1_000;

export class ConnectionGate {
  private readonly addresses: AddressBuckets | undefined;

  private readonly exempt: (address: string) => boolean;

  constructor(
    private readonly limits: GateLimits,
    options: { maxAddresses?: number; now?: Clock; exempt?: (address: string) => boolean } = {},
  ) {
    this.exempt = options.exempt ?? (() => false);
    this.addresses =
      limits.addressConnectionsPerMinute > 0
        ? new AddressBuckets(limits.addressConnectionsPerMinute / 60, limits.addressConnectionBurst, options.maxAddresses ?? MAX_ADDRESSES, options.now ?? monotonicMs)
        : undefined;
  }

  /** Whether a connection from `address` may open while `open` others are; a refusal says why not. */
  admit(address: string | undefined, open: number): Refusal | undefined {
    if (this.limits.maxConnections > 0 && open >= this.limits.maxConnections) {
      return { limit: 'c2s_connection_cap', error: new StreamError('resource-constraint', 'This server is at its connection limit; try again later') };
    }
    if (this.addresses && !(address !== undefined && this.exempt(address)) && !this.addresses.take(addressKey(address ?? 'unknown'))) {
      return { limit: 'c2s_connection_rate', error: new StreamError('policy-violation', 'Too many connections from your address; try again later') };
    }
    return undefined;
  }

  /** Addresses currently remembered (bounded by maxAddresses). */
  get trackedAddresses(): number {
    return this.addresses?.size ?? 0;
  }
}

/**
 * One bucket per address in a Map kept in least-recently-seen order, so that the oldest entry is
 * the one dropped when the table is full: a client cycling through addresses cannot make it grow.
 */
class AddressBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxEntries: number,
    private readonly now: Clock,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  take(key: string): boolean {
    const bucket = this.buckets.get(key) ?? new TokenBucket(this.ratePerSecond, this.burst, this.now);
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxEntries) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return bucket.take(1) === 1;
  }
}

/**
 * The key an address is limited under. IPv4 (also when mapped into IPv6) as it is; IPv6 by its
 * /64 prefix, the block one subscriber usually gets and can pick addresses from at will.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;
  return `${ipv6Groups(address.split('%')[0] ?? address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, as lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const split = (part: string): string[] => {
    if (part === '') return [];
    return part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [group];
      const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  };
  const gap = address.indexOf('::');
  let groups: string[];
  if (gap < 0) {
    groups = split(address);
  } else {
    const head = split(address.slice(0, gap));
    const tail = split(address.slice(gap + 2));
    groups = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  }
  return groups.map((group) => parseInt(group, 16).toString(16));
}

/** Opens the stream, sends the refusal's stream error and closes, without reading the client. */
export function refuse(socket: Socket, domain: string, error: StreamError): void {
  const id = randomBytes(12).toString('base64url');
  socket.on('error', () => {}); // a peer that is already gone changes nothing
  socket.end(
    `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAMS}' id='${id}' from='${escapeXML(domain)}' version='1.0' xml:lang='en'>${error.toElement().toString()}</stream:stream>`,
  );
  socket.resume(); // whatever the client sends is discarded
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}

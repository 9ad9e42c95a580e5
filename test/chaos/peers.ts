// The chaos test's population: one account per Peer, logged in with one resource at a time,
// recording every message, bounce and presence its current stream receives; and the traffic
// generator that keeps them talking.
import type { Element } from 'ltx';
import { escapeXML } from 'ltx';
import type { RawClient } from '../support/client.js';
import type { TestCluster } from '../support/cluster.js';
import type { Ledger } from './ledger.js';

export const RESOURCE = 'desk';
/** Pings a sender may have unanswered before the generator leaves it alone (its node is likely frozen). */
const MAX_OUTSTANDING = 3;

interface Ping {
  id: string;
  /** Messages of this stream sent before it. */
  upTo: number;
  done?: () => void;
}

let pingCounter = 0;

export class Peer {
  client: RawClient | undefined;
  /** Node of the current stream. */
  node = -1;
  /** Bound, initial presence handled. */
  online = false;
  /** Streams that ended without this client closing them. */
  drops = 0;
  private leaving = false;
  /** Presence elements and iqs stay in the client's inbox too (for expect() during set-up). */
  setup = false;
  /** The last presence this stream received from each full JID of another account. */
  readonly view = new Map<string, 'available' | 'unavailable'>();
  private pings: Ping[] = [];
  private sent: string[] = [];
  private confirmedUpTo = 0;

  constructor(
    readonly local: string,
    readonly domain: string,
    private readonly ledger: Ledger,
  ) {}

  get bare(): string {
    return `${this.local}@${this.domain}`;
  }

  get full(): string {
    return `${this.bare}/${RESOURCE}`;
  }

  get outstanding(): number {
    return this.pings.length;
  }

  /** Logs in on `node`, sends initial presence and waits until the server has handled it (offline messages included). */
  async login(cluster: TestCluster, node: number): Promise<void> {
    const client = await cluster.login(node, this.local, RESOURCE);
    this.client = client;
    this.leaving = false;
    this.node = node;
    this.view.clear();
    this.pings = [];
    this.sent = [];
    this.confirmedUpTo = 0;
    client.onElement = (element) => this.handle(element);
    client.onClose = () => {
      if (this.client !== client) return;
      if (!this.leaving) this.drops += 1;
      this.online = false;
      // Nothing more will answer these; what they would have confirmed stays unconfirmed.
      this.pings = [];
    };
    // Stanzas that came in the same read as the bind result are already in the inbox.
    for (const element of client.take(() => true)) if (this.handle(element) === false) client.inbox.push(element);
    // As a client does: the roster first (so roster pushes come), then initial presence.
    await client.iq('get', "<query xmlns='jabber:iq:roster'/>");
    client.send('<presence/>');
    await this.roundTrip();
    this.online = true;
  }

  /** Ends the stream cleanly and waits for the socket to close. */
  async logout(): Promise<void> {
    const client = this.client;
    this.online = false;
    this.leaving = true;
    await client?.close();
  }

  /** A chat message to `target` (its bare JID, or its resource), entered in the ledger. */
  sendMessage(target: Peer | { local: string; full: string; bare: string; node: number }, bare: boolean, body?: string): string {
    const client = this.client;
    if (!client || client.socketClosed) throw new Error(`${this.local} has no stream`);
    const text = body ?? '';
    const toNode = target instanceof Peer && !target.online ? -1 : target.node;
    const id = this.ledger.record(this.local, target.local, bare, text.length, this.node, toNode);
    const to = bare ? target.bare : target.full;
    client.send(`<message to='${escapeXML(to)}' type='chat' id='${id}'><body>${escapeXML(text || `chaos ${id}`)}</body></message>`);
    this.sent.push(id);
    return id;
  }

  /** Sends a ping; its answer confirms every message sent before it on this stream. */
  ping(): Promise<void> {
    const client = this.client;
    if (!client || client.socketClosed) return Promise.reject(new Error(`${this.local} has no stream`));
    const id = `cp${++pingCounter}`;
    return new Promise<void>((resolve) => {
      this.pings.push({ id, upTo: this.sent.length, done: resolve });
      client.send(`<iq type='get' id='${id}' to='${escapeXML(this.domain)}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    });
  }

  /** A ping that must be answered within `timeoutMs`. */
  async roundTrip(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.local}: no answer to a ping within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Full JIDs of `contact` this stream last saw available. */
  sees(contact: Peer): string[] {
    return [...this.view].filter(([jid, state]) => state === 'available' && jid.startsWith(`${contact.bare}/`)).map(([jid]) => jid);
  }

  /** What the client's inbox would otherwise keep: returns true for what is consumed here. */
  private handle(element: Element): boolean {
    if (element.name === 'message') {
      if (element.attrs.type === 'error') return this.ledger.bounced(this.local, element);
      return this.ledger.received(this.local, element);
    }
    if (element.name === 'presence') {
      const from = String(element.attrs.from ?? '');
      const type = element.attrs.type;
      if (from !== '' && !from.startsWith(`${this.bare}/`) && from.includes('/')) {
        if (type === undefined) this.view.set(from, 'available');
        else if (type === 'unavailable') this.view.set(from, 'unavailable');
      }
      return !this.setup;
    }
    if (element.name === 'iq' && (element.attrs.type === 'result' || element.attrs.type === 'error')) {
      const index = this.pings.findIndex((ping) => ping.id === element.attrs.id);
      if (index < 0) return false;
      // Answered in order: this one confirms everything before it.
      const answered = this.pings.splice(0, index + 1);
      const last = answered[answered.length - 1] as Ping;
      for (; this.confirmedUpTo < last.upTo; this.confirmedUpTo++) this.ledger.confirm(this.sent[this.confirmedUpTo] as string);
      for (const ping of answered) ping.done?.();
      return true;
    }
    return false;
  }
}

/** A small seeded generator (mulberry32), so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every `everyMs`, a random online peer sends a chat message to a random other account (a
 * quarter of them to the bare JID, the rest to its resource, whether it is online or not),
 * followed by a ping that confirms it.
 */
export class Traffic {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly peers: readonly Peer[],
    private readonly random: () => number,
    private readonly everyMs = 25,
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const senders = this.peers.filter((peer) => peer.online && !peer.setup && peer.outstanding < MAX_OUTSTANDING);
    if (senders.length === 0) return;
    const sender = senders[Math.floor(this.random() * senders.length)] as Peer;
    const others = this.peers.filter((peer) => peer !== sender);
    const target = others[Math.floor(this.random() * others.length)] as Peer;
    sender.sendMessage(target, this.random() < 0.25);
    void sender.ping();
  }
}

// The chaos test's account of every chat message it sends: whether the sender's server confirmed
// handling it (a later ping on the same stream was answered: stanzas are handled in order), and
// every way it came out again. A message is accounted for once it was delivered (live, or later
// from offline storage with <delay/>), is still in offline storage, bounced back to its sender,
// or was read only after the server had closed the recipient's stream (left in the TCP buffers).
import type { Element } from 'ltx';

const NS_DELAY = 'urn:xmpp:delay';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const ID = /^m\d+$/;

export interface Entry {
  readonly id: string;
  /** Local part of the sender's account. */
  readonly from: string;
  /** Local part of the recipient's account. */
  readonly toLocal: string;
  /** Addressed to the bare JID rather than a resource. */
  readonly bare: boolean;
  readonly phase: string;
  readonly bytes: number;
  readonly sentAt: number;
  /** Nodes of the sender's and (if online) the recipient's stream when it was sent; -1: none. */
  readonly fromNode: number;
  readonly toNode: number;
  /** When each outcome was seen, for failure reports. */
  readonly seen: string[];
  /** A ping sent after it on the same stream was answered. */
  confirmed: boolean;
  /** Sent before Redis was killed and not yet accounted for at that moment. */
  inFlightAtCrash: boolean;
  live: number;
  /** Delivered with <delay/>: it had been stored offline. */
  fromOffline: number;
  /** Taken from the offline store by the test. */
  stored: number;
  /** Read by a client only after the server had closed its stream. */
  buffered: number;
  /** Error conditions of the bounces the sender received. */
  bounced: string[];
  /** Received by an account it was not addressed to. */
  misrouted: number;
}

export interface Tally {
  sent: number;
  confirmed: number;
  live: number;
  fromOffline: number;
  stored: number;
  bounced: number;
  buffered: number;
  /** In flight when Redis was killed (Redis came back empty, without its streams). */
  lostWithRedis: number;
  /** Never confirmed (the sender's stream died first) and not seen anywhere: allowed. */
  unconfirmedMissing: number;
  /** Confirmed, yet neither delivered, stored, bounced nor buffered: the invariant's failures. */
  unaccounted: number;
  /** Accounted for more than once (delivered twice, or delivered and also stored or bounced). */
  duplicates: number;
  misrouted: number;
  conditions: Map<string, number>;
}

export class Ledger {
  readonly entries = new Map<string, Entry>();
  phase = 'setup';
  private next = 0;

  /** A new message id, entered as sent in the current phase. */
  record(from: string, toLocal: string, bare: boolean, bytes: number, fromNode: number, toNode: number): string {
    const id = `m${++this.next}`;
    this.entries.set(id, {
      id, from, toLocal, bare, bytes, phase: this.phase, sentAt: Date.now(), fromNode, toNode, seen: [],
      confirmed: false, inFlightAtCrash: false, live: 0, fromOffline: 0, stored: 0, buffered: 0, bounced: [], misrouted: 0,
    });
    return id;
  }

  confirm(id: string): void {
    const entry = this.entries.get(id);
    if (entry) entry.confirmed = true;
  }

  /** A chat message read by a client of `recipient`; false for anything not sent by this test. */
  received(recipient: string, element: Element): boolean {
    const entry = this.entryOf(element);
    if (!entry) return false;
    if (entry.toLocal !== recipient) entry.misrouted += 1;
    else if (element.getChild('delay', NS_DELAY)) entry.fromOffline += 1;
    else entry.live += 1;
    entry.seen.push(`${element.getChild('delay', NS_DELAY) ? 'from offline' : 'live'} to ${recipient} at +${Date.now() - entry.sentAt} ms`);
    return true;
  }

  /** An error reply read by a client of the sender. */
  bounced(sender: string, element: Element): boolean {
    const entry = this.entryOf(element);
    if (!entry) return false;
    if (entry.from !== sender) {
      entry.misrouted += 1;
      return true;
    }
    const error = element.getChild('error');
    const condition = error?.children.find((child): child is Element => typeof child !== 'string' && child.attrs.xmlns === NS_STANZAS)?.name;
    entry.bounced.push(condition ?? 'none');
    entry.seen.push(`bounced (${condition ?? 'none'}) at +${Date.now() - entry.sentAt} ms`);
    return true;
  }

  /** A message read from a stream the server had already closed (it sat in the TCP buffers). */
  buffered(element: Element): boolean {
    const entry = this.entryOf(element);
    if (!entry) return false;
    entry.buffered += 1;
    entry.seen.push(`read from the TCP buffer at +${Date.now() - entry.sentAt} ms`);
    return true;
  }

  /** A message taken out of the offline store (its stored XML). */
  stored(xml: string): void {
    const id = /\sid=(?:'|")(m\d+)(?:'|")/.exec(xml)?.[1];
    const entry = id === undefined ? undefined : this.entries.get(id);
    if (!entry) return;
    entry.stored += 1;
    entry.seen.push(`taken from the offline store at +${Date.now() - entry.sentAt} ms`);
  }

  /** Redis is about to die: what has not come out anywhere yet may be in its streams. */
  markInFlight(): number {
    let count = 0;
    for (const entry of this.entries.values()) {
      if (outcomes(entry) === 0) {
        entry.inFlightAtCrash = true;
        count += 1;
      }
    }
    return count;
  }

  /** Confirmed messages not accounted for yet (what a quiescence wait waits on). */
  pending(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.confirmed && outcomes(entry) === 0 && !entry.inFlightAtCrash) count += 1;
    return count;
  }

  tally(phase?: string): Tally {
    const tally: Tally = {
      sent: 0, confirmed: 0, live: 0, fromOffline: 0, stored: 0, bounced: 0, buffered: 0,
      lostWithRedis: 0, unconfirmedMissing: 0, unaccounted: 0, duplicates: 0, misrouted: 0, conditions: new Map(),
    };
    for (const entry of this.entries.values()) {
      if (phase !== undefined && entry.phase !== phase) continue;
      tally.sent += 1;
      if (entry.confirmed) tally.confirmed += 1;
      tally.live += entry.live;
      tally.fromOffline += entry.fromOffline;
      tally.stored += entry.stored;
      tally.bounced += entry.bounced.length;
      tally.buffered += entry.buffered;
      tally.misrouted += entry.misrouted;
      for (const condition of entry.bounced) tally.conditions.set(condition, (tally.conditions.get(condition) ?? 0) + 1);
      const count = outcomes(entry);
      if (count > 1) tally.duplicates += 1;
      if (count > 0) continue;
      if (entry.inFlightAtCrash) tally.lostWithRedis += 1;
      else if (entry.confirmed) tally.unaccounted += 1;
      else tally.unconfirmedMissing += 1;
    }
    return tally;
  }

  /** Ids of confirmed messages of `phase` that nothing accounts for (for failure reports). */
  unaccounted(phase: string): Entry[] {
    return [...this.entries.values()].filter((entry) => entry.phase === phase && entry.confirmed && outcomes(entry) === 0 && !entry.inFlightAtCrash);
  }

  duplicated(): Entry[] {
    return [...this.entries.values()].filter((entry) => outcomes(entry) > 1);
  }

  phases(): string[] {
    return [...new Set([...this.entries.values()].map((entry) => entry.phase))];
  }

  /** One row per phase and a total, as printed after each phase. */
  table(): string {
    const columns = ['phase', 'sent', 'confirmed', 'delivered', 'from offline', 'stored', 'bounced', 'in TCP buffer', 'lost with Redis', 'unconfirmed, missing', 'unaccounted', 'duplicates', 'misrouted'];
    const row = (name: string, t: Tally): string[] => [
      name, t.sent, t.confirmed, t.live, t.fromOffline, t.stored, t.bounced, t.buffered, t.lostWithRedis, t.unconfirmedMissing, t.unaccounted, t.duplicates, t.misrouted,
    ].map(String);
    const rows = [columns, ...this.phases().map((phase) => row(phase, this.tally(phase))), row('total', this.tally())];
    const widths = columns.map((_, i) => Math.max(...rows.map((cells) => (cells[i] ?? '').length)));
    const lines = rows.map((cells) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | '));
    const conditions = [...this.tally().conditions].map(([condition, n]) => `${condition} ${n}`).join(', ');
    return [...lines, `bounced by condition: ${conditions || 'none'}`].join('\n');
  }

  /** One line about an entry, for failure reports. */
  describe(entry: Entry, since: number): string {
    const to = `${entry.toLocal}${entry.bare ? '' : '/…'}`;
    return `${entry.id} (${entry.phase}) ${entry.from}@n${entry.fromNode} → ${to}@${entry.toNode < 0 ? 'offline' : `n${entry.toNode}`} sent at ${entry.sentAt - since} ms${entry.confirmed ? ', confirmed' : ''}: ${entry.seen.join('; ') || 'nothing seen'}`;
  }

  private entryOf(element: Element): Entry | undefined {
    const id = element.attrs.id;
    return typeof id === 'string' && ID.test(id) ? this.entries.get(id) : undefined;
  }
}

function outcomes(entry: Entry): number {
  return entry.live + entry.fromOffline + entry.stored + entry.buffered + entry.bounced.length;
}

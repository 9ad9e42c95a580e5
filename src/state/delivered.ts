// Which stanzas a resumable stream was already given, by their stable identity
// `<sender stream token>:<seq>` (assigned once, when the sender's stream accepted the stanza): a
// copy that comes again (a dead node's inbox drained, a bus history re-read, a queue adopted from
// the store) is dropped. Per sender stream: the highest seq delivered and a 32-bit mask of the 32
// seqs below it, so a copy that overtook its predecessor does not make that one look delivered.
// The text form `<high>:<mask>` is what cluster/redis/scripts/sm-append-3.lua reads and writes.

/** Sender streams remembered per recipient stream; beyond it the oldest is forgotten. */
export const DELIVERED_SENDERS = 1024;
const WINDOW = 32;

export function splitIdentity(identity: string): { sender: string; seq: number } | undefined {
  const at = identity.lastIndexOf(':');
  const seq = Number(identity.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(seq) || seq <= 0) return undefined;
  return { sender: identity.slice(0, at), seq };
}

/** The next `<high>:<mask>` after `seq`, or undefined when `seq` was delivered (or is too old to tell). */
export function admitSeq(current: string | undefined, seq: number): string | undefined {
  let high = 0;
  let mask = 0;
  if (current !== undefined) {
    const [h, m] = current.split(':');
    high = Number(h) || 0;
    mask = Number(m) | 0;
  }
  if (seq === high) return undefined;
  if (seq < high) {
    const distance = high - seq;
    if (distance > WINDOW) return undefined;
    const bit = 1 << (distance - 1);
    if ((mask & bit) !== 0) return undefined;
    mask = (mask | bit) | 0;
  } else {
    const distance = seq - high;
    if (high === 0 || distance > WINDOW) mask = 0;
    else if (distance === WINDOW) mask = 1 << 31;
    else mask = ((mask << distance) | (1 << (distance - 1))) | 0;
    high = seq;
  }
  return `${high}:${mask}`;
}

/** One recipient stream's record of what it was given. */
export class Delivered {
  private readonly bySender = new Map<string, string>();

  constructor(initial: Record<string, string> = {}) {
    for (const [sender, value] of Object.entries(initial)) this.bySender.set(sender, value);
  }

  /** true when the stanza is new (and records it); false for a copy already delivered. */
  admit(identity: string | undefined): boolean {
    if (identity === undefined) return true;
    const parts = splitIdentity(identity);
    if (!parts) return true;
    const next = admitSeq(this.bySender.get(parts.sender), parts.seq);
    if (next === undefined) return false;
    this.bySender.delete(parts.sender);
    this.bySender.set(parts.sender, next);
    if (this.bySender.size > DELIVERED_SENDERS) this.bySender.delete(this.bySender.keys().next().value as string);
    return true;
  }

  entries(): Record<string, string> {
    return Object.fromEntries(this.bySender);
  }
}

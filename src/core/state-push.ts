// Pushes of an account's shared state (RFC 6121 §2.1.6 roster pushes, XEP-0191 §3.3 blocklist
// pushes) stay in order across nodes. Any node may change an account's roster or blocklist, and
// its push reaches a session either by a local write or through the node bus, two paths nothing
// orders against each other. So each push carries the stored version of what it describes, and
// the node that owns the session keeps, per session, the highest version delivered per key: an
// older push is dropped, narrowed to its still-new keys, or replaced by a fresh read of the store.
// doc/ordering.md states what this guarantees.
import { type Element, parse } from 'ltx';
import type { QueuedStanza } from '../state/resumption.js';
import type { PushedState, StatePush } from '../state/bus.js';
import type { C2SSession } from './session.js';

/** A push rebuilt from the store: `stanzas` replace the one that was out of date. */
export interface Refreshed {
  stanzas: Element[];
  push: StatePush;
}

/** The module that owns a state rebuilds its pushes. */
export interface PushSource {
  /**
   * Whether a client sees `version` at all: roster pushes show it (XEP-0237 `ver`), so a push
   * older than one already delivered is never shown, even for another key.
   */
  readonly visibleVersion: boolean;
  /** The keys of a stanza if it is one of this state's pushes (one found in a stream management queue). */
  recognise(stanza: Element): string[] | undefined;
  /** The push cut down to `keys` (a subset of its own), or undefined when it cannot be. */
  narrow(stanza: Element, keys: string[]): Element | undefined;
  /** A push of `keys` as stored now, for the session `fullJid` of `user`. */
  reread(user: string, fullJid: string, keys: string[]): Promise<Refreshed>;
}

/** Rereads done for one push at most: each is one store read, and only a racing newer push causes another. */
const MAX_REREADS = 4;

/**
 * Writes a push to a session of this node if it is not older than what the session saw; what
 * was outrun is narrowed or read again. Returns how it went, for the metric.
 */
export async function deliverPush(
  session: C2SSession,
  stanza: Element,
  push: StatePush,
  source: PushSource | undefined,
): Promise<'delivered' | 'dropped' | 'refreshed'> {
  if (!source) {
    session.send(stanza);
    return 'delivered';
  }
  const gate = session.pushGate;
  let verdict = gate.judge(push, source.visibleVersion);
  if (verdict.kind === 'deliver') {
    gate.delivered(push);
    session.send(stanza);
    return 'delivered';
  }
  if (verdict.kind === 'drop') return 'dropped';
  if (verdict.kind === 'narrow') {
    const narrowed = source.narrow(stanza, verdict.keys);
    if (narrowed) {
      gate.delivered({ ...push, keys: verdict.keys });
      session.send(narrowed);
      return 'refreshed';
    }
    verdict = { kind: 'reread', keys: verdict.keys };
  }
  const user = session.bare_jid;
  const fullJid = session.full_jid;
  if (user === undefined || fullJid === undefined) return 'dropped';
  for (let attempt = 0; attempt < MAX_REREADS; attempt++) {
    const fresh = await source.reread(user, fullJid, verdict.keys);
    const next = gate.judge(fresh.push, source.visibleVersion);
    if (next.kind === 'drop') return 'dropped';
    // A newer push was delivered while the store was read: read again so the version never goes back.
    if (next.kind === 'reread' && attempt + 1 < MAX_REREADS) continue;
    gate.delivered(fresh.push);
    for (const element of fresh.stanzas) session.send(element);
    return 'refreshed';
  }
  return 'dropped';
}

/**
 * A stream resumed on another node (XEP-0198) comes without the versions its resource was shown,
 * and its queue may hold pushes that passed no gate (queued while it was parked). So every state
 * push still to be redelivered is replaced by its keys as stored now, at the current version, in
 * place (the numbering the client acknowledges by stays), and the new session's gate starts from
 * those versions. A blocklist push whose items now differ in state (some blocked, some not)
 * cannot be one stanza and is redelivered as queued. Returns how many were replaced.
 */
export async function refreshQueue(session: C2SSession, queue: QueuedStanza[], sources: ReadonlyMap<PushedState, PushSource>): Promise<number> {
  const user = session.bare_jid;
  const fullJid = session.full_jid;
  if (user === undefined || fullJid === undefined) return 0;
  let replaced = 0;
  for (const queued of queue) {
    if (!queued.xml.startsWith('<iq')) continue;
    let stanza: Element;
    try {
      stanza = parse(queued.xml);
    } catch {
      continue;
    }
    for (const source of sources.values()) {
      const keys = source.recognise(stanza);
      if (!keys) continue;
      const fresh = await source.reread(user, fullJid, keys);
      if (fresh.stanzas.length === 1) {
        queued.xml = (fresh.stanzas[0] as Element).toString();
        session.pushGate.delivered(fresh.push);
        replaced += 1;
      }
      break;
    }
  }
  return replaced;
}

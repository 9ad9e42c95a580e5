// RFC 6121 §4: presence broadcast, probes, directed presence, and the subscription handling of
// subscriptions.ts (after Prosody's mod_presence.lua). Hooks are registered at the bottom.
import { Element, clone, parse } from 'ltx';
import type { OutboundStanza, RoutedStanza } from '../../core/events.js';
import type { Host } from '../../core/host.js';
import type { Module } from '../../core/module.js';
import type { C2SSession } from '../../core/session.js';
import type { RosterItem, RosterSnapshot } from '../../state/roster.js';
import type { SessionPatch, SessionRecord } from '../../state/sessions.js';
import { StanzaError } from '../../xmpp/errors.js';
import { parseJid } from '../../xmpp/jid.js';
import { errorReply, stanzaType, withDelay } from '../../xmpp/stanza.js';
import { hasFrom, hasTo } from '../../core/roster.js';
import { availableResources, parsePriority, sendPresencesOf, sendUnavailableOf, storedPresence } from '../../core/presence.js';
import { inboundSubscription, outboundSubscription, SUBSCRIPTION_TYPES, type SubscriptionType } from './subscriptions.js';

/**
 * Directed presence recipients one resource is remembered to have (each hears of its going
 * offline). A client names them, so without a bound the set would grow with every address.
 */
export const MAX_DIRECTED = 1000;

/** What a broadcast reads: the account's records and its roster. */
interface BroadcastReads {
  resources: readonly SessionRecord[];
  roster: RosterSnapshot;
}

/** Broadcast presence: no `to`, type absent or unavailable (RFC 6121 §4.2, §4.4, §4.5). */
async function broadcastPresence(host: Host, session: C2SSession, stanza: Element, type: string | undefined): Promise<void> {
  const fullJid = session.full_jid as string;
  const user = session.bare_jid as string;
  const initial = type === undefined && session.presence === undefined;
  let patch: SessionPatch;
  if (type === undefined) {
    session.priority = parsePriority(stanza);
    session.presence = withDelay(stanza, host.domain, new Date());
    patch = { presence: session.presence.toString(), priority: session.priority };
  } else {
    session.presence = undefined;
    session.priority = 0;
    patch = { presence: null, priority: 0 };
  }
  // The record's write and the broadcast's reads in one round trip. The reads are sent after the
  // write, on the account's own slot (one connection, run in order; the in-process stores apply
  // each call before the next), so they see it as reads sent after its answer would: of this
  // presence and a contact's approval racing on another node, one sees the other.
  const [, resources, roster] = await Promise.all([
    host.local.patchRecord(session, patch),
    host.state.registry.resources(user, { fresh: true }),
    host.state.rosters.load(user),
  ]);
  await sendToOwnAndContacts(host, session, stanza, true, { resources, roster });
  if (type === 'unavailable') {
    for (const jid of session.directed) {
      const unavailable = new Element('presence', { from: fullJid, to: jid, type: 'unavailable' });
      await host.router.route({ stanza: unavailable, kind: 'presence', from: parseJid(fullJid), to: parseJid(jid) });
    }
    session.directed.clear();
  }
  if (initial) await host.hooks.fire('presence/initial', { session, stanza, resources });
}

/** The sender itself, the account's other available resources, and every from/both contact. */
async function sendToOwnAndContacts(host: Host, session: C2SSession, stanza: Element, reflect: boolean, reads?: BroadcastReads): Promise<void> {
  stanza.attrs.from = session.full_jid as string;
  delete stanza.attrs.to;
  if (reflect) session.send(stanza);
  // The roster read for the broadcast is the freshest there is: initial presence probes use it too.
  session.roster = await broadcastFrom(host, session.full_jid as string, stanza, reads);
}

/**
 * A resource's broadcast presence to its account's other available resources and to every
 * from/both contact; what it reads (both at once, unless the caller read them already) is returned.
 */
async function broadcastFrom(host: Host, fullJid: string, stanza: Element, reads?: BroadcastReads): Promise<RosterSnapshot> {
  const from = parseJid(fullJid);
  const user = from.bare;
  const { resources, roster } = reads ?? (await readForBroadcast(host, user));
  for (const record of resources) {
    if (record.full_jid === fullJid || record.presence === undefined) continue;
    const copy = clone(stanza);
    copy.attrs.to = record.full_jid;
    await host.delivery.toResource(record.full_jid, copy);
  }
  for (const item of roster.items.values()) {
    if (!hasFrom(item)) continue;
    const copy = clone(stanza);
    copy.attrs.to = item.jid;
    await host.router.route({ stanza: copy, kind: 'presence', from, to: parseJid(item.jid) });
  }
  return roster;
}

async function readForBroadcast(host: Host, user: string): Promise<BroadcastReads> {
  const [resources, roster] = await Promise.all([host.state.registry.resources(user), host.state.rosters.load(user)]);
  return { resources, roster };
}

/** After the first available presence: probes, siblings' presence, pending requests (RFC 6121 §4.2.2, §3.1.3). */
async function onInitialPresence(host: Host, session: C2SSession, resources: readonly SessionRecord[]): Promise<void> {
  const user = session.bare_jid as string;
  const fullJid = session.full_jid as string;
  // The broadcast just before read the roster and the records afresh, right after storing this
  // presence (pending requests are stored with the roster too).
  const roster = session.roster ?? (await host.state.rosters.load(user));
  for (const item of roster.items.values()) {
    if (!hasTo(item)) continue;
    const probe = new Element('presence', { from: fullJid, to: item.jid, type: 'probe' });
    await host.router.route({ stanza: probe, kind: 'presence', from: parseJid(fullJid), to: parseJid(item.jid) });
  }
  for (const record of resources) {
    if (record.full_jid === fullJid) continue;
    const presence = storedPresence(record, fullJid);
    if (presence) session.send(presence);
  }
  for (const [contact, request] of roster.pendingIn) {
    const stanza = parseStored(request);
    if (!stanza) continue;
    stanza.attrs.from = contact;
    stanza.attrs.to = user;
    session.send(stanza);
  }
}

function parseStored(xml: string): Element | undefined {
  try {
    return parse(xml);
  } catch {
    return undefined;
  }
}

/** Outbound presence from a local client (pre-presence). */
async function onOutbound(host: Host, { session, stanza, to }: OutboundStanza): Promise<boolean> {
  const type = stanzaType(stanza);
  const user = session.bare_jid as string;
  if (to === undefined) {
    if (type === undefined || type === 'unavailable') {
      await broadcastPresence(host, session, stanza, type);
    } else if (type !== 'error' && !SUBSCRIPTION_TYPES.has(type)) {
      session.send(errorReply(stanza, new StanzaError('bad-request', 'Invalid presence type')));
    }
    return true; // subscriptions to oneself are ignored (RFC 6121 §3.1.1)
  }
  if (type !== undefined && SUBSCRIPTION_TYPES.has(type)) {
    if (to.bare === user) return true;
    try {
      await outboundSubscription(host, user, to.bare, type as SubscriptionType, stanza);
    } catch (error) {
      // A refusal (a full roster) is the sender's answer; anything else is a failure of ours.
      if (!(error instanceof StanzaError)) throw error;
      session.send(errorReply(stanza, error));
    }
    return true;
  }
  if (type === undefined || type === 'unavailable') {
    // Directed presence (RFC 6121 §4.6): remember who must hear of our going offline.
    const item = to.bare === user ? undefined : (await host.state.rosters.entry(user, to.bare)).item;
    if (!hasFrom(item)) {
      if (type === 'unavailable') {
        session.directed.delete(to.full);
      } else if (session.directed.has(to.full) || session.directed.size < MAX_DIRECTED) {
        session.directed.add(to.full);
      } else {
        session.send(errorReply(stanza, new StanzaError('resource-constraint', 'Too many directed presences')));
        return true;
      }
    }
    return false;
  }
  if (type === 'probe' || type === 'error') return false;
  session.send(errorReply(stanza, new StanzaError('bad-request', 'Invalid presence type')));
  return true;
}

/** Presence for an account's bare JID (RFC 6121 §4.3, §8.5.2.1.2). */
async function onBare(host: Host, { stanza, from, to }: RoutedStanza): Promise<boolean> {
  const type = stanzaType(stanza);
  if (type !== undefined && SUBSCRIPTION_TYPES.has(type)) {
    await inboundSubscription(host, to.bare, from.bare, type as SubscriptionType, stanza);
    return true;
  }
  if (type === 'probe') {
    await answerProbe(host, to.bare, from);
    return true;
  }
  if (type === undefined || type === 'unavailable' || type === 'error') {
    for (const record of await availableResources(host, to.bare)) await host.delivery.toResource(record.full_jid, stanza);
    return true;
  }
  await host.router.bounce(stanza, new StanzaError('bad-request', 'Invalid presence type'));
  return true;
}

/** RFC 6121 §4.3.2: subscribers get current presence; others are told they are not subscribed. */
async function answerProbe(host: Host, user: string, prober: ReturnType<typeof parseJid>): Promise<void> {
  if (prober.bare === user) {
    await sendPresencesOf(host, user, prober.full, false);
    return;
  }
  if (!(await host.state.accounts.exists(user))) return;
  const { item } = await host.state.rosters.entry(user, prober.bare);
  if (hasFrom(item)) {
    await sendPresencesOf(host, user, prober.full, true);
  } else {
    const unsubscribed = new Element('presence', { from: user, to: prober.bare, type: 'unsubscribed' });
    await host.router.route({ stanza: unsubscribed, kind: 'presence', from: parseJid(user), to: parseJid(prober.bare) });
  }
}

/** Presence for a full JID: subscriptions and probes act on the bare JID (RFC 6121 §8.5.3.2.2). */
async function onFull(host: Host, routed: RoutedStanza): Promise<boolean> {
  const type = stanzaType(routed.stanza);
  if (type === 'probe' || (type !== undefined && SUBSCRIPTION_TYPES.has(type))) {
    return onBare(host, { ...routed, to: routed.to.bareJid() });
  }
  await host.delivery.toResource(routed.to.full, routed.stanza); // not connected: dropped (RFC 6121 §8.5.3.2.2)
  return true;
}

/** Presence to the domain itself: it is always available to anyone who asks. */
async function onHost(host: Host, { stanza, from }: RoutedStanza): Promise<boolean> {
  const type = stanzaType(stanza);
  if (type === 'probe' || type === 'subscribe') {
    if (type === 'subscribe') {
      await host.router.send(new Element('presence', { from: host.domain, to: from.bare, type: 'subscribed' }));
    }
    await host.router.send(new Element('presence', { from: host.domain, to: from.full }));
  }
  return true;
}

/** On session end: unavailable to everyone who saw the resource (RFC 6121 §4.5.2). */
async function onUnbind(host: Host, session: C2SSession, error: string | undefined): Promise<void> {
  const fullJid = session.full_jid as string;
  const unavailable = new Element('presence', { type: 'unavailable' });
  if (error) unavailable.c('status').t(`Disconnected: ${error}`);
  if (session.presence) {
    session.presence = undefined;
    await sendToOwnAndContacts(host, session, unavailable, false);
  }
  for (const jid of session.directed) {
    const copy = clone(unavailable);
    copy.attrs.from = fullJid;
    copy.attrs.to = jid;
    await host.router.route({ stanza: copy, kind: 'presence', from: parseJid(fullJid), to: parseJid(jid) });
  }
  session.directed.clear();
}

/** A resource of a dead node: whoever saw it available sees it go (its directed presence died with the node). */
async function onLost(host: Host, record: SessionRecord, reason: string): Promise<void> {
  if (record.presence === undefined) return;
  const unavailable = new Element('presence', { from: record.full_jid, type: 'unavailable' });
  unavailable.c('status').t(`Disconnected: ${reason}`);
  await broadcastFrom(host, record.full_jid, unavailable);
  // The client may have logged in again on another node meanwhile, and its available presence
  // may have crossed ours: our last word to the same recipients is its current presence (doc/ordering.md).
  const again = await host.state.registry.get(record.full_jid, { fresh: true });
  if (again && again.session_id !== record.session_id && again.presence !== undefined) {
    const current = parse(again.presence);
    current.attrs.from = record.full_jid;
    await broadcastFrom(host, record.full_jid, current);
  }
}

/** Removing a contact cancels both directions (RFC 6121 §2.5.2), bypassing our own outbound rules. */
async function onItemRemoved(host: Host, user: string, contact: string, item: RosterItem | undefined, pendingIn: boolean): Promise<void> {
  const send = (type: string): Promise<void> =>
    host.router.route({ stanza: new Element('presence', { from: user, to: contact, type }), kind: 'presence', from: parseJid(user), to: parseJid(contact) });
  if (hasFrom(item)) await sendUnavailableOf(host, user, contact);
  if (hasFrom(item) || pendingIn) await send('unsubscribed');
  if (hasTo(item) || item?.ask) await send('unsubscribe');
}

export const presenceModule: Module = {
  name: 'presence',
  load(api) {
    const { host } = api;
    api.hook('pre-presence', (event) => onOutbound(host, event));
    api.hook('presence/bare', (event) => onBare(host, event));
    api.hook('presence/full', (event) => onFull(host, event));
    api.hook('presence/host', (event) => onHost(host, event));
    api.hook('presence/initial', ({ session, resources }) => onInitialPresence(host, session, resources));
    api.hook('resource-unbind', ({ session, error }) => onUnbind(host, session, error));
    api.hook('resource-lost', ({ record, reason }) => onLost(host, record, reason));
    host.jobs.handle('presence-grace', async ({ full_jid, presence }) => {
      if (await host.state.registry.get(full_jid)) return; // logged in again with the same resource
      await onLost(host, { full_jid, presence, node: '', session_id: '', priority: 0, interested: false, carbons: false, blocklist_interested: false }, 'Server shutting down');
    });
    api.hook('roster-item-removed', ({ user, contact, item, pendingIn }) => onItemRemoved(host, user, contact, item, pendingIn));
  },
};

// XEP-0191 Blocking Command, after Prosody's mod_blocklist.lua: managing the list (§3.2–3.5),
// pushes to the resources that fetched it, and enforcement both ways (§3.3, §6 JID matching).
import { Element, clone } from 'ltx';
import type { OutboundStanza, RoutedStanza } from '../core/events.js';
import type { Host } from '../core/host.js';
import type { IqRequest } from '../core/iq.js';
import type { Module } from '../core/module.js';
import { ALL_KEYS } from '../core/push-gate.js';
import type { PushSource } from '../core/state-push.js';
import type { StatePush } from '../state/bus.js';
import { StanzaError } from '../xmpp/errors.js';
import { type Jid, tryParseJid } from '../xmpp/jid.js';
import { NS_BLOCKING, NS_BLOCKING_ERRORS } from '../xmpp/ns.js';
import { errorReply, stanzaType } from '../xmpp/stanza.js';
import { sendPresencesOf, sendUnavailableOf } from '../core/presence.js';
import { hasFrom, updateContact } from '../core/roster.js';

/** Messages from a blocked JID that are dropped without an answer. */
const SILENT_MESSAGE_TYPES: ReadonlySet<string> = new Set(['error', 'groupchat', 'headline']);

/** An account's blocklist, read per check; the one place a cache would go. */
export function blocklistOf(host: Host, user: string): Promise<string[]> {
  return host.state.blocklists.get(user);
}

/** §6: an entry is a full JID (that resource), a bare JID (all its resources) or a domain (everyone there). */
export function isBlocked(list: readonly string[], jid: Jid): boolean {
  return list.length > 0 && list.some((entry) => entry === jid.full || entry === jid.bare || entry === jid.domain);
}

/** Whether a bare or domain entry covers a contact's bare JID (full-JID entries cover no whole contact). */
function covers(entry: Jid, contact: string): boolean {
  if (entry.resource !== '') return false;
  if (entry.local !== '') return entry.bare === contact;
  return tryParseJid(contact)?.domain === entry.domain;
}

function blockedError(): StanzaError {
  return new StanzaError('not-acceptable', 'You have blocked this JID', 'cancel', new Element('blocked', { xmlns: NS_BLOCKING_ERRORS }));
}

/** The <item jid/> children, prepared and without duplicates; a JID that does not prep → jid-malformed. */
function parseItems(payload: Element): Jid[] {
  const jids = new Map<string, Jid>();
  for (const item of payload.getChildren('item')) {
    const jid = tryParseJid(String(item.attrs.jid ?? ''));
    if (!jid) throw new StanzaError('jid-malformed');
    jids.set(jid.full, jid);
  }
  return [...jids.values()];
}

function listElement(name: 'blocklist' | 'block' | 'unblock', jids: readonly string[]): Element {
  const element = new Element(name, { xmlns: NS_BLOCKING });
  for (const jid of jids) element.c('item', { jid });
  return element;
}

function pushElement(fullJid: string, change: Element): Element {
  const push = new Element('iq', { type: 'set', id: 'blocklist-push', to: fullJid });
  push.cnode(clone(change));
  return push;
}

/**
 * §3.3: the change goes to every resource that fetched the list, the requesting one included.
 * It carries the version the edit took: two nodes may push edits of one list at once, and the
 * owning node shows no item older than one it showed (core/state-push.ts).
 */
async function pushChange(host: Host, user: string, change: Element, version: number): Promise<void> {
  const items = change.getChildren('item').map((item: Element) => String(item.attrs.jid));
  const push: StatePush = { state: 'blocklist', version, keys: items.length === 0 ? [ALL_KEYS] : items };
  for (const record of await host.state.registry.resources(user)) {
    if (!record.blocklist_interested) continue;
    await host.delivery.toResource(record.full_jid, pushElement(record.full_jid, change), push);
  }
}

/**
 * Blocklist pushes show no version, so one that was partly outrun is cut down to its items that
 * are still new; an "unblock everything" that was outrun becomes the stored list (an unblock of
 * everything, then a block of what is blocked now).
 */
function blocklistPushSource(host: Host): PushSource {
  return {
    visibleVersion: false,
    recognise(stanza) {
      const change = stanza.name === 'iq' && stanza.attrs.type === 'set' ? (stanza.getChild('block', NS_BLOCKING) ?? stanza.getChild('unblock', NS_BLOCKING)) : undefined;
      if (!change) return undefined;
      const items = change.getChildren('item').map((item: Element) => String(item.attrs.jid));
      return items.length === 0 ? [ALL_KEYS] : items;
    },
    narrow(stanza, keys) {
      const change = stanza.getChild('block', NS_BLOCKING) ?? stanza.getChild('unblock', NS_BLOCKING);
      if (!change) return undefined;
      const wanted = new Set(keys);
      const kept = change.getChildren('item').map((item: Element) => String(item.attrs.jid)).filter((jid: string) => wanted.has(jid));
      return pushElement(String(stanza.attrs.to), listElement(change.name as 'block' | 'unblock', kept));
    },
    async reread(user, fullJid, keys) {
      const { items, version } = await host.state.blocklists.load(user);
      if (keys.includes(ALL_KEYS)) {
        const stanzas = [pushElement(fullJid, listElement('unblock', []))];
        if (items.length > 0) stanzas.push(pushElement(fullJid, listElement('block', items)));
        return { stanzas, push: { state: 'blocklist', version, keys: [ALL_KEYS] } };
      }
      const stored = new Set(items);
      const blocked = keys.filter((key) => stored.has(key));
      const unblocked = keys.filter((key) => !stored.has(key));
      const stanzas: Element[] = [];
      if (blocked.length > 0) stanzas.push(pushElement(fullJid, listElement('block', blocked)));
      if (unblocked.length > 0) stanzas.push(pushElement(fullJid, listElement('unblock', unblocked)));
      return { stanzas, push: { state: 'blocklist', version, keys } };
    },
  };
}

async function getList(host: Host, { from, origin, respond }: IqRequest): Promise<void> {
  if (origin && !origin.blocklist_interested) {
    origin.blocklist_interested = true;
    await host.local.patchRecord(origin, { blocklist_interested: true });
  }
  const { items, version } = await host.state.blocklists.load(from.bare);
  // The result and the gate's floor in one step: no push older than this list is shown after it.
  origin?.pushGate.fetched('blocklist', version);
  respond(listElement('blocklist', items));
}

async function block(host: Host, { from, payload, respond }: IqRequest): Promise<void> {
  const user = from.bare;
  const jids = parseItems(payload);
  if (jids.length === 0) throw new StanzaError('bad-request', 'Nothing to block');
  const before = new Set(await blocklistOf(host, user));
  const added = jids.filter((jid) => !before.has(jid.full) && jid.bare !== user);
  const roster = await host.state.rosters.load(user);
  // Subscribers being blocked see us go offline; sent before the block, which would swallow it.
  for (const item of roster.items.values()) {
    if (hasFrom(item) && added.some((jid) => covers(jid, item.jid))) await sendUnavailableOf(host, user, item.jid);
  }
  const limit = host.config.limits.blocklistItems;
  if (before.size + new Set(added.map((jid) => jid.full)).size > limit) {
    host.telemetry.limitEnforced('blocklist_items');
    throw new StanzaError('resource-constraint', `A blocklist holds at most ${limit} JIDs`, 'wait');
  }
  const { version } = await host.state.blocklists.add(user, jids.map((jid) => jid.full));
  for (const contact of roster.pendingIn.keys()) {
    if (!added.some((jid) => covers(jid, contact))) continue;
    await updateContact(host, user, contact, (entry) => {
      if (entry.pendingIn === undefined) return undefined;
      const next = { ...entry };
      delete next.pendingIn;
      return next;
    });
  }
  respond();
  await pushChange(host, user, listElement('block', jids.map((jid) => jid.full)), version);
}

async function unblock(host: Host, { from, payload, respond }: IqRequest): Promise<void> {
  const user = from.bare;
  const jids = parseItems(payload);
  const before = await blocklistOf(host, user);
  const edited = await host.state.blocklists.remove(user, jids.map((jid) => jid.full));
  const after = new Set(edited.items);
  respond();
  await pushChange(host, user, listElement('unblock', jids.map((jid) => jid.full)), edited.version);
  // Subscribers no longer blocked get our current presence again (Prosody's fake probe).
  const removed = before.filter((entry) => !after.has(entry)).map((entry) => tryParseJid(entry)).filter((jid): jid is Jid => jid !== undefined);
  if (removed.length === 0) return;
  const remaining = [...after];
  for (const item of (await host.state.rosters.load(user)).items.values()) {
    if (!hasFrom(item) || !removed.some((jid) => covers(jid, item.jid))) continue;
    const contact = tryParseJid(item.jid);
    if (contact && !isBlocked(remaining, contact)) await sendPresencesOf(host, user, item.jid, false);
  }
}

/** A local client's stanza to a JID it blocked: refused with <blocked/>; errors and results dropped. */
async function onOutbound(host: Host, { stanza, kind, session, to }: OutboundStanza): Promise<boolean> {
  const user = session.bare_jid;
  if (to === undefined || user === undefined || to.bare === user) return false;
  if (!isBlocked(await blocklistOf(host, user), to)) return false;
  const type = stanzaType(stanza);
  if (type === 'error' || (kind === 'iq' && type === 'result')) return true;
  session.send(errorReply(stanza, blockedError()));
  return true;
}

/** A stanza for a local account from a JID it blocked (§3.3), and presence it must not send. */
async function onInbound(host: Host, routed: RoutedStanza): Promise<boolean> {
  const { stanza, kind, from, to } = routed;
  if (to.local === '' || from.bare === to.bare) return false;
  // Presence the server generates for an account (broadcasts, probe answers) skips pre-presence;
  // a blocked contact must see the account as offline, so it is dropped here.
  if (kind === 'presence' && from.local !== '' && from.domain === host.domain && isBlocked(await blocklistOf(host, from.bare), to)) return true;
  if (!isBlocked(await blocklistOf(host, to.bare), from)) return false;
  if (kind === 'presence') return true;
  const type = stanzaType(stanza) ?? 'normal';
  // §3.3 says to answer messages too (Prosody drops those to an online full JID): all but these.
  const answered = kind === 'iq' ? type === 'get' || type === 'set' : !SILENT_MESSAGE_TYPES.has(type);
  if (answered) await host.router.bounce(stanza, new StanzaError('service-unavailable'), routed.origin);
  return true;
}

export const blockingModule: Module = {
  name: 'blocking',
  load(api) {
    const { host } = api;
    api.feature(NS_BLOCKING);
    host.pushSources.set('blocklist', blocklistPushSource(host));
    api.onUnload(() => host.pushSources.delete('blocklist'));
    api.iq('self', 'get', NS_BLOCKING, 'blocklist', (request) => getList(host, request));
    api.iq('self', 'set', NS_BLOCKING, 'block', (request) => block(host, request));
    api.iq('self', 'set', NS_BLOCKING, 'unblock', (request) => unblock(host, request));
    // Ahead of everything else that handles these stanzas (carbons at 5, delivery at 0).
    const outbound = (event: OutboundStanza): Promise<boolean> => onOutbound(host, event);
    const inbound = (routed: RoutedStanza): Promise<boolean> => onInbound(host, routed);
    api.hook('pre-message', outbound, 100);
    api.hook('pre-presence', outbound, 100);
    api.hook('pre-iq', outbound, 100);
    for (const event of ['message/bare', 'message/full', 'presence/bare', 'presence/full', 'iq/bare', 'iq/full'] as const) {
      api.hook(event, inbound, 100);
    }
  },
};

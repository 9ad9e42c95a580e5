// Roster changes and pushes (RFC 6121 §2.1.6, XEP-0237), after Prosody's core/rostermanager.lua.
// Every change is a compare-and-set on one contact's entry, retried on conflict, so two nodes
// changing one roster at once never lose an update.
import { Element } from 'ltx';
import type { Host } from './host.js';
import type { PushSource } from './state-push.js';
import type { ContactEntry, RosterItem } from '../state/roster.js';
import { sameEntry } from '../state/roster-entry.js';
import { NS_ROSTER } from '../xmpp/ns.js';
import { StanzaError } from '../xmpp/errors.js';
import { newStanzaId } from '../xmpp/stanza.js';

const MAX_ATTEMPTS = 16;

export interface ContactChange {
  before: ContactEntry;
  after: ContactEntry;
  /** The roster version after the change; undefined when nothing changed. */
  version: number | undefined;
}

/**
 * Applies `change` to one contact's entry atomically. `change` returns the new entry, or
 * undefined to leave it as it is; it may run more than once when another writer interferes.
 */
export async function updateContact(
  host: Host,
  user: string,
  contact: string,
  change: (entry: ContactEntry) => ContactEntry | undefined,
): Promise<ContactChange> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const before = await host.state.rosters.entry(user, contact);
    const after = change(before);
    if (!after || sameEntry(before, after)) return { before, after: before, version: undefined };
    const version = await host.state.rosters.compareAndSet(user, contact, before, after);
    if (version !== undefined) return { before, after, version };
  }
  throw new Error(`roster of ${user} kept changing under compare-and-set`);
}

/**
 * RFC 6121 §2.5.3: a roster has a maximum size; adding past it is refused with not-allowed.
 * Checked when an item is about to be created: two adds racing may pass it by one each.
 */
export async function assertRosterRoom(host: Host, user: string): Promise<void> {
  const { items, pendingIn } = await host.state.rosters.load(user);
  if (items.size + pendingIn.size >= host.config.limits.rosterItems) {
    host.telemetry.limitEnforced('roster_items');
    throw new StanzaError('not-allowed', `A roster holds at most ${host.config.limits.rosterItems} contacts`);
  }
}

/** The <item/> of a roster result or push (RFC 6121 §2.1.2); `approved` is never shown. */
export function itemElement(item: RosterItem): Element {
  const attrs: Record<string, string> = { jid: item.jid, subscription: item.subscription };
  if (item.name !== undefined && item.name !== '') attrs.name = item.name;
  if (item.ask) attrs.ask = 'subscribe';
  const element = new Element('item', attrs);
  for (const group of item.groups) element.c('group').t(group);
  return element;
}

function pushElement(fullJid: string, contact: string, item: RosterItem | undefined, version: number): Element {
  const push = new Element('iq', { type: 'set', id: newStanzaId(), to: fullJid });
  const query = push.c('query', { xmlns: NS_ROSTER, ver: String(version) });
  query.cnode(item ? itemElement(item) : new Element('item', { jid: contact, subscription: 'remove' }));
  return push;
}

/**
 * Pushes one item (or its removal) to every interested resource of the account, wherever it is.
 * `version` is the one its change took: the owning node shows a resource no push older than one
 * it was shown (core/state-push.ts), since another node may push a newer change of this item.
 */
export async function pushItem(host: Host, user: string, contact: string, item: RosterItem | undefined, version: number): Promise<void> {
  const resources = await host.state.registry.resources(user);
  for (const resource of resources) {
    if (!resource.interested) continue;
    const push = pushElement(resource.full_jid, contact, item, version);
    await host.delivery.toResource(resource.full_jid, push, { state: 'roster', version, keys: [contact] });
  }
}

/**
 * Roster pushes show their version (XEP-0237), so one that arrives after a newer push, even of
 * another contact, is replaced by the contact's item as stored now, at the current version.
 */
export function rosterPushSource(host: Host): PushSource {
  return {
    visibleVersion: true,
    narrow: () => undefined,
    recognise(stanza) {
      const contact = stanza.getChild('query', NS_ROSTER)?.getChild('item')?.attrs.jid;
      return stanza.name === 'iq' && stanza.attrs.type === 'set' && contact !== undefined ? [String(contact)] : undefined;
    },
    async reread(user, fullJid, contacts) {
      const roster = await host.state.rosters.load(user);
      return {
        stanzas: contacts.map((contact) => pushElement(fullJid, contact, roster.items.get(contact), roster.version)),
        push: { state: 'roster', version: roster.version, keys: contacts },
      };
    },
  };
}

/** updateContact, then a push when the roster item changed. */
export async function updateAndPush(
  host: Host,
  user: string,
  contact: string,
  change: (entry: ContactEntry) => ContactEntry | undefined,
): Promise<ContactChange> {
  const result = await updateContact(host, user, contact, change);
  if (result.version !== undefined && !sameItemState(result.before.item, result.after.item)) {
    await pushItem(host, user, contact, result.after.item, result.version);
  }
  return result;
}

/** Whether a client would see a difference (approved is not shown). */
function sameItemState(a: RosterItem | undefined, b: RosterItem | undefined): boolean {
  if (!a || !b) return a === b;
  return a.subscription === b.subscription && a.ask === b.ask && a.name === b.name && a.groups.join('\n') === b.groups.join('\n');
}

export function newItem(jid: string): RosterItem {
  return { jid, groups: [], subscription: 'none', ask: false, approved: false };
}

export function hasFrom(item: RosterItem | undefined): boolean {
  return item?.subscription === 'from' || item?.subscription === 'both';
}

export function hasTo(item: RosterItem | undefined): boolean {
  return item?.subscription === 'to' || item?.subscription === 'both';
}

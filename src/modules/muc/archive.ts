// XEP-0313 on the room JID, after Prosody's mod_muc_mam: a room's groupchat messages are archived
// once, where the message is reflected (whichever node that is), in the account archives' store
// with the room as owner (state/archive.ts; on Redis the room's own hash tag). The archive id is
// the stanza-id (XEP-0359) `by` the room that every reflected copy carries. The room's
// configuration decides (muc#roomconfig_enablearchiving, on by default); who may read follows
// who may enter (XEP-0313 §5.1.2): not outcasts, and members-only or password-protected rooms
// only their members and occupants.
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { tryParseJid } from '../../xmpp/jid.js';
import { NS_MUC_USER } from '../../xmpp/ns.js';
import { isElement } from '../../xmpp/stanza.js';
import { archiveLimits, hasContent, NS_MAM, NS_SID, scheduleTrim } from '../../core/archiving.js';
import { finElement, parseQuery, queryForm, resultMessage } from '../../core/archive-query.js';
import { affiliationOf } from './room.js';
import type { MucIqHandler, MucService, RoomFacts } from './service.js';

/** XEP-0359 §3.1: a stanza-id in the room's name that the sender wrote is not ours; it goes. */
export function stripForgedIds(message: Element, room: string): void {
  for (const id of message.getChildren('stanza-id', NS_SID)) if (id.attrs.by === room) message.remove(id);
}

/** A real JID in a muc#user <x/> that the room did not write (only the archived copy of a non-anonymous room carries one). */
function stripRealJids(message: Element): void {
  for (const child of [...message.children]) {
    if (isElement(child) && child.name === 'x' && child.attrs.xmlns === NS_MUC_USER) message.remove(child);
  }
}

/**
 * Archives a reflected groupchat message (`message`, from the occupant JID) if the room keeps an
 * archive and the message has content; returns its archive id. Idempotent: a re-send of one
 * client message (same sender and origin-id or id, e.g. after a stream-management resume on
 * another node) gets the first id back and stores nothing. A store that cannot be written costs
 * the message its stanza-id, not its delivery.
 */
export async function archiveGroupchat(service: MucService, routed: RoutedStanza, room: string, message: Element, facts: RoomFacts): Promise<string | undefined> {
  if (!facts.archiving || !hasContent(message)) return undefined;
  const { host } = service;
  const stored = new Element('message', { ...message.attrs });
  for (const child of message.children) if (isElement(child)) stored.cnode(child);
  stripRealJids(stored);
  // Prosody keeps the sender's real JID with the message of a non-anonymous room, for readers of the archive.
  if (facts.whois === 'anyone') stored.c('x', { xmlns: NS_MUC_USER }).c('item', { jid: routed.from.bare });
  const origin = routed.stanza.getChild('origin-id', NS_SID)?.attrs.id ?? routed.stanza.attrs.id;
  const dedupe = origin === undefined || origin === '' ? undefined : `${routed.from.full} ${String(origin)}`;
  if (host.state.reachable?.() === false) {
    host.log.warn({ event: 'archive_write_skipped', jid: room, reason: 'store unreachable' });
    return undefined;
  }
  try {
    const now = Date.now();
    const appended = await host.state.archive.append(room, { with: String(message.attrs.from), xml: stored.toString(), stamp: now, ...(dedupe === undefined ? {} : { dedupe }) }, archiveLimits(host));
    if (appended.created) await scheduleTrim(host, room, now);
    return appended.id;
  } catch (err) {
    host.log.warn({ event: 'archive_write_failed', jid: room, err });
    return undefined;
  }
}

/** The room as the querying JID may read its archive, or the error that says why not. */
async function readable(service: MucService, routed: RoutedStanza): Promise<RoomSnapshot> {
  const snapshot = await service.store.get(routed.to.bare);
  if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
  const { record } = snapshot;
  const affiliation = affiliationOf(record, routed.from.bare);
  if (record.locked && affiliation !== 'owner') throw new StanzaError('item-not-found', 'No such room');
  if (affiliation === 'outcast') throw new StanzaError('forbidden', 'You are banned from this room');
  const closed = record.config.membersOnly || record.config.password !== '';
  const inside = [...snapshot.occupants.values()].some((occupant) => occupant.bare === routed.from.bare);
  if (closed && affiliation === 'none' && !inside) throw new StanzaError('forbidden', "Only the room's members and occupants may read its archive");
  return snapshot;
}

/** Sends a result to the querying session, waiting while its socket is full (a page is up to 250 messages). */
async function paced(service: MucService, routed: RoutedStanza, stanza: Element): Promise<void> {
  const { origin } = routed;
  if (origin && !origin.destroyed && origin.full_jid === routed.from.full) {
    origin.send(stanza);
    await origin.conn.writable?.();
    return;
  }
  await service.host.router.send(stanza);
}

/** XEP-0313 §4: a page of the room's archive, from the room, then <fin/>. */
export const queryArchive: MucIqHandler = async (service, routed, payload) => {
  const room = routed.to.bare;
  const snapshot = await readable(service, routed);
  const { query, queryId, flip } = parseQuery(payload, { fullWith: true });
  // `with` names an occupant JID of this room; anything else filters nothing (Prosody ignores it altogether).
  const occupantJid = query.with === undefined ? undefined : tryParseJid(query.with);
  if (occupantJid?.bare !== room || occupantJid.resource === '') delete query.with;
  const page = await service.host.state.archive.query(room, query);
  if (!page) throw new StanzaError('item-not-found', 'No such archive id');
  const entries = flip ? [...page.entries].reverse() : page.entries;
  // The real JIDs of a room that was non-anonymous when archived stay hidden once it is not.
  const adjust = snapshot.record.config.whois === 'anyone' ? undefined : stripRealJids;
  for (const entry of entries) await paced(service, routed, resultMessage(entry, room, routed.from.full, queryId, adjust));
  return finElement(page, queryId, entries);
};

export const archiveForm: MucIqHandler = async (service, routed) => {
  await readable(service, routed);
  return queryForm();
};

/** XEP-0313 §6.2 archive metadata: the first and the last entry. */
export const archiveMetadata: MucIqHandler = async (service, routed) => {
  await readable(service, routed);
  const { first, last } = await service.host.state.archive.bounds(routed.to.bare);
  const element = new Element('metadata', { xmlns: NS_MAM });
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (first && last) {
    element.c('start', { id: first.id, timestamp: stamp(first.stamp) });
    element.c('end', { id: last.id, timestamp: stamp(last.stamp) });
  }
  return element;
};

/** A destroyed room's archive goes with it (Prosody: muc-room-destroyed). */
export async function deleteArchive(service: MucService, room: string): Promise<void> {
  try {
    await service.host.state.archive.deleteAll(room);
  } catch (err) {
    service.host.log.warn({ event: 'archive_delete_failed', jid: room, err });
  }
}

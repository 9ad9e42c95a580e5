// Occupant presence (XEP-0045 §7.2): the occupant's own presence from its room JID, with the
// muc#user item (affiliation, role, real JID for those who may see it) and status codes.
import { Element, parse } from 'ltx';
import type { Occupant, OccupantSession, RoomRecord, RoomSnapshot } from '../../state/muc.js';
import { bareOf } from '../../xmpp/jid-string.js';
import { NS_MUC_USER } from '../../xmpp/ns.js';
import { isElement } from '../../xmpp/stanza.js';
import { NS_OCCUPANT_ID, affiliationOf, everySession, occupantId, seesRealJids } from './room.js';
import type { MucService } from './service.js';

/** What a presence says beyond the occupant's state. */
export interface PresenceNote {
  type?: 'unavailable';
  /** Status codes for everyone (110 is added for the occupant's own sessions). */
  codes?: number[];
  /** 303: the new nick. */
  nick?: string;
  actor?: string;
  reason?: string;
  /** A `<status/>` text (why an occupant was removed, as Prosody words it). */
  status?: string;
  /** §10.9: the room is destroyed, with an alternate venue. */
  destroy?: { jid?: string; reason?: string };
}

/** The presence of `occupant` (as its `session`, by default its first) as a viewer sees it. */
export function occupantPresence(room: string, record: RoomRecord, occupant: Occupant, note: PresenceNote, showJid: boolean, self: boolean, session: OccupantSession | undefined = occupant.sessions[0]): Element {
  const presence = note.type || !session ? new Element('presence', { type: 'unavailable' }) : parse(session.presence);
  presence.attrs.from = `${room}/${occupant.nick}`;
  if (note.type) presence.attrs.type = note.type;
  if (note.status !== undefined) presence.c('status').t(note.status);
  const x = presence.c('x', { xmlns: NS_MUC_USER });
  const item: Record<string, string> = { affiliation: affiliationOf(record, occupant.bare), role: note.type ? 'none' : occupant.role };
  if (showJid && session) item.jid = session.jid;
  if (note.nick !== undefined) item.nick = note.nick;
  const itemElement = x.c('item', item);
  if (note.actor !== undefined) itemElement.c('actor', { nick: note.actor });
  if (note.reason !== undefined) itemElement.c('reason').t(note.reason);
  if (note.destroy) {
    const destroy = x.c('destroy', note.destroy.jid ? { jid: note.destroy.jid } : {});
    if (note.destroy.reason) destroy.c('reason').t(note.destroy.reason);
  }
  const codes = new Set(note.codes ?? []);
  if (self) codes.add(110);
  for (const code of [...codes].sort()) x.c('status', { code: String(code) });
  presence.c('occupant-id', { xmlns: NS_OCCUPANT_ID, id: occupantId(record.salt, occupant.bare) });
  return presence;
}

/** The client's presence as stored for its occupancy: no addresses, no MUC payloads. */
export function storedPresence(stanza: Element): string {
  const copy = new Element('presence');
  for (const child of stanza.children) {
    if (!isElement(child)) continue;
    const xmlns = child.attrs.xmlns;
    if (xmlns === 'http://jabber.org/protocol/muc' || xmlns === NS_MUC_USER || xmlns === NS_OCCUPANT_ID) continue;
    copy.cnode(child);
  }
  return copy.toString();
}

type Target = { jid: string; node: string };

/**
 * Sends `occupant`'s presence (as `session`) to everyone else in the room and to `own` (its own
 * sessions, with 110; by default all of them), real JIDs to those who may see them: at most three
 * variants, each fanned out per node.
 */
export async function broadcastPresence(service: MucService, room: string, snapshot: RoomSnapshot, occupant: Occupant, note: PresenceNote, options: { own?: Target[]; session?: OccupantSession } = {}): Promise<void> {
  const { record } = snapshot;
  const session = options.session ?? occupant.sessions[0];
  const seeing: Target[] = [];
  const blind: Target[] = [];
  for (const target of everySession(snapshot)) {
    if (target.occupant.nick === occupant.nick) continue;
    (seesRealJids(record, target.occupant) ? seeing : blind).push(target);
  }
  const own = options.own ?? occupant.sessions;
  const variant = (showJid: boolean, self: boolean) => occupantPresence(room, record, occupant, note, showJid, self, session);
  if (own.length > 0) await service.host.delivery.toMany(own, variant(true, true));
  if (seeing.length > 0) await service.host.delivery.toMany(seeing, variant(true, false));
  if (blind.length > 0) await service.host.delivery.toMany(blind, variant(false, false));
}

export function sameAccount(occupant: Occupant, real: string): boolean {
  return occupant.bare === bareOf(real);
}

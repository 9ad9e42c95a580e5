// XEP-0045 §5 roles and affiliations, the default room, occupant ids (XEP-0421): the rules that
// read a room's record without changing it.
import { createHash, randomBytes } from 'node:crypto';
import type { Affiliation, Occupant, Role, RoomConfig, RoomRecord, RoomSnapshot } from '../../state/muc.js';
export { archives } from '../../state/muc.js';
export { defaultConfig } from '../../core/room-config.js';

export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
export const NS_OCCUPANT_ID = 'urn:xmpp:occupant-id:0';
export const NS_CONFERENCE = 'jabber:x:conference';

/** Affiliations by rank (§5.2), highest last. */
const RANK: Record<Affiliation, number> = { outcast: 0, none: 1, member: 2, admin: 3, owner: 4 };

export function newRecord(owner: string, locked: boolean, config: RoomConfig): RoomRecord {
  return { config, affiliations: { [owner]: 'owner' }, locked, salt: randomBytes(12).toString('base64'), created: Date.now() };
}

export function affiliationOf(record: RoomRecord, bare: string): Affiliation {
  return record.affiliations[bare] ?? 'none';
}

export function outranks(a: Affiliation, b: Affiliation): boolean {
  return RANK[a] > RANK[b];
}

/** The role an occupant gets on entering (§5.1.2): moderators are admins and owners. */
export function defaultRole(record: RoomRecord, affiliation: Affiliation): Role {
  if (affiliation === 'owner' || affiliation === 'admin') return 'moderator';
  if (affiliation === 'outcast') return 'none';
  return record.config.moderated && affiliation === 'none' ? 'visitor' : 'participant';
}

/** XEP-0421: stable per room and account, and says nothing of the account without the room's salt. */
export function occupantId(salt: string, bare: string): string {
  return createHash('sha256').update(`${salt}\0${bare}`).digest('base64');
}

/** The occupant a real full JID is in the room as. */
export function occupantOf(room: RoomSnapshot, real: string): Occupant | undefined {
  for (const occupant of room.occupants.values()) {
    if (occupant.sessions.some((session) => session.jid === real)) return occupant;
  }
  return undefined;
}

/** Whether a recipient sees real JIDs (§5: non-anonymous rooms show them to all, semi-anonymous to moderators). */
export function seesRealJids(record: RoomRecord, viewer: Occupant | undefined): boolean {
  return record.config.whois === 'anyone' || viewer?.role === 'moderator';
}

/** Every session of every occupant: where a broadcast goes. */
export function everySession(room: RoomSnapshot): Array<{ jid: string; node: string; occupant: Occupant }> {
  return [...room.occupants.values()].flatMap((occupant) => occupant.sessions.map((session) => ({ jid: session.jid, node: session.node, occupant })));
}

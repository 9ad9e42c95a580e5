// XEP-0045 §7.2 entering a room (and creating it, §10.1), §7.6 changing nick, §7.7 presence
// updates, §7.14 leaving. Each is one decision on the shared room (MucStore.transact); what the
// occupants are told follows from the room as committed.
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { Occupant, RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { stanzaType } from '../../xmpp/stanza.js';
import { deleteArchive } from './archive.js';
import { sendHistory, sendSubject } from './history.js';
import { broadcastPresence, occupantPresence, type PresenceNote, storedPresence } from './presence.js';
import { NS_MUC, affiliationOf, defaultConfig, defaultRole, newRecord, occupantOf, seesRealJids } from './room.js';
import type { MucService } from './service.js';
import { avatarPresence } from './vcard.js';

type JoinValue =
  | { kind: 'joined'; created: boolean; room: RoomSnapshot; occupant: Occupant }
  | { kind: 'updated'; room: RoomSnapshot; occupant: Occupant }
  | { kind: 'renamed'; room: RoomSnapshot; before: Occupant; occupant: Occupant }
  /** `inRoom`: the JID is still an occupant (a refused nick change), so it stays in the index. */
  | { kind: 'refused'; error: StanzaError; inRoom?: boolean };

/** Presence to an occupant JID: enter, update, change nick, or leave (an error: kickable.ts). */
export async function onOccupantPresence(service: MucService, routed: RoutedStanza): Promise<void> {
  const type = stanzaType(routed.stanza);
  const room = routed.to.bare;
  if (type === 'unavailable') {
    await leave(service, room, routed.from.full, {});
    return;
  }
  if (type !== undefined) return;
  const real = routed.from.full;
  const nick = routed.to.resource;
  const node = await service.nodeOf(routed);
  const presence = storedPresence(routed.stanza);
  const muc = routed.stanza.getChild('x', NS_MUC);
  const password = muc?.getChildText('password') ?? '';
  const limits = service.host.config.limits;
  await service.store.markJoined(real, room);
  const outcome = await service.store.transact<JoinValue>(room, (snapshot) => {
    const session = { jid: real, node, presence };
    const bare = routed.from.bare;
    if (!snapshot) {
      const record = newRecord(bare, muc !== undefined, defaultConfig(limits));
      const occupant: Occupant = { nick, bare, role: 'moderator', sessions: [session] };
      return { change: { record, put: [occupant] }, value: { kind: 'joined', created: true, room: { version: 1, record, occupants: new Map([[nick, occupant]]) }, occupant } };
    }
    const after = (put: Occupant[], remove: string[] = []) => {
      const occupants = new Map(snapshot.occupants);
      for (const gone of remove) occupants.delete(gone);
      for (const occupant of put) occupants.set(occupant.nick, occupant);
      return { ...snapshot, occupants };
    };
    const current = occupantOf(snapshot, real);
    const holder = snapshot.occupants.get(nick);
    if (current && current.nick === nick) {
      const occupant = { ...current, sessions: current.sessions.map((s) => (s.jid === real ? session : s)) };
      return { change: { put: [occupant] }, value: { kind: 'updated', room: after([occupant]), occupant } };
    }
    if (holder && holder.bare !== bare) return { value: { kind: 'refused', error: new StanzaError('conflict', 'That nickname is already in use by another occupant'), inRoom: current !== undefined } };
    if (current) {
      // §7.6: a nick change. The nick is the account's: every session in it moves along, into the
      // new nick, or into the one the same account already holds from other sessions.
      const moved = current.sessions.map((s) => (s.jid === real ? session : s));
      const occupant = holder ? { ...holder, sessions: [...holder.sessions, ...moved] } : { ...current, nick, sessions: moved };
      return { change: { remove: [current.nick], put: [occupant] }, value: { kind: 'renamed', room: after([occupant], [current.nick]), before: current, occupant } };
    }
    const { record } = snapshot;
    const affiliation = affiliationOf(record, bare);
    const privileged = affiliation === 'owner' || affiliation === 'admin';
    if (record.locked && affiliation !== 'owner') return { value: { kind: 'refused', error: new StanzaError('item-not-found', 'This room is locked until its owner configures it') } };
    if (affiliation === 'outcast') return { value: { kind: 'refused', error: new StanzaError('forbidden', 'You are banned from this room') } };
    if (record.config.membersOnly && affiliation === 'none') return { value: { kind: 'refused', error: new StanzaError('registration-required', 'This room is members-only') } };
    if (record.config.password !== '' && password !== record.config.password && !privileged) return { value: { kind: 'refused', error: new StanzaError('not-authorized', 'A password is needed to enter this room') } };
    if (!holder && snapshot.occupants.size >= Math.min(record.config.maxOccupants, limits.mucOccupants) && !privileged) return { value: { kind: 'refused', error: new StanzaError('service-unavailable', 'This room is full') } };
    const occupant: Occupant = holder ? { ...holder, sessions: [...holder.sessions, session] } : { nick, bare, role: defaultRole(record, affiliation), sessions: [session] };
    return { change: { put: [occupant] }, value: { kind: 'joined', created: false, room: after([occupant]), occupant } };
  });
  if (outcome.kind === 'refused') {
    if (!outcome.inRoom) await service.store.markLeft(real, room);
    await service.refuse(routed, outcome.error);
    return;
  }
  service.remember(room, outcome.room.record);
  if (outcome.kind === 'updated') {
    await broadcastPresence(service, room, outcome.room, outcome.occupant, {}, { session: outcome.occupant.sessions.find((s) => s.jid === real) ?? outcome.occupant.sessions[0] });
    return;
  }
  if (outcome.kind === 'renamed') {
    await renamed(service, room, outcome.room, outcome.before, outcome.occupant);
    return;
  }
  await entered(service, routed, room, outcome.room, outcome.occupant, outcome.created);
}

/** §7.2.3-7.2.16: the occupant list to the newcomer, its presence to all, then history and subject. */
async function entered(service: MucService, routed: RoutedStanza, room: string, snapshot: RoomSnapshot, occupant: Occupant, created: boolean): Promise<void> {
  const real = routed.from.full;
  const { record } = snapshot;
  const showJids = seesRealJids(record, occupant);
  for (const other of snapshot.occupants.values()) {
    if (other.nick === occupant.nick) continue;
    await service.reply(routed, addressedTo(occupantPresence(room, record, other, {}, showJids, false), real));
  }
  const codes = [...(record.config.whois === 'anyone' ? [100] : []), ...(created ? [201] : [])];
  // Everyone else sees the newcomer (its other sessions in the nick too), then it sees itself with 110.
  const session = occupant.sessions.find((s) => s.jid === real);
  await broadcastPresence(service, room, snapshot, occupant, {}, { own: occupant.sessions.filter((s) => s.jid !== real), ...(session ? { session } : {}) });
  await service.reply(routed, addressedTo(occupantPresence(room, record, occupant, { codes }, true, true, session), real));
  // The room's avatar, as Prosody sends it when an occupant has joined (XEP-0486).
  if (record.avatar !== undefined) await service.reply(routed, addressedTo(avatarPresence(room, record.avatar), real));
  // What the room sent since this join was committed reached the newcomer live already.
  if (!created) await sendHistory(service, routed, room, record, snapshot.version);
  await sendSubject(service, routed, room, record);
}

/**
 * §7.6: unavailable from the old nick (303 with the new one), then available from the new; every
 * session that moved hears both with 110. Sessions that held the new nick already see the old go.
 */
async function renamed(service: MucService, room: string, snapshot: RoomSnapshot, before: Occupant, occupant: Occupant): Promise<void> {
  const withOld = { ...snapshot, occupants: new Map(snapshot.occupants) };
  const stayed = occupant.sessions.filter((session) => !before.sessions.some((moved) => moved.jid === session.jid));
  if (stayed.length > 0) withOld.occupants.set(occupant.nick, { ...occupant, sessions: stayed });
  else withOld.occupants.delete(occupant.nick);
  await broadcastPresence(service, room, withOld, before, { type: 'unavailable', codes: [303], nick: occupant.nick });
  await broadcastPresence(service, room, snapshot, occupant, {});
}

/** Removes one real JID from a room and tells everyone (§7.14; `note` gives kick, ban or failure codes). */
export async function leave(service: MucService, room: string, real: string, note: PresenceNote): Promise<boolean> {
  const outcome = await service.store.transact(room, (snapshot) => {
    const occupant = snapshot && occupantOf(snapshot, real);
    if (!snapshot || !occupant) return { value: undefined };
    const rest = occupant.sessions.filter((session) => session.jid !== real);
    const occupants = new Map(snapshot.occupants);
    if (rest.length > 0) occupants.set(occupant.nick, { ...occupant, sessions: rest });
    else occupants.delete(occupant.nick);
    const after = { ...snapshot, occupants };
    // §10.9: a temporary room goes with its last occupant.
    const destroy = occupants.size === 0 && !snapshot.record.config.persistent;
    const change = destroy ? { destroy: true } : rest.length > 0 ? { put: [{ ...occupant, sessions: rest }] } : { remove: [occupant.nick] };
    return { change, value: { after, occupant, rest, destroyed: destroy } };
  });
  await service.store.markLeft(real, room);
  if (!outcome) return false;
  if (outcome.destroyed) await deleteArchive(service, room);
  const leaving = outcome.occupant.sessions.filter((session) => session.jid === real);
  if (outcome.rest.length > 0) {
    // Other sessions keep the nick: only this one is told it left.
    await service.host.delivery.toMany(leaving, occupantPresence(room, outcome.after.record, outcome.occupant, { ...note, type: 'unavailable' }, true, true, leaving[0]));
    return true;
  }
  await broadcastPresence(service, room, outcome.after, outcome.occupant, { ...note, type: 'unavailable' }, { own: leaving });
  return true;
}

function addressedTo(stanza: Element, to: string): Element {
  stanza.attrs.to = to;
  return stanza;
}

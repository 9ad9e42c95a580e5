// XEP-0045 §8 moderator and §9 admin use cases over muc#admin: roles by nick (kick 307, voice,
// moderator) and affiliations by JID (ban 301, member, admin, owner; removal from a members-only
// room 321), and the lists of both. One item per decision on the shared room.
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { Affiliation, Occupant, Role, RoomChange, RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { tryParseJid } from '../../xmpp/jid.js';
import { broadcastPresence } from './presence.js';
import { affiliationOf, defaultRole, NS_MUC_ADMIN, occupantOf, outranks } from './room.js';
import type { MucService } from './service.js';

const ROLES = new Set<Role>(['moderator', 'participant', 'visitor', 'none']);
const AFFILIATIONS = new Set<Affiliation>(['owner', 'admin', 'member', 'outcast', 'none']);

/** What happened to the occupants of the room. */
interface Effect {
  room: RoomSnapshot;
  /** Still in the room, with a new role or affiliation. */
  changed: Occupant[];
  /** Removed, with the status code that says why. */
  removed: Array<{ occupant: Occupant; code: number }>;
  actor: string | undefined;
}

export async function setAdmin(service: MucService, routed: RoutedStanza, payload: Element): Promise<void> {
  const items = payload.getChildren('item');
  if (items.length === 0) throw new StanzaError('bad-request', 'No item');
  for (const item of items) {
    const reason = item.getChildText('reason') ?? undefined;
    const role = item.attrs.role === undefined ? undefined : String(item.attrs.role);
    const affiliation = item.attrs.affiliation === undefined ? undefined : String(item.attrs.affiliation);
    let effect: Effect;
    if (role !== undefined && affiliation === undefined) {
      if (!ROLES.has(role as Role)) throw new StanzaError('bad-request', 'Unknown role');
      effect = await changeRole(service, routed, String(item.attrs.nick ?? ''), role as Role);
    } else if (affiliation !== undefined) {
      if (!AFFILIATIONS.has(affiliation as Affiliation)) throw new StanzaError('bad-request', 'Unknown affiliation');
      const jid = tryParseJid(String(item.attrs.jid ?? ''));
      const target = jid?.bare ?? (await byNick(service, routed.to.bare, String(item.attrs.nick ?? '')));
      if (target === undefined) throw new StanzaError('bad-request', 'An item needs a jid or a nick');
      effect = await changeAffiliation(service, routed, target, affiliation as Affiliation);
    } else {
      throw new StanzaError('bad-request', 'An item needs a role or an affiliation');
    }
    await announce(service, routed.to.bare, effect, reason);
  }
}

async function byNick(service: MucService, room: string, nick: string): Promise<string | undefined> {
  return (await service.store.get(room))?.occupants.get(nick)?.bare;
}

function decide<T>(work: () => { change?: RoomChange; value: T }): { change?: RoomChange; value: T | StanzaError } {
  try {
    return work();
  } catch (error) {
    if (error instanceof StanzaError) return { value: error };
    throw error;
  }
}

async function changeRole(service: MucService, routed: RoutedStanza, nick: string, role: Role): Promise<Effect> {
  const outcome = await service.store.transact<Effect | StanzaError>(routed.to.bare, (snapshot) => decide<Effect>(() => {
    if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
    const actor = occupantOf(snapshot, routed.from.full);
    const actorAffiliation = affiliationOf(snapshot.record, routed.from.bare);
    if (actor?.role !== 'moderator') throw new StanzaError('forbidden', 'Only moderators may change roles');
    const target = snapshot.occupants.get(nick);
    if (!target) throw new StanzaError('item-not-found', 'No occupant has that nick');
    const targetAffiliation = affiliationOf(snapshot.record, target.bare);
    // §8.2, §9.6: nobody changes the role of someone of higher affiliation; granting moderator is for admins.
    if (outranks(targetAffiliation, actorAffiliation) || ((targetAffiliation === 'admin' || targetAffiliation === 'owner') && role !== 'moderator')) {
      throw new StanzaError('not-allowed', 'That occupant\'s role cannot be changed by you');
    }
    if (role === 'moderator' && actorAffiliation !== 'admin' && actorAffiliation !== 'owner') throw new StanzaError('not-allowed', 'Only admins may grant moderator');
    const occupants = new Map(snapshot.occupants);
    if (role === 'none') {
      occupants.delete(nick);
      return { change: { remove: [nick] }, value: { room: { ...snapshot, occupants }, changed: [], removed: [{ occupant: target, code: 307 }], actor: actor.nick } };
    }
    const changed = { ...target, role };
    occupants.set(nick, changed);
    return { change: { put: [changed] }, value: { room: { ...snapshot, occupants }, changed: [changed], removed: [], actor: actor.nick } };
  }));
  if (outcome instanceof StanzaError) throw outcome;
  return outcome;
}

async function changeAffiliation(service: MucService, routed: RoutedStanza, target: string, affiliation: Affiliation): Promise<Effect> {
  const outcome = await service.store.transact<Effect | StanzaError>(routed.to.bare, (snapshot) => decide<Effect>(() => {
    if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
    const { record } = snapshot;
    const actorAffiliation = affiliationOf(record, routed.from.bare);
    const current = affiliationOf(record, target);
    if (actorAffiliation !== 'owner' && actorAffiliation !== 'admin') throw new StanzaError('forbidden', 'Only admins and owners may change affiliations');
    // §9, §10: admins manage members and outcasts; owners also admins and owners.
    const ownerWork = affiliation === 'owner' || affiliation === 'admin' || current === 'owner' || current === 'admin';
    if (ownerWork && actorAffiliation !== 'owner') throw new StanzaError('not-allowed', 'Only owners may change admins and owners');
    if (current === 'owner' && affiliation !== 'owner' && Object.values(record.affiliations).filter((a) => a === 'owner').length === 1) {
      throw new StanzaError('conflict', 'A room keeps at least one owner');
    }
    const affiliations = { ...record.affiliations };
    if (affiliation === 'none') delete affiliations[target];
    else affiliations[target] = affiliation;
    const after = { ...record, affiliations };
    const occupants = new Map(snapshot.occupants);
    const changed: Occupant[] = [];
    const removed: Effect['removed'] = [];
    for (const occupant of snapshot.occupants.values()) {
      if (occupant.bare !== target) continue;
      if (affiliation === 'outcast' || (after.config.membersOnly && affiliation === 'none')) {
        occupants.delete(occupant.nick);
        removed.push({ occupant, code: affiliation === 'outcast' ? 301 : 321 });
      } else {
        const updated = { ...occupant, role: defaultRole(after, affiliation) };
        occupants.set(occupant.nick, updated);
        changed.push(updated);
      }
    }
    const actor = occupantOf(snapshot, routed.from.full)?.nick;
    return {
      change: { record: after, put: changed, remove: removed.map((entry) => entry.occupant.nick) },
      value: { room: { ...snapshot, record: after, occupants }, changed, removed, actor },
    };
  }));
  if (outcome instanceof StanzaError) throw outcome;
  return outcome;
}

async function announce(service: MucService, room: string, effect: Effect, reason: string | undefined): Promise<void> {
  const note = { ...(effect.actor !== undefined ? { actor: effect.actor } : {}), ...(reason !== undefined ? { reason } : {}) };
  for (const occupant of effect.changed) await broadcastPresence(service, room, effect.room, occupant, note);
  for (const { occupant, code } of effect.removed) {
    await broadcastPresence(service, room, effect.room, occupant, { ...note, type: 'unavailable', codes: [code] });
    for (const session of occupant.sessions) await service.store.markLeft(session.jid, room);
  }
}

/** §9.5, §8.5: the members, admins, owners, outcasts, moderators or participants of the room. */
export async function getAdmin(service: MucService, routed: RoutedStanza, payload: Element): Promise<Element> {
  const snapshot = await service.store.get(routed.to.bare);
  if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
  const item = payload.getChild('item');
  const query = new Element('query', { xmlns: NS_MUC_ADMIN });
  const actorAffiliation = affiliationOf(snapshot.record, routed.from.bare);
  const affiliation = item?.attrs.affiliation === undefined ? undefined : String(item.attrs.affiliation);
  const role = item?.attrs.role === undefined ? undefined : String(item.attrs.role);
  if (affiliation !== undefined && AFFILIATIONS.has(affiliation as Affiliation) && affiliation !== 'none') {
    if (actorAffiliation !== 'owner' && actorAffiliation !== 'admin') throw new StanzaError('forbidden', 'Only admins and owners see the lists');
    for (const [jid, held] of Object.entries(snapshot.record.affiliations)) if (held === affiliation) query.c('item', { jid, affiliation });
    return query;
  }
  if (role === 'moderator' || role === 'participant' || role === 'visitor') {
    if (occupantOf(snapshot, routed.from.full)?.role !== 'moderator') throw new StanzaError('forbidden', 'Only moderators see the roles');
    for (const occupant of snapshot.occupants.values()) {
      if (occupant.role === role) query.c('item', { nick: occupant.nick, role, affiliation: affiliationOf(snapshot.record, occupant.bare), jid: occupant.sessions[0]?.jid ?? occupant.bare });
    }
    return query;
  }
  throw new StanzaError('bad-request', 'Ask for one affiliation or role');
}

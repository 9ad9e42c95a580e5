// XEP-0045 §10 owner use cases: the configuration form (§10.2, also how a reserved room is
// unlocked, §10.1.3, and an instant room with an empty submit, §10.1.2) and destruction with an
// alternate venue (§10.9).
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { configForm, NS_DATA, readForm } from '../../core/room-config.js';
import { deleteArchive } from './archive.js';
import { broadcastPresence } from './presence.js';
import { affiliationOf, archives, everySession, NS_MUC_OWNER } from './room.js';
import { NS_MUC_USER } from '../../xmpp/ns.js';
import type { MucService } from './service.js';

function requireOwner(snapshot: RoomSnapshot | undefined, routed: RoutedStanza): RoomSnapshot {
  if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
  if (affiliationOf(snapshot.record, routed.from.bare) !== 'owner') throw new StanzaError('forbidden', 'Only owners may do that');
  return snapshot;
}

export async function getConfig(service: MucService, routed: RoutedStanza): Promise<Element> {
  const snapshot = requireOwner(await service.store.get(routed.to.bare), routed);
  const query = new Element('query', { xmlns: NS_MUC_OWNER });
  query.cnode(configForm(snapshot.record.config));
  return query;
}

export async function setOwner(service: MucService, routed: RoutedStanza, payload: Element): Promise<void> {
  const destroy = payload.getChild('destroy');
  if (destroy) {
    await destroyRoom(service, routed, destroy);
    return;
  }
  const form = payload.getChild('x', NS_DATA);
  if (!form) throw new StanzaError('bad-request', 'A form or <destroy/> is needed');
  const room = routed.to.bare;
  const limits = service.host.config.limits;
  const cancel = form.attrs.type === 'cancel';
  const outcome = await service.store.transact<StanzaError | { before: RoomSnapshot; after: RoomSnapshot } | 'destroyed' | undefined>(room, (snapshot) => {
    let owned: RoomSnapshot;
    try {
      owned = requireOwner(snapshot, routed);
    } catch (error) {
      return { value: error as StanzaError };
    }
    // §10.1.3: cancelling the configuration of a room still locked destroys it.
    if (cancel) return owned.record.locked ? { change: { destroy: true }, value: 'destroyed' } : { value: undefined };
    if (form.attrs.type !== 'submit') return { value: new StanzaError('bad-request', 'A form of type submit or cancel') };
    let config;
    try {
      config = readForm(form, owned.record.config, limits);
    } catch (error) {
      return { value: error as StanzaError };
    }
    const after = { ...owned.record, config, locked: false };
    return { change: { record: after }, value: { before: owned, after: { ...owned, record: after } } };
  });
  service.forget(room);
  if (outcome instanceof StanzaError) throw outcome;
  if (outcome === 'destroyed') await deleteArchive(service, room);
  else if (outcome) await announceConfig(service, room, outcome.before, outcome.after);
}

/** §10.2.1: occupants hear of a configuration change (104), and of becoming non-anonymous (172) or semi-anonymous (173). */
async function announceConfig(service: MucService, room: string, before: RoomSnapshot, after: RoomSnapshot): Promise<void> {
  if (before.record.locked) return;
  const message = new Element('message', { type: 'groupchat', from: room });
  const x = message.c('x', { xmlns: NS_MUC_USER });
  x.c('status', { code: '104' });
  const whois = after.record.config.whois;
  if (whois !== before.record.config.whois) x.c('status', { code: whois === 'anyone' ? '172' : '173' });
  // 170/171: the room's messages are archived from now on, or no longer (Prosody's mod_muc_mam).
  const archiving = archives(after.record.config);
  if (archiving !== archives(before.record.config)) x.c('status', { code: archiving ? '170' : '171' });
  await service.host.delivery.toMany(everySession(after), message);
}

/** §10.9: every occupant leaves with the <destroy/> notice, then the room is gone. */
async function destroyRoom(service: MucService, routed: RoutedStanza, destroy: Element): Promise<void> {
  const room = routed.to.bare;
  const outcome = await service.store.transact<RoomSnapshot | StanzaError>(room, (snapshot) => {
    try {
      return { change: { destroy: true }, value: requireOwner(snapshot, routed) };
    } catch (error) {
      return { value: error as StanzaError };
    }
  });
  service.forget(room);
  if (outcome instanceof StanzaError) throw outcome;
  await deleteArchive(service, room);
  const venue = destroy.attrs.jid !== undefined ? String(destroy.attrs.jid) : undefined;
  const reason = destroy.getChildText('reason') ?? undefined;
  for (const occupant of outcome.occupants.values()) {
    const alone = { ...outcome, occupants: new Map([[occupant.nick, occupant]]) };
    await broadcastPresence(service, room, alone, occupant, { type: 'unavailable', destroy: { ...(venue ? { jid: venue } : {}), ...(reason ? { reason } : {}) } });
    for (const session of occupant.sessions) await service.store.markLeft(session.jid, room);
  }
}

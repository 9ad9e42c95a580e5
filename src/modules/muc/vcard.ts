// A room's vCard (XEP-0054 on the room JID; XEP-0486 MUC Avatars), as Prosody's muc/vcard.lib.lua
// and ejabberd's mod_muc_room: anyone reads it (item-not-found when there is none), its owners
// set it (an empty <vCard/> removes it). The hash of its photo (XEP-0153) is kept in the room's
// record: disco#info gives it (muc#roominfo_avatarhash), each newcomer gets a presence from the
// room with it, and a change is told to every occupant by that presence and a status 104 message,
// as for a configuration change. The vCard goes with the room (MucStore: destroy).
import { Element, parse } from 'ltx';
import { isEmptyElement } from '../../core/personal-data.js';
import type { RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { NS_MUC_USER } from '../../xmpp/ns.js';
import { photoHash } from '../../xmpp/vcard-photo.js';
import { affiliationOf, everySession } from './room.js';
import type { MucIqHandler, MucService } from './service.js';

export const NS_VCARD = 'vcard-temp';
export const NS_VCARD_UPDATE = 'vcard-temp:x:update';

/** The room's presence with its avatar's hash; an empty <photo/> says it has none (XEP-0153 §3.2). */
export function avatarPresence(room: string, avatar: string | undefined): Element {
  const presence = new Element('presence', { from: room });
  const photo = presence.c('x', { xmlns: NS_VCARD_UPDATE }).c('photo');
  if (avatar !== undefined) photo.t(avatar);
  return presence;
}

export const getVcard: MucIqHandler = async (service, routed) => {
  const xml = await service.store.vcard(routed.to.bare);
  if (xml === undefined) throw new StanzaError('item-not-found', 'This room has no vCard');
  return parse(xml);
};

export const setVcard: MucIqHandler = async (service, routed, payload) => {
  const room = routed.to.bare;
  const xml = isEmptyElement(payload) ? null : payload.toString();
  const limit = service.host.config.limits.personalItemBytes;
  if (xml !== null && Buffer.byteLength(xml, 'utf8') > limit) {
    service.host.telemetry.limitEnforced('personal_item_bytes');
    throw new StanzaError('not-acceptable', `Larger than the ${limit} bytes allowed`);
  }
  const avatar = xml === null ? undefined : photoHash(payload);
  const outcome = await service.store.transact<RoomSnapshot | StanzaError>(room, (snapshot) => {
    if (!snapshot) return { value: new StanzaError('item-not-found', 'No such room') };
    if (affiliationOf(snapshot.record, routed.from.bare) !== 'owner') return { value: new StanzaError('forbidden', "Only owners may change the room's vCard") };
    const { avatar: _previous, ...rest } = snapshot.record;
    const record = avatar === undefined ? rest : { ...rest, avatar };
    return { change: { record, vcard: xml }, value: { ...snapshot, record } };
  });
  service.forget(room);
  if (outcome instanceof StanzaError) throw outcome;
  await announceAvatar(service, room, outcome);
};

/** Every occupant hears of the new vCard: the avatar's hash in presence, and 104 (Prosody sends both). */
async function announceAvatar(service: MucService, room: string, snapshot: RoomSnapshot): Promise<void> {
  const sessions = everySession(snapshot);
  if (sessions.length === 0) return;
  await service.host.delivery.toMany(sessions, avatarPresence(room, snapshot.record.avatar));
  const message = new Element('message', { type: 'groupchat', from: room });
  message.c('x', { xmlns: NS_MUC_USER }).c('status', { code: '104' });
  await service.host.delivery.toMany(sessions, message);
}

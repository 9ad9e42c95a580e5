// XEP-0045 §6: discovering the service (its identity and features, the public rooms as items)
// and a room (its features and the muc#roominfo form, §6.4).
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING } from '../../xmpp/ns.js';
import { NS_DATA } from './form.js';
import { NS_MAM, NS_MAM_EXTENDED, NS_SID } from '../../core/archiving.js';
import { archives, NS_CONFERENCE, NS_MUC, NS_OCCUPANT_ID } from './room.js';
import type { MucService } from './service.js';

/** Public rooms listed at most (XEP-0059 paging is not offered). */
const LISTED_ROOMS = 500;

export async function serviceInfo(_service: MucService, _routed: RoutedStanza, payload: Element): Promise<Element> {
  if (payload.attrs.node !== undefined) throw new StanzaError('item-not-found');
  const query = new Element('query', { xmlns: NS_DISCO_INFO });
  query.c('identity', { category: 'conference', type: 'text', name: 'Chatrooms' });
  for (const feature of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_CONFERENCE, NS_OCCUPANT_ID, NS_PING, NS_MAM]) query.c('feature', { var: feature });
  return query;
}

export async function serviceItems(service: MucService, routed: RoutedStanza): Promise<Element> {
  const query = new Element('query', { xmlns: NS_DISCO_ITEMS });
  let listed = 0;
  for await (const room of service.store.rooms()) {
    if (!room.endsWith(`@${routed.to.domain}`)) continue;
    const snapshot = await service.store.get(room);
    if (!snapshot || !snapshot.record.config.public || snapshot.record.locked) continue;
    query.c('item', { jid: room, name: snapshot.record.config.name || room.slice(0, room.indexOf('@')) });
    listed += 1;
    if (listed >= LISTED_ROOMS) break;
  }
  return query;
}

function roomFeatures(snapshot: RoomSnapshot): string[] {
  const { config } = snapshot.record;
  return [
    NS_MUC, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_OCCUPANT_ID, NS_PING, 'http://jabber.org/protocol/muc#self-ping-optimization',
    config.public ? 'muc_public' : 'muc_hidden',
    config.persistent ? 'muc_persistent' : 'muc_temporary',
    config.membersOnly ? 'muc_membersonly' : 'muc_open',
    config.moderated ? 'muc_moderated' : 'muc_unmoderated',
    config.whois === 'anyone' ? 'muc_nonanonymous' : 'muc_semianonymous',
    config.password !== '' ? 'muc_passwordprotected' : 'muc_unsecured',
    // XEP-0313 on the room JID while the room keeps an archive (Prosody's mod_muc_mam); stanza-ids always.
    ...(archives(config) ? [NS_MAM, NS_MAM_EXTENDED] : []),
    NS_SID,
  ];
}

export async function roomInfo(service: MucService, routed: RoutedStanza, payload: Element): Promise<Element> {
  if (payload.attrs.node !== undefined) throw new StanzaError('item-not-found');
  const snapshot = await service.store.get(routed.to.bare);
  if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
  const { config, subject } = snapshot.record;
  const query = new Element('query', { xmlns: NS_DISCO_INFO });
  query.c('identity', { category: 'conference', type: 'text', name: config.name || routed.to.local });
  for (const feature of roomFeatures(snapshot)) query.c('feature', { var: feature });
  const form = query.c('x', { xmlns: NS_DATA, type: 'result' });
  const field = (name: string, value: string, type?: string): void => {
    form.c('field', type ? { var: name, type } : { var: name }).c('value').t(value);
  };
  field('FORM_TYPE', 'http://jabber.org/protocol/muc#roominfo', 'hidden');
  field('muc#roominfo_description', config.description);
  field('muc#roominfo_occupants', String(snapshot.occupants.size));
  field('muc#roominfo_subject', subject?.text ?? '');
  field('muc#roominfo_changesubject', config.changeSubject ? '1' : '0');
  field('muc#roomconfig_roomname', config.name);
  return query;
}

export async function roomItems(service: MucService, routed: RoutedStanza): Promise<Element> {
  if (!(await service.store.get(routed.to.bare))) throw new StanzaError('item-not-found', 'No such room');
  // §6.5: occupants are not listed to outsiders (Prosody lists none either).
  return new Element('query', { xmlns: NS_DISCO_ITEMS });
}

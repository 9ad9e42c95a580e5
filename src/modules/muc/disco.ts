// XEP-0045 §6: discovering the service (its identity and features, the public rooms as items,
// paged with XEP-0059) and a room (its features and the muc#roominfo form, §6.4).
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING } from '../../xmpp/ns.js';
import { NS_RSM, readResultSet, resultSet } from '../../xmpp/rsm.js';
import { NS_DATA } from '../../core/room-config.js';
import { NS_MAM, NS_MAM_EXTENDED, NS_SID } from '../../core/archiving.js';
import { archives, NS_CONFERENCE, NS_MUC, NS_OCCUPANT_ID } from './room.js';
import type { MucService } from './service.js';
import { NS_VCARD } from './vcard.js';

/** Rooms in one page of the directory at most (ejabberd's max_rooms_discoitems is 100). */
const PAGE_MAX = 100;

export async function serviceInfo(_service: MucService, _routed: RoutedStanza, payload: Element): Promise<Element> {
  if (payload.attrs.node !== undefined) throw new StanzaError('item-not-found');
  const query = new Element('query', { xmlns: NS_DISCO_INFO });
  query.c('identity', { category: 'conference', type: 'text', name: 'Chatrooms' });
  for (const feature of [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MUC, NS_CONFERENCE, NS_OCCUPANT_ID, NS_PING, NS_MAM, NS_RSM]) query.c('feature', { var: feature });
  return query;
}

/**
 * §6.3 the public rooms, paged with XEP-0059 as ejabberd does: in the order of their JIDs, a
 * room JID for `after` and `before` (a room gone meanwhile still marks its place), at most
 * PAGE_MAX at a time. A request without <set/> gets the first page, and a <set/> when that is not
 * the whole directory, so that a client learns there is more (XEP-0059 §2.6; ejabberd does so).
 */
export async function serviceItems(service: MucService, routed: RoutedStanza, payload: Element): Promise<Element> {
  if (payload.attrs.node !== undefined) throw new StanzaError('item-not-found');
  const request = readResultSet(payload);
  const max = Math.min(request?.max ?? PAGE_MAX, PAGE_MAX);
  const at = request?.after !== undefined ? { after: request.after } : request?.before !== undefined ? { before: request.before } : { index: request?.index ?? 0 };
  const page = await service.store.directory(routed.to.domain, { max, ...at });
  const query = new Element('query', { xmlns: NS_DISCO_ITEMS });
  for (const room of page.rooms) query.c('item', { jid: room.jid, name: room.name || room.jid.slice(0, room.jid.indexOf('@')) });
  if (request === undefined && page.count <= page.rooms.length) return query;
  const first = page.rooms[0];
  const last = page.rooms.at(-1);
  query.cnode(resultSet({ ...(first && last ? { first: { id: first.jid, index: page.index }, last: last.jid } : {}), count: page.count }));
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
    // XEP-0486: the room's vCard (Prosody advertises it on every room).
    NS_VCARD,
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
  if (snapshot.record.avatar !== undefined) field('muc#roominfo_avatarhash', snapshot.record.avatar, 'text-multi');
  return query;
}

export async function roomItems(service: MucService, routed: RoutedStanza): Promise<Element> {
  if (!(await service.store.get(routed.to.bare))) throw new StanzaError('item-not-found', 'No such room');
  // §6.5: occupants are not listed to outsiders (Prosody lists none either).
  return new Element('query', { xmlns: NS_DISCO_ITEMS });
}

// XEP-0045 Multi-User Chat as a clustered service on its own domains (`mucDomains`, default
// conference.<domain>), with XEP-0249/§7.8 invitations, XEP-0410 self-ping, XEP-0421 occupant
// ids, iqs between occupants (occupant-iq.ts), room archives (XEP-0313, archive.ts), room vCards
// (XEP-0486, vcard.ts) and the directory of rooms paged with XEP-0059 (disco.ts).
// Occupancy is a shared record like a session (doc/session-model.md): it follows a resumable
// session that is parked or resumed elsewhere, ends with the session, and is removed (333) when
// the session's node dies.
import type { RoutedStanza } from '../../core/events.js';
import { mucDomainsOf } from '../../config.js';
import type { Module } from '../../core/module.js';
import { stanzaType } from '../../xmpp/stanza.js';
import { NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING } from '../../xmpp/ns.js';
import { NS_MAM } from '../../core/archiving.js';
import { getAdmin, setAdmin } from './admin.js';
import { archiveForm, archiveMetadata, queryArchive } from './archive.js';
import { roomInfo, roomItems, serviceInfo, serviceItems } from './disco.js';
import { leave, onOccupantPresence } from './join.js';
import { kick } from './kickable.js';
import { followSession } from './moves.js';
import { onMessage } from './message.js';
import { onOccupantIq } from './occupant-iq.js';
import { getConfig, setOwner } from './owner.js';
import { NS_MUC_ADMIN, NS_MUC_OWNER } from './room.js';
import { type MucIqHandler, MucService } from './service.js';
import { getVcard, NS_VCARD, setVcard } from './vcard.js';

const IQ_HANDLERS = new Map<string, MucIqHandler>([
  [`service get ${NS_DISCO_INFO} query`, serviceInfo],
  [`service get ${NS_DISCO_ITEMS} query`, serviceItems],
  [`service get ${NS_PING} ping`, async () => undefined],
  [`room get ${NS_DISCO_INFO} query`, roomInfo],
  [`room get ${NS_DISCO_ITEMS} query`, roomItems],
  [`room get ${NS_PING} ping`, async () => undefined],
  [`room get ${NS_MUC_ADMIN} query`, getAdmin],
  [`room set ${NS_MUC_ADMIN} query`, setAdmin],
  [`room get ${NS_MUC_OWNER} query`, getConfig],
  [`room set ${NS_MUC_OWNER} query`, setOwner],
  [`room set ${NS_MAM} query`, queryArchive],
  [`room get ${NS_MAM} query`, archiveForm],
  [`room get ${NS_MAM} metadata`, archiveMetadata],
  [`room get ${NS_VCARD} vCard`, getVcard],
  [`room set ${NS_VCARD} vCard`, setVcard],
]);

export const mucModule: Module = {
  name: 'muc',
  load(api) {
    const { host } = api;
    const domains = new Set(mucDomainsOf(host.config));
    // Prosody kicks on any presence error: the occupant's client or server refused the room's presence.
    const presence = async (on: MucService, routed: RoutedStanza): Promise<void> => {
      if (stanzaType(routed.stanza) === 'error') await kick(on, routed);
      else await onOccupantPresence(on, routed);
    };
    const service = new MucService(host, domains, { presence, message: onMessage, iq: IQ_HANDLERS, occupantIq: onOccupantIq });
    for (const domain of domains) host.services.set(domain, 'Chatrooms');
    api.onUnload(() => {
      for (const domain of domains) host.services.delete(domain);
    });

    api.hook('service-stanza', (routed) => service.handle(routed));

    const leaveAll = async (real: string, note: { codes?: number[]; reason?: string }): Promise<void> => {
      for (const room of await service.store.roomsOf(real)) await leave(service, room, real, note);
    };
    // A session that ends leaves its rooms; a hibernating one keeps them (pre-resource-unbind kept it).
    api.hook('resource-unbind', async ({ session }) => {
      if (session.full_jid !== undefined) await leaveAll(session.full_jid, {});
    });
    // §9.x status 333: removed because its server side failed (its node died, or it hibernated too long).
    api.hook('resource-lost', async ({ record, reason }) => leaveAll(record.full_jid, { codes: [333], reason }));
    api.hook('resource-moved', async ({ fullJid }) => followSession(service, fullJid));
  },
};

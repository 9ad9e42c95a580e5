// An occupant that answers the room with an error is gone (XEP-0045 §7.14 status 333, "removed
// because of an error"): its client, or its server when a stanza could not be delivered over s2s
// (remote-server-not-found and the like come back from its address). As Prosody's
// muc.lib.lua handle_kickable: any presence error, and message errors of these conditions.
import type { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import { StanzaError, type StanzaErrorCondition } from '../../xmpp/errors.js';
import { leave } from './join.js';
import type { MucService } from './service.js';

/** Prosody's kickable_error_conditions (muc/util.lib.lua); a malformed error counts too. */
const KICKABLE = new Set<StanzaErrorCondition>([
  'gone', 'internal-server-error', 'item-not-found', 'jid-malformed', 'recipient-unavailable', 'redirect',
  'remote-server-not-found', 'remote-server-timeout', 'service-unavailable',
]);

export function isKickable(stanza: Element): boolean {
  const error = StanzaError.fromElement(stanza.getChild('error'));
  return error === undefined || KICKABLE.has(error.condition);
}

/** Removes the session the error came from, telling everyone why; false when it was no occupant. */
export async function kick(service: MucService, routed: RoutedStanza): Promise<boolean> {
  const room = routed.to.bare;
  const error = StanzaError.fromElement(routed.stanza.getChild('error'));
  let status = `Kicked: ${error ? error.condition.replace(/-/g, ' ') : 'presence error'}`;
  // The error's text may name addresses: only a non-anonymous room shows it (as Prosody).
  if (error?.text !== undefined && (await service.factsOf(room))?.whois === 'anyone') status += `: ${error.text}`;
  const kicked = await leave(service, room, routed.from.full, { codes: [333], status });
  if (kicked) service.host.log.info({ event: 'muc_occupant_kicked', condition: error?.condition ?? 'malformed', remote: routed.from.domain !== service.host.domain });
  return kicked;
}

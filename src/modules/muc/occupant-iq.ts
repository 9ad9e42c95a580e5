// XEP-0045 IQs to an occupant JID (between occupants, like private messages): passed on to that
// occupant's real JID from the sender's occupant JID, so neither learns the other's real JID;
// the reply comes back the same way. As Prosody does (muc.lib.lua handle_iq_to_occupant): the forwarded id carries the target's JID, the original
// id and a keyed hash of the asking session, so no node keeps state between request and reply;
// vCard and PubSub requests go to the occupant's bare JID (its server answers them); an occupant
// pinging its own occupant JID is answered by the room (XEP-0410).
import { createHmac } from 'node:crypto';
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import { StanzaError } from '../../xmpp/errors.js';
import { bareOf } from '../../xmpp/jid-string.js';
import { NS_PING } from '../../xmpp/ns.js';
import { iqPayload, iqResult, isElement, stanzaType } from '../../xmpp/stanza.js';
import { occupantOf } from './room.js';
import type { MucService } from './service.js';

/** Requests the occupant's server answers, at its bare JID (Prosody's list). */
const TO_BARE = new Set(['vcard-temp', 'http://jabber.org/protocol/pubsub', 'urn:ietf:params:xml:ns:vcard-4.0']);

function sessionHash(salt: string, jid: string): string {
  return createHmac('sha256', salt).update(jid).digest('hex').slice(0, 16);
}

function encodeId(target: string, id: string, hash: string): string {
  return Buffer.from(`${target}\0${id}\0${hash}`, 'utf8').toString('base64url');
}

function decodeId(text: string): { target: string; id: string; hash: string } | undefined {
  const parts = Buffer.from(text, 'base64url').toString('utf8').split('\0');
  if (parts.length !== 3 || parts[0] === '' || parts[2] === '') return undefined;
  const [target, id, hash] = parts as [string, string, string];
  return { target, id, hash };
}

function copy(stanza: Element, attrs: Record<string, string>): Element {
  const element = new Element('iq', { ...stanza.attrs, ...attrs });
  for (const child of stanza.children) if (isElement(child)) element.cnode(child);
  return element;
}

/** An iq to an occupant JID: a request is passed on, a reply goes back to the session that asked. */
export async function onOccupantIq(service: MucService, routed: RoutedStanza): Promise<void> {
  const type = stanzaType(routed.stanza);
  if (type === 'get' || type === 'set') await forwardRequest(service, routed, type);
  else if (type === 'result' || type === 'error') await forwardReply(service, routed);
}

async function forwardRequest(service: MucService, routed: RoutedStanza, type: 'get' | 'set'): Promise<void> {
  const room = routed.to.bare;
  const payload = iqPayload(routed.stanza);
  if (!payload) throw new StanzaError('bad-request');
  const snapshot = await service.store.get(room);
  if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
  const sender = occupantOf(snapshot, routed.from.full);
  if (!sender) throw new StanzaError('not-acceptable', 'You are not currently connected to this chat');
  const target = snapshot.occupants.get(routed.to.resource);
  if (!target) throw new StanzaError('item-not-found', 'Recipient not in room');
  if (target.nick === sender.nick && type === 'get' && payload.name === 'ping' && payload.attrs.xmlns === NS_PING) {
    await service.reply(routed, iqResult(routed.stanza));
    return;
  }
  // The occupant's first session answers for the nick, as Prosody's primary session does.
  const session = target.sessions[0];
  if (!session) throw new StanzaError('item-not-found', 'Recipient not in room');
  const id = encodeId(session.jid, String(routed.stanza.attrs.id ?? ''), sessionHash(snapshot.record.salt, routed.from.full));
  const to = TO_BARE.has(String(payload.attrs.xmlns ?? '')) ? bareOf(session.jid) : session.jid;
  await service.host.router.send(copy(routed.stanza, { from: `${room}/${sender.nick}`, to, id }));
}

/** A reply that does not decode, or whose asker left, is dropped (as any unanswerable reply). */
async function forwardReply(service: MucService, routed: RoutedStanza): Promise<void> {
  const room = routed.to.bare;
  const decoded = decodeId(String(routed.stanza.attrs.id ?? ''));
  if (!decoded) return;
  if (routed.from.full !== decoded.target && routed.from.full !== bareOf(decoded.target)) return;
  const snapshot = await service.store.get(room);
  const asker = snapshot?.occupants.get(routed.to.resource);
  const responder = snapshot && occupantOf(snapshot, decoded.target);
  if (!snapshot || !asker || !responder) return;
  const session = asker.sessions.find((candidate) => sessionHash(snapshot.record.salt, candidate.jid) === decoded.hash);
  if (!session) return;
  await service.host.router.send(copy(routed.stanza, { from: `${room}/${responder.nick}`, to: session.jid, id: decoded.id }));
}

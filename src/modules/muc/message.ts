// XEP-0045 messages: groupchat to all occupants (§7.4, reflected to the sender too), the subject
// (§8.1), private messages between occupants (§7.5) and mediated invitations (§7.8.2).
// A groupchat message costs one room store call (the sender checked, the history appended, the
// recipients returned), one archive append when the room keeps an archive (archive.ts), and one
// bus envelope per node that holds recipients (Delivery.toMany).
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import { identify, identityOf } from '../../core/stanza-identity.js';
import type { Occupant, RoomSnapshot } from '../../state/muc.js';
import { StanzaError } from '../../xmpp/errors.js';
import { tryParseJid } from '../../xmpp/jid.js';
import { NS_MUC_USER } from '../../xmpp/ns.js';
import { isElement, stanzaType } from '../../xmpp/stanza.js';
import { NS_SID } from '../../core/archiving.js';
import { archiveGroupchat, stripForgedIds } from './archive.js';
import { isKickable, kick } from './kickable.js';
import { NS_OCCUPANT_ID, affiliationOf, everySession, occupantId, occupantOf } from './room.js';
import type { MucService } from './service.js';

/**
 * The message as occupants receive it: no addresses, the sender's occupant id (XEP-0421) replacing
 * any it claimed, and no stanza-id in the room's name but the room's own (XEP-0359 §3.1).
 */
function reflected(stanza: Element, id: string | undefined, room: string): Element {
  const copy = new Element('message', { type: 'groupchat', ...(stanza.attrs.id !== undefined ? { id: String(stanza.attrs.id) } : {}) });
  for (const child of stanza.children) {
    if (!isElement(child) || child.attrs.xmlns === NS_OCCUPANT_ID) continue;
    copy.cnode(child);
  }
  stripForgedIds(copy, room);
  if (id !== undefined) copy.c('occupant-id', { xmlns: NS_OCCUPANT_ID, id });
  return copy;
}

export async function onMessage(service: MucService, routed: RoutedStanza): Promise<void> {
  const type = stanzaType(routed.stanza);
  if (type === 'error') {
    // A message the room sent could not be delivered (or the client refused it).
    if (isKickable(routed.stanza)) await kick(service, routed);
    return;
  }
  if (routed.to.resource !== '') {
    await privateMessage(service, routed);
    return;
  }
  const invite = routed.stanza.getChild('x', NS_MUC_USER)?.getChild('invite');
  if (invite) {
    await mediatedInvitation(service, routed, invite);
    return;
  }
  if (type !== 'groupchat') throw new StanzaError('bad-request', 'Messages to a room are of type groupchat');
  if (routed.stanza.getChild('subject') && !routed.stanza.getChild('body')) {
    await changeSubject(service, routed);
    return;
  }
  await groupchat(service, routed);
}

async function groupchat(service: MucService, routed: RoutedStanza): Promise<void> {
  const room = routed.to.bare;
  const known = await service.factsOf(room);
  if (known === undefined) throw new StanzaError('item-not-found', 'No such room');
  const message = reflected(routed.stanza, occupantId(known.salt, routed.from.bare), room);
  const length = Math.min(known.historyLength, service.host.config.limits.mucHistoryMessages);
  const outcome = await service.store.message(room, routed.from.full, { nick: '', xml: message.toString(), stamp: Date.now() }, length);
  if (!outcome.ok) {
    if (outcome.reason === 'no-room') service.forget(room);
    const error = outcome.reason === 'not-occupant'
      ? new StanzaError('not-acceptable', 'Only occupants may send messages to the room')
      : outcome.reason === 'no-voice' ? new StanzaError('forbidden', 'You have no voice in this room') : new StanzaError('item-not-found', 'No such room');
    throw error;
  }
  message.attrs.from = `${room}/${outcome.nick}`;
  // What the message was checked against decides, even when this node knew an older room.
  const facts = await service.current(room, known, outcome.recordVersion);
  if (facts.salt !== known.salt) {
    for (const stale of message.getChildren('occupant-id', NS_OCCUPANT_ID)) message.remove(stale);
    message.c('occupant-id', { xmlns: NS_OCCUPANT_ID, id: occupantId(facts.salt, routed.from.bare) });
  }
  const archived = await archiveGroupchat(service, routed, room, message, facts);
  if (archived !== undefined) message.c('stanza-id', { xmlns: NS_SID, by: room, id: archived });
  // The sender's stanza identity: an occupant given the reflection twice (a node died with its
  // bus envelope half handled) drops the second.
  await service.host.delivery.toMany(outcome.recipients, identify(message, identityOf(routed.stanza)));
}

async function changeSubject(service: MucService, routed: RoutedStanza): Promise<void> {
  const room = routed.to.bare;
  const text = routed.stanza.getChildText('subject') ?? '';
  const outcome = await service.store.transact<StanzaError | { snapshot: RoomSnapshot; occupant: Occupant }>(room, (snapshot) => {
    if (!snapshot) return { value: new StanzaError('item-not-found') };
    const occupant = occupantOf(snapshot, routed.from.full);
    if (!occupant) return { value: new StanzaError('not-acceptable', 'Only occupants may change the subject') };
    const allowed = occupant.role === 'moderator' || (snapshot.record.config.changeSubject && occupant.role === 'participant');
    if (!allowed) return { value: new StanzaError('forbidden', 'Only moderators may change the subject') };
    const record = { ...snapshot.record, subject: { text, nick: occupant.nick, stamp: Date.now() } };
    return { change: { record }, value: { snapshot, occupant } };
  });
  if (outcome instanceof StanzaError) throw outcome;
  const message = new Element('message', { type: 'groupchat', from: `${room}/${outcome.occupant.nick}`, ...(routed.stanza.attrs.id !== undefined ? { id: String(routed.stanza.attrs.id) } : {}) });
  message.c('subject').t(text);
  await service.host.delivery.toMany(everySession(outcome.snapshot), message);
}

async function privateMessage(service: MucService, routed: RoutedStanza): Promise<void> {
  const type = stanzaType(routed.stanza);
  if (type === 'groupchat') throw new StanzaError('bad-request', 'A groupchat message goes to the room');
  const room = routed.to.bare;
  const snapshot = await service.store.get(room);
  if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
  const sender = occupantOf(snapshot, routed.from.full);
  if (!sender) throw new StanzaError('not-acceptable', 'Only occupants may send private messages');
  const allowed = snapshot.record.config.allowPrivateMessages;
  if (allowed === 'none' || (allowed === 'moderators' && sender.role !== 'moderator') || (allowed === 'participants' && sender.role === 'visitor')) {
    throw new StanzaError('forbidden', 'Private messages are not allowed in this room');
  }
  const target: Occupant | undefined = snapshot.occupants.get(routed.to.resource);
  if (!target) throw new StanzaError('item-not-found', 'No such occupant');
  const message = new Element('message', { ...routed.stanza.attrs, from: `${room}/${sender.nick}` });
  delete message.attrs.to;
  for (const child of routed.stanza.children) if (isElement(child) && child.attrs.xmlns !== NS_MUC_USER) message.cnode(child);
  message.c('x', { xmlns: NS_MUC_USER });
  await service.host.delivery.toMany(target.sessions, identify(message, identityOf(routed.stanza)));
}

/** §7.8.2: the room passes the invitation on, from itself, naming the inviter. */
async function mediatedInvitation(service: MucService, routed: RoutedStanza, invite: Element): Promise<void> {
  const room = routed.to.bare;
  const invitee = tryParseJid(String(invite.attrs.to ?? ''));
  if (!invitee) throw new StanzaError('jid-malformed', 'The invitation names no JID');
  const snapshot = await service.store.get(room);
  if (!snapshot) throw new StanzaError('item-not-found', 'No such room');
  const sender = occupantOf(snapshot, routed.from.full);
  if (!sender) throw new StanzaError('not-acceptable', 'Only occupants may invite');
  const affiliation = affiliationOf(snapshot.record, sender.bare);
  const mayInvite = snapshot.record.config.allowInvites || affiliation === 'owner' || affiliation === 'admin' || !snapshot.record.config.membersOnly;
  if (!mayInvite) throw new StanzaError('forbidden', 'Only admins may invite to this room');
  const message = new Element('message', { from: room, to: invitee.full });
  const x = message.c('x', { xmlns: NS_MUC_USER });
  const passed = x.c('invite', { from: routed.from.full });
  const reason = invite.getChildText('reason');
  if (reason) passed.c('reason').t(reason);
  if (snapshot.record.config.password !== '') x.c('password').t(snapshot.record.config.password);
  message.c('body').t(`${routed.from.bare} invites you to the room ${room}${reason ? `: ${reason}` : ''}`);
  await service.host.router.send(message);
}

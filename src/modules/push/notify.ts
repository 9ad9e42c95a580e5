// XEP-0357 §7: which held messages wake a client, and the notification sent for them. Which
// messages count follows Prosody's mod_cloud_notify (`is_important`): a body, encrypted content
// (OMEMO, OpenPGP), a call proposal; no headlines, no sent carbons, no group chat subjects.
import { Element, parse } from 'ltx';
import { createHash } from 'node:crypto';
import type { PushRegistration } from '../../state/push.js';
import type { JobPayloads } from '../../state/scheduler.js';
import { NS_CARBONS, NS_FORWARD, NS_PUSH, NS_PUSH_SUMMARY } from '../../xmpp/ns.js';

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_DATA = 'jabber:x:data';
const NS_SID = 'urn:xmpp:sid:0';

const ENCRYPTED: ReadonlyArray<[string, string]> = [
  ['encrypted', 'eu.siacs.conversations.axolotl'],
  ['encrypted', 'urn:xmpp:omemo:2'],
  ['encrypted', 'urn:xmpp:omemo:1'],
  ['x', 'jabber:x:encrypted'],
  ['openpgp', 'urn:xmpp:openpgp:0'],
  ['propose', 'urn:xmpp:jingle-message:0'],
];

/** The message a notification is about: a received carbon's inner message; a sent one's: none. */
function subject(stanza: Element): Element | undefined {
  for (const direction of ['received', 'sent']) {
    const inner = stanza.getChild(direction, NS_CARBONS)?.getChild('forwarded', NS_FORWARD)?.getChild('message');
    if (inner) return direction === 'received' ? inner : undefined;
  }
  return stanza;
}

/** The message that wakes the client, or undefined when this one does not. */
export function importantMessage(stanza: Element): Element | undefined {
  const message = stanza.name === 'message' ? subject(stanza) : undefined;
  if (!message) return undefined;
  const type = message.attrs.type;
  if (type === 'headline' || type === 'error') return undefined;
  if (ENCRYPTED.some(([name, xmlns]) => message.getChild(name, xmlns) !== undefined)) return message;
  if (type === 'groupchat' && message.getChild('subject')) return undefined;
  const body = message.getChildText('body');
  return body !== null && body !== '' ? message : undefined;
}

/**
 * What makes two held copies the same event, whichever node held them: the archive id the
 * recipient's copy carries (XEP-0359), else the sender and id, else the stanza's own bytes.
 */
export function eventOf(user: string, stanza: Element, message: Element): string {
  for (const candidate of [stanza, message]) {
    const sid = candidate.getChildren('stanza-id', NS_SID).find((child) => child.attrs.by === user)?.attrs.id;
    if (typeof sid === 'string') return `sid:${sid}`;
  }
  const id = message.attrs.id;
  if (typeof id === 'string' && id !== '') return `id:${String(message.attrs.from ?? '')}\n${id}`;
  return `xml:${createHash('sha256').update(message.toString()).digest('base64url')}`;
}

/** The first try of the notification for one registration. */
export function firstTry(user: string, event: string, message: Element, registration: PushRegistration): JobPayloads['push-send'] {
  const sender = message.attrs.from;
  const body = message.getChildText('body');
  return {
    user,
    jid: registration.jid,
    node: registration.node,
    event,
    ...(typeof sender === 'string' ? { sender } : {}),
    ...(registration.includeBody && body !== null && body !== '' ? { body } : {}),
    attempt: 1,
  };
}

/** XEP-0357 §7: the pubsub publish to the app server, with the `urn:xmpp:push:summary` form. */
export function publishIq(id: string, from: string, registration: PushRegistration, payload: JobPayloads['push-send']): Element {
  const iq = new Element('iq', { type: 'set', id, from, to: registration.jid });
  const pubsub = iq.c('pubsub', { xmlns: NS_PUBSUB });
  const form = pubsub
    .c('publish', registration.node === '' ? {} : { node: registration.node })
    .c('item')
    .c('notification', { xmlns: NS_PUSH })
    .c('x', { xmlns: NS_DATA, type: 'submit' });
  const field = (name: string, value: string, type?: string): void => {
    form.c('field', type ? { var: name, type } : { var: name }).c('value').t(value);
  };
  field('FORM_TYPE', NS_PUSH_SUMMARY, 'hidden');
  // As Prosody: one message per notification (XEP-0357 does not say what to count).
  field('message-count', '1');
  if (payload.sender !== undefined) field('last-message-sender', payload.sender);
  if (payload.body !== undefined) field('last-message-body', payload.body);
  if (registration.options !== undefined) pubsub.c('publish-options').cnode(parse(registration.options));
  return iq;
}

// XEP-0357 §7: the notification sent for a held message that wakes a client (which ones do:
// xmpp/important.ts, shared with client state indication).
import { Element, parse } from 'ltx';
import { createHash } from 'node:crypto';
import type { PushRegistration } from '../../state/push.js';
import type { JobPayloads } from '../../state/scheduler.js';
import { NS_PUSH, NS_PUSH_SUMMARY } from '../../xmpp/ns.js';

const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
const NS_DATA = 'jabber:x:data';
const NS_SID = 'urn:xmpp:sid:0';

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

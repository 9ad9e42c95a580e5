// Which messages a user must see now: those that wake a phone with a push notification
// (XEP-0357) and that client state indication (XEP-0352) never holds back. One definition for
// both, so that nothing worth a push waits unwritten in a held queue. It follows Prosody's
// mod_cloud_notify (`is_important`): a body, encrypted content (OMEMO, OpenPGP), a call
// proposal; no headlines, no errors, no sent carbons, no group chat subjects.
import type { Element } from 'ltx';
import { NS_CARBONS, NS_FORWARD } from './ns.js';

/** Payloads that make a message important without a body: encrypted ones, and calls. */
const IMPORTANT_PAYLOADS: ReadonlyArray<[string, string]> = [
  ['encrypted', 'eu.siacs.conversations.axolotl'],
  ['encrypted', 'urn:xmpp:omemo:2'],
  ['encrypted', 'urn:xmpp:omemo:1'],
  ['x', 'jabber:x:encrypted'],
  ['openpgp', 'urn:xmpp:openpgp:0'],
  ['propose', 'urn:xmpp:jingle-message:0'],
  ['propose', 'urn:xmpp:jingle-message:1'],
];

/** The message a notification is about: a received carbon's inner message; a sent one's: none. */
function subject(stanza: Element): Element | undefined {
  for (const direction of ['received', 'sent']) {
    const inner = stanza.getChild(direction, NS_CARBONS)?.getChild('forwarded', NS_FORWARD)?.getChild('message');
    if (inner) return direction === 'received' ? inner : undefined;
  }
  return stanza;
}

/** The message that must reach the user now (for a carbon, the one it carries), or undefined. */
export function importantMessage(stanza: Element): Element | undefined {
  const message = stanza.name === 'message' ? subject(stanza) : undefined;
  if (!message) return undefined;
  const type = message.attrs.type;
  if (type === 'headline' || type === 'error') return undefined;
  if (IMPORTANT_PAYLOADS.some(([name, xmlns]) => message.getChild(name, xmlns) !== undefined)) return message;
  if (type === 'groupchat' && message.getChild('subject')) return undefined;
  const body = message.getChildText('body');
  return body !== null && body !== '' ? message : undefined;
}

// Building and answering stanzas (RFC 6120 §8).
import { Element, clone } from 'ltx';
import { StanzaError } from './errors.js';
import { NS_CLIENT, NS_DELAY } from './ns.js';

/** message, presence or iq in jabber:client (the parser leaves xmlns off when it is the stream's). */
export function isClientStanza(element: Element): boolean {
  const name = element.name;
  return (name === 'message' || name === 'presence' || name === 'iq') && (element.attrs.xmlns === undefined || element.attrs.xmlns === NS_CLIENT);
}

export function isElement(node: Element | string): node is Element {
  return typeof node !== 'string';
}

/** The single payload child of an iq get/set, or undefined. */
export function iqPayload(iq: Element): Element | undefined {
  const children = iq.children.filter(isElement);
  return children.length === 1 ? children[0] : undefined;
}

export function iqResult(iq: Element, payload?: Element): Element {
  const reply = new Element('iq', replyAddressing(iq, 'result'));
  if (payload) reply.cnode(payload);
  return reply;
}

/**
 * The error reply to a stanza: addresses swapped, type 'error', the original payload kept for
 * messages and presences (RFC 6120 §8.3.1) and the <error/> element appended.
 */
export function errorReply(stanza: Element, error: StanzaError, by?: string): Element {
  const reply = new Element(stanza.name, replyAddressing(stanza, 'error'));
  if (stanza.name !== 'iq') {
    for (const child of stanza.children) {
      if (isElement(child) && child.name === 'error') continue;
      reply.cnode(typeof child === 'string' ? child : clone(child));
    }
  }
  reply.cnode(error.toElement(by));
  return reply;
}

function replyAddressing(stanza: Element, type: string): Record<string, string> {
  const attrs: Record<string, string> = { type };
  if (stanza.attrs.id !== undefined) attrs.id = stanza.attrs.id as string;
  if (stanza.attrs.to !== undefined) attrs.from = stanza.attrs.to as string;
  if (stanza.attrs.from !== undefined) attrs.to = stanza.attrs.from as string;
  return attrs;
}

/**
 * A copy with a XEP-0203 <delay/> added, unless one from `from` is there already. With
 * `milliseconds` the stamp keeps them (XEP-0082 allows fractions): clients order a redelivered
 * stanza by its stamp among those received live, which a stamp cut to the second can put first.
 */
export function withDelay(stanza: Element, from: string, stamp: Date, milliseconds = false): Element {
  const copy = clone(stanza);
  const present = copy.getChildren('delay', NS_DELAY).some((delay: Element) => delay.attrs.from === from);
  if (!present) copy.c('delay', { xmlns: NS_DELAY, from, stamp: milliseconds ? stamp.toISOString() : stamp.toISOString().replace(/\.\d{3}Z$/, 'Z') });
  return copy;
}

export function stanzaType(stanza: Element): string | undefined {
  const type = stanza.attrs.type;
  return typeof type === 'string' ? type : undefined;
}

let counter = 0;
const prefix = Math.random().toString(36).slice(2, 8);
/** A short unique id for server-generated stanzas. */
export function newStanzaId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}${counter.toString(36)}`;
}

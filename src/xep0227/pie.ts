// What every part of the XEP-0227 code shares: the namespaces, the refusal of an element, and a
// detached copy of one.
import { type Element, parse as parseXml } from 'ltx';

export const NS_PIE = 'urn:xmpp:pie:0';
export const NS_PIE_SCRAM = 'urn:xmpp:pie:0#scram';
/** The namespace of ejabberd's older exports, read as well. */
export const NS_PIE_OLD = 'http://www.xmpp.org/extensions/xep-0227.html#ns';
export const NS_XINCLUDE = 'http://www.w3.org/2001/XInclude';
export const NS_PIE_MAM = 'urn:xmpp:pie:0#mam';
export const NS_CLIENT = 'jabber:client';
export const NS_DELAY = 'urn:xmpp:delay';
export const NS_VCARD = 'vcard-temp';

/** A refused element: `where` names it (host, user, child), `reason` says what is wrong. */
export class PieError extends Error {
  constructor(readonly where: string, readonly reason: string) {
    super(`${where}: ${reason}`);
  }
}

export function isPieNamespace(ns: string | undefined): boolean {
  return ns === NS_PIE || ns === NS_PIE_OLD;
}

/** A detached copy (namespaces declared on ancestors are set on it by the caller). */
export function copyOf(element: Element): Element {
  return parseXml(element.toString());
}

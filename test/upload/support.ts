// What the upload tests share: a logged-in raw client's slot request, and the slot's URLs.
import type { Element } from 'ltx';
import type { RawClient } from '../support/client.js';

export const NS_UPLOAD = 'urn:xmpp:http:upload:0';

export interface Offer {
  put: string;
  headers: Record<string, string>;
  get: string;
}

export function requestXml(filename: string, size: number, type?: string): string {
  const escaped = filename.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/</g, '&lt;');
  return `<request xmlns='${NS_UPLOAD}' filename='${escaped}' size='${size}'${type ? ` content-type='${type}'` : ''}/>`;
}

/** The slot of a result, or throws with the stanza. */
export function offerOf(reply: Element): Offer {
  const slot = reply.getChild('slot', NS_UPLOAD);
  const put = slot?.getChild('put');
  const get = slot?.getChild('get');
  if (reply.attrs.type !== 'result' || !put || !get) throw new Error(`no slot: ${reply.toString()}`);
  const headers = Object.fromEntries(put.getChildren('header').map((header) => [String(header.attrs.name), header.getText()]));
  return { put: String(put.attrs.url), headers, get: String(get.attrs.url) };
}

export async function requestSlot(client: RawClient, domain: string, filename: string, size: number, type?: string): Promise<Offer> {
  return offerOf(await client.iq('get', requestXml(filename, size, type), domain));
}

/** The same URL on another node's HTTP port (any node serves any slot). */
export function onPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

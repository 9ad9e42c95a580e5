// Test helpers for PEP (XEP-0163): a client that announces XEP-0115 caps and answers the
// server's disco#info query for them, as Conversations or Gajim do.
import { createHash, randomBytes } from 'node:crypto';
import type { Element } from 'ltx';
import type { RawClient } from './client.js';

const NS_INFO = 'http://jabber.org/protocol/disco#info';
export const CAPS_NODE = 'https://rookery.test/client';

/** XEP-0115 §5.1 for one identity client/pc and these features (no forms). */
function ver(features: string[]): string {
  const octets = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  const input = ['client/pc//Test<', ...[...features].sort(octets).map((feature) => `${feature}<`)].join('');
  return createHash('sha1').update(input).digest('base64');
}

function infoQuery(node: string, features: string[]): string {
  return `<query xmlns='${NS_INFO}' node='${node}'><identity category='client' type='pc' name='Test'/>${features.map((feature) => `<feature var='${feature}'/>`).join('')}</query>`;
}

/**
 * Sends an available presence with caps naming `notify` (each NODE gets +notify) and a feature
 * unique to this call, so the server has to ask: answers its disco#info and returns the ver.
 */
export async function announce(client: RawClient, notify: string[], extra = ''): Promise<string> {
  const features = [NS_INFO, `urn:test:${randomBytes(6).toString('hex')}`, ...notify.map((node) => `${node}+notify`)];
  return announceFeatures(client, features, extra);
}

/** The features announce() names for `notify` with `unique` as its distinguishing feature. */
export function capsFeatures(notify: string[], unique: string): string[] {
  return [NS_INFO, `urn:test:${unique}`, ...notify.map((node) => `${node}+notify`)];
}

/** Sends an available presence (to `to`, or broadcast) with these caps (no query expected: the server knows them). */
export function sendCaps(client: RawClient, features: string[], to?: string): void {
  client.send(`<presence${to === undefined ? '' : ` to='${to}'`}><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='${CAPS_NODE}' ver='${ver(features)}'/></presence>`);
}

/** announce(), as a directed presence to `to` (RFC 6121 §4.6) instead of a broadcast one. */
export async function announceTo(client: RawClient, to: string, notify: string[]): Promise<string> {
  return announceFeatures(client, [NS_INFO, `urn:test:${randomBytes(6).toString('hex')}`, ...notify.map((node) => `${node}+notify`)], '', to);
}

/** Announces caps with exactly `features` (to `to`, or broadcast) and answers the server's disco#info query for them. */
export async function announceFeatures(client: RawClient, features: string[], extra = '', to?: string): Promise<string> {
  const v = ver(features);
  client.send(`<presence${to === undefined ? '' : ` to='${to}'`}><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='${CAPS_NODE}' ver='${v}'/>${extra}</presence>`);
  const query = await client.expect((element: Element) => element.name === 'iq' && element.attrs.type === 'get' && element.getChild('query', NS_INFO)?.attrs.node === `${CAPS_NODE}#${v}`);
  client.send(`<iq type='result' id='${String(query.attrs.id)}' to='${String(query.attrs.from)}'>${infoQuery(`${CAPS_NODE}#${v}`, features)}</iq>`);
  return v;
}

/** A publish, with publish-options when given (field → value). */
export function publishXml(node: string, id: string, payload: string, options: Record<string, string> = {}): string {
  const fields = Object.entries(options);
  const form = fields.length === 0 ? '' :
    `<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>${fields.map(([name, value]) => `<field var='${name}'><value>${value}</value></field>`).join('')}</x></publish-options>`;
  return `<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='${node}'><item id='${id}'>${payload}</item></publish>${form}</pubsub>`;
}

export const itemsXml = (node: string, extra = ''): string => `<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='${node}'${extra}/></pubsub>`;

/** The event of `node` in a message, if it is one. */
export function eventItems(element: Element, node: string): Element | undefined {
  if (element.name !== 'message') return undefined;
  const items = element.getChild('event', 'http://jabber.org/protocol/pubsub#event')?.getChild('items');
  return items?.attrs.node === node ? items : undefined;
}

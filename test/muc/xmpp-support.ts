// Group chat steps for suites that drive the independent @xmpp/client library (XEP-0045 and
// XEP-0313 examples as XML), on one node or with the accounts spread over a cluster's nodes.
import { parse } from 'ltx';
import { afterEach } from 'vitest';
import type { ServerFixture } from '../support/fixture.js';
import { PASSWORD } from '../support/server.js';
import { type Element, errorCondition, XmppTestClient } from '../support/xmpp-client.js';
import { NS_MUC, NS_MUC_OWNER, NS_MUC_USER, statusCodes } from './support.js';

export const NS_MAM = 'urn:xmpp:mam:2';
export const NS_SID = 'urn:xmpp:sid:0';
export const NS_RSM = 'http://jabber.org/protocol/rsm';
export const NS_OCCUPANT_ID = 'urn:xmpp:occupant-id:0';
export { errorCondition };

/** Clients of one suite, stopped after each test. */
export function useClients(fixture: ServerFixture): {
  login(prefix: string, resource?: string): Promise<XmppTestClient>;
  loginAs(local: string, resource: string): Promise<XmppTestClient>;
} {
  const clients: XmppTestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.stop()));
  });
  const loginAs = async (local: string, resource: string): Promise<XmppTestClient> => {
    const client = await XmppTestClient.connect(fixture.server, { username: local, password: PASSWORD, resource });
    clients.push(client);
    return client;
  };
  return { loginAs, login: async (prefix, resource = 'r') => loginAs(await fixture.user(prefix), resource) };
}

/** Sends XML written as text (the examples of the XEPs read best that way). */
export async function send(client: XmppTestClient, text: string): Promise<void> {
  await client.send(parse(text));
}

let ids = 0;
/** An iq written as text; resolves with its result or error. */
export async function iq(client: XmppTestClient, type: 'get' | 'set', to: string, payload: string): Promise<Element> {
  const id = `q${++ids}`;
  const reply = client.expect((element) => element.name === 'iq' && element.attrs.id === id && (element.attrs.type === 'result' || element.attrs.type === 'error'));
  await send(client, `<iq type='${type}' id='${id}' to='${to}'>${payload}</iq>`);
  return reply;
}

const fromRoom = (room: string) => (element: Element): boolean => String(element.attrs.from ?? '').startsWith(room);

/** Enters a room; resolves with the self-presence (110) once the subject closed the join (§7.2.16). */
export async function enter(client: XmppTestClient, room: string, nick: string, inner = ''): Promise<Element> {
  await send(client, `<presence to='${room}/${nick}'><x xmlns='${NS_MUC}'>${inner}</x></presence>`);
  const self = await client.expect((element) => element.name === 'presence' && element.attrs.from === `${room}/${nick}` && statusCodes(element).includes('110'));
  await client.expect((element) => element.name === 'message' && fromRoom(room)(element) && element.getChild('subject') !== undefined);
  return self;
}

/** Configures a room with a submitted muc#roomconfig form (fields by name). */
export async function configure(owner: XmppTestClient, room: string, fields: Record<string, string>): Promise<void> {
  const values = Object.entries(fields).map(([name, value]) => `<field var='${name}'><value>${value}</value></field>`).join('');
  const reply = await iq(owner, 'set', room, `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'>${values}</x></query>`);
  if (reply.attrs.type !== 'result') throw new Error(`configuration refused: ${reply.toString()}`);
}

/** Creates an instant room (§10.1.2) with the given configuration. */
export async function createRoom(owner: XmppTestClient, room: string, nick: string, fields: Record<string, string> = {}): Promise<void> {
  const self = await enter(owner, room, nick);
  if (!statusCodes(self).includes('201')) throw new Error(`room ${room} existed already`);
  await configure(owner, room, fields);
}

/** Sends a groupchat message and waits for its reflection to the sender. */
export async function say(client: XmppTestClient, room: string, id: string, body: string, extra = ''): Promise<Element> {
  await send(client, `<message to='${room}' type='groupchat' id='${id}'><body>${body}</body>${extra}</message>`);
  return client.expect((element) => element.name === 'message' && element.attrs.id === id && fromRoom(room)(element));
}

export function stanzaIdBy(message: Element, by: string): string | undefined {
  const id = message.getChildren('stanza-id', NS_SID).find((element) => element.attrs.by === by);
  return id === undefined ? undefined : String(id.attrs.id);
}

export interface ArchivePage {
  reply: Element;
  /** The forwarded messages, in the order they came, each with its result id. */
  results: Array<{ id: string; message: Element; stamp: string }>;
}

/** XEP-0313 §4: a query to `archive` (a room JID), its <result/> messages and its <fin/>. */
export async function queryArchive(client: XmppTestClient, archive: string, form = '', rsm = ''): Promise<ArchivePage> {
  const queryId = `f${++ids}`;
  const reply = await iq(client, 'set', archive, `<query xmlns='${NS_MAM}' queryid='${queryId}'>${form}${rsm}</query>`);
  const results = client.take((element) => element.name === 'message' && element.getChild('result', NS_MAM)?.attrs.queryid === queryId).map((element) => {
    const result = element.getChild('result', NS_MAM) as Element;
    const forwarded = result.getChild('forwarded', 'urn:xmpp:forward:0');
    if (element.attrs.from !== archive) throw new Error(`a result from ${String(element.attrs.from)}, not the archive`);
    return { id: String(result.attrs.id), message: forwarded?.getChild('message') as Element, stamp: String(forwarded?.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp) };
  });
  return { reply, results };
}

export function withField(jid: string): string {
  return `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${NS_MAM}</value></field><field var='with'><value>${jid}</value></field></x>`;
}

export const bodies = (page: ArchivePage): string[] => page.results.map((result) => result.message.getChildText('body') ?? '');

export function itemOf(element: Element): Element | undefined {
  return element.getChild('x', NS_MUC_USER)?.getChild('item');
}

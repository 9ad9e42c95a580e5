// Steps every group chat suite shares, through the protocol (XEP-0045 examples).
import type { Element } from 'ltx';
import { type RawClient, xml } from '../support/client.js';

export const SERVICE = 'conference.localhost';
export const NS_MUC = 'http://jabber.org/protocol/muc';
export const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
export const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
export const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';

let rooms = 0;
/** A room JID no other test uses. */
export function freshRoom(label = 'room'): string {
  rooms += 1;
  return `${label}${rooms}-${process.pid}@${SERVICE}`;
}

export function statusCodes(presence: Element): string[] {
  return (presence.getChild('x', NS_MUC_USER)?.getChildren('status') ?? []).map((status) => String(status.attrs.code)).sort();
}

/** Enters a room and waits for the self-presence (status 110); returns it. */
export async function enter(client: RawClient, room: string, nick: string, inner = ''): Promise<Element> {
  client.send(`<presence to='${room}/${nick}'><x xmlns='${NS_MUC}'>${inner}</x></presence>`);
  return client.expect((element) => element.name === 'presence' && element.attrs.from === `${room}/${nick}` && statusCodes(element).includes('110'));
}

/** Creates an instant room (§10.1.2): enter, then submit an empty configuration form; waits for the subject. */
export async function createRoom(owner: RawClient, room: string, nick: string, fields: Record<string, string> = {}): Promise<void> {
  const self = await enter(owner, room, nick);
  if (!statusCodes(self).includes('201')) throw new Error(`room ${room} existed already`);
  await owner.expect(xml`<message from='${room}' type='groupchat'><subject/></message>`);
  const values = Object.entries(fields).map(([name, value]) => `<field var='${name}'><value>${value}</value></field>`).join('');
  const reply = await owner.iq('set', `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'>${values}</x></query>`, room);
  if (reply.attrs.type !== 'result') throw new Error(`configuration refused: ${reply.toString()}`);
}

/** Enters an existing room and waits until the subject closes the join (§7.2.16). */
export async function join(client: RawClient, room: string, nick: string, inner = ''): Promise<Element> {
  const self = await enter(client, room, nick, inner);
  await client.expect((element) => element.name === 'message' && element.attrs.from?.toString().startsWith(room) === true && element.getChild('subject') !== undefined);
  return self;
}

export const isPresenceFrom = (room: string) => (element: Element): boolean => element.name === 'presence' && String(element.attrs.from ?? '').startsWith(`${room}/`);

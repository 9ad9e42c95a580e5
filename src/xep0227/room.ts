// XEP-0227 for group chat rooms: one <user> element ↔ one persistent room's data. XEP-0227 has no
// form for rooms and neither Prosody's mod_storage_xep0227 nor ejabberd's export carries them, so
// a room is written as Prosody's storage keys a component's data, by host and node: a
// <user name='<room node>'> under <host jid='<MUC domain>'>, its children the protocol's own
// elements, each also how the rest of this format carries the same thing for an account:
// - the configuration, a submitted muc#roomconfig form in <query xmlns='…muc#owner'> (XEP-0045 §10.2);
// - the affiliations, muc#admin items with jid and affiliation (§9.5, §10.5);
// - the subject, the groupchat <message> that set it, from the occupant JID, with its <delay/> (§8.1);
// - the room's <vCard xmlns='vcard-temp'> (XEP-0486);
// - its message archive as an account's (archive.ts), each message's `with` the occupant JID it
//   came from, as the room's archive stores it.
// A room has no credentials: an importer of accounts elsewhere would find none and refuse it.
// Occupant ids (XEP-0421) come from a new salt on import.
import { Element, parse as parseXml } from 'ltx';
import type { Limits } from '../config.js';
import { defaultConfig, readForm, submittedForm } from '../core/room-config.js';
import type { Affiliation, RoomConfig, Subject } from '../state/muc.js';
import { byteLength } from '../state/personal.js';
import { StanzaError } from '../xmpp/errors.js';
import { parseJid } from '../xmpp/jid.js';
import { type ArchivedMessage, readArchiveElement, writeArchiveElement } from './archive.js';
import { copyOf, NS_CLIENT, NS_DELAY, NS_PIE_MAM, NS_VCARD, PieError } from './pie.js';

const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_MUC_ADMIN = 'http://jabber.org/protocol/muc#admin';
const NS_DATA = 'jabber:x:data';
const AFFILIATIONS = new Set<Affiliation>(['owner', 'admin', 'member', 'outcast']);

/** One room, as read from a <user> element of a MUC host or from the stores. */
export interface RoomData {
  /** The room's JID. */
  jid: string;
  config: RoomConfig;
  /** Bare JID → affiliation other than 'none'. */
  affiliations: Record<string, Affiliation>;
  subject?: Subject;
  vcard?: string;
  /** The room's message archive, oldest first. */
  archive: ArchivedMessage[];
  /** Children of <user> that were not imported (name and namespace), for the report. */
  skipped: string[];
}

function affiliationItems(query: Element, where: string): Record<string, Affiliation> {
  const affiliations: Record<string, Affiliation> = {};
  for (const item of query.getChildElements()) {
    const at = `${where}/${item.name}[@jid='${String(item.attrs.jid ?? '')}']`;
    const affiliation = String(item.attrs.affiliation ?? '') as Affiliation;
    if (item.name !== 'item' || !AFFILIATIONS.has(affiliation)) throw new PieError(at, 'not an item with an affiliation of owner, admin, member or outcast');
    let jid;
    try {
      jid = parseJid(String(item.attrs.jid ?? ''));
    } catch {
      throw new PieError(at, 'jid is not a valid JID');
    }
    if (jid.resource !== '') throw new PieError(at, 'jid is not a bare JID');
    if (affiliations[jid.bare] !== undefined) throw new PieError(at, 'the JID has two affiliations');
    affiliations[jid.bare] = affiliation;
  }
  return affiliations;
}

function subjectOf(message: Element, where: string, room: string): Subject {
  if (message.attrs.type !== 'groupchat' || message.getChild('subject') === undefined) throw new PieError(where, 'a stored message must be a groupchat message setting the subject');
  const from = String(message.attrs.from ?? room);
  let nick = '';
  try {
    const jid = parseJid(from);
    if (jid.bare !== room) throw new Error('elsewhere');
    nick = jid.resource;
  } catch {
    throw new PieError(where, `from ${JSON.stringify(from)} is not this room or one of its occupant JIDs`);
  }
  const delay = message.getChild('delay', NS_DELAY);
  const stamp = delay === undefined ? Date.now() : Date.parse(String(delay.attrs.stamp ?? ''));
  if (Number.isNaN(stamp)) throw new PieError(where, 'the delay stamp is not a date');
  return { text: message.getChildText('subject') ?? '', nick, stamp };
}

/** The room of one <user> element of MUC host `domain`; throws PieError naming what is wrong. */
export function readRoom(user: Element, domain: string, limits: Limits): RoomData {
  const name = user.attrs.name as string | undefined;
  const where = `host[@jid='${domain}']/user[@name='${name ?? ''}']`;
  if (!name) throw new PieError(where, 'the name attribute is missing');
  let jid;
  try {
    jid = parseJid(`${name}@${domain}`).bare;
  } catch {
    throw new PieError(where, `${JSON.stringify(`${name}@${domain}`)} is not a valid room JID`);
  }
  const data: RoomData = { jid, config: defaultConfig(limits), affiliations: {}, archive: [], skipped: [] };
  let configured = false;
  for (const child of user.getChildElements()) {
    const ns = child.getNS();
    const at = `${where}/${child.name}`;
    if (child.name === 'query' && ns === NS_MUC_OWNER) {
      const form = child.getChild('x', NS_DATA);
      if (!form) throw new PieError(at, 'no muc#roomconfig form');
      try {
        data.config = readForm(form, data.config, limits);
      } catch (error) {
        if (error instanceof StanzaError) throw new PieError(at, error.text ?? error.condition);
        throw error;
      }
      configured = true;
    } else if (child.name === 'query' && ns === NS_MUC_ADMIN) {
      data.affiliations = { ...data.affiliations, ...affiliationItems(child, `${where}/query[@xmlns='${NS_MUC_ADMIN}']`) };
    } else if (child.name === 'message' && (ns ?? NS_CLIENT) === NS_CLIENT) {
      data.subject = subjectOf(child, at, jid);
    } else if (child.name === 'vCard' && ns === NS_VCARD) {
      const copy = copyOf(child);
      copy.attrs.xmlns = NS_VCARD;
      const xml = copy.toString();
      if (byteLength(xml) > limits.personalItemBytes) throw new PieError(at, `${byteLength(xml)} bytes, more than limits.personalItemBytes (${limits.personalItemBytes})`);
      data.vcard = xml;
    } else if (child.name === 'archive' && ns === NS_PIE_MAM) {
      data.archive.push(...readArchiveElement(child, at, limits, (message) => String(message.attrs.from ?? jid)));
    } else {
      data.skipped.push(`${child.name}${ns ? ` (${ns})` : ''}`);
    }
  }
  if (!configured) throw new PieError(where, `no configuration (<query xmlns='${NS_MUC_OWNER}'/>)`);
  // A temporary room lives while it has occupants: one without any would never go.
  if (!data.config.persistent) throw new PieError(where, 'the room is not persistent (only persistent rooms are imported)');
  if (!Object.values(data.affiliations).includes('owner')) throw new PieError(where, 'the room has no owner');
  data.archive.sort((a, b) => a.stamp - b.stamp);
  if (data.archive.length > limits.archiveMessages) throw new PieError(where, `${data.archive.length} archived messages, more than limits.archiveMessages (${limits.archiveMessages})`);
  return data;
}

/** The <user> element of a room (the inverse of readRoom). */
export function writeRoom(data: RoomData): Element {
  const user = new Element('user', { name: data.jid.slice(0, data.jid.lastIndexOf('@')) });
  user.c('query', { xmlns: NS_MUC_OWNER }).cnode(submittedForm(data.config));
  const admin = user.c('query', { xmlns: NS_MUC_ADMIN });
  for (const [jid, affiliation] of Object.entries(data.affiliations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) admin.c('item', { jid, affiliation });
  if (data.subject) {
    const message = user.c('message', { xmlns: NS_CLIENT, type: 'groupchat', from: data.subject.nick === '' ? data.jid : `${data.jid}/${data.subject.nick}` });
    message.c('subject').t(data.subject.text);
    message.c('delay', { xmlns: NS_DELAY, from: data.jid, stamp: new Date(data.subject.stamp).toISOString() });
  }
  if (data.vcard !== undefined) user.cnode(parseXml(data.vcard));
  writeArchiveElement(user, data.archive);
  return user;
}

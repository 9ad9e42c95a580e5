// XEP-0227 (Portable Import/Export Format for XMPP-IM Servers, namespace urn:xmpp:pie:0): one
// <user> element ↔ one account's data, checked completely before anything is written.
//
// Read as ejabberd's export_piefxis and Prosody's mod_storage_xep0227 write it:
// - credentials: a `password` attribute (plaintext: both SCRAM hashes are derived), or
//   <scram-credentials xmlns='urn:xmpp:pie:0#scram' mechanism='SCRAM-SHA-1|SCRAM-SHA-256'> with
//   iter-count, salt, server-key, stored-key in base64. ejabberd keeps its keys base64-encoded and
//   encodes them once more on export, so a key that decodes to base64 of the hash's length is
//   decoded twice (and its salt too);
// - <query xmlns='jabber:iq:roster'> items (name, groups, subscription, ask, and RFC 6121's
//   `approved`), and pending inbound requests as <presence xmlns='jabber:client' type='subscribe'>
//   children of <user> (Prosody);
// - <offline-messages> of jabber:client messages; a urn:xmpp:delay <delay/> gives the storage time
//   and is removed (delivery adds its own);
// - <vCard xmlns='vcard-temp'>, <query xmlns='jabber:iq:private'>, <blocklist xmlns='urn:xmpp:blocking'>;
// - the message archive as <archive xmlns='urn:xmpp:pie:0#mam'> of XEP-0313 <result/>s, each a
//   <forwarded/> message with its <delay/> (XEP-0227 1.1, Prosody's mod_storage_xep0227).
// - PEP nodes (XEP-0163) as <pubsub xmlns='…#owner'> configurations and <pubsub> items (pep.ts).
// Other children (privacy lists) are not imported: they are listed as skipped.
import { Element, parse as parseXml } from 'ltx';
import { deriveCredentials, type ScramHash, type ScramKeys, type StoredCredentials } from '../sasl/credentials.js';
import type { Limits } from '../config.js';
import type { StoredMessage } from '../state/offline.js';
import { bareOf } from '../xmpp/jid-string.js';
import { byteLength, personalKey, parsePersonalKey } from '../state/personal.js';
import type { RosterItem, Subscription } from '../state/roster.js';
import { parseJid } from '../xmpp/jid.js';
import { type ArchivedMessage, readArchiveElement, writeArchiveElement } from './archive.js';
import { checkPep, NS_PUBSUB, NS_PUBSUB_OWNER, PepDataError, type PepNodeData, readPubsub, writePubsub } from './pep.js';
import { copyOf, isPieNamespace, NS_CLIENT, NS_DELAY, NS_PIE_MAM, NS_PIE_SCRAM, NS_VCARD, PieError } from './pie.js';

export { isPieNamespace, NS_PIE, NS_PIE_MAM, NS_PIE_OLD, NS_PIE_SCRAM, NS_XINCLUDE, PieError } from './pie.js';
export type { ArchivedMessage } from './archive.js';
const NS_ROSTER = 'jabber:iq:roster';
const NS_PRIVATE = 'jabber:iq:private';
const NS_BLOCKING = 'urn:xmpp:blocking';
const SUBSCRIPTIONS: readonly Subscription[] = ['none', 'to', 'from', 'both'];
const HASH_LENGTH: Record<ScramHash, number> = { 'SHA-1': 20, 'SHA-256': 32 };

/** Keys standing for "not known" (an account imported with the other hash only): never match. */
export const UNKNOWN_KEYS: ScramKeys = { salt: '', iterations: 0, storedKey: '', serverKey: '' };

export type Credentials = { password: string } | { scram: Partial<Record<ScramHash, ScramKeys>> };

/** One account, as read from a <user> element or from the stores. */
export interface AccountData {
  /** The bare JID. */
  user: string;
  credentials: Credentials;
  roster: RosterItem[];
  /** contact bare JID → the pending subscribe presence (XML). */
  pendingIn: Map<string, string>;
  offline: StoredMessage[];
  /** personalKey → XML. */
  personal: Map<string, string>;
  blocklist: string[];
  /** The message archive, oldest first. */
  archive: ArchivedMessage[];
  /** PEP node → configuration and items (oldest first). */
  pep: Map<string, PepNodeData>;
  /** Children of <user> that were not imported (name and namespace), for the report. */
  skipped: string[];
}

function bareJid(text: string | undefined, where: string, what: string): string {
  if (!text) throw new PieError(where, `${what} is missing`);
  let jid;
  try {
    jid = parseJid(text);
  } catch {
    throw new PieError(where, `${what} ${JSON.stringify(text)} is not a valid JID`);
  }
  if (jid.resource !== '') throw new PieError(where, `${what} ${JSON.stringify(text)} is not a bare JID`);
  return jid.bare;
}

function base64(text: string | null | undefined, where: string, what: string): Buffer {
  const trimmed = (text ?? '').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) throw new PieError(where, `${what} is not base64`);
  return Buffer.from(trimmed, 'base64');
}

function scramKeys(element: Element, where: string): { hash: ScramHash; keys: ScramKeys } {
  const mechanism = String(element.attrs.mechanism ?? '');
  const hash = mechanism === 'SCRAM-SHA-1' ? 'SHA-1' : mechanism === 'SCRAM-SHA-256' ? 'SHA-256' : undefined;
  if (!hash) throw new PieError(where, `mechanism ${JSON.stringify(mechanism)} is not SCRAM-SHA-1 or SCRAM-SHA-256`);
  const iterations = Number(element.getChildText('iter-count')?.trim());
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000) throw new PieError(where, 'iter-count is not an integer in 1..10000000');
  let salt = base64(element.getChildText('salt'), where, 'salt');
  let serverKey = base64(element.getChildText('server-key'), where, 'server-key');
  let storedKey = base64(element.getChildText('stored-key'), where, 'stored-key');
  const length = HASH_LENGTH[hash];
  if (serverKey.length !== length || storedKey.length !== length) {
    // ejabberd's export: base64 of its base64-encoded keys.
    const twice = (bytes: Buffer, what: string): Buffer => base64(bytes.toString('latin1'), where, `${what} (decoded once)`);
    try {
      [salt, serverKey, storedKey] = [twice(salt, 'salt'), twice(serverKey, 'server-key'), twice(storedKey, 'stored-key')];
    } catch {
      throw new PieError(where, `server-key and stored-key must be ${length} bytes for ${mechanism}`);
    }
    if (serverKey.length !== length || storedKey.length !== length) throw new PieError(where, `server-key and stored-key must be ${length} bytes for ${mechanism}`);
  }
  if (salt.length === 0) throw new PieError(where, 'salt is empty');
  return { hash, keys: { salt: salt.toString('base64'), iterations, storedKey: storedKey.toString('base64'), serverKey: serverKey.toString('base64') } };
}

function rosterItems(query: Element, where: string, limits: Limits): RosterItem[] {
  const items = new Map<string, RosterItem>();
  for (const item of query.getChildElements()) {
    if (item.name !== 'item') throw new PieError(where, `unexpected <${item.name}/> in the roster`);
    const jid = bareJid(item.attrs.jid as string | undefined, `${where}/item`, 'jid');
    const at = `${where}/item[@jid='${jid}']`;
    const subscription = (item.attrs.subscription ?? 'none') as Subscription;
    if (!SUBSCRIPTIONS.includes(subscription)) throw new PieError(at, `subscription ${JSON.stringify(subscription)} is not none, to, from or both`);
    const ask = item.attrs.ask;
    if (ask !== undefined && ask !== 'subscribe') throw new PieError(at, `ask ${JSON.stringify(ask)} is not subscribe`);
    const approved = item.attrs.approved;
    if (approved !== undefined && !['true', 'false', '1', '0'].includes(String(approved))) throw new PieError(at, 'approved is not a boolean');
    const groups = [...new Set(item.getChildren('group').map((group) => group.getText()))];
    if (groups.some((group) => group === '')) throw new PieError(at, 'a group name is empty');
    const name = item.attrs.name as string | undefined;
    if (items.has(jid)) throw new PieError(at, 'the contact is listed twice');
    items.set(jid, {
      jid,
      ...(name ? { name } : {}),
      groups,
      subscription,
      ask: ask === 'subscribe',
      approved: approved === 'true' || approved === '1',
    });
  }
  if (items.size > limits.rosterItems) throw new PieError(where, `${items.size} contacts, more than limits.rosterItems (${limits.rosterItems})`);
  return [...items.values()];
}

function offlineMessages(container: Element, where: string, domain: string, now: number, limits: Limits): StoredMessage[] {
  const messages: StoredMessage[] = [];
  for (const [index, message] of container.getChildElements().entries()) {
    const at = `${where}/message[${index + 1}]`;
    if (message.name !== 'message' || (message.getNS() ?? NS_CLIENT) !== NS_CLIENT) throw new PieError(at, `<${message.name}/> is not a jabber:client message`);
    const copy = copyOf(message);
    copy.attrs.xmlns = NS_CLIENT;
    let stamp = now;
    const delay = copy.getChildElements().find((child: Element) => child.name === 'delay' && child.getNS() === NS_DELAY && (child.attrs.from === undefined || child.attrs.from === domain));
    if (delay) {
      stamp = Date.parse(String(delay.attrs.stamp ?? ''));
      if (Number.isNaN(stamp)) throw new PieError(at, `delay stamp ${JSON.stringify(delay.attrs.stamp)} is not a date`);
      copy.remove(delay);
    }
    messages.push({ xml: copy.toString(), stamp });
  }
  if (messages.length > limits.offlineMessages) throw new PieError(where, `${messages.length} messages, more than limits.offlineMessages (${limits.offlineMessages})`);
  return messages;
}

function personalItem(personal: Map<string, string>, key: string, element: Element, where: string, limits: Limits): void {
  const xml = element.toString();
  if (byteLength(xml) > limits.personalItemBytes) throw new PieError(where, `${byteLength(xml)} bytes, more than limits.personalItemBytes (${limits.personalItemBytes})`);
  personal.set(key, xml);
}

/** Runs a step of the PEP part, its refusal named at `where`. */
function pepPart(step: () => void, where: string): void {
  try {
    step();
  } catch (error) {
    if (error instanceof PepDataError) throw new PieError(where, error.message);
    throw error;
  }
}

/** The account of one <user> element of host `domain`; throws PieError naming what is wrong. */
export function readUser(user: Element, domain: string, limits: Limits, now = Date.now()): AccountData {
  const name = user.attrs.name as string | undefined;
  const where = `host[@jid='${domain}']/user[@name='${name ?? ''}']`;
  if (!name) throw new PieError(where, 'the name attribute is missing');
  const jid = bareJid(`${name}@${domain}`, where, 'the account JID');
  const scram: Partial<Record<ScramHash, ScramKeys>> = {};
  const data: AccountData = { user: jid, credentials: { scram }, roster: [], pendingIn: new Map(), offline: [], personal: new Map(), blocklist: [], archive: [], pep: new Map(), skipped: [] };
  let sawRoster = false;
  for (const child of user.getChildElements()) {
    const ns = child.getNS();
    const at = `${where}/${child.name}`;
    if (child.name === 'scram-credentials' && ns === NS_PIE_SCRAM) {
      const { hash, keys } = scramKeys(child, `${at}[@mechanism='${String(child.attrs.mechanism ?? '')}']`);
      scram[hash] = keys;
    } else if (child.name === 'query' && ns === NS_ROSTER) {
      if (sawRoster) throw new PieError(at, 'two rosters');
      sawRoster = true;
      data.roster = rosterItems(child, `${where}/query[@xmlns='${NS_ROSTER}']`, limits);
    } else if (child.name === 'presence' && ns === NS_CLIENT) {
      if (child.attrs.type !== 'subscribe') throw new PieError(at, 'a stored presence must be a subscription request (type subscribe)');
      const from = bareJid(child.attrs.from as string | undefined, at, 'from');
      const copy = copyOf(child);
      copy.attrs.xmlns = NS_CLIENT;
      copy.attrs.from = from;
      copy.attrs.to = jid;
      data.pendingIn.set(from, copy.toString());
    } else if (child.name === 'offline-messages' && isPieNamespace(ns)) {
      data.offline.push(...offlineMessages(child, at, domain, now, limits));
    } else if (child.name === 'archive' && ns === NS_PIE_MAM) {
      // The other party: from or to, whichever is not the account.
      data.archive.push(...readArchiveElement(child, at, limits, (message) => {
        const from = bareOf(String(message.attrs.from ?? ''));
        return from === jid || from === '' ? bareOf(String(message.attrs.to ?? '')) : from;
      }));
    } else if (child.name === 'vCard' && ns === NS_VCARD) {
      personalItem(data.personal, personalKey({ kind: 'vcard' }), child, at, limits);
    } else if (child.name === 'query' && ns === NS_PRIVATE) {
      for (const item of child.getChildElements()) {
        const itemNs = item.getNS();
        const itemAt = `${where}/query[@xmlns='${NS_PRIVATE}']/${item.name}`;
        if (!itemNs || itemNs === NS_CLIENT || itemNs === 'jabber:server' || itemNs === NS_PRIVATE) throw new PieError(itemAt, `the namespace ${itemNs ?? '(none)'} cannot be stored`);
        const copy = copyOf(item);
        copy.attrs.xmlns = itemNs;
        personalItem(data.personal, personalKey({ kind: 'private', name: item.name, namespace: itemNs }), copy, itemAt, limits);
      }
    } else if (child.name === 'blocklist' && ns === NS_BLOCKING) {
      const jids = new Set<string>();
      for (const item of child.getChildren('item')) {
        const text = item.attrs.jid as string | undefined;
        try {
          jids.add(parseJid(text ?? '').full);
        } catch {
          throw new PieError(`${at}/item`, `jid ${JSON.stringify(text ?? '')} is not a valid JID`);
        }
      }
      if (jids.size > limits.blocklistItems) throw new PieError(at, `${jids.size} JIDs, more than limits.blocklistItems (${limits.blocklistItems})`);
      data.blocklist = [...jids];
    } else if (child.name === 'pubsub' && (ns === NS_PUBSUB || ns === NS_PUBSUB_OWNER)) {
      pepPart(() => readPubsub(child, data.pep), at);
    } else {
      data.skipped.push(`${child.name}${ns ? ` (${ns})` : ''}`);
    }
  }
  pepPart(() => checkPep(data.pep, limits), where);
  if (data.personal.size > limits.personalItems) throw new PieError(where, `${data.personal.size} vCard and private XML items, more than limits.personalItems (${limits.personalItems})`);
  const password = user.attrs.password as string | undefined;
  if (password !== undefined && password !== '') data.credentials = { password };
  else if (!scram['SHA-1'] && !scram['SHA-256']) throw new PieError(where, 'neither a password nor SCRAM credentials');
  return data;
}

/** The credentials to store: derived from a password, or the SCRAM keys given (UNKNOWN_KEYS for a hash not given). */
export async function storedCredentials(credentials: Credentials, iterations: number): Promise<StoredCredentials> {
  if ('password' in credentials) return deriveCredentials(credentials.password, iterations);
  return { 'SHA-1': credentials.scram['SHA-1'] ?? UNKNOWN_KEYS, 'SHA-256': credentials.scram['SHA-256'] ?? UNKNOWN_KEYS };
}

/** The <user> element of an account (the inverse of readUser). */
export function writeUser(data: AccountData, domain: string): Element {
  const local = data.user.slice(0, data.user.lastIndexOf('@'));
  const user = new Element('user', { name: local });
  if ('password' in data.credentials) user.attrs.password = data.credentials.password;
  else {
    for (const hash of ['SHA-1', 'SHA-256'] as const) {
      const keys = data.credentials.scram[hash];
      if (!keys || keys.iterations < 1) continue;
      const scram = user.c('scram-credentials', { xmlns: NS_PIE_SCRAM, mechanism: `SCRAM-${hash}` });
      scram.c('iter-count').t(String(keys.iterations));
      scram.c('salt').t(keys.salt);
      scram.c('server-key').t(keys.serverKey);
      scram.c('stored-key').t(keys.storedKey);
    }
  }
  if (data.roster.length > 0) {
    const query = user.c('query', { xmlns: NS_ROSTER });
    for (const item of data.roster) {
      const element = query.c('item', { jid: item.jid, subscription: item.subscription });
      if (item.name !== undefined) element.attrs.name = item.name;
      if (item.ask) element.attrs.ask = 'subscribe';
      if (item.approved) element.attrs.approved = 'true';
      for (const group of item.groups) element.c('group').t(group);
    }
  }
  for (const xml of data.pendingIn.values()) user.cnode(parseXml(xml));
  if (data.offline.length > 0) {
    const container = user.c('offline-messages');
    for (const message of data.offline) {
      const element = parseXml(message.xml);
      element.c('delay', { xmlns: NS_DELAY, from: domain, stamp: new Date(message.stamp).toISOString() });
      container.cnode(element);
    }
  }
  const privates: Element[] = [];
  for (const [key, xml] of data.personal) {
    const item = parsePersonalKey(key);
    if (item?.kind === 'vcard') user.cnode(parseXml(xml));
    else if (item?.kind === 'private') privates.push(parseXml(xml));
  }
  if (privates.length > 0) {
    const query = user.c('query', { xmlns: NS_PRIVATE });
    for (const element of privates) query.cnode(element);
  }
  if (data.blocklist.length > 0) {
    const list = user.c('blocklist', { xmlns: NS_BLOCKING });
    for (const jid of data.blocklist) list.c('item', { jid });
  }
  writeArchiveElement(user, data.archive);
  writePubsub(user, data.pep);
  return user;
}

// XEP-0402 §5.3 compatibility (`urn:xmpp:bookmarks:1#compat`): a client that still keeps its
// XEP-0048 bookmarks in private XML storage (XEP-0049) reads and writes the account's XEP-0402
// bookmarks. A get answers them as <storage xmlns='storage:bookmarks'/> once the PEP node exists;
// a set publishes each conference (and retracts the ones left out), so the account's other
// resources are notified, and keeps the legacy element too (its <url/>s have no PEP home).
// XEP-0411 (`urn:xmpp:bookmarks-conversion:0`): the list is also kept in the legacy PEP node
// `storage:bookmarks`, and a list a client publishes there is converted as a private XML set is.
// XEP-0402 is the truth, as in Prosody's mod_bookmarks: each change of it (publish, retract,
// purge, delete) is written back to the private XML copy and to the legacy PEP node, whose
// `storage:bookmarks+notify` resources hear of it; legacy bookmarks kept only in private XML
// (imported, or stored before PEP) become XEP-0402 bookmarks when a client first asks for them.
import { Element, parse } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { Host } from '../../core/host.js';
import { storePersonal } from '../../core/personal-data.js';
import { personalKey } from '../../state/personal.js';
import { StanzaError } from '../../xmpp/errors.js';
import { errorReply, iqPayload, iqResult, stanzaType } from '../../xmpp/stanza.js';
import type { ChangeListener, PepService, PublishListener } from './service.js';

export const NS_BOOKMARKS = 'urn:xmpp:bookmarks:1';
export const NS_BOOKMARKS_CONVERSION = 'urn:xmpp:bookmarks-conversion:0';
const NS_LEGACY = 'storage:bookmarks';
const NS_PRIVATE = 'jabber:iq:private';
const LEGACY_KEY = personalKey({ kind: 'private', name: 'storage', namespace: NS_LEGACY });
/** XEP-0402 §3: what a client publishes bookmarks with. */
export const BOOKMARK_OPTIONS = new Map([
  ['pubsub#persist_items', ['true']],
  ['pubsub#max_items', ['max']],
  ['pubsub#send_last_published_item', ['never']],
  ['pubsub#access_model', ['whitelist']],
]);

/** XEP-0048 <storage/> of XEP-0402 items (oldest first), with the <url/>s of `kept` (they have no XEP-0402 home). */
function legacyStorage(items: Array<{ id: string; xml: string }>, kept?: Element): Element {
  const storage = new Element('storage', { xmlns: NS_LEGACY });
  for (const item of items) {
    const conference = parse(item.xml);
    const legacy = storage.c('conference', { jid: item.id });
    if (conference.attrs.name !== undefined) legacy.attrs.name = String(conference.attrs.name);
    if (conference.attrs.autojoin === 'true' || conference.attrs.autojoin === '1') legacy.attrs.autojoin = 'true';
    for (const name of ['nick', 'password']) {
      const text = conference.getChildText(name);
      if (text !== null) legacy.c(name).t(text);
    }
  }
  for (const url of kept?.getChildren('url') ?? []) storage.cnode(parse(url.toString()));
  return storage;
}

async function storedLegacy(host: Host, user: string): Promise<Element | undefined> {
  const stored = await host.state.personal.get(user, LEGACY_KEY);
  return stored === undefined ? undefined : parse(stored);
}

/**
 * Writes the account's XEP-0402 bookmarks back to the XEP-0048 places: the private XML copy and
 * the legacy PEP node (published quietly, so this does not convert it back). The legacy node is
 * kept private (whitelist) as Prosody keeps it, whatever a client created it with.
 */
async function toLegacy(host: Host, service: PepService, user: string, kept?: Element): Promise<void> {
  const items = [...((await host.state.pep.items(user, NS_BOOKMARKS))?.items ?? [])].reverse();
  const storage = legacyStorage(items, kept ?? (await storedLegacy(host, user)));
  if (storage.getChildElements().length === 0) await host.state.personal.remove(user, LEGACY_KEY);
  else await storePersonal(host, user, LEGACY_KEY, storage);
  const legacyConfig = await host.state.pep.config(user, NS_LEGACY);
  if (legacyConfig && (legacyConfig.access_model !== 'whitelist' || legacyConfig.whitelist.length > 0)) {
    await host.state.pep.configure(user, NS_LEGACY, { ...legacyConfig, access_model: 'whitelist', whitelist: [] });
  }
  await service.publish(user, NS_LEGACY, 'current', storage, BOOKMARK_OPTIONS, { quiet: true, preconditions: false });
}

/** After a XEP-0402 change: the legacy places follow. */
export function bookmarksWriteBack(host: Host, service: PepService): ChangeListener {
  return async (owner, node) => {
    if (node === NS_BOOKMARKS) await toLegacy(host, service, owner);
  };
}

/**
 * Legacy bookmarks only in private XML (imported, or stored before PEP was loaded) become the
 * account's XEP-0402 bookmarks; true when there were some.
 */
export async function migrateLegacy(host: Host, service: PepService, user: string): Promise<boolean> {
  if (await host.state.pep.config(user, NS_BOOKMARKS)) return false;
  const stored = await storedLegacy(host, user);
  if (!stored || stored.getChildren('conference').length === 0) return false;
  await fromLegacy(host, service, user, stored);
  return true;
}

function conferenceOf(legacy: Element): { jid: string; payload: Element } | undefined {
  const jid = legacy.attrs.jid;
  if (typeof jid !== 'string' || jid === '') return undefined;
  const attrs: Record<string, string> = { xmlns: NS_BOOKMARKS };
  if (typeof legacy.attrs.name === 'string') attrs.name = legacy.attrs.name;
  if (legacy.attrs.autojoin === 'true' || legacy.attrs.autojoin === '1') attrs.autojoin = 'true';
  const payload = new Element('conference', attrs);
  for (const name of ['nick', 'password']) {
    const text = legacy.getChildText(name);
    if (text !== null) payload.c(name).t(text);
  }
  return { jid, payload };
}

/**
 * A legacy <storage/> list becomes the account's bookmarks: kept as private XML, and each
 * conference published to XEP-0402 (those left out retracted). Publishing what is there already
 * changes nothing, so the two paths that call this (a private XML set, a publish to the legacy
 * PEP node) converge.
 */
async function fromLegacy(host: Host, service: PepService, user: string, storage: Element): Promise<void> {
  const wanted = new Map<string, Element>();
  for (const legacy of storage.getChildren('conference')) {
    const conference = conferenceOf(legacy);
    if (conference) wanted.set(conference.jid, conference.payload);
  }
  const before = (await host.state.pep.items(user, NS_BOOKMARKS))?.items ?? [];
  // Quietly, item by item (each notifies the XEP-0402 resources); the write-back once at the end.
  for (const [jid, payload] of wanted) {
    const same = before.find((item) => item.id === jid)?.xml === payload.toString();
    if (!same) await service.publish(user, NS_BOOKMARKS, jid, payload, BOOKMARK_OPTIONS, { quiet: true });
  }
  for (const item of before) if (!wanted.has(item.id)) await service.retract(user, NS_BOOKMARKS, item.id, true, undefined, true);
  await toLegacy(host, service, user, storage);
}

/** XEP-0411: a list published to the legacy PEP node (storage:bookmarks) is converted the same way. */
export function legacyPepListener(host: Host, service: PepService): PublishListener {
  return async ({ owner, node, payload }) => {
    if (node === NS_LEGACY && payload.name === 'storage' && payload.attrs.xmlns === NS_LEGACY) await fromLegacy(host, service, owner, payload);
  };
}

/** Answers a private XML request for storage:bookmarks from PEP; false leaves it to the private module. */
export async function legacyBookmarks(host: Host, service: PepService, { stanza, from, to, origin }: RoutedStanza): Promise<boolean> {
  const type = stanzaType(stanza);
  const query = iqPayload(stanza);
  if (from.bare !== to.bare || (type !== 'get' && type !== 'set') || query?.name !== 'query' || query.attrs.xmlns !== NS_PRIVATE) return false;
  const children = query.getChildElements();
  const storage = children[0];
  if (children.length !== 1 || storage?.name !== 'storage' || storage.attrs.xmlns !== NS_LEGACY) return false;
  const user = to.bare;
  const reply = (answer: Element): void => {
    if (origin && !origin.destroyed) origin.send(answer);
    else void host.router.send(answer);
  };
  if (type === 'get') {
    const found = await host.state.pep.items(user, NS_BOOKMARKS);
    if (!found) return false;
    const answer = legacyStorage([...found.items].reverse(), await storedLegacy(host, user));
    reply(iqResult(stanza, new Element('query', { xmlns: NS_PRIVATE }).cnode(answer).root()));
    return true;
  }
  try {
    await fromLegacy(host, service, user, storage);
  } catch (error) {
    if (!(error instanceof StanzaError)) throw error;
    reply(errorReply(stanza, error));
    return true;
  }
  reply(iqResult(stanza));
  return true;
}

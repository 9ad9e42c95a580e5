// A message archive in XEP-0227 1.1 form, as Prosody's mod_storage_xep0227 writes it: an
// <archive xmlns='urn:xmpp:pie:0#mam'> of XEP-0313 <result/>s, each a <forwarded/> message with
// its <delay/>. An account's archive and a room's have the same form; they differ in what `with`
// is (account.ts: the other party's bare JID; room.ts: the occupant JID the message came from).
import { Element, parse as parseXml } from 'ltx';
import type { Limits } from '../config.js';
import type { StateBackend } from '../state/backend.js';
import { copyOf, NS_CLIENT, NS_DELAY, NS_PIE_MAM, PieError } from './pie.js';

const NS_MAM = 'urn:xmpp:mam:2';
const NS_FORWARD = 'urn:xmpp:forward:0';

export interface ArchivedMessage {
  /** The archive id, when read from a store. */
  id?: string;
  with: string;
  xml: string;
  stamp: number;
}

/** An archive's <result/>s, oldest first; `withOf` names the other party of a message (jabber:client). */
export function readArchiveElement(container: Element, where: string, limits: Limits, withOf: (message: Element) => string): ArchivedMessage[] {
  const messages: ArchivedMessage[] = [];
  for (const [index, result] of container.getChildElements().entries()) {
    const at = `${where}/result[${index + 1}]`;
    const forwarded = result.getChild('forwarded', NS_FORWARD);
    const message = forwarded?.getChildElements().find((child: Element) => child.name === 'message');
    if (result.name !== 'result' || result.getNS() !== NS_MAM || !forwarded || !message) throw new PieError(at, 'not a urn:xmpp:mam:2 result with a forwarded message');
    const stamp = Date.parse(String(forwarded.getChild('delay', NS_DELAY)?.attrs.stamp ?? ''));
    if (Number.isNaN(stamp)) throw new PieError(at, 'the forwarded message has no delay stamp');
    const copy = copyOf(message);
    copy.attrs.xmlns = NS_CLIENT;
    messages.push({ with: withOf(copy), xml: copy.toString(), stamp });
  }
  if (messages.length > limits.archiveMessages) throw new PieError(where, `${messages.length} archived messages, more than limits.archiveMessages (${limits.archiveMessages})`);
  return messages.sort((a, b) => a.stamp - b.stamp);
}

/** Adds the <archive/> of `entries` to `parent`, if there are any. */
export function writeArchiveElement(parent: Element, entries: readonly ArchivedMessage[]): void {
  if (entries.length === 0) return;
  const archive = parent.c('archive', { xmlns: NS_PIE_MAM });
  for (const [index, entry] of entries.entries()) {
    const forwarded = archive.c('result', { xmlns: NS_MAM, id: entry.id ?? String(index) }).c('forwarded', { xmlns: NS_FORWARD });
    forwarded.c('delay', { xmlns: NS_DELAY, stamp: new Date(entry.stamp).toISOString() });
    forwarded.cnode(parseXml(entry.xml));
  }
}

/** The whole archive of an owner (account or room) as stored, page by page. */
export async function storedArchive(state: StateBackend, owner: string): Promise<ArchivedMessage[]> {
  const entries: ArchivedMessage[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await state.archive.query(owner, { max: 250, ...(after === undefined ? {} : { after }) });
    if (!page || page.entries.length === 0) return entries;
    entries.push(...page.entries.map((entry) => ({ id: entry.id, with: entry.with, xml: entry.xml, stamp: entry.stamp })));
    if (page.complete) return entries;
    after = page.entries.at(-1)?.id;
  }
}

/** Writes an imported archive: its entries as they were read, older than archiveDays dropped as on any append. */
export async function storeArchive(state: StateBackend, owner: string, entries: readonly ArchivedMessage[], limits: Limits): Promise<void> {
  // Checked against archiveMessages when read.
  const archiveLimits = { maxEntries: Math.max(1, entries.length), maxAgeMs: limits.archiveDays * 86_400_000, dedupeWindowMs: 1 };
  for (const entry of entries) await state.archive.append(owner, { with: entry.with, xml: entry.xml, stamp: entry.stamp }, archiveLimits);
}

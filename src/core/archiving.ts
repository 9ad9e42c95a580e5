// XEP-0313 §5 and XEP-0359: which messages are archived, into whose archive, and the stanza-id
// that the recipient's copy carries. Archiving happens once, where a message is accepted: the
// sender's copy before routing (pre-message), the recipient's when routing reaches a local account
// (message/bare, message/full). A message the node bus hands to another node that routes it again
// already carries the recipient's stanza-id and is not archived twice; a client's re-send (after a
// stream-management resume, on any node) has the same dedupe key and gets the first id back.
import type { Element } from 'ltx';
import type { Host } from './host.js';
import type { ArchiveLimits } from '../state/archive.js';
import { NS_HINTS } from '../xmpp/ns.js';
import { stanzaType } from '../xmpp/stanza.js';

export const NS_MAM = 'urn:xmpp:mam:2';
export const NS_MAM_EXTENDED = 'urn:xmpp:mam:2#extended';
export const NS_SID = 'urn:xmpp:sid:0';
/** Payloads archived without a body (end-to-end encrypted messages, XEP-0384 and XEP-0373). */
const CONTENT = [
  ['encrypted', 'eu.siacs.conversations.axolotl'],
  ['encrypted', 'urn:xmpp:omemo:2'],
  ['openpgp', 'urn:xmpp:openpgp:0'],
  ['x', 'jabber:x:conference'],
  ['x', 'jabber:x:oob'],
] as const;
/** Re-sends of one message within this window archive nothing new (stream-management resumes). */
export const DEDUPE_WINDOW_MS = 10 * 60_000;

/** Whether a message has content worth keeping (XEP-0313 §5, after Prosody's mod_mam). */
export function shouldArchive(stanza: Element): boolean {
  const type = stanzaType(stanza) ?? 'normal';
  if (type === 'error' || type === 'headline' || type === 'groupchat') return false;
  return hasContent(stanza);
}

/** Content worth keeping, whatever the type (a room archives its groupchat messages by this). */
export function hasContent(stanza: Element): boolean {
  if (stanza.getChild('no-store', NS_HINTS) || stanza.getChild('no-permanent-store', NS_HINTS)) return false;
  if (stanza.getChild('body') || stanza.getChild('store', NS_HINTS)) return true;
  if (CONTENT.some(([name, xmlns]) => stanza.getChild(name, xmlns))) return true;
  // Chat states, receipts and markers alone are not conversation.
  return false;
}

/** The archive limits of the configuration. */
export function archiveLimits(host: Host): ArchiveLimits {
  const { archiveMessages, archiveDays } = host.config.limits;
  return { maxEntries: archiveMessages, maxAgeMs: archiveDays * 86_400_000, dedupeWindowMs: DEDUPE_WINDOW_MS };
}

/** Identity of a message for deduplication: its sender's full JID and the client's id for it. */
export function dedupeKey(stanza: Element): string | undefined {
  const origin = stanza.getChild('origin-id', NS_SID)?.attrs.id ?? stanza.attrs.id;
  return origin === undefined || origin === '' ? undefined : `${String(stanza.attrs.from)} ${String(origin)}`;
}

/** XEP-0359 §3.1: stanza-ids a client wrote in the name of an archive here are removed. */
export function stripForgedIds(stanza: Element, ours: (by: string) => boolean): void {
  for (const id of stanza.getChildren('stanza-id', NS_SID)) {
    if (ours(String(id.attrs.by ?? ''))) stanza.remove(id);
  }
}

export function stanzaIdBy(stanza: Element, by: string): string | undefined {
  const found = stanza.getChildren('stanza-id', NS_SID).find((id) => id.attrs.by === by);
  return found === undefined ? undefined : String(found.attrs.id);
}

/** Archives `stanza` in `owner`'s archive with `contact`, if the owner's preferences want it; returns the archive id. */
export async function archive(host: Host, owner: string, contact: string, stanza: Element): Promise<string | undefined> {
  const dedupe = dedupeKey(stanza);
  const stored = await host.state.archive.appendWanted(owner, { with: contact, xml: stanza.toString(), stamp: Date.now(), ...(dedupe === undefined ? {} : { dedupe }) }, archiveLimits(host));
  if (stored?.created) await scheduleTrim(host, owner, Date.now());
  return stored?.id;
}

/**
 * Trimming on write keeps a busy archive within its limits; an archive nobody writes to any more
 * is trimmed by a job that follows its oldest entry, one pending job per archive (started by the
 * archive's first entry, rescheduled by itself while entries are left). Delays are capped at a
 * day: timers cannot wait longer, and a shortened retention takes effect within a day.
 */
const TRIM_AT_MOST_EVERY_MS = 86_400_000;

export async function scheduleTrim(host: Host, owner: string, oldest: number): Promise<void> {
  const due = oldest + archiveLimits(host).maxAgeMs - Date.now();
  await host.jobs.schedule(`archive-trim ${owner}`, 'archive-trim', { owner }, Math.min(TRIM_AT_MOST_EVERY_MS, Math.max(1000, due + 1000)));
}

export async function trimArchive(host: Host, owner: string): Promise<void> {
  const oldest = await host.state.archive.trim(owner, Date.now(), archiveLimits(host));
  if (oldest !== undefined) await scheduleTrim(host, owner, oldest);
}

// Presence of an account's resources across the cluster (RFC 6121 §4), read from the registry.
import { Element, parse } from 'ltx';
import type { Host } from './host.js';
import type { SessionRecord } from '../state/sessions.js';
import { parseJid } from '../xmpp/jid.js';

/** Available resources (those with a presence) of an account. */
export async function availableResources(host: Host, bareJid: string): Promise<SessionRecord[]> {
  return (await host.state.registry.resources(bareJid)).filter((record) => record.presence !== undefined);
}

/** A resource's stored presence (with its <delay/>), addressed from it to `to`. */
export function storedPresence(record: SessionRecord, to: string): Element | undefined {
  if (record.presence === undefined) return undefined;
  const presence = parse(record.presence);
  presence.attrs.from = record.full_jid;
  presence.attrs.to = to;
  return presence;
}

/**
 * Sends the current presence of each available resource of `user` to `to` (probe answers,
 * approvals). With no available resource, `unavailable` from the bare JID when asked for.
 */
export async function sendPresencesOf(host: Host, user: string, to: string, unavailableIfNone: boolean): Promise<void> {
  const resources = await availableResources(host, user);
  for (const record of resources) {
    const presence = storedPresence(record, to);
    if (presence) await host.router.route({ stanza: presence, kind: 'presence', from: parseJid(record.full_jid), to: parseJid(to) });
  }
  if (resources.length === 0 && unavailableIfNone) {
    const unavailable = new Element('presence', { from: user, to, type: 'unavailable' });
    await host.router.route({ stanza: unavailable, kind: 'presence', from: parseJid(user), to: parseJid(to) });
  }
}

/** `unavailable` from each available resource of `user` to `to` (cancelled subscriptions). */
export async function sendUnavailableOf(host: Host, user: string, to: string): Promise<void> {
  for (const record of await availableResources(host, user)) {
    const unavailable = new Element('presence', { from: record.full_jid, to, type: 'unavailable' });
    await host.router.route({ stanza: unavailable, kind: 'presence', from: parseJid(record.full_jid), to: parseJid(to) });
  }
}

/** RFC 6121 §4.7.2.3: an integer from -128 to 127, default 0. */
export function parsePriority(presence: Element): number {
  const text = presence.getChildText('priority');
  if (text === null || !/^[+-]?\d{1,10}$/.test(text.trim())) return 0;
  return Math.max(-128, Math.min(127, Number.parseInt(text.trim(), 10)));
}

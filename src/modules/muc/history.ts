// XEP-0045 §7.2.13-7.2.15: the discussion history a newcomer asks for (maxchars, maxstanzas,
// seconds, since), each message with its <delay/>, then the subject (§7.2.16), always sent.
import { Element, parse } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { HistoryEntry, RoomRecord } from '../../state/muc.js';
import { NS_DELAY } from '../../xmpp/ns.js';
import { NS_MUC } from './room.js';
import type { MucService } from './service.js';

interface HistoryRequest {
  maxchars?: number;
  maxstanzas?: number;
  seconds?: number;
  since?: number;
}

function readRequest(stanza: Element): HistoryRequest {
  const history = stanza.getChild('x', NS_MUC)?.getChild('history');
  if (!history) return {};
  const request: HistoryRequest = {};
  const number = (name: 'maxchars' | 'maxstanzas' | 'seconds'): void => {
    const value = Number(history.attrs[name]);
    if (history.attrs[name] !== undefined && Number.isInteger(value) && value >= 0) request[name] = value;
  };
  number('maxchars');
  number('maxstanzas');
  number('seconds');
  const since = Date.parse(String(history.attrs.since ?? ''));
  if (!Number.isNaN(since)) request.since = since;
  return request;
}

/** The entries the request allows, oldest first: the newest ones within every bound. */
export function selectHistory(entries: readonly HistoryEntry[], request: HistoryRequest, now: number, format: (entry: HistoryEntry) => string): Array<{ entry: HistoryEntry; xml: string }> {
  const chosen: Array<{ entry: HistoryEntry; xml: string }> = [];
  let chars = 0;
  for (let i = entries.length - 1; i >= 0; i -= 1) {
    const entry = entries[i] as HistoryEntry;
    if (request.maxstanzas !== undefined && chosen.length >= request.maxstanzas) break;
    if (request.seconds !== undefined && entry.stamp < now - request.seconds * 1000) break;
    if (request.since !== undefined && entry.stamp <= request.since) break;
    const xml = format(entry);
    // §7.2.14: maxchars counts the characters of the complete XML stanzas.
    if (request.maxchars !== undefined && chars + xml.length > request.maxchars) break;
    chars += xml.length;
    chosen.push({ entry, xml });
  }
  return chosen.reverse();
}

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `seenAt`: the room's version the join was decided on; entries appended after its commit are left out. */
export async function sendHistory(service: MucService, routed: RoutedStanza, room: string, record: RoomRecord, seenAt: number): Promise<void> {
  if (record.config.historyLength === 0) return;
  const request = readRequest(routed.stanza);
  if (request.maxstanzas === 0 || request.maxchars === 0) return;
  const entries = (await service.store.history(room)).filter((entry) => (entry.v ?? 0) <= seenAt);
  const to = routed.from.full;
  const format = (entry: HistoryEntry): string => {
    const message = parse(entry.xml);
    message.attrs.from = `${room}/${entry.nick}`;
    message.attrs.to = to;
    message.c('delay', { xmlns: NS_DELAY, from: room, stamp: stamp(entry.stamp) });
    return message.toString();
  };
  for (const { xml } of selectHistory(entries, request, Date.now(), format)) await service.reply(routed, parse(xml));
}

export async function sendSubject(service: MucService, routed: RoutedStanza, room: string, record: RoomRecord): Promise<void> {
  const subject = record.subject;
  const message = new Element('message', { type: 'groupchat', from: subject?.nick ? `${room}/${subject.nick}` : room, to: routed.from.full, id: `subject-${record.created}` });
  message.c('subject').t(subject?.text ?? '');
  if (subject) message.c('delay', { xmlns: NS_DELAY, from: room, stamp: stamp(subject.stamp) });
  await service.reply(routed, message);
}

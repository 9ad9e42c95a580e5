// XEP-0313 §4 queries: the data form (with, start, end, and #extended's before-id, after-id,
// ids) and the XEP-0059 result set (max, after, before, index-less paging), into an ArchiveQuery;
// and the <result/> messages and <fin/> of a page.
import { Element, clone, parse } from 'ltx';
import type { ArchiveEntry, ArchivePage, ArchiveQuery } from '../state/archive.js';
import { StanzaError } from '../xmpp/errors.js';
import { tryParseJid } from '../xmpp/jid.js';
import { NS_CLIENT, NS_DELAY, NS_FORWARD } from '../xmpp/ns.js';
import { NS_MAM } from './archiving.js';

export const NS_RSM = 'http://jabber.org/protocol/rsm';
export const NS_DATA = 'jabber:x:data';
/** Page size without <max/>, and the largest one served (Prosody: 20 and 50; clients ask for 50–250). */
export const DEFAULT_MAX = 50;
export const LARGEST_MAX = 250;

export interface ParsedQuery {
  query: ArchiveQuery;
  queryId?: string;
  flip: boolean;
}

/** XEP-0082 date-time; bad-request for anything else. */
function timestamp(text: string, field: string): number {
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new StanzaError('bad-request', `${field} is not a XEP-0082 date-time`);
  return ms;
}

function formFields(form: Element | undefined): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const field of form?.getChildren('field') ?? []) {
    const name = String(field.attrs.var ?? '');
    fields.set(name, field.getChildren('value').map((value) => value.getText()));
  }
  return fields;
}

/** `fullWith`: `with` is matched whole (a room's archive is by occupant JID, room@service/nick), not by bare JID. */
export function parseQuery(payload: Element, options: { fullWith?: boolean } = {}): ParsedQuery {
  const fields = formFields(payload.getChild('x', NS_DATA));
  const formType = fields.get('FORM_TYPE')?.[0];
  if (formType !== undefined && formType !== NS_MAM) throw new StanzaError('bad-request', `Unknown FORM_TYPE ${formType}`);
  const one = (name: string): string | undefined => {
    const values = fields.get(name);
    if (values === undefined || values.length === 0 || values[0] === '') return undefined;
    return values[0];
  };
  const query: ArchiveQuery = { max: DEFAULT_MAX };
  const withText = one('with');
  if (withText !== undefined) {
    const jid = tryParseJid(withText);
    if (!jid) throw new StanzaError('jid-malformed', 'with is not a JID');
    query.with = options.fullWith ? jid.full : jid.bare;
  }
  const start = one('start');
  if (start !== undefined) query.start = timestamp(start, 'start');
  const end = one('end');
  if (end !== undefined) query.end = timestamp(end, 'end');
  const afterId = one('after-id');
  if (afterId !== undefined) query.afterId = afterId;
  const beforeId = one('before-id');
  if (beforeId !== undefined) query.beforeId = beforeId;
  const ids = fields.get('ids');
  if (ids !== undefined) query.ids = ids;
  for (const name of fields.keys()) {
    if (!['FORM_TYPE', 'with', 'start', 'end', 'after-id', 'before-id', 'ids'].includes(name)) {
      throw new StanzaError('feature-not-implemented', `The field ${name} is not supported`);
    }
  }
  const set = payload.getChild('set', NS_RSM);
  if (set) {
    const max = set.getChild('max');
    if (max) {
      const value = Number(max.getText());
      if (!Number.isInteger(value) || value < 0) throw new StanzaError('bad-request', 'max is not a non-negative integer');
      query.max = Math.min(value, LARGEST_MAX);
    }
    const after = set.getChild('after');
    if (after) query.after = after.getText();
    const before = set.getChild('before');
    if (before) query.before = before.getText();
    if (set.getChild('index')) throw new StanzaError('feature-not-implemented', 'Paging by index is not supported');
  }
  const queryId = payload.attrs.queryid;
  return { query, ...(queryId === undefined ? {} : { queryId: String(queryId) }), flip: payload.getChild('flip-page') !== undefined };
}

/** The query form (XEP-0313 §4.1.5), #extended's fields included. */
export function queryForm(): Element {
  const query = new Element('query', { xmlns: NS_MAM });
  const form = query.c('x', { xmlns: NS_DATA, type: 'form' });
  form.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(NS_MAM);
  form.c('field', { var: 'with', type: 'jid-single' });
  form.c('field', { var: 'start', type: 'text-single' });
  form.c('field', { var: 'end', type: 'text-single' });
  form.c('field', { var: 'before-id', type: 'text-single' });
  form.c('field', { var: 'after-id', type: 'text-single' });
  form.c('field', { var: 'ids', type: 'list-multi' });
  return query;
}

/** `<message to=… from=owner><result queryid id><forwarded><delay/><message/></forwarded></result></message>` */
export function resultMessage(entry: ArchiveEntry, owner: string, to: string, queryId: string | undefined, adjust?: (original: Element) => void): Element {
  const message = new Element('message', { to, from: owner });
  const result = message.c('result', { xmlns: NS_MAM, id: entry.id, ...(queryId === undefined ? {} : { queryid: queryId }) });
  const forwarded = result.c('forwarded', { xmlns: NS_FORWARD });
  // Milliseconds kept (XEP-0082 allows them): clients such as Converse.js order by this stamp, and
  // messages archived within one second would otherwise come out of order.
  forwarded.c('delay', { xmlns: NS_DELAY, stamp: new Date(entry.stamp).toISOString() });
  const original = clone(parse(entry.xml));
  original.attrs.xmlns = NS_CLIENT;
  adjust?.(original);
  forwarded.cnode(original);
  return message;
}

/** `<fin complete?><set><first/><last/><count/></set></fin>` */
export function finElement(page: ArchivePage, queryId: string | undefined, entries: readonly ArchiveEntry[]): Element {
  const fin = new Element('fin', { xmlns: NS_MAM, ...(queryId === undefined ? {} : { queryid: queryId }), ...(page.complete ? { complete: 'true' } : {}) });
  const set = fin.c('set', { xmlns: NS_RSM });
  const first = entries[0];
  const last = entries.at(-1);
  if (first && last) {
    set.c('first').t(first.id);
    set.c('last').t(last.id);
  }
  if (page.count !== undefined) set.c('count').t(String(page.count));
  return fin;
}

// XEP-0059 Result Set Management: the <set/> a request pages with (§2.1 max, §2.2 after, §2.3
// before, an empty <before/> asking for the last page, §2.4 index), and the <set/> of a page
// (first with its index, last, count; §2.7: count alone for a page without items).
import { Element } from 'ltx';
import { StanzaError } from './errors.js';

export const NS_RSM = 'http://jabber.org/protocol/rsm';

export interface ResultSetRequest {
  max?: number;
  after?: string;
  /** '' asks for the last page. */
  before?: string;
  index?: number;
}

export interface ResultSetPage {
  first?: { id: string; index: number };
  last?: string;
  count: number;
}

function count(element: Element, name: string): number {
  const value = Number(element.getText().trim());
  if (element.getText().trim() === '' || !Number.isSafeInteger(value) || value < 0) throw new StanzaError('bad-request', `<${name}/> is not a non-negative integer`);
  return value;
}

/** The request's <set/>, undefined when it has none; bad-request for one that cannot be served. */
export function readResultSet(parent: Element): ResultSetRequest | undefined {
  const set = parent.getChild('set', NS_RSM);
  if (!set) return undefined;
  const request: ResultSetRequest = {};
  const max = set.getChild('max');
  if (max) request.max = count(max, 'max');
  const after = set.getChild('after');
  if (after) {
    request.after = after.getText();
    if (request.after === '') throw new StanzaError('bad-request', '<after/> names no item');
  }
  const before = set.getChild('before');
  if (before) request.before = before.getText();
  const index = set.getChild('index');
  if (index) request.index = count(index, 'index');
  if ([request.after, request.before, request.index].filter((value) => value !== undefined).length > 1) {
    throw new StanzaError('bad-request', 'One of <after/>, <before/> and <index/> at a time');
  }
  return request;
}

export function resultSet(page: ResultSetPage): Element {
  const set = new Element('set', { xmlns: NS_RSM });
  if (page.first && page.last !== undefined) {
    set.c('first', { index: String(page.first.index) }).t(page.first.id);
    set.c('last').t(page.last);
  }
  set.c('count').t(String(page.count));
  return set;
}

// XEP-0060 §6.3 pubsub#include_body: a subscriber that asks for it gets events with a <body/>
// summarising the payload, for clients that show messages but not payloads. As Prosody's
// mod_pubsub, only Atom entries (XEP-0277 microblogs) can be summarised: their summary, or
// "<author> posted <title>", or the title. Other payloads get no body.
import { clone, type Element } from 'ltx';
import { NS_PUBSUB_EVENT } from './forms.js';

const NS_ATOM = 'http://www.w3.org/2005/Atom';

function text(element: Element | undefined): string {
  return element?.getText().trim() ?? '';
}

/** The summary of an item event's payload, or undefined when there is none to make. */
export function eventSummary(event: Element): string | undefined {
  const entry = event.getChild('event', NS_PUBSUB_EVENT)?.getChild('items')?.getChild('item')?.getChild('entry', NS_ATOM);
  if (!entry) return undefined;
  const summary = text(entry.getChild('summary', NS_ATOM));
  if (summary !== '') return summary;
  const title = text(entry.getChild('title', NS_ATOM));
  const author = text(entry.getChild('author', NS_ATOM)?.getChild('name', NS_ATOM));
  const line = `${author === '' ? '' : `${author} posted `}${title}`;
  return line === '' ? undefined : line;
}

/** A copy of the event with the summary as its body. */
export function withSummary(event: Element, summary: string): Element {
  const copy = clone(event);
  copy.c('body').t(summary);
  return copy;
}

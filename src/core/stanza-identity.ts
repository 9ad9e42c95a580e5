// The stable identity of a stanza from a resumable stream, `<stream token>:<seq>` (the sender's
// inbound count when its node accepted it; src/state/delivered.ts). It travels beside the
// element, never in its XML: on the bus envelope (`sid`) and in resumption queue entries (`id`).
import type { Element } from 'ltx';

const identities = new WeakMap<Element, string>();

export function identify(stanza: Element, identity: string | undefined): Element {
  if (identity !== undefined) identities.set(stanza, identity);
  return stanza;
}

export function identityOf(stanza: Element): string | undefined {
  return identities.get(stanza);
}

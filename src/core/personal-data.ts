// What vcard.ts and private.ts share: storing one element of an account's personal XML within
// limits.personalItemBytes and limits.personalItems, the refusals as stanza errors.
import type { Element } from 'ltx';
import type { Host } from './host.js';
import type { PersonalLimits } from '../state/personal.js';
import { StanzaError } from '../xmpp/errors.js';

export function personalLimits(host: Host): PersonalLimits {
  return { itemBytes: host.config.limits.personalItemBytes, items: host.config.limits.personalItems };
}

/** Stores `element` under `key`; too large → not-acceptable, one item too many → resource-constraint. */
export async function storePersonal(host: Host, user: string, key: string, element: Element): Promise<void> {
  const result = await host.state.personal.set(user, key, element.toString(), personalLimits(host));
  if (result === 'too-large') {
    host.telemetry.limitEnforced('personal_item_bytes');
    throw new StanzaError('not-acceptable', `Larger than the ${host.config.limits.personalItemBytes} bytes allowed`);
  }
  if (result === 'full') {
    host.telemetry.limitEnforced('personal_items');
    throw new StanzaError('resource-constraint', `No more than ${host.config.limits.personalItems} items may be stored`);
  }
}

/** An element without child elements: storing it clears the item (Prosody's mod_private does so). */
export function isEmptyElement(element: Element): boolean {
  return element.getChildElements().length === 0 && element.getText().trim() === '';
}

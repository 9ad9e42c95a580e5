// XEP-0060 §6.3 subscription options on a PEP node, and §6.4 their defaults: what Prosody's
// mod_pep offers (pubsub#include_body) and pubsub#deliver, which holds a subscriber's events
// back without ending its subscription. The options are a data form of the
// pubsub#subscribe_options type; a field PEP does not keep is refused with <invalid-options/>
// (§6.3.5) rather than ignored, so a client never believes in an option that does nothing.
import { Element } from 'ltx';
import type { Host } from '../../core/host.js';
import type { IqRequest } from '../../core/iq.js';
import { DEFAULT_SUBSCRIPTION_OPTIONS, type SubscriptionOptions } from '../../state/pep.js';
import { StanzaError } from '../../xmpp/errors.js';
import { type Jid, parseJid } from '../../xmpp/jid.js';
import { NS_DATA, NS_PUBSUB, pubsubError } from './forms.js';

export const FORM_SUBSCRIBE_OPTIONS = 'http://jabber.org/protocol/pubsub#subscribe_options';

const invalid = (text: string): StanzaError => pubsubError('bad-request', 'invalid-options', text);

function parseBoolean(value: string | undefined, field: string): boolean {
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw invalid(`${field} is not a boolean`);
}

/** The options a submitted form sets, over `base`; a field PEP does not keep is refused. */
export function readOptions(form: Element | undefined, base: SubscriptionOptions): SubscriptionOptions {
  if (!form || form.attrs.xmlns !== NS_DATA) throw invalid('No subscribe_options form');
  const options = { ...base };
  for (const field of form.getChildren('field')) {
    const name = field.attrs.var;
    const value = field.getChildText('value') ?? undefined;
    switch (name) {
      case 'FORM_TYPE':
        if (value !== FORM_SUBSCRIBE_OPTIONS) throw invalid(`FORM_TYPE ${String(value)} is not ${FORM_SUBSCRIBE_OPTIONS}`);
        break;
      case 'pubsub#deliver':
        options.deliver = parseBoolean(value, name);
        break;
      case 'pubsub#include_body':
        options.include_body = parseBoolean(value, name);
        break;
      // Digests are never sent: asking for none is what happens anyway.
      case 'pubsub#digest':
        if (parseBoolean(value, name)) throw invalid('Digests are not supported');
        break;
      default:
        throw invalid(`${String(name)} is not a subscription option of this service`);
    }
  }
  return options;
}

/** The options as a form: `form` to fill in (§6.3.2), `result` after a subscribe (§6.3.7). */
export function optionsForm(options: SubscriptionOptions, type: 'form' | 'result'): Element {
  const form = new Element('x', { xmlns: NS_DATA, type });
  form.c('field', { var: 'FORM_TYPE', type: 'hidden' }).c('value').t(FORM_SUBSCRIBE_OPTIONS);
  form.c('field', { var: 'pubsub#deliver', type: 'boolean', label: 'Enable delivery?' }).c('value').t(options.deliver ? '1' : '0');
  form.c('field', { var: 'pubsub#include_body', type: 'boolean', label: 'Receive message body in addition to payload?' }).c('value').t(options.include_body ? '1' : '0');
  return form;
}

/** The node and subscriber an <options/> names, both required (§6.3.4.3). */
function target(element: Element): { node: string; jid: Jid } {
  const { node, jid } = element.attrs;
  if (typeof jid !== 'string' || jid === '') throw pubsubError('bad-request', 'jid-required');
  if (typeof node !== 'string' || node === '') throw pubsubError('bad-request', 'nodeid-required');
  try {
    return { node, jid: parseJid(jid) };
  } catch {
    throw pubsubError('bad-request', 'invalid-jid');
  }
}

/** The options of a subscription the requester may see: its own (same bare JID) or, for the owner, any. */
async function subscription(host: Host, request: IqRequest, element: Element): Promise<{ owner: string; node: string; jid: Jid; options: SubscriptionOptions }> {
  const owner = request.to.bare;
  const { node, jid } = target(element);
  if (!(await host.state.pep.config(owner, node))) throw new StanzaError('item-not-found');
  // §6.3.4.1: another entity's options are the owner's business only.
  if (request.from.bare !== jid.bare && request.from.bare !== owner) throw new StanzaError('forbidden');
  const found = (await host.state.pep.subscriptions(owner, node)).find((candidate) => candidate.jid === jid.full);
  if (!found) throw pubsubError('unexpected-request', 'not-subscribed');
  return { owner, node, jid, options: found.options };
}

/** §6.3.2: the subscription's options as a form. */
export async function onOptionsGet(host: Host, request: IqRequest, element: Element): Promise<Element> {
  const { node, jid, options } = await subscription(host, request, element);
  const reply = new Element('pubsub', { xmlns: NS_PUBSUB });
  reply.c('options', { node, jid: jid.full }).cnode(optionsForm(options, 'form'));
  return reply;
}

/** §6.3.5: a submitted form replaces the options it names. */
export async function onOptionsSet(host: Host, request: IqRequest, element: Element): Promise<void> {
  const { owner, node, jid, options } = await subscription(host, request, element);
  const updated = readOptions(element.getChild('x', NS_DATA), options);
  if (!(await host.state.pep.setSubscriptionOptions(owner, node, jid.full, updated))) throw pubsubError('unexpected-request', 'not-subscribed');
}

/** §6.4: the options a subscription starts with, for the service or one node. */
export async function onDefaultOptions(host: Host, request: IqRequest, element: Element): Promise<Element> {
  const node = typeof element.attrs.node === 'string' && element.attrs.node !== '' ? element.attrs.node : undefined;
  if (node !== undefined && !(await host.state.pep.config(request.to.bare, node))) throw new StanzaError('item-not-found');
  const reply = new Element('pubsub', { xmlns: NS_PUBSUB });
  reply.c('default', node === undefined ? {} : { node }).cnode(optionsForm(DEFAULT_SUBSCRIPTION_OPTIONS, 'form'));
  return reply;
}

/**
 * §6.3.7: the <options/> that may follow a <subscribe/>. It names no node or subscriber of its
 * own (bad-request otherwise); undefined when there is none.
 */
export function subscribeOptions(request: IqRequest): SubscriptionOptions | undefined {
  const element = request.payload.getChild('options');
  if (!element) return undefined;
  if (element.attrs.node !== undefined || element.attrs.jid !== undefined) throw new StanzaError('bad-request', 'The options of a subscribe name no node or jid');
  return readOptions(element.getChild('x', NS_DATA), DEFAULT_SUBSCRIPTION_OPTIONS);
}

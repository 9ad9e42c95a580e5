// XEP-0060 explicit subscriptions on a PEP node, as far as Prosody's mod_pep keeps them: subscribe
// (§6.1) and unsubscribe (§6.2) by an entity the access model lets read, its own subscriptions
// (§5.6) and affiliations (§5.7), and the owner's view and management of a node's subscribers
// (§8.8). Subscribers get the node's events besides the contacts notified by their caps
// (notify.ts); the access model is checked again at each event, so a subscription outlives a
// roster change but delivers nothing the owner no longer allows.
import { Element } from 'ltx';
import type { Host } from '../../core/host.js';
import type { IqRequest } from '../../core/iq.js';
import type { PepNodeConfig, SubscriptionOptions } from '../../state/pep.js';
import { StanzaError } from '../../xmpp/errors.js';
import { type Jid, parseJid } from '../../xmpp/jid.js';
import { checkAccess } from './access.js';
import { NS_PUBSUB, NS_PUBSUB_OWNER, pubsubError } from './forms.js';
import { itemEvent } from './notify.js';
import { optionsForm, subscribeOptions } from './options.js';

function nodeAttr(element: Element): string {
  const node = element.attrs.node;
  if (typeof node !== 'string' || node === '') throw pubsubError('bad-request', 'nodeid-required');
  return node;
}

function jidAttr(element: Element): Jid {
  const jid = element.attrs.jid;
  if (typeof jid !== 'string' || jid === '') throw pubsubError('bad-request', 'jid-required');
  try {
    return parseJid(jid);
  } catch {
    throw pubsubError('bad-request', 'invalid-jid');
  }
}

async function existing(host: Host, owner: string, node: string): Promise<PepNodeConfig> {
  const config = await host.state.pep.config(owner, node);
  if (!config) throw new StanzaError('item-not-found');
  return config;
}

/** XEP-0060 §6.1.3.1, §6.2.3.3: only the owner acts for another entity. */
function sameEntity(owner: string, requester: Jid, jid: Jid): void {
  if (requester.bare !== owner && requester.bare !== jid.bare) throw pubsubError('bad-request', 'invalid-jid');
}

async function addSubscriber(host: Host, owner: string, node: string, config: PepNodeConfig, jid: Jid, options?: SubscriptionOptions): Promise<void> {
  // The subscriber must be able to read the node (§6.1.3.2 to §6.1.3.4: the access model's errors).
  await checkAccess(host, owner, jid.bare, config);
  const limit = host.config.limits.pepSubscriptionsPerNode;
  const outcome = await host.state.pep.subscribe(owner, node, jid.full, limit, options);
  if (outcome === 'no-node') throw new StanzaError('item-not-found');
  if (outcome === 'full') {
    host.telemetry.limitEnforced('pep_subscriptions');
    throw pubsubError('policy-violation', 'too-many-subscriptions', `No more than ${limit} subscriptions to a node`);
  }
}

async function removeSubscriber(host: Host, owner: string, node: string, jid: Jid): Promise<void> {
  if (!(await host.state.pep.unsubscribe(owner, node, jid.full))) throw pubsubError('unexpected-request', 'not-subscribed');
}

/** §6.1.7: a new subscriber gets the last item at once, unless the node says never. */
async function sendLastItem(host: Host, owner: string, node: string, config: PepNodeConfig, to: string): Promise<void> {
  if (config.send_last_published_item === 'never') return;
  const found = await host.state.pep.items(owner, node, { max: 1 });
  if (!found || found.items.length === 0) return;
  const event = itemEvent(owner, node, found.items);
  event.attrs.to = to;
  await host.router.send(event);
}

function subscriptionReply(node: string, jid: string, state: 'subscribed' | 'none'): Element {
  const reply = new Element('pubsub', { xmlns: NS_PUBSUB });
  reply.c('subscription', { node, jid, subscription: state });
  return reply;
}

/** §6.1, with the subscription options of §6.3.7 when an <options/> follows the <subscribe/>. */
export async function onSubscribe(host: Host, request: IqRequest, element: Element): Promise<void> {
  const owner = request.to.bare;
  const node = nodeAttr(element);
  const jid = jidAttr(element);
  const options = subscribeOptions(request);
  sameEntity(owner, request.from, jid);
  const config = await existing(host, owner, node);
  if (request.from.bare !== owner) await checkAccess(host, owner, request.from.bare, config);
  await addSubscriber(host, owner, node, config, jid, options);
  const reply = subscriptionReply(node, jid.full, 'subscribed');
  if (options) reply.c('options').cnode(optionsForm(options, 'result'));
  request.respond(reply);
  if (options?.deliver !== false) await sendLastItem(host, owner, node, config, jid.full);
}

export async function onUnsubscribe(host: Host, request: IqRequest, element: Element): Promise<Element> {
  const owner = request.to.bare;
  const node = nodeAttr(element);
  const jid = jidAttr(element);
  sameEntity(owner, request.from, jid);
  await existing(host, owner, node);
  await removeSubscriber(host, owner, node, jid);
  return subscriptionReply(node, jid.full, 'none');
}

/** §5.6: the requester's own subscriptions on this account's service (one node's, or all). */
export async function onOwnSubscriptions(host: Host, request: IqRequest, element: Element): Promise<Element> {
  const owner = request.to.bare;
  const node = typeof element.attrs.node === 'string' && element.attrs.node !== '' ? element.attrs.node : undefined;
  if (node !== undefined) await existing(host, owner, node);
  const reply = new Element('pubsub', { xmlns: NS_PUBSUB });
  const list = reply.c('subscriptions', node === undefined ? {} : { node });
  for (const subscription of await host.state.pep.subscriptions(owner, node)) {
    if (parseJid(subscription.jid).bare !== request.from.bare) continue;
    list.c('subscription', { node: subscription.node, jid: subscription.jid, subscription: 'subscribed' });
  }
  return reply;
}

/** §5.7: the requester's affiliations: the owner owns every node; a whitelisted entity is a member. */
export async function onOwnAffiliations(host: Host, request: IqRequest, element: Element): Promise<Element> {
  const owner = request.to.bare;
  const node = typeof element.attrs.node === 'string' && element.attrs.node !== '' ? element.attrs.node : undefined;
  const nodes = await host.state.pep.nodes(owner);
  if (node !== undefined && !nodes.has(node)) throw new StanzaError('item-not-found');
  const reply = new Element('pubsub', { xmlns: NS_PUBSUB });
  const list = reply.c('affiliations', node === undefined ? {} : { node });
  for (const [name, config] of nodes) {
    if (node !== undefined && name !== node) continue;
    if (request.from.bare === owner) list.c('affiliation', { node: name, affiliation: 'owner' });
    else if (config.whitelist.includes(request.from.bare)) list.c('affiliation', { node: name, affiliation: 'member' });
  }
  return reply;
}

/** §8.8.1: the owner lists a node's subscribers (without a node, as Prosody does: every node's). */
export async function onOwnerSubscriptions(host: Host, owner: string, element: Element): Promise<Element> {
  const node = typeof element.attrs.node === 'string' && element.attrs.node !== '' ? element.attrs.node : undefined;
  if (node !== undefined) await existing(host, owner, node);
  const reply = new Element('pubsub', { xmlns: NS_PUBSUB_OWNER });
  const list = reply.c('subscriptions', node === undefined ? {} : { node });
  for (const subscription of await host.state.pep.subscriptions(owner, node)) {
    list.c('subscription', { node: subscription.node, jid: subscription.jid, subscription: 'subscribed' });
  }
  return reply;
}

/** §8.8.2: the owner subscribes (`subscribed`) or unsubscribes (`none`) other entities. */
export async function onOwnerSetSubscriptions(host: Host, owner: string, element: Element): Promise<void> {
  const node = nodeAttr(element);
  const config = await existing(host, owner, node);
  for (const subscription of element.getChildren('subscription')) {
    const jid = jidAttr(subscription);
    const state = subscription.attrs.subscription;
    if (state === 'subscribed') await addSubscriber(host, owner, node, config, jid);
    else if (state === 'none') await removeSubscriber(host, owner, node, jid);
    else throw new StanzaError('bad-request', `Subscription state ${String(state)} is not supported on PEP`);
  }
}

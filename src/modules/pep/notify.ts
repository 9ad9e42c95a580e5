// XEP-0163 §4.3 notifications by interest: an event of an account's node goes to each available
// resource of the account and of its contacts that the node's access model lets read, whose
// caps (XEP-0115) include NODE+notify (recipients.ts). Interest is read when the event is sent,
// from the presence each resource last sent, so a caps change counts without a reconnect.
// Explicit subscribers (XEP-0060 §6.1, as Prosody's mod_pep keeps them beside caps interest) get
// it too. The last items go to a resource that comes online wanting them.
import { clone, Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import { availableResources } from '../../core/presence.js';
import { hasTo } from '../../core/roster.js';
import type { C2SSession } from '../../core/session.js';
import type { PepItem, PepNodeConfig, PepSubscriber } from '../../state/pep.js';
import type { SessionRecord } from '../../state/sessions.js';
import { allows, checkAccess } from './access.js';
import type { ClientCaps } from './caps.js';
import { NS_PUBSUB_EVENT } from './forms.js';
import { type Audience, recipients } from './recipients.js';
import { eventSummary, withSummary } from './summary.js';

const LAST_ITEM_LANES = 8;

/** An event message from the owner (headline, as Prosody sends them), without `to`. */
export function eventMessage(owner: string, node: string, build: (items: Element) => void): Element {
  const message = new Element('message', { from: owner, type: 'headline' });
  build(message.c('event', { xmlns: NS_PUBSUB_EVENT }).c('items', { node }));
  return message;
}

export function itemEvent(owner: string, node: string, items: PepItem[]): Element {
  return eventMessage(owner, node, (parent) => {
    for (const item of items) parent.c('item', { id: item.id }).cnode(parse(item.xml));
  });
}

/** Whether a resource's last presence announces NODE+notify. */
async function wants(caps: ClientCaps, record: SessionRecord, node: string): Promise<boolean> {
  if (record.presence === undefined) return false;
  const announced = caps.capsOf(record.presence);
  if (!announced) return false;
  return (await caps.features(announced.ver))?.has(`${node}+notify`) === true;
}

/**
 * Sends an event to every recipient (recipients.ts): one envelope per node that holds some, one
 * stanza per remote subscriber; those whose subscription asked for a body get a copy with one.
 * `subscribers`: the node's explicit subscribers when the caller has them (a publish reads them
 * in its own step); read here otherwise. `audience`: the reads of recipients.ts, if started already.
 */
export async function broadcast(host: Host, caps: ClientCaps, owner: string, node: string, config: PepNodeConfig, event: Element, subscribers?: readonly PepSubscriber[], audience?: Promise<Audience>): Promise<void> {
  const explicit = subscribers ?? (await host.state.pep.subscriptions(owner, node));
  const { resources, remote, withBody } = await recipients(host, caps, owner, node, config, explicit, audience);
  const summary = withBody.size > 0 ? eventSummary(event) : undefined;
  const bodied = summary === undefined ? undefined : withSummary(event, summary);
  if (!bodied) {
    await host.delivery.toResources(resources, event);
  } else {
    await Promise.all([
      host.delivery.toResources(resources.filter((target) => !withBody.has(target.full_jid)), event),
      host.delivery.toResources(resources.filter((target) => withBody.has(target.full_jid)), bodied),
    ]);
  }
  for (const to of remote) {
    const copy = clone(bodied && withBody.has(to) ? bodied : event);
    copy.attrs.to = to;
    await host.router.send(copy);
  }
}

/**
 * XEP-0163 §4.3.2 for one resource that just told the owner its caps by presence (a remote
 * contact's, or a contact's directed presence): the last item of each node of the owner that its
 * features want and `reader` (its bare JID) may read.
 */
export async function lastItemsTo(host: Host, owner: string, reader: string, features: ReadonlySet<string>, send: (event: Element) => void | Promise<void>): Promise<void> {
  for (const feature of features) {
    if (!feature.endsWith('+notify')) continue;
    const node = feature.slice(0, -'+notify'.length);
    const found = await host.state.pep.items(owner, node, { max: 1 });
    if (!found || found.items.length === 0 || found.config.send_last_published_item !== 'on_sub_and_presence') continue;
    if (!(await mayRead(host, owner, reader, found.config))) continue;
    await send(itemEvent(owner, node, found.items));
  }
}

/**
 * XEP-0163 §4.3.2 (send_last_published_item on_sub_and_presence): a resource that became
 * available, or changed caps, gets the last item of each node it wants notifications of, from
 * its own account and each account it is subscribed to.
 */
export async function sendLastItems(host: Host, session: C2SSession, features: ReadonlySet<string>): Promise<void> {
  const nodes = [...features].filter((feature) => feature.endsWith('+notify')).map((feature) => feature.slice(0, -'+notify'.length));
  if (nodes.length === 0) return;
  const user = session.bare_jid as string;
  const roster = await host.state.rosters.load(user);
  const owners = [user, ...[...roster.items.values()].filter((item) => hasTo(item)).map((item) => item.jid)];
  // A few owners at a time: one read per owner and node, whose latency would otherwise add up.
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < owners.length && !session.destroyed) {
      const owner = owners[next++] as string;
      for (const node of nodes) {
        const found = await host.state.pep.items(owner, node, { max: 1 });
        if (!found || found.items.length === 0 || found.config.send_last_published_item !== 'on_sub_and_presence') continue;
        // Our 'to' subscription is the owner's 'from' (the server keeps both sides): no read for presence.
        const allowed = owner === user || found.config.access_model === 'open' || found.config.access_model === 'presence'
          || (found.config.access_model === 'whitelist' ? found.config.whitelist.includes(user) : await mayRead(host, owner, user, found.config));
        if (!allowed || session.destroyed) continue;
        const event = itemEvent(owner, node, found.items);
        event.attrs.to = session.full_jid as string;
        session.send(event);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(LAST_ITEM_LANES, owners.length) }, lane));
}

export async function mayRead(host: Host, owner: string, requester: string, config: PepNodeConfig): Promise<boolean> {
  try {
    await checkAccess(host, owner, requester, config);
    return true;
  } catch {
    return false;
  }
}

/**
 * XEP-0060 §4.3.5 (send_last_published_item on_sub): a new subscriber's available resources get
 * the last item of each node of the owner that they want and may read.
 */
export async function lastItemsToSubscriber(host: Host, caps: ClientCaps, owner: string, subscriber: string): Promise<void> {
  const resources = await availableResources(host, subscriber);
  if (resources.length === 0) return;
  const item = (await host.state.rosters.entry(owner, subscriber)).item;
  for (const [node, config] of await host.state.pep.nodes(owner)) {
    if (config.send_last_published_item === 'never' || !allows(config, subscriber, item)) continue;
    const wanting: SessionRecord[] = [];
    for (const record of resources) if (await wants(caps, record, node)) wanting.push(record);
    if (wanting.length === 0) continue;
    const found = await host.state.pep.items(owner, node, { max: 1 });
    if (found && found.items.length > 0) await host.delivery.toResources(wanting, itemEvent(owner, node, found.items));
  }
}

// XEP-0163 §4.3 notifications by interest: an event of an account's node goes to each available
// resource of the account and of its contacts that the node's access model lets read, whose
// caps (XEP-0115) include NODE+notify. Interest is read when the event is sent, from the
// presence each resource last broadcast, so a caps change counts without a reconnect. Explicit
// subscribers (XEP-0060 §6.1, as Prosody's mod_pep keeps them beside caps interest) get it too.
import { Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import { availableResources } from '../../core/presence.js';
import { hasFrom, hasTo } from '../../core/roster.js';
import type { C2SSession } from '../../core/session.js';
import type { PepItem, PepNodeConfig } from '../../state/pep.js';
import type { RosterSnapshot } from '../../state/roster.js';
import { REMOTE_NODE, type SessionRecord } from '../../state/sessions.js';
import { bareOf, domainOf } from '../../xmpp/jid-string.js';
import { type Jid, parseJid } from '../../xmpp/jid.js';
import { allows, checkAccess } from './access.js';
import type { ClientCaps } from './caps.js';
import { NS_PUBSUB_EVENT } from './forms.js';

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

/** Whether `jid` (an explicit subscriber) may read the node: the owner, or whom the access model allows. */
function subscriberAllowed(owner: string, config: PepNodeConfig, jid: Jid, roster: RosterSnapshot | undefined): boolean {
  return jid.bare === owner || allows(config, jid.bare, roster?.items.get(jid.bare));
}

/** Where an event is written: a session of ours wherever it is, or a remote resource (REMOTE_NODE). */
type Target = Pick<SessionRecord, 'full_jid' | 'node'>;

/**
 * Where an event of `owner`'s `node` goes: each interested resource of the account and of its
 * contacts (caps, XEP-0163 §4.3; a remote contact's resources as the account heard their
 * presence, state.remoteResources), and each explicit subscriber (XEP-0060 §6.1) the access model
 * still allows (a roster change may have taken that away): a full JID as that resource, a bare
 * one as each available resource of non-negative priority (RFC 6121 §8.5.2.1.1), a remote one
 * through the router. Each resource once.
 */
export async function recipients(host: Host, caps: ClientCaps, owner: string, node: string, config: PepNodeConfig, subscribers: readonly string[] = []): Promise<{ resources: Target[]; remote: string[] }> {
  // A whitelist naming nobody is private (bookmarks): the owner's own resources only.
  const ownOnly = config.access_model === 'whitelist' && config.whitelist.length === 0;
  const roster = ownOnly && subscribers.length === 0 ? undefined : await host.state.rosters.load(owner);
  const candidates = [...(await availableResources(host, owner))];
  const remoteContacts = new Set<string>();
  if (!ownOnly && roster) {
    for (const item of roster.items.values()) {
      if (!hasFrom(item) || !allows(config, item.jid, item)) continue;
      if (domainOf(item.jid) !== host.domain) remoteContacts.add(item.jid);
      else candidates.push(...(await availableResources(host, item.jid)));
    }
  }
  const chosen = new Map<string, Target>();
  for (const record of candidates) if (await wants(caps, record, node)) chosen.set(record.full_jid, record);
  if (remoteContacts.size > 0) {
    for (const [jid, ver] of await host.state.remoteResources.list(owner)) {
      if (remoteContacts.has(bareOf(jid)) && (await caps.features(ver))?.has(`${node}+notify`) === true) chosen.set(jid, { full_jid: jid, node: REMOTE_NODE });
    }
  }
  const remote: string[] = [];
  for (const subscriber of subscribers) {
    const jid = tryJid(subscriber);
    if (!jid || !subscriberAllowed(owner, config, jid, roster)) continue;
    if (jid.domain !== host.domain) {
      remote.push(jid.full);
      continue;
    }
    const resources = await host.state.registry.resources(jid.bare);
    for (const record of resources) {
      const wanted = jid.isBare() ? record.presence !== undefined && record.priority >= 0 : record.full_jid === jid.full;
      if (wanted) chosen.set(record.full_jid, record);
    }
  }
  return { resources: [...chosen.values()], remote };
}

/**
 * Sends an event to every recipient: one envelope per node that holds some, one stanza per
 * remote subscriber. `subscribers`: the node's explicit subscribers when the caller has them
 * (a publish reads them in its own step); read here otherwise.
 */
export async function broadcast(host: Host, caps: ClientCaps, owner: string, node: string, config: PepNodeConfig, event: Element, subscribers?: readonly string[]): Promise<void> {
  const explicit = subscribers ?? (await host.state.pep.subscriptions(owner, node)).map(({ jid }) => jid);
  const { resources, remote } = await recipients(host, caps, owner, node, config, explicit);
  await host.delivery.toResources(resources, event);
  for (const to of remote) {
    const copy = parse(event.toString());
    copy.attrs.to = to;
    await host.router.send(copy);
  }
}

function tryJid(text: string): Jid | undefined {
  try {
    return parseJid(text);
  } catch {
    return undefined;
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

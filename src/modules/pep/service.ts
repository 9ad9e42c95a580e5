// XEP-0060 as PEP needs it (XEP-0163): publish with publish-options (XEP-0223), items, retract,
// purge, delete, create and configure, on the account's bare JID. Only the owner changes a
// node; anyone the access model allows reads it.
import { Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { IqRequest } from '../../core/iq.js';
import { randomId } from '../../random-id.js';
import { DEFAULT_NODE_CONFIG, type PepLimits, type PepNodeConfig, type PepPublishResult } from '../../state/pep.js';
import { StanzaError } from '../../xmpp/errors.js';
import { checkAccess } from './access.js';
import type { ClientCaps } from './caps.js';
import { applyFields, configForm, formFields, FORM_NODE_CONFIG, FORM_PUBLISH_OPTIONS, NS_PUBSUB, NS_PUBSUB_OWNER, pubsubError } from './forms.js';
import { broadcast, eventMessage, itemEvent } from './notify.js';
import { type Audience, readAudience } from './recipients.js';
import { onOwnerSetSubscriptions, onOwnerSubscriptions } from './subscriptions.js';

export function pepLimits(host: Host): PepLimits {
  const { limits } = host.config;
  return { nodes: limits.pepNodes, itemsPerNode: limits.pepItemsPerNode, itemBytes: limits.pepItemBytes, totalBytes: limits.pepTotalBytes };
}

/** What a node's publish changed, for modules that mirror it (avatars in presence, bookmarks). */
export interface Published {
  owner: string;
  node: string;
  id: string;
  payload: Element;
}

export type PublishListener = (published: Published) => Promise<void>;
/** Told after any change of a node's items (publish, retract, purge, delete). */
export type ChangeListener = (owner: string, node: string) => Promise<void>;

/** How a module's own publish differs from a client's. */
export interface PublishFlags {
  /** Without the listeners (a module mirroring data, which tells them itself when done). */
  quiet?: boolean;
  /** false: `options` only shape a new node; an existing one is taken as it is. */
  preconditions?: boolean;
}

function nodeOf(element: Element): string {
  const node = element.attrs.node;
  if (typeof node !== 'string' || node === '') throw pubsubError('bad-request', 'nodeid-required');
  return node;
}

/** The one element of a pubsub request besides publish-options. */
function action(request: IqRequest): Element {
  const children = request.payload.getChildElements().filter((child) => child.name !== 'publish-options');
  const first = children[0];
  if (children.length !== 1 || !first) throw new StanzaError('bad-request', 'A pubsub request holds one action');
  return first;
}

function ownerOnly(request: IqRequest): string {
  if (request.from.bare !== request.to.bare) throw new StanzaError('forbidden', 'Only the owner changes a PEP node');
  return request.to.bare;
}

export class PepService {
  readonly listeners: PublishListener[] = [];
  readonly changeListeners: ChangeListener[] = [];

  constructor(
    private readonly host: Host,
    private readonly caps: ClientCaps,
  ) {}

  /** Publishes one item as the owner; notifies and tells the listeners. */
  async publish(owner: string, node: string, id: string, payload: Element, options: Map<string, string[]> | undefined, flags: PublishFlags = {}): Promise<PepPublishResult & { outcome: 'published' }> {
    const limits = pepLimits(this.host);
    const { config: create, changed } = options ? applyFields(DEFAULT_NODE_CONFIG, options, limits.itemsPerNode) : { config: DEFAULT_NODE_CONFIG, changed: {} };
    // Who may get the event is read beside the write, not after it, unless the publish asks for a
    // whitelist (private nodes, bookmarks: nobody else's to read).
    const audience = this.prefetch(owner, create);
    const result = await this.host.state.pep.publish(owner, node, { id, xml: payload.toString() }, create, flags.preconditions === false ? {} : changed, limits);
    switch (result.outcome) {
      case 'too-large':
        this.host.telemetry.limitEnforced('pep_item_bytes');
        throw pubsubError('not-acceptable', 'payload-too-big', `Larger than the ${limits.itemBytes} bytes allowed`);
      case 'nodes-full':
        this.host.telemetry.limitEnforced('pep_nodes');
        throw pubsubError('not-allowed', 'max-nodes-exceeded', `No more than ${limits.nodes} nodes`);
      case 'bytes-full':
        this.host.telemetry.limitEnforced('pep_total_bytes');
        throw new StanzaError('resource-constraint', `No more than ${limits.totalBytes} bytes of PEP data`);
      case 'precondition-not-met':
        throw pubsubError('conflict', 'precondition-not-met');
    }
    await broadcast(this.host, this.caps, owner, node, result.config, itemEvent(owner, node, [{ id, xml: payload.toString() }]), result.subscribers, audience);
    if (flags.quiet) return result;
    // The item is published: what a listener fails to mirror is logged, not the publisher's error.
    for (const listener of this.listeners) {
      await listener({ owner, node, id, payload }).catch((error: unknown) => this.host.log.warn({ event: 'pep_listener_failed', node, err: error }));
    }
    await this.changed(owner, node);
    return result;
  }

  private prefetch(owner: string, create: PepNodeConfig): Promise<Audience> | undefined {
    if (create.access_model === 'whitelist') return undefined;
    const audience = readAudience(this.host, owner);
    // A publish refused by its limits never reads it: its failure is then nobody's.
    audience.catch(() => undefined);
    return audience;
  }

  /** Tells the change listeners; a failure is logged, the change stands. */
  async changed(owner: string, node: string): Promise<void> {
    for (const listener of this.changeListeners) {
      await listener(owner, node).catch((error: unknown) => this.host.log.warn({ event: 'pep_listener_failed', node, err: error }));
    }
  }

  async onPublish(request: IqRequest): Promise<Element> {
    const owner = ownerOnly(request);
    const publish = action(request);
    const node = nodeOf(publish);
    const items = publish.getChildren('item');
    const item = items[0];
    if (items.length > 1) throw pubsubError('bad-request', 'invalid-payload', 'One item per publish');
    const payloads = item?.getChildElements() ?? [];
    const payload = payloads[0];
    if (!item || !payload) throw pubsubError('bad-request', 'item-required');
    if (payloads.length > 1) throw pubsubError('bad-request', 'invalid-payload');
    const id = typeof item.attrs.id === 'string' && item.attrs.id !== '' ? item.attrs.id : randomId(12);
    const options = formFields(request.payload.getChild('publish-options'), FORM_PUBLISH_OPTIONS);
    await this.publish(owner, node, id, payload, options);
    const reply = new Element('pubsub', { xmlns: NS_PUBSUB });
    reply.c('publish', { node }).c('item', { id });
    return reply;
  }

  async onItems(request: IqRequest): Promise<Element> {
    const owner = request.to.bare;
    const items = action(request);
    if (items.name !== 'items') throw new StanzaError('feature-not-implemented', `pubsub ${items.name} is not supported on PEP`);
    const node = nodeOf(items);
    const ids = items.getChildren('item').map((item) => item.attrs.id).filter((id): id is string => typeof id === 'string');
    const rawMax = items.attrs.max_items;
    const max = typeof rawMax === 'string' && /^\d{1,9}$/.test(rawMax) ? Number(rawMax) : undefined;
    if (rawMax !== undefined && max === undefined) throw new StanzaError('bad-request', 'max_items is not a number');
    const config = await this.host.state.pep.config(owner, node);
    if (!config) throw new StanzaError('item-not-found');
    await checkAccess(this.host, owner, request.from.bare, config);
    const found = await this.host.state.pep.items(owner, node, ids.length > 0 ? { ids } : max === undefined ? {} : { max });
    if (!found) throw new StanzaError('item-not-found');
    if (ids.length > 0 && found.items.length === 0) throw new StanzaError('item-not-found');
    const reply = new Element('pubsub', { xmlns: NS_PUBSUB });
    const list = reply.c('items', { node });
    for (const item of found.items) list.c('item', { id: item.id }).cnode(parse(item.xml));
    return reply;
  }

  async onRetract(request: IqRequest): Promise<void> {
    const owner = ownerOnly(request);
    const retract = action(request);
    const node = nodeOf(retract);
    const id = retract.getChild('item')?.attrs.id;
    if (typeof id !== 'string' || id === '') throw pubsubError('bad-request', 'item-required');
    const notify = retract.attrs.notify;
    await this.retract(owner, node, id, notify === undefined ? undefined : notify === 'true' || notify === '1', () => request.respond());
  }

  /** Retracts one item; notifies when `notify` says so, or (undefined) the node's notify_retract does. */
  async retract(owner: string, node: string, id: string, notify: boolean | undefined, answered?: () => void, quiet = false): Promise<void> {
    const config = await this.host.state.pep.config(owner, node);
    if (!config) throw new StanzaError('item-not-found');
    if (!(await this.host.state.pep.retract(owner, node, id))) throw new StanzaError('item-not-found');
    answered?.();
    if (notify ?? config.notify_retract) {
      await broadcast(this.host, this.caps, owner, node, config, eventMessage(owner, node, (items) => items.c('retract', { id })));
    }
    if (!quiet) await this.changed(owner, node);
  }

  async onCreate(request: IqRequest): Promise<Element | void> {
    const owner = ownerOnly(request);
    const create = action(request);
    const node = nodeOf(create);
    const limits = pepLimits(this.host);
    const fields = formFields(request.payload.getChild('configure') ?? undefined, FORM_NODE_CONFIG);
    const config = fields ? applyFields(DEFAULT_NODE_CONFIG, fields, limits.itemsPerNode).config : DEFAULT_NODE_CONFIG;
    const outcome = await this.host.state.pep.create(owner, node, config, limits);
    if (outcome === 'exists') throw new StanzaError('conflict', 'The node exists');
    if (outcome === 'nodes-full') throw pubsubError('not-allowed', 'max-nodes-exceeded', `No more than ${limits.nodes} nodes`);
  }

  async onOwnerGet(request: IqRequest): Promise<Element> {
    const owner = ownerOnly(request);
    const configure = action(request);
    if (configure.name === 'subscriptions') return onOwnerSubscriptions(this.host, owner, configure);
    if (configure.name !== 'configure' && configure.name !== 'affiliations') throw new StanzaError('feature-not-implemented', `pubsub#owner ${configure.name} is not supported on PEP`);
    const node = nodeOf(configure);
    const config = await this.host.state.pep.config(owner, node);
    if (!config) throw new StanzaError('item-not-found');
    const reply = new Element('pubsub', { xmlns: NS_PUBSUB_OWNER });
    if (configure.name === 'configure') {
      reply.c('configure', { node }).cnode(configForm(config));
    } else {
      const list = reply.c('affiliations', { node });
      list.c('affiliation', { jid: owner, affiliation: 'owner' });
      for (const jid of config.whitelist) list.c('affiliation', { jid, affiliation: 'member' });
    }
    return reply;
  }

  async onOwnerSet(request: IqRequest): Promise<void> {
    const owner = ownerOnly(request);
    const element = action(request);
    const node = nodeOf(element);
    const config = await this.host.state.pep.config(owner, node);
    if (!config) throw new StanzaError('item-not-found');
    switch (element.name) {
      case 'configure':
        await this.configure(owner, node, config, element);
        return;
      case 'purge':
        if (!(await this.host.state.pep.purge(owner, node))) throw new StanzaError('item-not-found');
        request.respond();
        await broadcast(this.host, this.caps, owner, node, config, nodeEvent(owner, 'purge', node));
        await this.changed(owner, node);
        return;
      case 'delete': {
        // The subscribers go with the node: read them first, to tell them (XEP-0060 §8.4.2).
        const subscribers = await this.host.state.pep.subscriptions(owner, node);
        if (!(await this.host.state.pep.deleteNode(owner, node))) throw new StanzaError('item-not-found');
        request.respond();
        await broadcast(this.host, this.caps, owner, node, config, nodeEvent(owner, 'delete', node), subscribers);
        await this.changed(owner, node);
        return;
      }
      case 'affiliations':
        await this.setAffiliations(owner, node, config, element);
        return;
      case 'subscriptions':
        await onOwnerSetSubscriptions(this.host, owner, element);
        return;
      default:
        throw new StanzaError('feature-not-implemented', `pubsub#owner ${element.name} is not supported on PEP`);
    }
  }

  /** XEP-0060 §8.9.2: `member` or `publisher` puts a JID on the whitelist, `none` takes it off. */
  private async setAffiliations(owner: string, node: string, config: PepNodeConfig, element: Element): Promise<void> {
    const whitelist = new Set(config.whitelist);
    for (const affiliation of element.getChildren('affiliation')) {
      const jid = affiliation.attrs.jid;
      const kind = affiliation.attrs.affiliation;
      if (typeof jid !== 'string' || jid === '') throw new StanzaError('bad-request', 'An affiliation names a jid');
      const bare = jid.split('/')[0] as string;
      if (kind === 'member' || kind === 'publisher') whitelist.add(bare);
      else if (kind === 'none' || kind === 'outcast') whitelist.delete(bare);
      else throw new StanzaError('bad-request', `Affiliation ${String(kind)} is not supported on PEP`);
    }
    if (!(await this.host.state.pep.configure(owner, node, { ...config, whitelist: [...whitelist] }))) throw new StanzaError('item-not-found');
  }

  private async configure(owner: string, node: string, config: PepNodeConfig, element: Element): Promise<void> {
    const fields = formFields(element, FORM_NODE_CONFIG);
    if (!fields) throw new StanzaError('bad-request', 'No configuration form');
    const { config: updated } = applyFields(config, fields, pepLimits(this.host).itemsPerNode);
    if (!(await this.host.state.pep.configure(owner, node, updated))) throw new StanzaError('item-not-found');
  }
}

/** `<event><purge node/></event>` or `<delete node/>` (XEP-0060 §8.4, §8.5). */
function nodeEvent(owner: string, what: 'purge' | 'delete', node: string): Element {
  const message = new Element('message', { from: owner, type: 'headline' });
  message.c('event', { xmlns: 'http://jabber.org/protocol/pubsub#event' }).c(what, { node });
  return message;
}

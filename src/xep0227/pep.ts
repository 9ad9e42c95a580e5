// XEP-0227 §4 PEP data of a <user>, as Prosody's mod_storage_xep0227 writes it: each node's
// configuration as <pubsub xmlns='…#owner'><configure node><x type='submit'/></configure>, its
// explicit subscribers (XEP-0060 §6.1) as <subscriptions node><subscription jid
// subscription='subscribed'/> beside it, each with its options (§6.3) as <options><x
// type='submit'/></options> when they are not the defaults, and its items as <pubsub
// xmlns='…pubsub'><items node><item id/></items>, oldest first.
import { Element, parse as parseItem } from 'ltx';
import type { Limits } from '../config.js';
import { byteLength } from '../state/personal.js';
import {
  type AccessModel,
  DEFAULT_NODE_CONFIG,
  DEFAULT_SUBSCRIPTION_OPTIONS,
  encodeSubscriptionOptions,
  type PepItem,
  type PepNodeConfig,
  type PepSubscriber,
  type SendLastPublished,
  type SubscriptionOptions,
} from '../state/pep.js';
import { parseJid } from '../xmpp/jid.js';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
const NS_DATA = 'jabber:x:data';
const NODE_CONFIG = 'http://jabber.org/protocol/pubsub#node_config';
const SUBSCRIBE_OPTIONS = 'http://jabber.org/protocol/pubsub#subscribe_options';
const ACCESS = new Set(['presence', 'open', 'roster', 'whitelist']);
const SEND_LAST = new Set(['never', 'on_sub', 'on_sub_and_presence']);

/** A PEP node as exported: configuration, explicit subscribers (in subscription order) and items, oldest first. */
export interface PepNodeData {
  config: PepNodeConfig;
  subscriptions: PepSubscriber[];
  items: PepItem[];
}

/** A refusal of the PEP part; account.ts turns it into a PieError naming the place. */
export class PepDataError extends Error {}

function nodeData(nodes: Map<string, PepNodeData>, element: Element): PepNodeData {
  const node = element.attrs.node;
  if (typeof node !== 'string' || node === '') throw new PepDataError('a node attribute is missing');
  let data = nodes.get(node);
  if (!data) {
    data = { config: { ...DEFAULT_NODE_CONFIG }, subscriptions: [], items: [] };
    nodes.set(node, data);
  }
  return data;
}

function configOf(form: Element | undefined): PepNodeConfig {
  const config: PepNodeConfig = { ...DEFAULT_NODE_CONFIG };
  for (const field of form?.getChildren('field') ?? []) {
    const values = field.getChildren('value').map((value) => value.getText());
    const value = values[0] ?? '';
    switch (field.attrs.var) {
      case 'pubsub#access_model':
        if (ACCESS.has(value)) config.access_model = value as AccessModel;
        break;
      case 'pubsub#max_items':
        if (/^\d{1,9}$/.test(value) && Number(value) > 0) config.max_items = Number(value);
        break;
      case 'pubsub#persist_items':
        config.persist_items = value === '1' || value === 'true';
        break;
      case 'pubsub#notify_retract':
        config.notify_retract = value === '1' || value === 'true';
        break;
      case 'pubsub#send_last_published_item':
        if (SEND_LAST.has(value)) config.send_last_published_item = value as SendLastPublished;
        break;
      case 'pubsub#roster_groups_allowed':
        config.roster_groups_allowed = values;
        break;
      case 'pubsub#title':
        if (value !== '') config.title = value;
        break;
      // Ours: the whitelist travels as a field (XEP-0227 has no affiliations for PEP).
      case 'pubsub#whitelist':
        config.whitelist = values;
        break;
    }
  }
  return config;
}

const isTrue = (value: string | undefined): boolean => value === '1' || value === 'true';

/** The options of an exported subscription; fields other than ours (another server's) are left out. */
function optionsOf(form: Element | undefined): SubscriptionOptions {
  const options = { ...DEFAULT_SUBSCRIPTION_OPTIONS };
  for (const field of form?.getChildren('field') ?? []) {
    const value = field.getChildText('value') ?? undefined;
    if (field.attrs.var === 'pubsub#deliver') options.deliver = isTrue(value);
    if (field.attrs.var === 'pubsub#include_body') options.include_body = isTrue(value);
  }
  return options;
}

/** <subscriptions node> of the owner's <pubsub/>: the subscribed JIDs with their options. */
function readSubscriptions(data: PepNodeData, element: Element): void {
  for (const subscription of element.getChildren('subscription')) {
    // Prosody 0.12 writes the state as a `subscribed` attribute; XEP-0060 names it `subscription`.
    const state = subscription.attrs.subscription ?? subscription.attrs.subscribed;
    if (state !== 'subscribed') continue;
    const jid = subscription.attrs.jid;
    if (typeof jid !== 'string' || jid === '') throw new PepDataError('a subscription needs a jid');
    let full: string;
    try {
      full = parseJid(jid).full;
    } catch {
      throw new PepDataError(`subscription jid ${jid} is not a valid JID`);
    }
    if (data.subscriptions.some((known) => known.jid === full)) continue;
    data.subscriptions.push({ jid: full, options: optionsOf(subscription.getChild('options')?.getChild('x', NS_DATA)) });
  }
}

/** Reads one <pubsub/> child of <user> (owner or items) into `nodes`. */
export function readPubsub(pubsub: Element, nodes: Map<string, PepNodeData>): void {
  const owner = pubsub.getNS() === NS_PUBSUB_OWNER;
  for (const child of pubsub.getChildElements()) {
    if (owner && child.name === 'configure') {
      nodeData(nodes, child).config = configOf(child.getChild('x', NS_DATA));
    } else if (owner && child.name === 'subscriptions') {
      readSubscriptions(nodeData(nodes, child), child);
    } else if (!owner && child.name === 'items') {
      const data = nodeData(nodes, child);
      for (const item of child.getChildren('item')) {
        const payload = item.getChildElements()[0];
        const id = item.attrs.id;
        if (typeof id !== 'string' || id === '' || !payload) throw new PepDataError('an item needs an id and a payload');
        data.items.push({ id, xml: payload.toString() });
      }
    }
  }
}

/** Checks the account's PEP data against the limits the server will apply. */
export function checkPep(nodes: Map<string, PepNodeData>, limits: Limits): void {
  if (nodes.size > limits.pepNodes) throw new PepDataError(`${nodes.size} PEP nodes, more than limits.pepNodes (${limits.pepNodes})`);
  let total = 0;
  for (const [node, data] of nodes) {
    if (data.items.length > limits.pepItemsPerNode) throw new PepDataError(`node ${node}: ${data.items.length} items, more than limits.pepItemsPerNode (${limits.pepItemsPerNode})`);
    if (data.subscriptions.length > limits.pepSubscriptionsPerNode) {
      throw new PepDataError(`node ${node}: ${data.subscriptions.length} subscriptions, more than limits.pepSubscriptionsPerNode (${limits.pepSubscriptionsPerNode})`);
    }
    for (const item of data.items) {
      const size = byteLength(item.xml);
      if (size > limits.pepItemBytes) throw new PepDataError(`node ${node}: item ${item.id} has ${size} bytes, more than limits.pepItemBytes (${limits.pepItemBytes})`);
      total += size;
    }
  }
  if (total > limits.pepTotalBytes) throw new PepDataError(`${total} bytes of PEP items, more than limits.pepTotalBytes (${limits.pepTotalBytes})`);
}

/** Appends the two <pubsub/> children for `nodes` to `user` (nothing when there is no node). */
export function writePubsub(user: Element, nodes: Map<string, PepNodeData>): void {
  if (nodes.size === 0) return;
  const owner = user.c('pubsub', { xmlns: NS_PUBSUB_OWNER });
  const content = user.c('pubsub', { xmlns: NS_PUBSUB });
  for (const [node, data] of nodes) {
    const form = owner.c('configure', { node }).c('x', { xmlns: NS_DATA, type: 'submit' });
    const field = (name: string, values: string[]): void => {
      const element = form.c('field', { var: name });
      for (const value of values) element.c('value').t(value);
    };
    const { config } = data;
    field('FORM_TYPE', [NODE_CONFIG]);
    field('pubsub#access_model', [config.access_model]);
    field('pubsub#max_items', [String(config.max_items)]);
    field('pubsub#persist_items', [config.persist_items ? 'true' : 'false']);
    field('pubsub#send_last_published_item', [config.send_last_published_item]);
    field('pubsub#notify_retract', [config.notify_retract ? 'true' : 'false']);
    if (config.roster_groups_allowed.length > 0) field('pubsub#roster_groups_allowed', config.roster_groups_allowed);
    if (config.whitelist.length > 0) field('pubsub#whitelist', config.whitelist);
    if (config.title !== undefined) field('pubsub#title', [config.title]);
    if (data.subscriptions.length > 0) {
      const list = owner.c('subscriptions', { node });
      for (const { jid, options } of data.subscriptions) {
        const subscription = list.c('subscription', { jid, subscription: 'subscribed' });
        if (encodeSubscriptionOptions(options) === undefined) continue;
        const optionsForm = subscription.c('options').c('x', { xmlns: NS_DATA, type: 'submit' });
        for (const [name, value] of [['FORM_TYPE', SUBSCRIBE_OPTIONS], ['pubsub#deliver', String(options.deliver)], ['pubsub#include_body', String(options.include_body)]] as const) {
          optionsForm.c('field', { var: name }).c('value').t(value);
        }
      }
    }
    const items = content.c('items', { node });
    for (const item of data.items) items.c('item', { id: item.id }).cnode(parseItem(item.xml));
  }
}

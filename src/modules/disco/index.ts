// XEP-0030 Service Discovery: the server (identity server/im, every feature the loaded modules
// advertise) and, on an account's behalf, its bare JID (§3.1: account/registered). The server
// also answers its XEP-0115 node#ver (§6.2), so the verification string is computed here too.
import { createHash } from 'node:crypto';
import { Element, parse } from 'ltx';
import type { Host } from '../../core/host.js';
import type { IqRequest } from '../../core/iq.js';
import type { Module } from '../../core/module.js';
import { StanzaError } from '../../xmpp/errors.js';
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from '../../xmpp/ns.js';

export interface Identity {
  category: string;
  type: string;
  lang?: string;
  name?: string;
}

export interface DiscoInfo {
  identities: Identity[];
  features: string[];
  /** XEP-0128 extended information: `jabber:x:data` forms with a FORM_TYPE field. */
  forms?: Element[];
}

/** The node of the server's XEP-0115 capabilities (a URI naming the software). */
export const CAPS_NODE = 'https://rookery.example/caps';

const SERVER_IDENTITY: Identity = { category: 'server', type: 'im', name: 'Rookery' };
const ACCOUNT_IDENTITY: Identity = { category: 'account', type: 'registered' };

/** XEP-0115 §5.1 wants i;octet order: compare UTF-8 bytes, not UTF-16 units. */
function byOctets(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function identityString(identity: Identity): string {
  return `${identity.category}/${identity.type}/${identity.lang ?? ''}/${identity.name ?? ''}`;
}

/** What the server's disco#info lists, identities and features sorted. */
export function serverInfo(host: Host): DiscoInfo {
  const features = [...new Set([...host.features, NS_DISCO_INFO, NS_DISCO_ITEMS])].sort(byOctets);
  return { identities: [SERVER_IDENTITY], features, forms: [...host.infoForms.values()] };
}

export function accountInfo(host: Host): DiscoInfo {
  const features = [...new Set([NS_DISCO_INFO, ...host.accountDisco.features])].sort(byOctets);
  return { identities: [ACCOUNT_IDENTITY, ...host.accountDisco.identities.values()], features };
}

export function infoElement(info: DiscoInfo, node?: string): Element {
  const query = new Element('query', node === undefined ? { xmlns: NS_DISCO_INFO } : { xmlns: NS_DISCO_INFO, node });
  for (const identity of info.identities) {
    const attrs: Record<string, string> = { category: identity.category, type: identity.type };
    if (identity.lang !== undefined) attrs['xml:lang'] = identity.lang;
    if (identity.name !== undefined) attrs.name = identity.name;
    query.c('identity', attrs);
  }
  for (const feature of info.features) query.c('feature', { var: feature });
  for (const form of info.forms ?? []) query.cnode(parse(form.toString()));
  return query;
}

/** XEP-0115 §5.1: identities then features, each sorted and '<'-terminated, SHA-1, base64. */
export function verificationString(info: DiscoInfo): string {
  let input = '';
  for (const identity of info.identities.map(identityString).sort(byOctets)) input += `${identity}<`;
  for (const feature of [...info.features].sort(byOctets)) input += `${feature}<`;
  input += extendedInfoString(info.forms ?? []);
  return createHash('sha1').update(input, 'utf8').digest('base64');
}

/** XEP-0115 §5.4 step 3.6: each form by FORM_TYPE, then its fields by var, each value sorted. */
function extendedInfoString(forms: Element[]): string {
  const fieldsOf = (form: Element) => form.getChildren('field').map((field) => ({
    name: String(field.attrs.var ?? ''),
    values: field.getChildren('value').map((value) => value.getText()).sort(byOctets),
  }));
  const typed = forms.map((form) => {
    const fields = fieldsOf(form);
    return { type: fields.find((field) => field.name === 'FORM_TYPE')?.values[0] ?? '', fields: fields.filter((field) => field.name !== 'FORM_TYPE') };
  });
  let input = '';
  for (const form of typed.sort((a, b) => byOctets(a.type, b.type))) {
    input += `${form.type}<`;
    for (const field of form.fields.sort((a, b) => byOctets(a.name, b.name))) input += `${field.name}<${field.values.map((value) => `${value}<`).join('')}`;
  }
  return input;
}

// Features only change when modules load or unload, so one entry keyed by them is enough.
let capsCache: { key: string; ver: string } | undefined;

/**
 * The server's current verification string, recomputed only when its features changed. Asked for
 * every stream's features: the key is the features as they are (no sort, no octet comparison).
 */
export function serverCapsVer(host: Host): string {
  const key = [...host.features, ...host.infoForms.keys()].join('<');
  if (capsCache?.key !== key) capsCache = { key, ver: verificationString(serverInfo(host)) };
  return capsCache.ver;
}

function requestedNode(request: IqRequest): string | undefined {
  const node = request.payload.attrs.node;
  return node === undefined ? undefined : String(node);
}

function emptyItems(request: IqRequest): Element {
  if (requestedNode(request) !== undefined) throw new StanzaError('item-not-found');
  return new Element('query', { xmlns: NS_DISCO_ITEMS });
}

export const discoModule: Module = {
  name: 'disco',
  load(api) {
    const { host } = api;
    api.feature(NS_DISCO_INFO);
    api.feature(NS_DISCO_ITEMS);

    api.iq('host', 'get', NS_DISCO_INFO, 'query', (request) => {
      const node = requestedNode(request);
      if (node === undefined) return infoElement(serverInfo(host));
      if (node === `${CAPS_NODE}#${serverCapsVer(host)}`) return infoElement(serverInfo(host), node);
      throw new StanzaError('item-not-found');
    });
    api.iq('host', 'get', NS_DISCO_ITEMS, 'query', (request) => {
      const query = emptyItems(request);
      for (const [jid, name] of host.services) query.c('item', { jid, name });
      return query;
    });

    // An account's nodes and items are its PEP service's (host.accountDisco.nodes), when loaded.
    api.iq(['self', 'bare'], 'get', NS_DISCO_INFO, 'query', async (request) => {
      const node = requestedNode(request);
      if (node === undefined) return infoElement(accountInfo(host));
      const nodes = host.accountDisco.nodes;
      if (!nodes) throw new StanzaError('item-not-found');
      const query = new Element('query', { xmlns: NS_DISCO_INFO, node });
      for (const child of await nodes.nodeInfo(request.to.bare, request.from.bare, node)) query.cnode(child);
      return query;
    });
    api.iq(['self', 'bare'], 'get', NS_DISCO_ITEMS, 'query', async (request) => {
      const nodes = host.accountDisco.nodes;
      if (!nodes) return emptyItems(request);
      const node = requestedNode(request);
      const query = new Element('query', node === undefined ? { xmlns: NS_DISCO_ITEMS } : { xmlns: NS_DISCO_ITEMS, node });
      const items = node === undefined ? await nodes.items(request.to.bare, request.from.bare) : await nodes.nodeItems(request.to.bare, request.from.bare, node);
      for (const item of items) query.cnode(item);
      return query;
    });
  },
};

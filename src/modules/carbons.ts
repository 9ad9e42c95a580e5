// XEP-0280 Message Carbons: copies of what one resource sends or receives go to the account's
// other resources that asked for them (after Prosody's mod_carbons.lua). Copies are made from
// the registry, so resources on other nodes get theirs through the router.
import { Element, clone } from 'ltx';
import type { OutboundStanza, RoutedStanza } from '../core/events.js';
import type { Host } from '../core/host.js';
import type { Module } from '../core/module.js';
import type { C2SSession } from '../core/session.js';
import { StanzaError } from '../xmpp/errors.js';
import { NS_CARBONS, NS_CLIENT, NS_FORWARD, NS_HINTS, NS_MUC_USER } from '../xmpp/ns.js';
import { stanzaType } from '../xmpp/stanza.js';
import { topResources } from '../core/delivery.js';

type Direction = 'sent' | 'received';

/** Whether a message is eligible for carbons (Prosody's should_copy); `user` is the account's bare JID. */
export function shouldCopy(stanza: Element, direction: Direction, user: string): boolean {
  if (stanza.getChild('private', NS_CARBONS) || stanza.getChild('no-copy', NS_HINTS)) return false;
  // A MUC private message belongs to the one resource that joined the room.
  if (direction === 'received' && stanza.attrs.to !== user && stanza.getChild('x', NS_MUC_USER)) return false;
  const type = stanzaType(stanza) ?? 'normal';
  if (type === 'chat') return true;
  if (type === 'normal') return stanza.getChild('body') !== undefined;
  // The bounce of a message sent to a bare JID comes from that bare JID.
  if (type === 'error') return direction === 'received' && !String(stanza.attrs.from ?? '').includes('/');
  return false; // headline, groupchat
}

/** `<message from=bare to=resource><sent|received><forwarded><message …/></forwarded></…></message>` */
function carbon(direction: Direction, original: Element, user: string, to: string): Element {
  const copy = clone(original);
  copy.attrs.xmlns = NS_CLIENT; // inside <forwarded/> the default namespace would be urn:xmpp:forward:0
  const wrapper = new Element('message', { from: user, to, type: stanzaType(original) ?? 'normal' });
  wrapper.c(direction, { xmlns: NS_CARBONS }).c('forwarded', { xmlns: NS_FORWARD }).cnode(copy);
  return wrapper;
}

async function setCarbons(host: Host, origin: C2SSession | undefined, enabled: boolean): Promise<void> {
  if (!origin) throw new StanzaError('service-unavailable');
  origin.carbons = enabled;
  await host.local.patchRecord(origin, { carbons: enabled });
}

/** Sent copies: every other carbons-enabled resource of the sender. */
async function onOutbound(host: Host, { stanza, session, to }: OutboundStanza): Promise<void> {
  const user = session.bare_jid;
  if (user === undefined || !shouldCopy(stanza, 'sent', user)) return;
  const targets = (await host.state.registry.resources(user)).filter((record) => record.carbons && record.full_jid !== session.full_jid);
  // Most accounts have no carbons-enabled resource: no copy of the stanza then.
  if (targets.length === 0) return;
  const original = clone(stanza);
  if (to === undefined) original.attrs.to = user; // the router removed a `to` naming the account itself
  for (const record of targets) {
    await host.delivery.toResource(record.full_jid, carbon('sent', original, user, record.full_jid));
  }
}

/**
 * Received copies: every carbons-enabled resource except those the message itself goes to — the
 * addressed resource when it is connected, otherwise the top resources (RFC 6121 §8.5).
 */
async function onInbound(host: Host, { stanza, to }: RoutedStanza): Promise<void> {
  if (to.local === '') return;
  const user = to.bare;
  const copy = shouldCopy(stanza, 'received', user);
  stanza.remove('private', NS_CARBONS); // a hint for this server, not for the recipient
  if (!copy) return;
  const records = await host.state.registry.resources(user);
  // Nobody to copy to (no resource, or none with carbons): the message goes its way alone.
  if (!records.some((record) => record.carbons)) return;
  const skip = new Set<string>();
  const target = to.resource === '' ? undefined : records.find((record) => record.full_jid === to.full);
  const type = stanzaType(stanza) ?? 'normal';
  if (target) {
    skip.add(target.full_jid);
  } else if (type === 'error' || (to.resource !== '' && type !== 'chat')) {
    // As message.ts decides: an error nobody is addressed by is dropped, and of messages for a
    // gone resource only chat falls back to the bare JID (RFC 6121 §8.5.3.2.1). Nothing to copy.
    return;
  } else {
    for (const record of topResources(records)) skip.add(record.full_jid);
  }
  for (const record of records) {
    if (!record.carbons || skip.has(record.full_jid)) continue;
    await host.delivery.toResource(record.full_jid, carbon('received', stanza, user, record.full_jid));
  }
}

export const carbonsModule: Module = {
  name: 'carbons',
  load(api) {
    const { host } = api;
    api.feature(NS_CARBONS);
    api.iq('self', 'set', NS_CARBONS, 'enable', ({ origin }) => setCarbons(host, origin, true));
    api.iq('self', 'set', NS_CARBONS, 'disable', ({ origin }) => setCarbons(host, origin, false));
    // XEP-0386 Bind2: enabled inside the authentication (nothing is answered for it, as in Prosody).
    api.hook('bind2-inline-features', ({ inline }) => void inline.c('feature', { var: NS_CARBONS }));
    api.hook('bind2-enable', ({ connection, element }) => element.is('enable', NS_CARBONS) && setCarbons(host, connection.session, true).then(() => true));
    // After blocking (100), before delivery (0); never claims, so delivery still happens.
    api.hook('pre-message', async (event) => {
      await onOutbound(host, event);
    }, 5);
    api.hook('message/bare', async (routed) => {
      await onInbound(host, routed);
    }, 5);
    api.hook('message/full', async (routed) => {
      await onInbound(host, routed);
    }, 5);
  },
};

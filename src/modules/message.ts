// RFC 6121 §8.5: message delivery to bare and full JIDs, after Prosody's mod_message.lua.
// A message no resource takes goes to offline storage (message/offline) or bounces; none is dropped
// except errors, which are never answered (RFC 6120 §8.3.1).
import type { RoutedStanza } from '../core/events.js';
import type { Host } from '../core/host.js';
import type { Module } from '../core/module.js';
import { topResources } from '../core/delivery.js';
import { StanzaError } from '../xmpp/errors.js';
import { stanzaType } from '../xmpp/stanza.js';

async function deliverToBare(host: Host, routed: RoutedStanza): Promise<boolean> {
  const { stanza, to } = routed;
  const type = stanzaType(stanza) ?? 'normal';
  if (type === 'error') return true;
  if (type === 'groupchat') {
    await host.router.bounce(stanza, new StanzaError('service-unavailable'), routed.origin);
    return true;
  }
  const records = await host.state.registry.resources(to.bare);
  if (type === 'headline') {
    // Only when addressed to the bare JID; a headline for a gone resource is discarded (§8.5.3.2.1).
    if (to.resource !== '') return true;
    for (const record of records) {
      if (record.presence !== undefined && record.priority >= 0) await host.delivery.toResource(record.full_jid, stanza);
    }
    return true;
  }
  let delivered = false;
  for (const record of topResources(records)) {
    if (await host.delivery.toResource(record.full_jid, stanza)) delivered = true;
  }
  if (delivered) return true;
  if ((await host.state.accounts.exists(to.bare)) && (await host.hooks.fire('message/offline', routed))) return true;
  await host.router.bounce(stanza, new StanzaError('service-unavailable'), routed.origin);
  return true;
}

async function deliverToFull(host: Host, routed: RoutedStanza): Promise<boolean> {
  if (await host.delivery.toResource(routed.to.full, routed.stanza)) return true;
  // §8.5.3.2.1: the resource is gone. Only chat falls back to the bare JID's rules (`to` stays the
  // full JID); headlines and errors are dropped; normal (or an unknown type, §5.2.2) and groupchat
  // are refused rather than shown to a resource they were not meant for.
  const type = stanzaType(routed.stanza) ?? 'normal';
  if (type === 'chat') return deliverToBare(host, routed);
  if (type === 'headline' || type === 'error') return true;
  await host.router.bounce(routed.stanza, new StanzaError('service-unavailable'), routed.origin);
  return true;
}

export const messageModule: Module = {
  name: 'message',
  load(api) {
    const { host } = api;
    api.hook('message/bare', (routed) => deliverToBare(host, routed));
    api.hook('message/full', (routed) => deliverToFull(host, routed));
  },
};

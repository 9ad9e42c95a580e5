// RFC 6120 §8.2.3 and RFC 6121 §8.5: where an iq goes. To a connected full JID it is delivered;
// to an account or the domain, the server answers through the IQ registry (iq.ts).
import type { RoutedStanza } from '../core/events.js';
import type { Host } from '../core/host.js';
import type { IqScope, IqType } from '../core/iq.js';
import type { Module } from '../core/module.js';
import { StanzaError } from '../xmpp/errors.js';
import { errorReply, iqPayload, stanzaType } from '../xmpp/stanza.js';

async function answer(host: Host, scope: IqScope, routed: RoutedStanza): Promise<boolean> {
  const { stanza, from, to, origin } = routed;
  const type = stanzaType(stanza);
  if (type !== 'get' && type !== 'set') return true; // results and errors without a waiter end here
  const payload = iqPayload(stanza);
  const reply = (answer: typeof stanza): void => {
    if (origin && !origin.destroyed && stanza.attrs.from === origin.full_jid) origin.send(answer);
    else void host.router.send(answer);
  };
  if (!payload) {
    reply(errorReply(stanza, new StanzaError('bad-request')));
    return true;
  }
  if (scope === 'bare' && !(await host.state.accounts.exists(to.bare))) {
    reply(errorReply(stanza, new StanzaError('service-unavailable')));
    return true;
  }
  await host.iq.handle(scope, { stanza, payload, type: type as IqType, from, to, ...(origin ? { origin } : {}) }, reply);
  return true;
}

export const iqRoutingModule: Module = {
  name: 'iq-routing',
  load(api) {
    const { host } = api;
    api.hook('iq/full', async (routed) => {
      if (await host.delivery.toResource(routed.to.full, routed.stanza)) return true;
      await host.router.bounce(routed.stanza, new StanzaError('service-unavailable'), routed.origin);
      return true;
    });
    api.hook('iq/bare', (routed) => answer(host, routed.from.bare === routed.to.bare ? 'self' : 'bare', routed));
    api.hook('iq/host', (routed) => answer(host, 'host', routed));
  },
};

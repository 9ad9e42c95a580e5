// XEP-0054 vcard-temp: an account sets its own vCard (iq to its bare JID or without `to`) and
// anyone reads a local account's vCard at that account's bare JID. As Prosody's mod_vcard does,
// the feature is advertised in the server's disco#info; an account without a stored vCard
// answers an empty <vCard/> (XEP-0054 §3.1 allows it, and clients need not special-case an
// error); an account that does not exist answers service-unavailable (iq-routing.ts).
import { Element, parse } from 'ltx';
import type { Module } from '../core/module.js';
import { personalKey } from '../state/personal.js';
import { StanzaError } from '../xmpp/errors.js';
import { isEmptyElement, storePersonal } from '../core/personal-data.js';

export const NS_VCARD = 'vcard-temp';
const KEY = personalKey({ kind: 'vcard' });

export const vcardModule: Module = {
  name: 'vcard',
  load(api) {
    const { host } = api;
    api.feature(NS_VCARD);

    api.iq(['self', 'bare'], 'get', NS_VCARD, 'vCard', async (request) => {
      const stored = await host.state.personal.get(request.to.bare, KEY);
      return stored === undefined ? new Element('vCard', { xmlns: NS_VCARD }) : parse(stored);
    });

    api.iq('self', 'set', NS_VCARD, 'vCard', async (request) => {
      const user = request.from.bare;
      // An empty vCard is what a get answers when there is none, so storing one clears it.
      if (isEmptyElement(request.payload)) await host.state.personal.remove(user, KEY);
      else await storePersonal(host, user, KEY, request.payload);
      // The avatar it carries is published first (XEP-0398, as Prosody's mod_vcard_legacy): once
      // the client has its answer, a contact may ask for that node.
      try {
        await host.hooks.fire('vcard-set', { user, vcard: request.payload });
      } catch (err) {
        host.log.error({ event: 'vcard_avatar_publish_failed', err });
      }
      request.respond();
    });

    api.iq('bare', 'set', NS_VCARD, 'vCard', () => {
      throw new StanzaError('forbidden', 'Only the owner may change a vCard');
    });
  },
};

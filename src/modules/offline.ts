// XEP-0160 offline messages: stored when no resource can take them, delivered with a XEP-0203
// <delay/> on the next initial presence of non-negative priority. Storage has a per-account
// limit; past it the sender gets an error.
import { parse } from 'ltx';
import type { Module } from '../core/module.js';
import { identityOf } from '../core/stanza-identity.js';
import { StanzaError } from '../xmpp/errors.js';
import { NS_OFFLINE } from '../xmpp/ns.js';
import { stanzaType, withDelay } from '../xmpp/stanza.js';

const STORED_TYPES = new Set(['normal', 'chat']);

export const offlineModule: Module = {
  name: 'offline',
  load(api) {
    const { host } = api;
    api.feature(NS_OFFLINE);

    api.hook('message/offline', async ({ stanza, to, origin }) => {
      if (!STORED_TYPES.has(stanzaType(stanza) ?? 'normal')) return false;
      // Its identity: a copy routed again (a re-send after a resume, a bus envelope handled twice) is stored once.
      const id = identityOf(stanza);
      const stored = await host.state.offline.store(to.bare, { xml: stanza.toString(), stamp: Date.now(), ...(id === undefined ? {} : { id }) }, host.config.limits.offlineMessages);
      if (stored) {
        host.telemetry.routed('offline');
        await host.hooks.fire('message-held', { user: to.bare, stanza, place: 'offline' });
      }
      else {
        host.telemetry.limitEnforced('offline_quota');
        await host.router.bounce(stanza, new StanzaError('service-unavailable', 'Offline storage is full'), origin);
      }
      return true;
    });

    api.hook('presence/initial', async ({ session }) => {
      if (session.priority < 0 || !session.bare_jid) return;
      const user = session.bare_jid;
      const messages = await host.state.offline.takeAll(user);
      for (let i = 0; i < messages.length; i++) {
        if (session.destroyed) {
          // The client went away during the burst: what it was not sent waits for the next login.
          for (const message of messages.slice(i)) await host.state.offline.store(user, message, Number.MAX_SAFE_INTEGER);
          return;
        }
        const message = messages[i] as (typeof messages)[number];
        session.send(withDelay(parse(message.xml), host.domain, new Date(message.stamp)), message.id);
        // Paced by the client's reading, so that a large store is no slow-reader overflow.
        await session.conn.writable?.();
      }
    }, -10);
  },
};

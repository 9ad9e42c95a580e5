// XEP-0357 Push Notifications, after Prosody's mod_cloud_notify: clients enable and disable app
// server nodes (stored per account in the shared store, state/push.ts); a message held for the
// account — stored offline, or queued for a hibernating or parked stream (XEP-0198) — that would
// wake a client sends each registration one notification, once per message across the cluster
// (the store's claim), whichever node held it. Sending and retrying: sender.ts.
import type { Module } from '../../core/module.js';
import { NS_PUSH } from '../../xmpp/ns.js';
import { importantMessage } from '../../xmpp/important.js';
import { eventOf, firstTry } from './notify.js';
import { disableRequest, enableRequest } from './registration.js';
import { firstTryId, PushSender } from './sender.js';

/**
 * How long a held message counts as one event: its copies held again within it push nothing (a
 * copy bus-delivered twice; one queued for a hibernating stream and stored offline when the
 * hibernation ends), so at least twice the hibernation time.
 */
const MIN_EVENT_TTL_MS = 3600 * 1000;

export const pushModule: Module = {
  name: 'push',
  load(api) {
    const { host } = api;
    const sender = new PushSender(host);
    const eventTtlMs = Math.max(MIN_EVENT_TTL_MS, 2 * host.config.smHibernationSeconds * 1000);
    api.accountFeature(NS_PUSH);

    api.iq('self', 'set', NS_PUSH, 'enable', async ({ payload, from }) => {
      await host.state.push.enable(from.bare, enableRequest(payload, from.bare, Date.now()), host.config.limits.pushRegistrations);
    });
    api.iq('self', 'set', NS_PUSH, 'disable', async ({ payload, from }) => {
      const { jid, node } = disableRequest(payload, from.bare);
      await host.state.push.disable(from.bare, jid, node);
    });

    api.hook('message-held', async ({ user, stanza }) => {
      const message = importantMessage(stanza);
      if (!message) return;
      const event = eventOf(user, stanza, message);
      for (const registration of await host.state.push.claim(user, event, eventTtlMs)) {
        const payload = firstTry(user, event, message, registration);
        await host.jobs.schedule(firstTryId(payload), 'push-send', payload, 0);
      }
    });

    // Answers to our notifications come to the domain; they end here (or go to the node that sent).
    api.hook('iq/host', ({ stanza }) => sender.answered(stanza), 10);
    host.jobs.handle('push-send', (payload) => sender.send(payload));
  },
};

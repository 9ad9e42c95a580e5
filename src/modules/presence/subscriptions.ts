// The subscription state machine (RFC 6121 §3 and Appendix A): outbound at the user's server,
// inbound at the contact's. Both ends are on this deployment (there is no s2s).
import { Element } from 'ltx';
import type { Host } from '../../core/host.js';
import type { ContactEntry, RosterItem } from '../../state/roster.js';
import { parseJid } from '../../xmpp/jid.js';
import { assertRosterRoom, hasFrom, hasTo, newItem, updateAndPush } from '../../core/roster.js';
import { sendPresencesOf, sendUnavailableOf } from '../../core/presence.js';

export type SubscriptionType = 'subscribe' | 'subscribed' | 'unsubscribe' | 'unsubscribed';
export const SUBSCRIPTION_TYPES: ReadonlySet<string> = new Set(['subscribe', 'subscribed', 'unsubscribe', 'unsubscribed']);

/** Sends a subscription stanza between two bare JIDs to the contact's inbound processing. */
async function routeSubscription(host: Host, stanza: Element, from: string, to: string): Promise<void> {
  stanza.attrs.from = from;
  stanza.attrs.to = to;
  await host.router.route({ stanza, kind: 'presence', from: parseJid(from), to: parseJid(to) });
}

function withItem(entry: ContactEntry, contact: string, change: (item: RosterItem) => RosterItem): ContactEntry {
  return { ...entry, item: change({ ...(entry.item ?? newItem(contact)) }) };
}

/** A subscription stanza the user sent to `contact` (RFC 6121 §3.1.2, §3.2.2, §3.3.2, §3.1.5). */
export async function outboundSubscription(host: Host, user: string, contact: string, type: SubscriptionType, stanza: Element): Promise<void> {
  switch (type) {
    case 'subscribe': {
      const stored = await host.state.rosters.entry(user, contact);
      if (!stored.item && stored.pendingIn === undefined) await assertRosterRoom(host, user);
      await updateAndPush(host, user, contact, (entry) =>
        hasTo(entry.item) || entry.item?.ask ? undefined : withItem(entry, contact, (item) => ({ ...item, ask: true })),
      );
      await routeSubscription(host, stanza, user, contact);
      return;
    }
    case 'unsubscribe': {
      await updateAndPush(host, user, contact, (entry) =>
        entry.item ? withItem(entry, contact, (item) => ({ ...item, ask: false, subscription: item.subscription === 'both' ? 'from' : item.subscription === 'to' ? 'none' : item.subscription })) : undefined,
      );
      await routeSubscription(host, stanza, user, contact);
      return;
    }
    case 'subscribed': {
      const change = await updateAndPush(host, user, contact, (entry) => {
        if (entry.pendingIn !== undefined) {
          const next = withItem(entry, contact, (item) => ({ ...item, approved: false, subscription: item.subscription === 'to' ? 'both' : item.subscription === 'none' ? 'from' : item.subscription }));
          delete next.pendingIn;
          return next;
        }
        if (hasFrom(entry.item) || entry.item?.approved) return undefined;
        return withItem(entry, contact, (item) => ({ ...item, approved: true })); // pre-approval (RFC 6121 §3.4)
      });
      if (hasFrom(change.after.item) && !hasFrom(change.before.item)) {
        await routeSubscription(host, stanza, user, contact);
        await sendPresencesOf(host, user, contact, false);
      }
      return;
    }
    case 'unsubscribed': {
      const change = await updateAndPush(host, user, contact, (entry) => {
        if (!entry.item && entry.pendingIn === undefined) return undefined;
        const next: ContactEntry = entry.item
          ? withItem(entry, contact, (item) => ({ ...item, approved: false, subscription: item.subscription === 'both' ? 'to' : item.subscription === 'from' ? 'none' : item.subscription }))
          : { ...entry };
        delete next.pendingIn;
        return next;
      });
      const wasSubscribed = hasFrom(change.before.item);
      if (wasSubscribed || change.before.pendingIn !== undefined) await routeSubscription(host, stanza, user, contact);
      if (wasSubscribed) await sendUnavailableOf(host, user, contact);
      return;
    }
  }
}

/** A subscription stanza arriving for `user` from `contact` (RFC 6121 §3.1.3, §3.1.6, §3.2.3, §3.3.3). */
export async function inboundSubscription(host: Host, user: string, contact: string, type: SubscriptionType, stanza: Element): Promise<void> {
  if (!(await host.state.accounts.exists(user))) {
    // RFC 6121 §3.1.3: a request to an account that does not exist is answered with unsubscribed.
    if (type === 'subscribe') await routeSubscription(host, new Element('presence', { type: 'unsubscribed' }), user, contact);
    return;
  }
  stanza.attrs.from = contact;
  stanza.attrs.to = user;
  switch (type) {
    case 'subscribe': {
      const entry = await host.state.rosters.entry(user, contact);
      if (hasFrom(entry.item)) {
        await autoApprove(host, user, contact);
        return;
      }
      if (entry.item?.approved) {
        await updateAndPush(host, user, contact, (current) => {
          const next = withItem(current, contact, (item) => ({ ...item, approved: false, subscription: item.subscription === 'to' ? 'both' : 'from' }));
          delete next.pendingIn;
          return next;
        });
        await autoApprove(host, user, contact);
        return;
      }
      const change = await updateAndPush(host, user, contact, (current) =>
        current.pendingIn !== undefined ? undefined : { ...current, pendingIn: stanza.toString() },
      );
      if (change.version !== undefined) await deliverToResources(host, user, stanza, 'available');
      return;
    }
    case 'subscribed': {
      const change = await updateAndPush(host, user, contact, (entry) =>
        entry.item?.ask ? withItem(entry, contact, (item) => ({ ...item, ask: false, subscription: item.subscription === 'from' ? 'both' : item.subscription === 'none' ? 'to' : item.subscription })) : undefined,
      );
      if (change.version !== undefined) {
        await deliverToResources(host, user, stanza, 'interested');
        await host.hooks.fire('subscription-approved', { user, contact });
      }
      return;
    }
    case 'unsubscribe': {
      const change = await updateAndPush(host, user, contact, (entry) => {
        if (!hasFrom(entry.item) && entry.pendingIn === undefined) return undefined;
        const next: ContactEntry = entry.item
          ? withItem(entry, contact, (item) => ({ ...item, subscription: item.subscription === 'both' ? 'to' : item.subscription === 'from' ? 'none' : item.subscription }))
          : { ...entry };
        delete next.pendingIn;
        return next;
      });
      if (change.version !== undefined) {
        await deliverToResources(host, user, stanza, 'interested');
        // RFC 6121 §3.3.3: the contact no longer sees us, so tell it we are gone.
        if (hasFrom(change.before.item)) await sendUnavailableOf(host, user, contact);
      }
      return;
    }
    case 'unsubscribed': {
      const change = await updateAndPush(host, user, contact, (entry) =>
        entry.item && (entry.item.ask || hasTo(entry.item))
          ? withItem(entry, contact, (item) => ({ ...item, ask: false, subscription: item.subscription === 'both' ? 'from' : item.subscription === 'to' ? 'none' : item.subscription }))
          : undefined,
      );
      if (change.version !== undefined) await deliverToResources(host, user, stanza, 'interested');
      return;
    }
  }
}

/** `subscribed` on the user's behalf, then the user's presence (RFC 6121 §3.1.3, pre-approved or already subscribed). */
async function autoApprove(host: Host, user: string, contact: string): Promise<void> {
  await routeSubscription(host, new Element('presence', { type: 'subscribed' }), user, contact);
  await sendPresencesOf(host, user, contact, false);
}

/** Delivers an inbound subscription stanza to the account's available or interested resources. */
async function deliverToResources(host: Host, user: string, stanza: Element, which: 'available' | 'interested'): Promise<void> {
  for (const record of await host.state.registry.resources(user)) {
    if (which === 'available' ? record.presence === undefined : !record.interested) continue;
    await host.delivery.toResource(record.full_jid, stanza);
  }
}

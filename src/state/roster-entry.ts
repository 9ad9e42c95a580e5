// Equality and (de)serialisation of roster entries, shared by every RosterStore implementation.
import type { ContactEntry, RosterItem, Subscription } from './roster.js';

const SUBSCRIPTIONS: readonly Subscription[] = ['none', 'to', 'from', 'both'];

export function sameItem(a: RosterItem | undefined, b: RosterItem | undefined): boolean {
  if (!a || !b) return a === b;
  return encodeItem(a) === encodeItem(b);
}

export function sameEntry(a: ContactEntry, b: ContactEntry): boolean {
  return sameItem(a.item, b.item) && a.pendingIn === b.pendingIn;
}

/** A stable encoding: equal items encode to equal strings (so stores can compare strings). */
export function encodeItem(item: RosterItem): string {
  return JSON.stringify([item.jid, item.name ?? null, [...item.groups].sort(), item.subscription, item.ask, item.approved]);
}

export function decodeItem(text: string): RosterItem {
  const [jid, name, groups, subscription, ask, approved] = JSON.parse(text) as [
    string, string | null, string[], string, boolean, boolean,
  ];
  if (!SUBSCRIPTIONS.includes(subscription as Subscription)) throw new Error(`bad subscription in stored item: ${subscription}`);
  return {
    jid,
    ...(name !== null ? { name } : {}),
    groups,
    subscription: subscription as Subscription,
    ask,
    approved,
  };
}

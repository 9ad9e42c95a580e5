// RFC 6121 §2: roster get, set and remove; XEP-0237 versioning; the stream features that
// advertise versioning and pre-approval (RFC 6121 §3.4).
import { Element } from 'ltx';
import type { Module } from '../../core/module.js';
import { StanzaError } from '../../xmpp/errors.js';
import { tryParseJid } from '../../xmpp/jid.js';
import { NS_PREAPPROVAL_FEATURE, NS_ROSTER, NS_ROSTERVER_FEATURE } from '../../xmpp/ns.js';
import { isElement } from '../../xmpp/stanza.js';
import { assertRosterRoom, itemElement, newItem, pushItem, rosterPushSource, updateContact } from '../../core/roster.js';

const MAX_NAME_LENGTH = 1024;
const MAX_GROUPS = 64;

export const rosterModule: Module = {
  name: 'roster',
  load(api) {
    const { host } = api;

    api.hook('stream-features', ({ session, features }) => {
      if (session.type === 'c2s_unauthed') return;
      features.c('ver', { xmlns: NS_ROSTERVER_FEATURE });
      features.c('sub', { xmlns: NS_PREAPPROVAL_FEATURE });
    });

    host.pushSources.set('roster', rosterPushSource(host));
    api.onUnload(() => host.pushSources.delete('roster'));

    api.iq('self', 'get', NS_ROSTER, 'query', async ({ payload, origin, respond }) => {
      if (!origin?.bare_jid) throw new StanzaError('service-unavailable');
      const wasInterested = origin.interested;
      origin.interested = true;
      // The record's write and the read in one round trip: the read is sent after the write, on
      // the account's own slot (run in order), so any change it misses is pushed to this resource.
      const [, roster] = await Promise.all([
        wasInterested ? undefined : host.local.patchRecord(origin, { interested: true }),
        host.state.rosters.load(origin.bare_jid),
      ]);
      origin.roster = roster;
      const version = String(roster.version);
      const clientVersion = payload.attrs.ver;
      // The result and the gate's floor in one step: no push can come between them, and none
      // older than this roster is shown after it.
      origin.pushGate.fetched('roster', roster.version);
      if (clientVersion !== undefined && clientVersion === version) {
        respond(); // XEP-0237 §2.4: unchanged
        return;
      }
      const query = new Element('query', clientVersion !== undefined ? { xmlns: NS_ROSTER, ver: version } : { xmlns: NS_ROSTER });
      for (const item of roster.items.values()) query.cnode(itemElement(item));
      respond(query);
    });

    // RFC 6121 §2.1.5: only the account itself may change its roster.
    api.iq('bare', 'set', NS_ROSTER, 'query', () => {
      throw new StanzaError('forbidden', 'You cannot change the roster of another account');
    });

    api.iq('self', 'set', NS_ROSTER, 'query', async ({ payload, origin, respond }) => {
      const user = origin?.bare_jid;
      if (!user) throw new StanzaError('service-unavailable');
      const items = payload.children.filter(isElement);
      const item = items[0];
      if (items.length !== 1 || !item || item.name !== 'item' || item.attrs.jid === undefined) {
        throw new StanzaError('bad-request', 'A roster set carries exactly one item');
      }
      const jid = tryParseJid(String(item.attrs.jid));
      if (!jid) throw new StanzaError('jid-malformed');
      if (jid.resource !== '') throw new StanzaError('bad-request', 'Roster items are bare JIDs');
      const contact = jid.bare;
      if (contact === user) throw new StanzaError('not-allowed', 'You cannot add yourself to your roster');

      if (item.attrs.subscription === 'remove') {
        const entry = await host.state.rosters.entry(user, contact);
        if (!entry.item) throw new StanzaError('item-not-found');
        await host.hooks.fire('roster-item-removed', { user, contact, item: entry.item, pendingIn: entry.pendingIn !== undefined });
        const change = await updateContact(host, user, contact, () => ({}));
        respond();
        if (change.version !== undefined) await pushItem(host, user, contact, undefined, change.version);
        return;
      }

      const name = item.attrs.name === undefined || item.attrs.name === '' ? undefined : String(item.attrs.name);
      if (name !== undefined && name.length > MAX_NAME_LENGTH) throw new StanzaError('not-acceptable', 'Name too long');
      const listed = item.getChildren('group').map((group: Element) => group.getText());
      const groups = [...new Set(listed)];
      // RFC 6121 §2.3.3: a repeated group is a malformed request, not something to tidy up.
      if (groups.length !== listed.length) throw new StanzaError('bad-request', 'Duplicate group');
      if (groups.some((group) => group === '')) throw new StanzaError('not-acceptable', 'Empty group name');
      if (groups.length > MAX_GROUPS) throw new StanzaError('not-acceptable', 'Too many groups');
      groups.sort();
      const stored = await host.state.rosters.entry(user, contact);
      if (!stored.item && stored.pendingIn === undefined) await assertRosterRoom(host, user);
      // Subscription and ask from the client are ignored (RFC 6121 §2.1.2.5): keep what is stored.
      const change = await updateContact(host, user, contact, (entry) => {
        const current = entry.item ?? newItem(contact);
        const next = { ...current, groups, ...(name !== undefined ? { name } : {}) };
        if (name === undefined) delete next.name;
        return { ...entry, item: next };
      });
      respond();
      if (change.version !== undefined && change.after.item) await pushItem(host, user, contact, change.after.item, change.version);
    });
  },
};

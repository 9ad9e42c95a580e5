// XEP-0313 Message Archive Management on the account's bare JID (urn:xmpp:mam:2 and #extended),
// with XEP-0359 stanza-ids, after Prosody's mod_mam: archiving (archiving.ts), queries, paging and
// preferences (query.ts, here), metadata. Storage is state/archive.ts, one archive per owner.
import { Element } from 'ltx';
import type { Host } from '../../core/host.js';
import type { IqRequest } from '../../core/iq.js';
import type { Module } from '../../core/module.js';
import type { RoutedStanza } from '../../core/events.js';
import type { ArchivePrefs } from '../../state/archive.js';
import { StanzaError } from '../../xmpp/errors.js';
import { tryParseJid } from '../../xmpp/jid.js';
import { archive, trimArchive, NS_MAM, NS_MAM_EXTENDED, NS_SID, shouldArchive, stanzaIdBy, stripForgedIds } from '../../core/archiving.js';
import { finElement, parseQuery, queryForm, resultMessage } from '../../core/archive-query.js';

async function query(host: Host, request: IqRequest): Promise<Element> {
  const { query: archiveQuery, queryId, flip } = parseQuery(request.payload);
  const owner = request.from.bare;
  const page = await host.state.archive.query(owner, archiveQuery);
  if (!page) throw new StanzaError('item-not-found', 'No such archive id');
  const entries = flip ? [...page.entries].reverse() : page.entries;
  const to = request.from.full;
  for (const entry of entries) {
    const message = resultMessage(entry, owner, to, queryId);
    if (request.origin && !request.origin.destroyed) {
      request.origin.send(message);
      await request.origin.conn.writable?.();
    }
  }
  return finElement(page, queryId, entries);
}

function prefsElement(prefs: ArchivePrefs): Element {
  const element = new Element('prefs', { xmlns: NS_MAM, default: prefs.default });
  const always = element.c('always');
  for (const jid of prefs.always) always.c('jid').t(jid);
  const never = element.c('never');
  for (const jid of prefs.never) never.c('jid').t(jid);
  return element;
}

function parsePrefs(payload: Element): ArchivePrefs {
  const fallback = String(payload.attrs.default ?? '');
  if (fallback !== 'always' && fallback !== 'never' && fallback !== 'roster') throw new StanzaError('bad-request', 'default is always, never or roster');
  const jids = (name: string): string[] =>
    (payload.getChild(name)?.getChildren('jid') ?? []).map((jid) => {
      const parsed = tryParseJid(jid.getText());
      if (!parsed) throw new StanzaError('jid-malformed', `${jid.getText()} is not a JID`);
      return parsed.bare;
    });
  return { default: fallback, always: [...new Set(jids('always'))], never: [...new Set(jids('never'))] };
}

async function metadata(host: Host, owner: string): Promise<Element> {
  const { first, last } = await host.state.archive.bounds(owner);
  const element = new Element('metadata', { xmlns: NS_MAM });
  const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (first && last) {
    element.c('start', { id: first.id, timestamp: stamp(first.stamp) });
    element.c('end', { id: last.id, timestamp: stamp(last.stamp) });
  }
  return element;
}

/** The recipient's copy: archived once, and its archive id added as the stanza-id. */
async function archiveInbound(host: Host, routed: RoutedStanza): Promise<void> {
  const { stanza, to, from } = routed;
  if (to.local === '' || !shouldArchive(stanza)) return;
  // Routed again by another node (the bus, a moved resource): archived when first accepted.
  if (stanzaIdBy(stanza, to.bare) !== undefined) return;
  await unlessStoreFails(host, to.bare, async () => {
    const resources = await host.state.registry.resources(to.bare);
    if (resources.length === 0 && !(await host.state.accounts.exists(to.bare))) return;
    const id = await archive(host, to.bare, from.bare, stanza);
    if (id !== undefined) stanza.c('stanza-id', { xmlns: NS_SID, by: to.bare, id });
  });
}

/**
 * The archive is a copy: when its store cannot be written (Redis unreachable), the message is
 * still delivered (or stored offline), without a stanza-id, and the failure is logged.
 */
async function unlessStoreFails(host: Host, owner: string, write: () => Promise<void>): Promise<void> {
  // Known unreachable: not even tried, so delivery is not held up by the store's retries.
  if (host.state.reachable?.() === false) {
    host.log.warn({ event: 'archive_write_skipped', jid: owner, reason: 'store unreachable' });
    return;
  }
  try {
    await write();
  } catch (err) {
    host.log.warn({ event: 'archive_write_failed', jid: owner, err });
  }
}

export const mamModule: Module = {
  name: 'mam',
  load(api) {
    const { host } = api;
    for (const feature of [NS_MAM, NS_MAM_EXTENDED, NS_SID]) api.accountFeature(feature);

    api.iq('self', 'set', NS_MAM, 'query', (request) => query(host, request));
    api.iq('self', 'get', NS_MAM, 'query', () => queryForm());
    api.iq('self', 'get', NS_MAM, 'metadata', (request) => metadata(host, request.from.bare));
    api.iq('self', 'get', NS_MAM, 'prefs', async (request) => prefsElement(await host.state.archive.prefs(request.from.bare)));
    api.iq('self', 'set', NS_MAM, 'prefs', async (request) => {
      const prefs = parsePrefs(request.payload);
      await host.state.archive.setPrefs(request.from.bare, prefs);
      return prefsElement(prefs);
    });
    const forbidden = (): never => {
      throw new StanzaError('forbidden', "Another account's archive is not accessible");
    };
    for (const name of ['query', 'metadata', 'prefs']) {
      api.iq('bare', 'get', NS_MAM, name, forbidden);
      api.iq('bare', 'set', NS_MAM, name, forbidden);
    }

    host.jobs.handle('archive-trim', ({ owner }) => trimArchive(host, owner));

    // After blocking (100), before carbons (5): the sender's copy, once per client send.
    api.hook('pre-message', async ({ stanza, session, to }) => {
      stripForgedIds(stanza, (by) => by === host.domain || by.endsWith(`@${host.domain}`));
      const owner = session.bare_jid;
      if (owner === undefined || to === undefined || to.local === '' || !shouldArchive(stanza)) return;
      await unlessStoreFails(host, owner, async () => {
        await archive(host, owner, to.bare, stanza);
      });
    }, 50);
    // Before carbons (5) and delivery (0), so that every copy and offline storage carry the id.
    api.hook('message/bare', (routed) => archiveInbound(host, routed), 10);
    api.hook('message/full', (routed) => archiveInbound(host, routed), 10);
  },
};

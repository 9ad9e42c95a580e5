// XEP-0163 §4.3 for contacts on other servers: the available presence a remote contact's resource
// sends an account of ours, with its caps (XEP-0115), makes it a recipient of the account's
// events, as Prosody's mod_pep keeps `recipients` from inbound presence. The cluster shares what
// each account heard (state.remoteResources); the caps are asked of the remote resource itself.
import type { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { Host } from '../../core/host.js';
import { stanzaType } from '../../xmpp/stanza.js';
import type { Announcer, ClientCaps } from './caps.js';
import { lastItemsTo } from './notify.js';

/** Remote resources one account keeps at most (a remote server names them). */
const MAX_PER_ACCOUNT = 1000;
/** An account's list lasts this long after the last presence that changed it. */
const TTL_MS = 7 * 24 * 3600 * 1000;

/** Presence to an account of ours from another server: never claimed (the presence module delivers it). */
export async function onRemotePresence(host: Host, caps: ClientCaps, { stanza, from, to }: RoutedStanza): Promise<false> {
  if (from.domain === host.domain || to.local === '' || to.domain !== host.domain) return false;
  const owner = to.bare;
  const type = stanzaType(stanza);
  if (type === 'unavailable') {
    if (from.resource === '') await host.state.remoteResources.removeContact(owner, from.bare);
    else await host.state.remoteResources.remove(owner, from.full);
  } else if (type === 'unsubscribe') {
    // The contact no longer receives the account's presence: it is no recipient either.
    await host.state.remoteResources.removeContact(owner, from.bare);
  } else if (type === undefined && from.resource !== '') {
    await available(host, caps, owner, from.full, from.bare, stanza);
  }
  return false;
}

async function available(host: Host, caps: ClientCaps, owner: string, jid: string, contact: string, stanza: Element): Promise<void> {
  const announced = caps.capsOf(stanza);
  if (!announced) {
    await host.state.remoteResources.remove(owner, jid);
    return;
  }
  if ((await host.state.remoteResources.list(owner)).get(jid)?.ver === announced.ver) return;
  // A contact's, whatever the subscription now: its presence may come before the account approves
  // it (so gains `from`); recipients() checks the subscription when an event is sent.
  if ((await host.state.rosters.entry(owner, contact)).item === undefined) return;
  if (!(await host.state.remoteResources.set(owner, jid, { ver: announced.ver }, MAX_PER_ACCOUNT, TTL_MS))) {
    host.log.warn({ event: 'pep_remote_resources_full' });
    return;
  }
  // Resolved apart from the presence, which goes on to the account's resources meanwhile.
  const announcer: Announcer = { jid, send: (query) => void host.router.send(query), gone: () => false };
  void (async () => {
    const features = await caps.resolve(announcer, announced);
    // XEP-0163 §4.3.2: a remote resource that came online gets the last items it wants and may read.
    if (!features) return;
    await lastItemsTo(host, owner, contact, features, (event) => {
      event.attrs.to = jid;
      return host.router.send(event);
    });
  })().catch((error: unknown) => host.log.error({ event: 'pep_remote_presence_failed', err: error }));
}

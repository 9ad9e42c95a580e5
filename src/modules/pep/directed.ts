// XEP-0163 §4.3 for a resource known to an account only by the directed presence it sent it
// (RFC 6121 §4.6): Prosody's mod_pep counts every presence with caps that reaches the account's
// bare JID, so a contact that sends the account directed presence, and no broadcast (invisible
// to everyone else), still gets its events. As there, only a contact the account lets see its
// presence (a `from` subscription) counts; as for remote contacts (remote.ts), a presence to one
// of the account's resources counts as one to the account. The cluster shares what each account heard
// (state.remoteResources, with the sending session, so a later session of the same full JID that
// sent nothing does not count); whichever node handles a publish reads it.
import type { OutboundStanza } from '../../core/events.js';
import type { Host } from '../../core/host.js';
import { hasFrom } from '../../core/roster.js';
import type { C2SSession } from '../../core/session.js';
import { stanzaType } from '../../xmpp/stanza.js';
import { type Caps, type ClientCaps, sessionAnnouncer } from './caps.js';
import { lastItemsTo } from './notify.js';

/** Accounts one resource may be known to by directed presence (as presence's MAX_DIRECTED). */
const MAX_PER_ACCOUNT = 1000;
/** An account's list lasts this long after the last presence that changed it. */
const TTL_MS = 7 * 24 * 3600 * 1000;

export class DirectedPresence {
  /** The accounts each session of this node made itself known to, to forget it there when it goes. */
  private readonly told = new WeakMap<C2SSession, Set<string>>();

  constructor(
    private readonly host: Host,
    private readonly caps: ClientCaps,
  ) {}

  /** pre-presence: a directed available or unavailable presence to an account of ours. Never claims it. */
  async outbound({ session, stanza, to }: OutboundStanza): Promise<false> {
    const sender = session.bare_jid;
    if (to === undefined) {
      // A broadcast unavailable ends every directed presence too (RFC 6121 §4.6.3).
      if (stanzaType(stanza) === 'unavailable') await this.forget(session);
      return false;
    }
    if (sender === undefined || to.domain !== this.host.domain || to.local === '' || to.bare === sender) return false;
    const type = stanzaType(stanza);
    if (type === 'unavailable') {
      await this.remove(session, to.bare);
    } else if (type === undefined) {
      const announced = this.caps.capsOf(stanza);
      if (announced) await this.available(session, to.bare, announced);
      else await this.remove(session, to.bare);
    }
    return false;
  }

  /** The session ended: the accounts it told forget it (a node that died leaves that to recipients.ts). */
  async forget(session: C2SSession): Promise<void> {
    const owners = this.told.get(session);
    if (!owners) return;
    this.told.delete(session);
    for (const owner of owners) await this.host.state.remoteResources.remove(owner, session.full_jid as string);
  }

  private async available(session: C2SSession, owner: string, announced: Caps): Promise<void> {
    const jid = session.full_jid as string;
    const contact = session.bare_jid as string;
    if (!hasFrom((await this.host.state.rosters.entry(owner, contact)).item)) return;
    const [current, record] = await Promise.all([this.host.state.remoteResources.list(owner), this.host.state.registry.get(jid)]);
    const previous = current.get(jid);
    if (previous?.ver === announced.ver && previous.session?.id === session.id) return;
    const token = record?.session_id === session.id ? record.sm_token : undefined;
    const known = { ver: announced.ver, session: { id: session.id, ...(token === undefined ? {} : { token }) } };
    if (!(await this.host.state.remoteResources.set(owner, jid, known, MAX_PER_ACCOUNT, TTL_MS))) {
      this.host.log.warn({ event: 'pep_directed_resources_full' });
      return;
    }
    let owners = this.told.get(session);
    if (!owners) this.told.set(session, (owners = new Set()));
    owners.add(owner);
    // The presence goes on meanwhile; the caps are asked of the session if nobody knows them yet.
    void (async () => {
      const features = await this.caps.resolve(sessionAnnouncer(session), announced);
      if (!features || session.destroyed) return;
      await lastItemsTo(this.host, owner, contact, features, (event) => {
        event.attrs.to = jid;
        session.send(event);
      });
    })().catch((error: unknown) => this.host.log.error({ event: 'pep_directed_presence_failed', session: session.id, err: error }));
  }

  private async remove(session: C2SSession, owner: string): Promise<void> {
    const owners = this.told.get(session);
    if (!owners?.delete(owner)) return;
    await this.host.state.remoteResources.remove(owner, session.full_jid as string);
  }
}

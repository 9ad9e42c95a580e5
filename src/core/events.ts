// The one catalogue of hook names and payloads (after Prosody's event names).
import type { Element } from 'ltx';
import type { Jid } from '../xmpp/jid.js';
import type { RosterItem } from '../state/roster.js';
import type { SessionRecord } from '../state/sessions.js';
import type { StanzaKind } from '../xmpp/kinds.js';
import type { C2SSession, Conn, StreamConnection } from './session.js';

/** A dead node's session whose stream was detached and whose registry record is still to be parked (core/orphans.ts). */
export interface Orphan {
  fullJid: string;
  /** The session the dead node held. */
  sessionId: string;
  user: string;
  token: string;
  /** Points the registry record at the parked stream. */
  park(): Promise<void>;
}

/** Collects a dead node's orphans, to move what its inbox holds for them in one scan. */
export interface OrphanCollector {
  add(orphan: Orphan): void;
}

/** A stanza on its way to `to`; `origin` is the local client that sent it, if any. */
export interface RoutedStanza {
  stanza: Element;
  kind: StanzaKind;
  from: Jid;
  to: Jid;
  origin?: C2SSession;
}

/** A stanza from a local client before routing (outbound processing). */
export interface OutboundStanza {
  stanza: Element;
  kind: StanzaKind;
  session: C2SSession;
  /** Absent: addressed to the account itself. */
  to: Jid | undefined;
}

export interface HookCatalogue {
  /** Synchronous: handlers add their feature elements (fired with fireSync). */
  'stream-features': { session: C2SSession; features: Element };
  /** A stanza before authentication (XEP-0077 registration claims it); unclaimed → not-authorized. */
  'unauthenticated-stanza': { session: C2SSession; stanza: Element };
  'authentication-success': { session: C2SSession; mechanism: string };
  'authentication-failure': { session: C2SSession; mechanism: string; condition: string };
  'pre-message': OutboundStanza;
  'pre-presence': OutboundStanza;
  'pre-iq': OutboundStanza;
  'message/full': RoutedStanza;
  'message/bare': RoutedStanza;
  'message/host': RoutedStanza;
  'presence/full': RoutedStanza;
  'presence/bare': RoutedStanza;
  'presence/host': RoutedStanza;
  'iq/full': RoutedStanza;
  'iq/bare': RoutedStanza;
  'iq/host': RoutedStanza;
  /** A stanza to another domain: a service this server hosts there (XEP-0045 rooms) claims it; unclaimed → remote-server-not-found. */
  'service-stanza': RoutedStanza;
  /**
   * A message kept for an account that cannot take it now: stored offline, queued for a
   * hibernating stream (XEP-0198, no connection) or for a parked one (kept by no node), or
   * written to a stream whose client has not acknowledged it in time (`unacknowledged`: its
   * connection may be dead unnoticed; also fired for what a stream that loses its connection
   * or its node never acknowledged). Push notifications (XEP-0357) start here, once per message
   * however often it is fired; a notice, never claimed.
   */
  'message-held': { user: string; stanza: Element; place: 'offline' | 'hibernating' | 'parked' | 'unacknowledged' };
  /** A message no resource can take now (RFC 6121 §8.5.2.1.1): claimed by offline storage. */
  'message/offline': RoutedStanza;
  /**
   * A bind under way, before its registry claim: a module may start the reads the session's
   * first stanzas need, without waiting for them, so that they share the claim's round trip.
   * A handler must not wait for the store.
   */
  'resource-binding': { session: C2SSession; fullJid: string };
  'resource-bind': { session: C2SSession };
  /** A stream-level element outside jabber:client (XEP-0198 enable, r, a, resume); unclaimed → stream error. */
  'stream-nonza': { connection: StreamConnection; element: Element };
  /** Synchronous: what may be requested inside a SASL2 <authenticate/> (XEP-0388 <inline/>; stream management adds <sm/>). */
  'sasl2-inline-features': { session: C2SSession; inline: Element };
  /** Synchronous: features a Bind2 request may enable (XEP-0386 <inline/>, one <feature var/> each). */
  'bind2-inline-features': { session: C2SSession; inline: Element };
  /**
   * An XEP-0198 <resume/> inside a SASL2 <authenticate/>, once authenticated; claimed when
   * handled. What the handler writes on `connection` (<resumed/> or <failed/> first) goes into
   * the <success/> and after it.
   */
  'sasl2-resume': { connection: StreamConnection; element: Element };
  /**
   * A child of a Bind2 <bind/> after the bind (<enable/> of carbons or stream management, CSI's
   * <inactive/>); claimed when handled; its answer written on `connection` goes into <bound/>.
   * `output` is the connection the session writes to once the <success/> is out.
   */
  'bind2-enable': { connection: StreamConnection; element: Element; output: Conn };
  /** The node is draining: a handler that can hand the session over (stream management parks it) claims it. */
  'session-handover': { session: C2SSession; ackWaitMs: number };
  /** Before a bound session ends; a handler returning true keeps it (stream management hibernation). */
  'pre-resource-unbind': { session: C2SSession; error?: string; clean: boolean };
  /** After the session left the registry; `error` explains an unclean end. */
  'resource-unbind': { session: C2SSession; error?: string };
  /** A dead node's resource, before it is removed: stream management claims resumable ones and parks them. */
  'resource-orphaned': { record: SessionRecord; orphans: OrphanCollector };
  /** Another node resumed this local session's stream (XEP-0198): it must vanish quietly. */
  'stream-taken-over': { session: C2SSession };
  /** A resource of a dead node was removed from the registry: its contacts must see it go. */
  'resource-lost': { record: SessionRecord; reason: string };
  /**
   * The shared store may have lost data (Redis came back empty, or failed over to a lagging
   * replica) and this node wrote its sessions' records back: modules write back what else they
   * hold for local sessions (stream management state, its expiry).
   */
  'state-restored': { sessions: readonly C2SSession[] };
  /**
   * The first available presence of a resource, broadcast; `resources` are the account's records
   * as read right after this presence was stored (the other resources' presence comes from them).
   */
  'presence/initial': { session: C2SSession; stanza: Element; resources: readonly SessionRecord[] };
  /** Before a roster item is deleted (RFC 6121 §2.5.2): cancel subscriptions both ways. */
  'roster-item-removed': { user: string; contact: string; item: RosterItem | undefined; pendingIn: boolean };
  'user-deleted': { user: string };
  /** A resumable session moved: parked (node PARKED_NODE) or resumed on `node`. Services that remember where a resource is (group chat) follow it. */
  'resource-moved': { fullJid: string; node: string };
  /** `user` stored a new vCard (XEP-0054; empty: cleared): XEP-0398 makes its PHOTO the PEP avatar. */
  'vcard-set': { user: string; vcard: Element };
  /** `user` now has a subscription to `contact`'s presence (an inbound `subscribed` was applied). */
  'subscription-approved': { user: string; contact: string };
}

export const FULL_EVENT = { message: 'message/full', presence: 'presence/full', iq: 'iq/full' } as const;
export const BARE_EVENT = { message: 'message/bare', presence: 'presence/bare', iq: 'iq/bare' } as const;
export const HOST_EVENT = { message: 'message/host', presence: 'presence/host', iq: 'iq/host' } as const;
export const PRE_EVENT = { message: 'pre-message', presence: 'pre-presence', iq: 'pre-iq' } as const;

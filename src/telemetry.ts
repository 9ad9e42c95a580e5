// What the core reports about itself. The composition root plugs in the Prometheus
// implementation (metrics/); the core only ever sees this interface. Every label value is
// from a small fixed set: never a JID.
import type { ReassertOutcome } from './state/sessions.js';
import type { SessionType, StanzaKind, Transport } from './xmpp/kinds.js';

/** The `kind` label of a stanza metric: a stanza kind, or 'other' for anything else on the stream. */
export type StanzaLabel = StanzaKind | 'other';
/**
 * Where an accepted stanza ended: written to a local session, handed to another node, stored
 * offline, answered with an error, discarded as the RFCs require (errors, results, presence
 * for unavailable resources), or dropped by a failure — which must stay at zero.
 */
export type RouteOutcome = 'local' | 'remote' | 'offline' | 'bounced' | 'discarded' | 'dropped';
export type Direction = 'in' | 'out';
/**
 * What became of an envelope for another node that waited while Redis was unreachable: sent
 * once Redis was back, or bounced because it waited too long or the queue was full.
 */
export type PendingOutcome = 'sent' | 'expired' | 'overflow';
/**
 * Why a stream resumption (XEP-0198 §5) failed, as the condition sent in <failed/>: no
 * hibernating session has that id (never had, or it expired), it is another account's, the
 * request came out of order (before authentication, after binding), or taking it over failed.
 */
export type SmResumeFailure = 'item-not-found' | 'not-authorized' | 'unexpected-request' | 'internal-server-error';

/**
 * What the node holds at the moment of a scrape. The metrics read it when scraped; nothing is
 * pushed to them for it, so a gauge can never drift from the truth.
 */
export interface NodeSnapshot {
  connections: Iterable<{ state: SessionType; transport: Transport }>;
}

export interface Telemetry {
  authentication(mechanism: string, outcome: 'success' | 'failure'): void;
  stanzaIn(kind: StanzaLabel): void;
  stanzaOut(kind: StanzaLabel): void;
  routed(outcome: RouteOutcome): void;
  streamError(condition: string): void;
  /** Envelopes on the node bus, and the time from send to handling on the receiving node. */
  busEnvelope(direction: Direction): void;
  crossNodeLatency(seconds: number): void;
  changeNotice(direction: Direction): void;
  /** A configured limit was enforced (rate, size, connection cap…). */
  limitEnforced(limit: string): void;
  /** A maintenance job (dead-node sweep, hibernation expiry) ran. */
  job(name: string, outcome: 'completed' | 'failed'): void;
  /** XEP-0198: a session enabled stream management. */
  smEnabled(): void;
  /** XEP-0198: a hibernating session was resumed. */
  smResumed(): void;
  smResumeFailed(reason: SmResumeFailure): void;
  /**
   * Registers how many sessions hibernate on this node (XEP-0198: detached, awaiting
   * resumption); it is read at each scrape, as part of the node's snapshot. Several
   * registrations add up. Returns the function that removes this one (on module unload).
   */
  hibernating(count: () => number): () => void;
  /** The node wrote back what it holds after the store may have lost data. */
  stateRestored(): void;
  sessionReasserted(outcome: ReassertOutcome): void;
  /** Registers the count of envelopes waiting for Redis (read at each scrape); returns its removal. */
  pendingEnvelopes(count: () => number): () => void;
  pendingEnvelope(outcome: PendingOutcome): void;
  /** An error no connection or request caught reached the process (process-guard.ts). */
  uncaughtError(kind: UncaughtKind): void;
  s2s(event: S2SEvent): void;
  component(event: ComponentEvent): void;
  push(outcome: PushOutcome): void;
}

export type UncaughtKind = 'exception' | 'rejection';

/**
 * Server-to-server federation (src/s2s/), counted without domain names: streams opened each way,
 * stanzas written to and read from remote servers, streams that failed to connect or to
 * authenticate, stanzas bounced for a remote domain.
 */
export type S2SEvent = 'stream_out' | 'stream_in' | 'stanza_out' | 'stanza_in' | 'failure' | 'bounce';

/**
 * External components (src/component/), without domain names: connections authenticated and
 * refused, stanzas read from and written to components, stanzas forwarded to the node holding
 * the component, stanzas bounced because no node holds it.
 */
export type ComponentEvent = 'connected' | 'refused' | 'stanza_in' | 'stanza_out' | 'forwarded' | 'bounce';

/**
 * Push notifications (XEP-0357, modules/push/): sent and answered with a result, sent again after
 * a timeout or a temporary error, registrations disabled by a permanent error, and notifications
 * given up after the last try.
 */
export type PushOutcome = 'published' | 'retried' | 'disabled' | 'gave_up';

export const noTelemetry: Telemetry = {
  authentication() {},
  stanzaIn() {},
  stanzaOut() {},
  routed() {},
  streamError() {},
  busEnvelope() {},
  crossNodeLatency() {},
  changeNotice() {},
  limitEnforced() {},
  job() {},
  smEnabled() {},
  s2s() {},
  component() {},
  push() {},
  smResumed() {},
  smResumeFailed() {},
  hibernating() {
    return () => {};
  },
  stateRestored() {},
  sessionReasserted() {},
  pendingEnvelopes() {
    return () => {};
  },
  pendingEnvelope() {},
  uncaughtError() {},
};

/** The kind of a serialised stanza, from its first bytes. */
export function kindOfXml(xml: string): StanzaLabel {
  if (xml.startsWith('<message')) return 'message';
  if (xml.startsWith('<presence')) return 'presence';
  if (xml.startsWith('<iq')) return 'iq';
  return 'other';
}

export function kindOfName(name: string): StanzaLabel {
  return name === 'message' || name === 'presence' || name === 'iq' ? name : 'other';
}

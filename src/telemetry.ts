// What the core reports about itself. The composition root plugs in the Prometheus
// implementation (metrics/); the core only ever sees this interface. Every label value is
// from a small fixed set: never a JID.

export type Transport = 'plain' | 'starttls' | 'directtls';
export type StanzaKind = 'message' | 'presence' | 'iq' | 'other';
/**
 * Where an accepted stanza ended: written to a local session, handed to another node, stored
 * offline, answered with an error, discarded as the RFCs require (errors, results, presence
 * for unavailable resources), or dropped by a failure — which must stay at zero.
 */
export type RouteOutcome = 'local' | 'remote' | 'offline' | 'bounced' | 'discarded' | 'dropped';
export type Direction = 'in' | 'out';

export interface Telemetry {
  authentication(mechanism: string, outcome: 'success' | 'failure'): void;
  stanzaIn(kind: StanzaKind): void;
  stanzaOut(kind: StanzaKind): void;
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
}

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
};

/** The kind of a serialised stanza, from its first bytes. */
export function kindOfXml(xml: string): StanzaKind {
  if (xml.startsWith('<message')) return 'message';
  if (xml.startsWith('<presence')) return 'presence';
  if (xml.startsWith('<iq')) return 'iq';
  return 'other';
}

export function kindOfName(name: string): StanzaKind {
  return name === 'message' || name === 'presence' || name === 'iq' ? name : 'other';
}

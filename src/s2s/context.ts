// What one s2s stream needs of the service that runs it (service.ts builds it).
import type { Element } from 'ltx';
import type { Config } from '../config.js';
import type { RoutedStanza } from '../core/events.js';
import type { Logger } from '../log.js';
import type { StanzaError } from '../xmpp/errors.js';
import type { S2SPolicy } from './policy.js';
import type { Routes } from './resolve.js';
import type { S2SEvent } from '../telemetry.js';
import type { TokenBucket } from '../core/rate-limit.js';
import type { TrustStore } from './certificate.js';

export interface S2SContext {
  /** The server's own domain (the stream header's `from` when a peer names none of ours). */
  readonly domain: string;
  /**
   * Whether a domain is ours to speak for: the server's, or one of the services it hosts (group
   * chat, components). Each is a domain of its own between servers (XEP-0220 §2.1: one stream
   * per pair of domains), authenticated by dialback or a certificate naming it.
   */
  serves(domain: string): boolean;
  readonly config: Config;
  readonly policy: S2SPolicy;
  readonly routes: Routes;
  readonly log: Logger;
  /** Our certificate, and the CAs peers' certificates are checked against (unset: the system's). */
  readonly tls: { key: string; cert: string; ca?: string | undefined; trust: TrustStore };
  /** Our certificate verifies for this domain of ours (certificate.ts): outgoing streams from it may try SASL EXTERNAL. */
  certificateValid(domain: string): boolean;
  /** XEP-0185 secret, the same on every node. */
  readonly secret: Buffer;
  /** A stanza that arrived from an authenticated remote server, into the cluster. */
  route(routed: RoutedStanza): Promise<void>;
  /** Answers a stanza with an error to its sender (never for errors and results). */
  bounce(routed: RoutedStanza, error: StanzaError): Promise<void>;
  /** A stanza a closed stream wrote but the peer never acknowledged: one more try, then a bounce. */
  resend(routed: RoutedStanza): Promise<void>;
  /** XEP-0220 §2.1.2: asks the originating domain's authoritative server (from `receiving`, ours) whether a key is its own. */
  verify(receiving: string, originating: string, streamId: string, key: string): Promise<boolean>;
  count(event: S2SEvent): void;
  /** A fresh byte budget for one incoming stream (`s2sBytesPerSecond`); none when unlimited. */
  incomingBudget(): TokenBucket | undefined;
  /** An incoming stream's reading paused for its byte budget. */
  limited(): void;
}

export type { S2SEvent } from '../telemetry.js';

export function isStanza(element: Element): element is Element & { name: 'message' | 'presence' | 'iq' } {
  return (element.name === 'message' || element.name === 'presence' || element.name === 'iq') && element.attrs.xmlns === undefined;
}

// Server side of RFC 6120 §6 SASL: the contract between the stream layer and a mechanism
// (the registry of mechanisms is sasl/index.ts). A mechanism is a single-use state machine fed the raw
// (already base64-decoded) bytes of each client message; it never throws: every outcome,
// including an internal error, is a SaslStep value.
import type { StoredCredentials } from '../state/accounts.js';
import type { SaslError } from './errors.js';

/** RFC 5929 / RFC 9266 channel-binding types. */
export type ChannelBindingType = 'tls-exporter' | 'tls-server-end-point' | 'tls-unique';

export interface SaslContext {
  domain: string;
  /** RFC 7622 localpart preparation, throws on invalid input; inject it (the JID module is written elsewhere). */
  prepUsername(authcid: string): string;
  /** Stored keys for a prepared username, or undefined if the account does not exist. */
  lookup(username: string): Promise<StoredCredentials | undefined>;
  /**
   * Iteration count used for accounts that do not exist (SCRAM's fake challenge, PLAIN's
   * dummy derivation) and for keys derived at login. Set it to what deriveCredentials is called
   * with. Default 4096.
   */
  unknownUserIterations?: number;
  /**
   * Compare-and-set of an account's keys (AccountStore.replaceCredentials): PLAIN, which sees the
   * password, fills in the keys of a hash that are unknown (an account imported with SCRAM-SHA-1
   * keys only), so that the next login may use SCRAM-SHA-256. Absent: nothing is ever stored.
   */
  replaceCredentials?(username: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean>;
  /** The connection's channel-binding data of a type, undefined when it has none (SCRAM-*-PLUS). */
  channelBinding?(type: ChannelBindingType): Buffer | undefined;
  /**
   * Whether the server offers channel binding on this connection: a client that says it could
   * bind but thinks the server cannot ('y' flag) is then being downgraded (RFC 5802 §6).
   */
  channelBindingOffered?: boolean;
  /**
   * XEP-0474 downgrade protection: what the features offered, for the hash SCRAM puts in its
   * server-first-message. `channelBindings` is undefined when no XEP-0440 element was sent.
   */
  downgradeProtection?: { mechanisms: readonly string[]; channelBindings?: readonly string[] };
  /** Testing hook: the server's part of the SCRAM nonce (printable ASCII, no ','). Default: 24 random bytes, base64. */
  serverNonce?(): string;
}

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  /** data = additional data with success (SCRAM server-final). */
  | { kind: 'success'; username: string; data?: Buffer }
  /**
   * username when known (prepared), for per-account throttling. passwordUnchecked: the exchange
   * could not check any password (the account has no keys for this mechanism), so the failure is
   * no guess at one and is not counted against the address or the account.
   */
  | { kind: 'failure'; error: SaslError; username?: string; passwordUnchecked?: true };

export interface SaslServerMechanism { readonly name: string; step(response: Buffer): Promise<SaslStep> }

export { SaslError } from './errors.js';
export type { SaslCondition } from './errors.js';

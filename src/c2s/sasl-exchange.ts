// One connection's SASL exchanges (RFC 6120 §6), whatever carries them: legacy SASL
// (negotiation.ts) and SASL2 (XEP-0388, sasl2.ts) differ only in the elements they write (the
// SaslWire). Choosing a mechanism, decoding, throttling, failure counting, logging and metrics
// are here once, so both profiles refuse, slow down and report a login the same way.
import { type ChannelBindingType, createMechanism, type SaslContext, type SaslServerMechanism, type SaslStep } from '../sasl/index.js';
import type { SaslCondition } from '../sasl/errors.js';
import { StreamError } from '../xmpp/errors.js';
import { prepLocalpart } from '../xmpp/jid.js';
import type { StoredCredentials } from '../state/accounts.js';
import { bindingData, bindingTypes } from './channel-binding.js';
import type { NegotiatingConnection } from './negotiating-connection.js';

/** How a SASL profile writes its answers. */
export interface SaslWire {
  challenge(data: Buffer): void;
  failure(condition: SaslCondition, text?: string): void;
}

/** RFC 6120 §6.4.5: a few retries, then the connection is closed. */
const MAX_SASL_FAILURES = 5;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A successful exchange, with the mechanism it used. */
export type Success = Extract<SaslStep, { kind: 'success' }> & { mechanism: string };

export class SaslExchange {
  private mechanism: SaslServerMechanism | undefined;
  private saslFailures = 0;
  /** The address's failed logins across the cluster, read at the first attempt and kept up to date. */
  private addressFailures: number | undefined;

  constructor(private readonly connection: NegotiatingConnection) {}

  private get host() {
    return this.connection.host;
  }

  get active(): boolean {
    return this.mechanism !== undefined;
  }

  /**
   * The configured mechanisms (ROOKERY_SASL_MECHANISMS), in their order, after the -PLUS
   * variants of its SCRAM ones when the connection can bind to its TLS channel (RFC 5802 §6); a
   * request for another one is invalid-mechanism.
   */
  offered(): string[] {
    const configured = this.host.config.saslMechanisms.split(',').map((name) => name.trim());
    const plus = this.bindingTypes().length > 0 ? configured.filter((name) => name.startsWith('SCRAM-')).map((name) => `${name}-PLUS`) : [];
    return [...plus, ...configured];
  }

  /** The channel-binding types of this connection (XEP-0440). */
  bindingTypes(): ChannelBindingType[] {
    return this.host.config.channelBinding ? bindingTypes(this.connection.tlsSocket) : [];
  }

  /** What a mechanism may know of this connection and the store. */
  context(): SaslContext {
    const types = this.bindingTypes();
    return {
      domain: this.host.domain,
      prepUsername: prepLocalpart,
      lookup: (username) => this.host.state.accounts.credentials(`${username}@${this.host.domain}`),
      unknownUserIterations: this.host.config.scramIterations,
      replaceCredentials: (username, expected, credentials) => this.completeKeys(username, expected, credentials),
      channelBinding: (type) => (types.includes(type) ? bindingData(this.connection.tlsSocket, type) : undefined),
      channelBindingOffered: types.length > 0,
      // The same list in <mechanisms/> and SASL2's <authentication/>; XEP-0440 only with types.
      downgradeProtection: { mechanisms: this.offered(), ...(types.length > 0 ? { channelBindings: types } : {}) },
    };
  }

  /** The client aborted (RFC 6120 §6.4.4). */
  abort(wire: SaslWire): void {
    const aborted = this.mechanism?.name;
    this.mechanism = undefined;
    wire.failure('aborted');
    this.logFailure(aborted, 'aborted');
  }

  /** Starts an exchange with the mechanism asked for; false when refused (the refusal is written). */
  start(requested: string, wire: SaslWire, extra: SaslServerMechanism | undefined = undefined): boolean {
    if (!this.connection.secure && !this.host.config.allowPlaintextAuth) return this.refuse(requested, 'encryption-required', wire);
    // Not the client's fault, so not counted against it: it may try again in a moment.
    if (this.host.state.reachable?.() === false) return this.refuse(requested, 'temporary-auth-failure', wire, 'The account store is unreachable');
    const mechanism = extra ?? (this.offered().includes(requested) ? createMechanism(requested, this.context()) : undefined);
    if (!mechanism) return this.refuse(requested, 'invalid-mechanism', wire);
    this.mechanism = mechanism;
    return true;
  }

  /**
   * One client message (base64 text, '=' or '' for empty) to the mechanism. A challenge is
   * written here, a failure too (counted, logged, and the connection closed after too many);
   * a success is returned for the profile to announce (accept, then announce).
   */
  async respond(text: string, wire: SaslWire): Promise<Success | undefined> {
    const mechanism = this.mechanism;
    if (!mechanism) return undefined;
    if (text !== '' && text !== '=' && !BASE64.test(text)) {
      this.mechanism = undefined;
      this.refuse(mechanism.name, 'incorrect-encoding', wire);
      return undefined;
    }
    // The address's failures are read beside the mechanism's own reads (one round trip, not two);
    // the answer still waits out the delay they call for, so a guess is no faster.
    const [failures, step] = await Promise.all([
      this.addressFailures ?? this.connection.ctx.throttle.addressFailures(this.connection.remoteAddress),
      mechanism.step(Buffer.from(text === '=' ? '' : text, 'base64')),
    ]);
    this.addressFailures ??= failures;
    const delay = this.connection.ctx.throttle.delayFor(this.addressFailures);
    if (delay > 0) {
      this.host.telemetry.limitEnforced('auth_throttle');
      await sleep(delay);
    }
    if (step.kind === 'challenge') {
      wire.challenge(step.data);
      return undefined;
    }
    this.mechanism = undefined;
    if (step.kind === 'failure') {
      await this.failed(step, mechanism.name, wire);
      return undefined;
    }
    return { ...step, mechanism: mechanism.name };
  }

  /** A checked credential that failed: counted against the address and account, slowed down, logged. */
  async failed(step: Extract<SaslStep, { kind: 'failure' }>, mechanism: string, wire: SaslWire): Promise<void> {
    const { throttle } = this.connection.ctx;
    // A store that failed, or an account without keys for the mechanism, is no guess at a
    // password: only real failures slow the address down.
    let delay = 0;
    if (step.error.condition !== 'temporary-auth-failure' && !step.passwordUnchecked) {
      const counted = await throttle.fail(this.connection.remoteAddress, step.username);
      this.addressFailures = counted.addressFailures;
      delay = counted.delayMs;
    }
    if (delay > 0) {
      this.host.telemetry.limitEnforced('auth_throttle');
      await sleep(delay);
    }
    this.host.telemetry.authentication(mechanism, 'failure');
    this.logFailure(mechanism, step.error.condition, step.error.text, step.username);
    const session = this.connection.session;
    await this.host.hooks.fire('authentication-failure', { session, mechanism, condition: step.error.condition });
    wire.failure(step.error.condition, step.error.text);
    if (++this.saslFailures >= MAX_SASL_FAILURES) {
      this.host.telemetry.limitEnforced('sasl_failures');
      this.connection.close(new StreamError('policy-violation', 'Too many failed authentication attempts'));
    }
  }

  /** The session is authenticated as the step's user (before the profile writes its success). */
  async accept(step: Success): Promise<void> {
    if ((this.addressFailures ?? 0) > 0) await this.connection.ctx.throttle.succeed(this.connection.remoteAddress, step.username);
    const session = this.connection.session;
    session.username = step.username;
    session.type = 'c2s_unbound';
  }

  /** After the success was written: logged, counted, and the modules told. */
  async announce({ mechanism }: Success): Promise<void> {
    const session = this.connection.session;
    this.host.log.info(
      { event: 'auth_success', jid: session.bare_jid, address: this.connection.remoteAddress, mechanism, session: session.id },
      'authentication succeeded',
    );
    this.host.telemetry.authentication(mechanism, 'success');
    await this.host.hooks.fire('authentication-success', { session, mechanism });
  }

  /** A refusal before any credential was checked: answered, logged, not counted against the address. */
  refuse(mechanism: string, condition: SaslCondition, wire: SaslWire, text?: string): false {
    wire.failure(condition, text);
    this.logFailure(mechanism, condition, text);
    return false;
  }

  /** Stores the keys PLAIN derived for an imported account (sasl/plain.ts), logging the outcome. */
  private async completeKeys(username: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean> {
    const jid = `${username}@${this.host.domain}`;
    const session = this.connection.session;
    try {
      const stored = await this.host.state.accounts.replaceCredentials(jid, expected, credentials);
      // Not stored: the credentials changed since the login read them (a password change won).
      this.host.log.info({ event: stored ? 'credentials_completed' : 'credentials_changed_meanwhile', jid, session: session.id }, 'missing SCRAM keys derived at login');
      return stored;
    } catch (error) {
      this.host.log.warn({ event: 'credentials_complete_failed', jid, session: session.id, err: error }, 'could not store the SCRAM keys derived at login');
      return false;
    }
  }

  /** One line per failed login, for audits and fail2ban-style blocking (README: Logs). */
  private logFailure(mechanism: string | undefined, condition: SaslCondition, text?: string, username?: string): void {
    // info, as Prosody logs it: a wrong password is the client's doing, not the server's trouble.
    this.host.log.info(
      {
        event: 'auth_failure',
        ...(username !== undefined ? { jid: `${username}@${this.host.domain}` } : {}),
        address: this.connection.remoteAddress,
        mechanism: mechanism || 'none',
        reason: condition,
        ...(text ? { text } : {}),
        session: this.connection.session.id,
      },
      'authentication failed',
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

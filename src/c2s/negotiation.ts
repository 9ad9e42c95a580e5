// Stream negotiation before a resource is bound (RFC 6120 §4.3, §5 STARTTLS, §6 SASL, §7 bind).
import { Element } from 'ltx';
import { createMechanism, type SaslServerMechanism, type SaslStep } from '../sasl/index.js';
import type { SaslCondition } from '../sasl/errors.js';
import type { StreamHeader } from '../xml/stream-parser.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import { prepDomain, prepLocalpart } from '../xmpp/jid.js';
import { NS_BIND, NS_SASL, NS_TLS } from '../xmpp/ns.js';
import { errorReply, iqPayload, iqResult, isClientStanza, stanzaType } from '../xmpp/stanza.js';
import type { Host } from '../core/host.js';
import type { StreamConnection } from '../core/session.js';
import type { AuthThrottle } from './auth-throttle.js';
import { SCRAM_ITERATIONS } from '../core/accounts.js';
import type { StoredCredentials } from '../state/accounts.js';

/** What the negotiation needs of its connection (c2s/connection.ts implements it). */
export interface NegotiatingConnection extends StreamConnection {
  readonly host: Host;
  readonly ctx: { readonly throttle: AuthThrottle };
  readonly secure: boolean;
  /** False on a WebSocket: no STARTTLS is offered there (RFC 7395 §3.8). */
  readonly canStartTls: boolean;
  readonly remoteAddress: string;
  /** After <proceed/>: the rest of the socket's input is TLS. */
  startTls(): void;
  /** SASL succeeded: the authenticated limits apply. */
  authenticated(): void;
  restartStream(): void;
  bound(): void;
}

/** RFC 6120 §6.4.5: a few retries, then the connection is closed. */
const MAX_SASL_FAILURES = 5;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class Negotiation {
  private mechanism: SaslServerMechanism | undefined;
  private saslFailures = 0;
  /** The address's failed logins across the cluster, read at the first attempt and kept up to date. */
  private addressFailures: number | undefined;

  constructor(private readonly connection: NegotiatingConnection) {}

  private get session() {
    return this.connection.session;
  }

  private get host() {
    return this.connection.host;
  }

  /** Checks an incoming stream header; a stream error to close with, or undefined. */
  checkHeader(header: StreamHeader): StreamError | undefined {
    const version = header.attrs.version;
    const major = version === undefined ? 0 : Number.parseInt(version.split('.')[0] ?? '', 10);
    if (!(major >= 1)) return new StreamError('unsupported-version', 'Only XMPP 1.0 streams are supported');
    const to = header.attrs.to;
    if (to === undefined || to === '') return new StreamError('improper-addressing', "A 'to' attribute is required on stream headers");
    let domain: string;
    try {
      domain = prepDomain(to);
    } catch {
      return new StreamError('improper-addressing', "The stream's 'to' is not a valid domain");
    }
    if (domain !== this.host.domain) return new StreamError('host-unknown', 'This server does not serve ' + domain);
    if (this.session.host !== undefined && this.session.host !== domain) return new StreamError('not-authorized');
    this.session.host = domain;
    return undefined;
  }

  /** RFC 6120 §4.3.2: what the client may do next. */
  features(): Element {
    const features = new Element('stream:features');
    const { config } = this.host;
    if (this.session.type === 'c2s_unauthed') {
      if (!this.connection.secure && this.connection.canStartTls) {
        const starttls = features.c('starttls', { xmlns: NS_TLS });
        if (!config.allowPlaintextAuth) starttls.c('required');
      }
      if (this.connection.secure || config.allowPlaintextAuth) {
        const mechanisms = features.c('mechanisms', { xmlns: NS_SASL });
        for (const name of this.offered()) mechanisms.c('mechanism').t(name);
      }
    } else {
      features.c('bind', { xmlns: NS_BIND });
    }
    this.host.hooks.fireSync('stream-features', { session: this.session, features });
    return features;
  }

  /** The configured mechanisms (ROOKERY_SASL_MECHANISMS), in their order; a request for another one is invalid-mechanism. */
  private offered(): string[] {
    return this.host.config.saslMechanisms.split(',').map((name) => name.trim());
  }

  /** An element received before a resource is bound. */
  async handle(element: Element): Promise<void> {
    const xmlns = element.attrs.xmlns;
    if (this.session.type === 'c2s_unauthed') {
      if (xmlns === NS_TLS && element.name === 'starttls') return this.startTls();
      if (xmlns === NS_SASL) return this.sasl(element);
      if (isClientStanza(element) && (await this.host.hooks.fire('unauthenticated-stanza', { session: this.session, stanza: element }))) return;
      this.connection.close(new StreamError('not-authorized'));
      return;
    }
    // c2s_unbound: only bind (RFC 6120 §7) or a stream-level request (XEP-0198 resume); other
    // stanzas are never routed before it.
    if (!isClientStanza(element)) {
      if (await this.host.hooks.fire('stream-nonza', { connection: this.connection, element })) return;
      this.connection.close(new StreamError('unsupported-stanza-type'));
      return;
    }
    const payload = element.name === 'iq' ? iqPayload(element) : undefined;
    if (payload?.name === 'bind' && payload.attrs.xmlns === NS_BIND && stanzaType(element) === 'set') {
      await this.bind(element, payload);
      return;
    }
    const type = stanzaType(element);
    if (type !== 'error' && type !== 'result') this.session.send(errorReply(element, new StanzaError('service-unavailable')));
  }

  private startTls(): void {
    if (this.connection.secure || !this.connection.canStartTls) {
      this.connection.write(`<failure xmlns='${NS_TLS}'/>`);
      this.connection.close();
      return;
    }
    this.connection.write(`<proceed xmlns='${NS_TLS}'/>`);
    this.connection.startTls();
  }

  private async sasl(element: Element): Promise<void> {
    if (element.name === 'abort') {
      const aborted = this.mechanism?.name;
      this.mechanism = undefined;
      this.failure('aborted');
      this.logAuthFailure(aborted, 'aborted');
      return;
    }
    if (element.name === 'auth') {
      const requested = String(element.attrs.mechanism ?? '');
      if (!this.connection.secure && !this.host.config.allowPlaintextAuth) return this.refuse(requested, 'encryption-required');
      // Not the client's fault, so not counted against it: it may try again in a moment.
      if (this.host.state.reachable?.() === false) return this.refuse(requested, 'temporary-auth-failure', 'The account store is unreachable');
      if (!this.offered().includes(requested)) return this.refuse(requested, 'invalid-mechanism');
      const mechanism = createMechanism(requested, {
        domain: this.host.domain,
        prepUsername: prepLocalpart,
        lookup: (username) => this.host.state.accounts.credentials(`${username}@${this.host.domain}`),
        unknownUserIterations: SCRAM_ITERATIONS,
        replaceCredentials: (username, expected, credentials) => this.completeKeys(username, expected, credentials),
      });
      if (!mechanism) return this.refuse(requested, 'invalid-mechanism');
      this.mechanism = mechanism;
    } else if (element.name !== 'response' || !this.mechanism) {
      this.connection.close(new StreamError('not-authorized'));
      return;
    }
    const text = element.getText().trim();
    if (text !== '=' && !BASE64.test(text)) {
      const name = this.mechanism.name;
      this.mechanism = undefined;
      return this.refuse(name, 'incorrect-encoding');
    }
    this.addressFailures ??= await this.connection.ctx.throttle.addressFailures(this.connection.remoteAddress);
    const delay = this.connection.ctx.throttle.delayFor(this.addressFailures);
    if (delay > 0) {
      this.host.telemetry.limitEnforced('auth_throttle');
      await sleep(delay);
    }
    const step = await this.mechanism.step(Buffer.from(text === '=' ? '' : text, 'base64'));
    await this.saslStep(step, this.mechanism.name);
  }

  private async saslStep(step: SaslStep, mechanism: string): Promise<void> {
    const { throttle } = this.connection.ctx;
    const address = this.connection.remoteAddress;
    if (step.kind === 'challenge') {
      this.connection.write(`<challenge xmlns='${NS_SASL}'>${step.data.length ? step.data.toString('base64') : '='}</challenge>`);
      return;
    }
    this.mechanism = undefined;
    if (step.kind === 'failure') {
      // A store that failed, or an account without keys for the mechanism, is no guess at a
      // password: only real failures slow the address down.
      let delay = 0;
      if (step.error.condition !== 'temporary-auth-failure' && !step.passwordUnchecked) {
        const counted = await throttle.fail(address, step.username);
        this.addressFailures = counted.addressFailures;
        delay = counted.delayMs;
      }
      if (delay > 0) {
        this.host.telemetry.limitEnforced('auth_throttle');
        await sleep(delay);
      }
      this.host.telemetry.authentication(mechanism, 'failure');
      this.logAuthFailure(mechanism, step.error.condition, step.error.text, step.username);
      await this.host.hooks.fire('authentication-failure', { session: this.session, mechanism, condition: step.error.condition });
      this.failure(step.error.condition, step.error.text);
      if (++this.saslFailures >= MAX_SASL_FAILURES) {
        this.host.telemetry.limitEnforced('sasl_failures');
        this.connection.close(new StreamError('policy-violation', 'Too many failed authentication attempts'));
      }
      return;
    }
    if ((this.addressFailures ?? 0) > 0) await throttle.succeed(address, step.username);
    this.session.username = step.username;
    this.session.type = 'c2s_unbound';
    this.connection.write(`<success xmlns='${NS_SASL}'>${step.data?.length ? step.data.toString('base64') : ''}</success>`);
    this.connection.authenticated();
    this.connection.restartStream();
    this.host.log.info(
      { event: 'auth_success', jid: `${step.username}@${this.host.domain}`, address, mechanism, session: this.session.id },
      'authentication succeeded',
    );
    this.host.telemetry.authentication(mechanism, 'success');
    await this.host.hooks.fire('authentication-success', { session: this.session, mechanism });
  }

  /** Stores the keys PLAIN derived for an imported account (sasl/plain.ts), logging the outcome. */
  private async completeKeys(username: string, expected: StoredCredentials, credentials: StoredCredentials): Promise<boolean> {
    const jid = `${username}@${this.host.domain}`;
    try {
      const stored = await this.host.state.accounts.replaceCredentials(jid, expected, credentials);
      // Not stored: the credentials changed since the login read them (a password change won).
      this.host.log.info({ event: stored ? 'credentials_completed' : 'credentials_changed_meanwhile', jid, session: this.session.id }, 'missing SCRAM keys derived at login');
      return stored;
    } catch (error) {
      this.host.log.warn({ event: 'credentials_complete_failed', jid, session: this.session.id, err: error }, 'could not store the SCRAM keys derived at login');
      return false;
    }
  }

  /** A refusal before any credential was checked: answered, logged, not counted against the address. */
  private refuse(mechanism: string, condition: SaslCondition, text?: string): void {
    this.failure(condition, text);
    this.logAuthFailure(mechanism, condition, text);
  }

  /** One line per failed login, for audits and fail2ban-style blocking (README: Logs). */
  private logAuthFailure(mechanism: string | undefined, condition: SaslCondition, text?: string, username?: string): void {
    // info, as Prosody logs it: a wrong password is the client's doing, not the server's trouble.
    this.host.log.info(
      {
        event: 'auth_failure',
        ...(username !== undefined ? { jid: `${username}@${this.host.domain}` } : {}),
        address: this.connection.remoteAddress,
        mechanism: mechanism || 'none',
        reason: condition,
        ...(text ? { text } : {}),
        session: this.session.id,
      },
      'authentication failed',
    );
  }

  private failure(condition: SaslCondition, text?: string): void {
    const failure = new Element('failure', { xmlns: NS_SASL });
    failure.c(condition);
    if (text) failure.c('text').t(text);
    this.connection.write(failure.toString());
  }

  private async bind(iq: Element, bind: Element): Promise<void> {
    if (this.host.state.reachable?.() === false) {
      // RFC 6120 §7.6.2.1: the server cannot bind a resource now; the client may retry.
      this.session.send(errorReply(iq, new StanzaError('resource-constraint', 'The session store is unreachable', 'wait')));
      return;
    }
    try {
      const requested = bind.getChildText('resource') ?? undefined;
      const fullJid = await this.host.local.bind(this.session, requested ?? undefined);
      this.connection.bound();
      const result = new Element('bind', { xmlns: NS_BIND });
      result.c('jid').t(fullJid);
      this.session.send(iqResult(iq, result));
    } catch (error) {
      if (!(error instanceof StanzaError)) throw error;
      this.session.send(errorReply(iq, error));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

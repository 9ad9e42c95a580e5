// Stream negotiation before a resource is bound (RFC 6120 §4.3, §5 STARTTLS, §6 SASL, §7 bind).
import { Element } from 'ltx';
import type { StreamHeader } from '../xml/stream-parser.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import { prepDomain } from '../xmpp/jid.js';
import { NS_BIND, NS_SASL, NS_SASL2, NS_TLS } from '../xmpp/ns.js';
import { errorReply, iqPayload, iqResult, isClientStanza, stanzaType } from '../xmpp/stanza.js';
import type { Host } from '../core/host.js';
import type { NegotiatingConnection } from './negotiating-connection.js';
import { SaslExchange, type SaslWire } from './sasl-exchange.js';
import { Sasl2 } from './sasl2.js';
import { bindingFeature } from './channel-binding.js';

export type { NegotiatingConnection } from './negotiating-connection.js';

export class Negotiation {
  /** This connection's SASL exchanges, legacy or SASL2. */
  readonly exchange: SaslExchange;
  /** XEP-0388, beside legacy SASL. */
  readonly sasl2: Sasl2;

  constructor(private readonly connection: NegotiatingConnection) {
    this.exchange = new SaslExchange(connection);
    this.sasl2 = new Sasl2(connection, this.exchange, () => this.features());
  }

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
        if (config.sasl2) this.sasl2.advertise(features, this.offered());
        const binding = bindingFeature(this.exchange.bindingTypes());
        if (binding) features.cnode(binding);
      }
    } else {
      features.c('bind', { xmlns: NS_BIND });
    }
    this.host.hooks.fireSync('stream-features', { session: this.session, features });
    return features;
  }

  private offered(): string[] {
    return this.exchange.offered();
  }

  /** An element received before a resource is bound. */
  async handle(element: Element): Promise<void> {
    const xmlns = element.attrs.xmlns;
    if (this.session.type === 'c2s_unauthed') {
      if (xmlns === NS_TLS && element.name === 'starttls') return this.startTls();
      if (xmlns === NS_SASL) return this.sasl(element);
      if (xmlns === NS_SASL2 && this.host.config.sasl2) return this.sasl2.handle(element);
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
    const wire = this.wire;
    if (element.name === 'abort') return this.exchange.abort(wire);
    if (element.name === 'auth') {
      if (!this.exchange.start(String(element.attrs.mechanism ?? ''), wire)) return;
    } else if (element.name !== 'response' || !this.exchange.active) {
      this.connection.close(new StreamError('not-authorized'));
      return;
    }
    const success = await this.exchange.respond(element.getText().trim(), wire);
    if (!success) return;
    await this.exchange.accept(success);
    this.connection.write(`<success xmlns='${NS_SASL}'>${success.data?.length ? success.data.toString('base64') : ''}</success>`);
    this.connection.authenticated();
    this.connection.restartStream();
    await this.exchange.announce(success);
  }

  /** The legacy profile's elements (RFC 6120 §6.4). */
  private readonly wire: SaslWire = {
    challenge: (data) => this.connection.write(`<challenge xmlns='${NS_SASL}'>${data.length ? data.toString('base64') : '='}</challenge>`),
    failure: (condition, text) => {
      const failure = new Element('failure', { xmlns: NS_SASL });
      failure.c(condition);
      if (text) failure.c('text').t(text);
      this.connection.write(failure.toString());
    },
  };

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

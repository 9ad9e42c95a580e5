// XEP-0388 Extensible SASL Profile (SASL2), beside legacy SASL: the same mechanisms, throttling
// and logging (sasl-exchange.ts), wrapped in urn:xmpp:sasl:2 elements, with no stream restart
// after <success/>. Inline requests in <authenticate/> run once authenticated, in the order
// Prosody runs them: an XEP-0198 <resume/> (the stream management module answers it, on
// whichever node the stream was), else a Bind2 <bind/> (bind2.ts); their answers are nested in
// <success/>. A session still unbound after that gets fresh <stream:features/>.
//
// No <continue/> is ever sent (XEP-0388 §2.6.3): it carries tasks after a successful exchange,
// and we have none. No second factor and no forced password change exist here, and SCRAM keys of
// another hash are derived at the next PLAIN login (sasl/plain.ts) instead of an UPGR-* task, so
// <authentication/> lists no <upgrade/>. Hence an <authenticate upgrade='…'/> fails (§2.3: a
// mechanism not announced), and a <next/>, which only answers a <continue/>, is traffic out of
// place: the stream is closed (§2.4).
import { Element } from 'ltx';
import type { SaslCondition } from '../sasl/errors.js';
import { StreamError } from '../xmpp/errors.js';
import { NS_BIND2, NS_SASL, NS_SASL2, NS_SM } from '../xmpp/ns.js';
import { HT_MECHANISMS, type SaslServerMechanism } from '../sasl/index.js';
import { bind2, bind2Feature } from './bind2.js';
import { Fast } from './fast.js';
import { CapturingConnection, type UserAgent } from './inline.js';
import type { NegotiatingConnection } from './negotiating-connection.js';
import type { SaslExchange, SaslWire, Success } from './sasl-exchange.js';

/** Longest user-agent id (a UUID is 36) and software/device strings kept. */
const MAX_AGENT_TEXT = 128;

export class Sasl2 {
  /** The <authenticate/> under way: its inline requests run after the success. */
  private request: Element | undefined;
  private agent: UserAgent | undefined;
  private readonly fast: Fast;

  constructor(
    private readonly connection: NegotiatingConnection,
    private readonly exchange: SaslExchange,
    /** The features of the stream as it is now (sent after a success that left it unbound). */
    private readonly features: () => Element,
  ) {
    this.fast = new Fast(connection, exchange);
  }

  private get host() {
    return this.connection.host;
  }

  /** The user-agent of the last <authenticate/>, if any. */
  get userAgent(): UserAgent | undefined {
    return this.agent;
  }

  /** XEP-0388 §2.1: <authentication/> with the mechanisms and what may be requested inline. */
  advertise(features: Element, mechanisms: readonly string[]): void {
    const authentication = features.c('authentication', { xmlns: NS_SASL2 });
    for (const name of mechanisms) authentication.c('mechanism').t(name);
    const inline = authentication.c('inline');
    inline.cnode(bind2Feature(this.host, this.connection.session));
    this.fast.advertise(inline);
    this.host.hooks.fireSync('sasl2-inline-features', { session: this.connection.session, inline });
  }

  async handle(element: Element): Promise<void> {
    switch (element.name) {
      case 'authenticate':
        return this.authenticate(element);
      case 'response':
        if (!this.exchange.active) return this.connection.close(new StreamError('not-authorized'));
        return this.respond(element.getText().trim());
      case 'abort':
        this.request = undefined;
        return this.exchange.abort(this.wire);
      case 'next':
        return this.connection.close(new StreamError('not-authorized', 'No task was offered'));
      default:
        this.connection.close(new StreamError('unsupported-stanza-type'));
    }
  }

  private async authenticate(element: Element): Promise<void> {
    if (this.exchange.active) return this.connection.close(new StreamError('not-authorized', 'An authentication is already under way'));
    const agent = userAgentOf(element.getChild('user-agent'));
    if (agent === null) {
      this.exchange.refuse(String(element.attrs.mechanism ?? ''), 'malformed-request', this.wire, 'The user-agent id must be a UUID');
      return;
    }
    this.agent = agent;
    const requested = String(element.attrs.mechanism ?? '');
    if (element.attrs.upgrade !== undefined) {
      this.exchange.refuse(requested, 'invalid-mechanism', this.wire, 'No upgrade task is offered');
      return;
    }
    let token: SaslServerMechanism | undefined;
    if (requested in HT_MECHANISMS) {
      token = this.fast.mechanism(requested, element, agent);
      if (!token) {
        const known = this.fast.mechanisms().includes(requested) && this.connection.secure;
        this.exchange.refuse(requested, known ? 'malformed-request' : 'invalid-mechanism', this.wire, known ? 'FAST needs a user-agent id' : undefined);
        return;
      }
    }
    if (!this.exchange.start(requested, this.wire, token)) return;
    this.request = element;
    // XEP-0388 §2.3: no initial response is an empty one for mechanisms that send first.
    const initial = element.getChild('initial-response');
    await this.respond(initial === undefined ? '' : initial.getText().trim() || '=');
  }

  private async respond(text: string): Promise<void> {
    const success = await this.exchange.respond(text, this.wire);
    if (!success) return;
    const request = this.request ?? new Element('authenticate');
    this.request = undefined;
    await this.succeed(success, request);
  }

  /** XEP-0388 §2.6: <success/> with additional data, inline answers and the identity now held; no stream restart. */
  private async succeed(step: Success, request: Element): Promise<void> {
    await this.exchange.accept(step);
    this.connection.authenticated();
    const success = new Element('success', { xmlns: NS_SASL2 });
    if (step.data?.length) success.c('additional-data').t(step.data.toString('base64'));
    const identifier = success.c('authorization-identifier');
    const token = await this.fast.afterSuccess(step, request, this.agent);
    if (token) success.cnode(token);
    const capture = new CapturingConnection(this.connection);
    capture.hold();
    try {
      const resume = request.getChild('resume', NS_SM);
      if (resume && (await this.host.hooks.fire('sasl2-resume', { connection: capture, element: resume }))) {
        const answer = capture.takeAnswer();
        if (answer) success.cnode(answer);
      }
      const bind = request.getChild('bind', NS_BIND2);
      if (bind && this.connection.session.type === 'c2s_unbound') success.cnode(await bind2(this.connection, capture, bind, this.agent));
      const session = this.connection.session;
      identifier.t(session.full_jid ?? (session.bare_jid as string));
      this.connection.write(success.toString());
    } finally {
      capture.release();
    }
    if (this.connection.session.type === 'c2s') this.connection.bound();
    else this.connection.write(this.features().toString());
    await this.exchange.announce(step);
  }

  /** XEP-0388 §2.5/§2.7: challenges and failures in urn:xmpp:sasl:2, the condition from RFC 6120. */
  private readonly wire: SaslWire = {
    challenge: (data) => this.connection.write(`<challenge xmlns='${NS_SASL2}'>${data.toString('base64')}</challenge>`),
    failure: (condition: SaslCondition, text?: string) => {
      this.request = undefined;
      const failure = new Element('failure', { xmlns: NS_SASL2 });
      failure.c(condition, { xmlns: NS_SASL });
      if (text) failure.c('text').t(text);
      this.connection.write(failure.toString());
    },
  };
}

/** The <user-agent/>: undefined when absent, null when its id is not a UUID (XEP-0388 §2.3). */
function userAgentOf(element: Element | undefined): UserAgent | undefined | null {
  if (!element) return undefined;
  const id = element.attrs.id === undefined ? undefined : String(element.attrs.id);
  if (id !== undefined && !/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(id)) return null;
  const text = (name: string): string | undefined => element.getChildText(name)?.slice(0, MAX_AGENT_TEXT) ?? undefined;
  return { id: id?.toLowerCase(), software: text('software'), device: text('device') };
}

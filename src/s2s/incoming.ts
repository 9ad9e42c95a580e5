// One incoming server-to-server stream (RFC 6120 §4, §5, §6; XEP-0178; XEP-0220 §2.2, §2.3): offers
// STARTTLS, then SASL EXTERNAL when the peer's certificate verifies for the domain it names, and
// dialback; answers <db:verify/> for keys any node of ours issued, checks a peer's <db:result/>
// with its authoritative server, then routes the peer's stanzas into the cluster.
import type { Socket } from 'node:net';
import { type Element, Element as XmlElement } from 'ltx';
import type { StanzaKind } from '../xmpp/kinds.js';
import { randomId } from '../random-id.js';
import type { StreamHeader } from '../xml/stream-parser.js';
import { StreamError } from '../xmpp/errors.js';
import { tryParseJid } from '../xmpp/jid.js';
import { NS_DIALBACK, NS_DIALBACK_FEATURE, NS_SASL, NS_STREAMS, NS_TLS } from '../xmpp/ns.js';
import { isStanza, type S2SContext } from './context.js';
import { keyMatches } from './dialback.js';
import { SenderLanes } from './lanes.js';
import { S2SLink } from './link.js';

/** Stanzas of one stream routed at once (different senders'; one sender's stay in order). */
const CONCURRENT_STANZAS = 64;
/** Elements received and not yet handled past which reading stops, and below which it starts again. */
const BACKLOG_HIGH = 1000;
const BACKLOG_LOW = 200;

/** Canonical base64 (RFC 4648 §4), padded. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class IncomingStream {
  readonly link: S2SLink;
  private streamId = randomId(12);
  /** Domains this peer proved it speaks for (dialback or certificate). */
  private readonly authenticated = new Set<string>();
  /** The `from` of the stream header, when the peer gave one. */
  private peer: string | undefined;
  /** Our domain the stream header is `to` (the server's own when it names none). */
  private local: string;
  /** Elements in the order received: the control ones (TLS, SASL, dialback) handled one at a time, stanzas handed to the lanes. */
  private pending: Promise<void> = Promise.resolve();
  /** Elements received and not yet through `pending`. */
  private backlog = 0;
  private readonly lanes: SenderLanes;
  /** The domain SASL EXTERNAL was offered for on this stream (its certificate verified for it). */
  private externalFor: string | undefined;
  /** How each domain was authenticated, for streams(). */
  private readonly mechanisms = new Map<string, 'external' | 'dialback'>();

  constructor(
    private readonly ctx: S2SContext,
    socket: Socket,
    onClosed: (stream: IncomingStream) => void,
  ) {
    ctx.count('stream_in');
    this.local = ctx.domain;
    this.lanes = new SenderLanes(CONCURRENT_STANZAS, (err) => this.ctx.log.error({ event: 's2s_in_failed', err }));
    this.link = new S2SLink(socket, {
      header: (header) => this.onHeader(header),
      // In the order received; a stanza is checked here, then routed in its sender's lane.
      element: (element) => {
        if (++this.backlog === BACKLOG_HIGH) this.link.hold(true);
        this.pending = this.pending
          .then(() => this.onElement(element))
          .catch((err: unknown) => this.ctx.log.error({ event: 's2s_in_failed', err }))
          .finally(() => {
            if (--this.backlog === BACKLOG_LOW) this.link.hold(false);
          });
      },
      closed: () => {
        // clean: the peer's closing tag arrived (RFC 6120 §4.4), rather than the socket just ending.
        if (this.peer !== undefined) this.ctx.log.info({ event: 's2s_in_closed', remote: this.peer, clean: this.link.peerClosed });
        onClosed(this);
      },
      limited: () => ctx.limited(),
    }, ctx.config.limits, socket.remoteAddress ?? '', ctx.incomingBudget());
  }

  domains(): Array<{ domain: string; auth: 'external' | 'dialback' }> {
    return [...this.authenticated].map((domain) => ({ domain, auth: this.mechanisms.get(domain) ?? 'dialback' }));
  }

  close(error?: StreamError): void {
    this.link.close(error);
  }

  /**
   * Drain (doc/federation.md): our closing tag, then what the peer still sends is read and routed
   * until it closes its side, within `timeoutMs`. Its next stream goes to a node that stays.
   */
  async drain(timeoutMs: number): Promise<void> {
    await this.link.closeGracefully(timeoutMs);
    await this.pending;
    await this.lanes.idle();
  }

  private onHeader(header: StreamHeader): void {
    this.streamId = randomId(12);
    const to = header.attrs.to;
    this.peer = header.attrs.from;
    const served = to === undefined || this.ctx.serves(to);
    this.local = to !== undefined && served ? to : this.ctx.domain;
    this.link.writeHeader({ from: this.local, ...(this.peer ? { to: this.peer } : {}), id: this.streamId });
    if (!served) return this.link.close(new StreamError('host-unknown'));
    if (this.peer !== undefined && !this.ctx.policy.permits(this.peer)) return this.link.close(new StreamError('policy-violation'));
    const features = new XmlElement('stream:features');
    if (!this.link.secure) {
      const starttls = features.c('starttls', { xmlns: NS_TLS });
      if (this.ctx.policy.requiresTls(this.peer ?? '')) starttls.c('required');
    }
    // XEP-0178 §2 (as Prosody): EXTERNAL only when the chain and the name both verify.
    this.externalFor = undefined;
    if (this.link.secure && this.peer !== undefined && !this.authenticated.has(this.peer) && this.link.certifies(this.peer)) {
      this.externalFor = this.peer;
      features.c('mechanisms', { xmlns: NS_SASL }).c('mechanism').t('EXTERNAL');
    }
    features.c('dialback', { xmlns: NS_DIALBACK_FEATURE }).c('errors');
    this.link.write(features);
  }

  private async onElement(element: Element): Promise<void> {
    const xmlns = element.attrs.xmlns;
    if (element.name === 'starttls' && xmlns === NS_TLS) {
      if (this.link.secure) return this.link.close(new StreamError('policy-violation'));
      this.link.write(new XmlElement('proceed', { xmlns: NS_TLS }));
      await this.link.upgrade({ isServer: true, key: this.ctx.tls.key, cert: this.ctx.tls.cert, ca: this.ctx.tls.ca, trust: this.ctx.tls.trust });
      return;
    }
    if (element.name === 'auth' && xmlns === NS_SASL) return this.authExternal(element);
    if (element.name === 'verify' && xmlns === NS_DIALBACK) return this.answerVerify(element);
    if (element.name === 'result' && xmlns === NS_DIALBACK) return this.checkResult(element);
    if (isStanza(element)) return this.routeStanza(element);
    if (element.name === 'error' && xmlns === NS_STREAMS) return;
    this.link.close(new StreamError('unsupported-stanza-type'));
  }

  /**
   * XEP-0178 §3 steps 7-10: the authorization identity is empty (`=`) or the domain of the stream
   * header, whose certificate was checked before EXTERNAL was offered. Success restarts the stream.
   */
  private authExternal(element: Element): void {
    const failure = (condition: string): void => this.link.write(new XmlElement('failure', { xmlns: NS_SASL }).c(condition).root());
    const domain = this.externalFor;
    if (domain === undefined) return failure('invalid-mechanism');
    if (element.attrs.mechanism !== 'EXTERNAL') return failure('invalid-mechanism');
    const text = element.getText().trim();
    if (text === '') return failure('malformed-request');
    if (text !== '=' && !BASE64.test(text)) return failure('incorrect-encoding');
    const authzid = text === '=' ? '' : Buffer.from(text, 'base64').toString('utf8');
    if (authzid !== '' && authzid !== domain) return failure('invalid-authzid');
    if (!this.link.certifies(domain) || !this.ctx.policy.permits(domain)) {
      failure('not-authorized');
      return this.link.close();
    }
    this.externalFor = undefined;
    this.authenticated.add(domain);
    this.mechanisms.set(domain, 'external');
    // The peer restarts the stream once it reads <success/>: nothing it sends before is read.
    this.link.parser.reset();
    this.link.write(new XmlElement('success', { xmlns: NS_SASL }));
    this.ctx.log.info({ event: 's2s_in_ready', remote: domain, secure: true, mechanism: 'EXTERNAL' });
  }

  /** We are the authoritative server (XEP-0220 §2.3): is this key one of ours? */
  private answerVerify(element: Element): void {
    const { from, to, id } = element.attrs as Record<string, string | undefined>;
    if (!from || !to || !id) return this.link.close(new StreamError('improper-addressing'));
    const valid = this.ctx.serves(to) && keyMatches(this.ctx.secret, from, to, id, element.getText());
    this.link.write(new XmlElement('db:verify', { from: to, to: from, id, type: valid ? 'valid' : 'invalid' }));
  }

  /** The peer claims a domain (XEP-0220 §2.2): by its certificate, or by asking its authoritative server. */
  private async checkResult(element: Element): Promise<void> {
    const { from, to } = element.attrs as Record<string, string | undefined>;
    if (!from || !to) return this.link.close(new StreamError('improper-addressing'));
    if (!this.ctx.serves(to)) return this.link.close(new StreamError('host-unknown'));
    if (!this.ctx.policy.permits(from)) return this.link.close(new StreamError('policy-violation'));
    if (!this.link.secure && this.ctx.policy.requiresTls(from)) return this.link.close(new StreamError('policy-violation', 'TLS is required'));
    let valid: boolean;
    if (this.link.certifies(from)) valid = true;
    else if (this.ctx.policy.requiresCertificate(from)) valid = false;
    else valid = await this.ctx.verify(to, from, this.streamId, element.getText());
    if (this.link.closed) return;
    this.link.write(new XmlElement('db:result', { from: to, to: from, type: valid ? 'valid' : 'invalid' }));
    if (valid) {
      this.authenticated.add(from);
      if (!this.mechanisms.has(from)) this.mechanisms.set(from, 'dialback');
      this.ctx.log.info({ event: 's2s_in_ready', remote: from, secure: this.link.secure, mechanism: 'dialback' });
    } else {
      this.ctx.count('failure');
      this.ctx.log.info({ event: 's2s_in_refused', remote: from });
    }
  }

  private async routeStanza(stanza: Element): Promise<void> {
    const from = tryParseJid(String(stanza.attrs.from ?? ''));
    const to = tryParseJid(String(stanza.attrs.to ?? ''));
    if (!from || !to) return this.link.close(new StreamError('improper-addressing'));
    if (!this.authenticated.has(from.domain)) return this.link.close(new StreamError('invalid-from'));
    if (!this.ctx.serves(to.domain)) return this.link.close(new StreamError('host-unknown'));
    this.ctx.count('stanza_in');
    stanza.attrs.from = from.full;
    stanza.attrs.to = to.full;
    // By bare JID: a remote room's occupants (room@service/nick) keep the room's order too.
    await this.lanes.submit(from.bare, () => this.ctx.route({ stanza, kind: stanza.name as StanzaKind, from, to }));
  }
}

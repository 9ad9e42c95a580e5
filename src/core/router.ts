// Stanza routing (RFC 6120 §8, §10; RFC 6121 §8.5), after Prosody's core/stanza_router.lua.
// From a client: validate, stamp `from`, outbound hooks (pre-*), then route. Routing fires
// <kind>/full, /bare or /host; whatever no module claims is answered with service-unavailable.
// Writing to one resource (local, parked or on another node) is core/delivery.ts.
// doc/stanza-routing.md has the table.
import type { Element } from 'ltx';
import { StanzaError } from '../xmpp/errors.js';
import { type Jid, parseJid, tryParseJid } from '../xmpp/jid.js';
import { errorReply, iqPayload, stanzaType } from '../xmpp/stanza.js';
import { BARE_EVENT, FULL_EVENT, HOST_EVENT, PRE_EVENT, type RoutedStanza } from './events.js';
import type { StanzaKind } from '../xmpp/kinds.js';
import type { RouteOutcome } from '../telemetry.js';
import type { CoreServices } from './services.js';
import type { C2SSession } from './session.js';

const IQ_TYPES = new Set(['get', 'set', 'result', 'error']);
const PREPARED_JIDS = 10_000;


export class Router {
  /**
   * Prepared addresses by their text: preparation (PRECIS) costs microseconds, and the same
   * addresses recur. Bounded, oldest entry out first; a hit is one Map lookup.
   */
  private readonly prepared = new Map<string, Jid>();
  /** Each bound session's own address, parsed once. */
  private readonly own = new WeakMap<C2SSession, Jid>();

  constructor(private readonly host: CoreServices) {}

  /** A stanza from a bound local client (RFC 6120 §8.1.2.1: `from` is always ours). */
  async fromClient(session: C2SSession, stanza: Element): Promise<void> {
    const kind = stanza.name as StanzaKind;
    const type = stanzaType(stanza);
    if (kind === 'iq') {
      const invalid = validateIq(stanza, type);
      if (invalid) {
        // RFC 6120 §8.3.1, §8.2.3: errors and iq results are never answered, even malformed ones.
        if (type !== 'error' && type !== 'result') session.send(errorReply(stanza, invalid));
        return;
      }
    }
    stanza.attrs.from = session.full_jid;
    let to: Jid | undefined;
    const toAttr = stanza.attrs.to;
    if (toAttr !== undefined) {
      to = this.parse(String(toAttr));
      if (!to) {
        if (type !== 'error' && !(kind === 'iq' && type === 'result')) session.send(errorReply(stanza, new StanzaError('jid-malformed')));
        return;
      }
      if (to.resource === '' && to.bare === session.bare_jid) {
        // Addressed to the account itself; `to` stays on the stanza (RFC 6121 §8.5.2.1.1: never rewritten).
        stanza.attrs.to = to.bare;
        to = undefined;
      } else {
        stanza.attrs.to = to.full;
      }
    }
    if (await this.host.hooks.fire(PRE_EVENT[kind], { stanza, kind, session, to })) return;
    const from = this.ownJid(session);
    await this.route({ stanza, kind, from, to: to ?? from.bareJid(), origin: session });
  }

  private parse(text: string): Jid | undefined {
    let jid = this.prepared.get(text);
    if (jid === undefined) {
      jid = tryParseJid(text);
      if (!jid) return undefined;
      if (this.prepared.size >= PREPARED_JIDS) this.prepared.delete(this.prepared.keys().next().value as string);
      this.prepared.set(text, jid);
    }
    return jid;
  }

  private ownJid(session: C2SSession): Jid {
    const full = session.full_jid as string;
    let jid = this.own.get(session);
    if (jid?.full !== full) {
      jid = parseJid(full);
      this.own.set(session, jid);
    }
    return jid;
  }

  /** Routes a stanza to its destination's handlers; unclaimed ones get service-unavailable. */
  async route(routed: RoutedStanza): Promise<void> {
    const { to, kind, stanza } = routed;
    if (to.domain !== this.host.domain) {
      // A service of this server on its own domain (group chat) claims its stanzas; no
      // server-to-server connections: every other domain is unreachable.
      if (await this.host.hooks.fire('service-stanza', routed)) return;
      await this.bounce(stanza, new StanzaError('remote-server-not-found'), routed.origin);
      return;
    }
    const events = to.local === '' ? HOST_EVENT : to.resource === '' ? BARE_EVENT : FULL_EVENT;
    if (await this.host.hooks.fire(events[kind], routed)) return;
    await this.bounce(stanza, new StanzaError('service-unavailable'), routed.origin);
  }

  /** Routes a server-generated stanza by its `from` and `to` attributes. */
  async send(stanza: Element): Promise<void> {
    const to = tryParseJid(String(stanza.attrs.to ?? ''));
    const from = tryParseJid(String(stanza.attrs.from ?? this.host.domain));
    if (!to || !from) {
      this.host.log.error({ event: 'unroutable_generated_stanza', name: stanza.name });
      return;
    }
    await this.route({ stanza, kind: stanza.name as StanzaKind, from, to });
  }

  /**
   * Answers a stanza with an error (RFC 6120 §8.3.1). Errors and iq results are never answered
   * with errors; they are discarded.
   */
  async bounce(stanza: Element, error: StanzaError, origin?: C2SSession): Promise<RouteOutcome> {
    const type = stanzaType(stanza);
    if (type === 'error' || (stanza.name === 'iq' && type === 'result')) {
      this.host.telemetry.routed('discarded');
      return 'discarded';
    }
    this.host.telemetry.routed('bounced');
    const reply = errorReply(stanza, error);
    if (origin && !origin.destroyed && stanza.attrs.from === origin.full_jid) {
      origin.send(reply);
    } else if (reply.attrs.to !== undefined) {
      await this.send(reply);
    }
    return 'bounced';
  }
}


function validateIq(iq: Element, type: string | undefined): StanzaError | undefined {
  if (type === undefined || !IQ_TYPES.has(type)) return new StanzaError('bad-request', 'Invalid IQ type');
  if (iq.attrs.id === undefined) return new StanzaError('bad-request', 'Missing IQ id');
  if ((type === 'get' || type === 'set') && !iqPayload(iq)) return new StanzaError('bad-request', 'IQ get/set needs exactly one child');
  return undefined;
}

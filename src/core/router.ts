// Stanza routing (RFC 6120 §8, §10; RFC 6121 §8.5), after Prosody's core/stanza_router.lua.
// From a client: validate, stamp `from`, outbound hooks (pre-*), then route. Routing fires
// <kind>/full, /bare or /host; whatever no module claims is answered with service-unavailable.
// doc/stanza-routing.md has the table.
import { type Element, parse } from 'ltx';
import { StanzaError } from '../xmpp/errors.js';
import { type Jid, parseJid, tryParseJid } from '../xmpp/jid.js';
import { errorReply, iqPayload, stanzaType } from '../xmpp/stanza.js';
import { newEnvelopeId } from './envelope-id.js';
import { PARKED_NODE, type SessionRecord } from '../state/sessions.js';
import { bareOf } from '../xmpp/jid-string.js';
import { BARE_EVENT, FULL_EVENT, HOST_EVENT, PRE_EVENT, type RoutedStanza } from './events.js';
import type { StanzaKind } from '../xmpp/kinds.js';
import type { RouteOutcome } from '../telemetry.js';
import type { LocalSessions } from './local-sessions.js';
import type { CoreServices } from './services.js';
import type { C2SSession } from './session.js';
import { deliverPush } from './state-push.js';
import type { StatePush } from '../state/bus.js';

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

  constructor(
    private readonly host: CoreServices,
    private readonly local: LocalSessions,
  ) {}

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
      // No server-to-server connections: every foreign domain is unreachable.
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

  /**
   * Writes a stanza to one connected resource, on this node or its owner; false if it is gone.
   * Ordering: what one node sends to one resource arrives in the order sent (a local write, or
   * the bus, which is ordered per sender). Between nodes there is no order, so a push of shared
   * state (`push`: roster, blocklist) carries its stored version and the owning node drops or
   * re-reads one older than what the resource was shown (state-push.ts, doc/ordering.md).
   */
  async deliverToResource(fullJid: string, stanza: Element, push?: StatePush): Promise<boolean> {
    const local = this.local.get(fullJid);
    if (local) {
      this.host.telemetry.routed('local');
      await this.writeLocal(local, stanza, push);
      return true;
    }
    let record = await this.host.state.registry.get(fullJid);
    if (record?.node === PARKED_NODE) {
      if (await this.queueForParked(record, stanza)) return true;
      // Resumed meanwhile: look again with fresh state.
      this.host.state.registry.invalidate?.(bareOf(fullJid));
      record = await this.host.state.registry.get(fullJid);
      if (record?.node === PARKED_NODE) return false;
    }
    if (!record || record.node === this.host.nodeId || !this.host.bus) return false;
    this.host.telemetry.routed('remote');
    this.host.telemetry.busEnvelope('out');
    await this.host.bus.send(record.node, { kind: 'stanza', id: newEnvelopeId(), to: fullJid, xml: stanza.toString(), hops: 0, at: Date.now(), ...(push ? { push } : {}) });
    return true;
  }

  /** Writes to a session of this node; a state push goes through the session's gate. */
  async writeLocal(session: C2SSession, stanza: Element | string, push?: StatePush): Promise<void> {
    if (!push) {
      session.send(stanza);
      return;
    }
    const element = typeof stanza === 'string' ? parse(stanza) : stanza;
    const outcome = await deliverPush(session, element, push, this.host.pushSources.get(push.state));
    if (outcome !== 'delivered') this.host.log.debug({ event: 'state_push_reordered', session: session.id, state: push.state, outcome });
  }

  /** A stanza for a resumable stream that no node serves now: it waits in the stream's queue (XEP-0198). */
  private async queueForParked(record: SessionRecord, stanza: Element): Promise<boolean> {
    if (record.sm_token === undefined) return false;
    const queued = await this.host.state.resumption.append(bareOf(record.full_jid), record.sm_token, '', { seq: 0, xml: stanza.toString(), stamp: Date.now() });
    if (queued) this.host.telemetry.routed('remote');
    return queued;
  }
}


function validateIq(iq: Element, type: string | undefined): StanzaError | undefined {
  if (type === undefined || !IQ_TYPES.has(type)) return new StanzaError('bad-request', 'Invalid IQ type');
  if (iq.attrs.id === undefined) return new StanzaError('bad-request', 'Missing IQ id');
  if ((type === 'get' || type === 'set') && !iqPayload(iq)) return new StanzaError('bad-request', 'IQ get/set needs exactly one child');
  return undefined;
}

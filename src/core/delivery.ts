// Delivery to one connected resource, wherever it is: a session of this node (written at once,
// a state push through the session's gate), a parked resumable stream (queued in the
// ResumptionStore, XEP-0198), or a session of another node (an envelope on the bus). The
// router decides where a stanza goes; this unit gets it there.
import { type Element, clone, escapeXML, parse } from 'ltx';
import type { BusEnvelope, StatePush } from '../state/bus.js';
import { PARKED_NODE, REMOTE_NODE, type SessionRecord } from '../state/sessions.js';
import { bareOf, domainOf } from '../xmpp/jid-string.js';
import { newEnvelopeId } from './envelope-id.js';
import type { LocalSessions } from './local-sessions.js';
import type { CoreServices } from './services.js';
import type { C2SSession } from './session.js';
import { identify, identityOf } from './stanza-identity.js';
import { deliverPush } from './state-push.js';

/** Looks again after a parked queue refused a stanza (its stream was resumed meanwhile), at most. */
const PARKED_RETRIES = 3;

function withIdentity(stanza: Element): { id?: string } {
  const id = identityOf(stanza);
  return id === undefined ? {} : { id };
}

/**
 * The available resources with the highest non-negative priority (RFC 6121 §8.5.2.1.1): where a
 * message to the bare JID goes.
 */
export function topResources(records: SessionRecord[]): SessionRecord[] {
  let best = -1;
  let top: SessionRecord[] = [];
  for (const record of records) {
    if (record.presence === undefined || record.priority < 0) continue;
    if (record.priority > best) {
      best = record.priority;
      top = [record];
    } else if (record.priority === best) {
      top.push(record);
    }
  }
  return top;
}

export class Delivery {
  constructor(
    private readonly host: CoreServices,
    private readonly local: LocalSessions,
    /** Routes a stanza by its addresses (Router.send): how an address of another server is reached. */
    private readonly route: (stanza: Element) => Promise<void>,
  ) {}

  /**
   * Writes a stanza to one connected resource, on this node or its owner; false if it is gone.
   * Ordering: what one node sends to one resource arrives in the order sent (a local write, or
   * the bus, which is ordered per sender). Between nodes there is no order, so a push of shared
   * state (`push`: roster, blocklist) carries its stored version and the owning node drops or
   * re-reads one older than what the resource was shown (state-push.ts, doc/ordering.md).
   */
  async toResource(fullJid: string, stanza: Element, push?: StatePush): Promise<boolean> {
    let refused: { node: string; session: string } | undefined;
    let unparked = 0;
    for (;;) {
      const local = this.local.get(fullJid);
      if (local) {
        this.host.telemetry.routed('local');
        await this.writeLocal(local, stanza, push);
        return true;
      }
      // After a refusal the cache named the node the session was taken from: read afresh.
      const record = await this.host.state.registry.get(fullJid, refused || unparked > 0 ? { fresh: true } : undefined);
      if (record?.node === PARKED_NODE) {
        if (await this.queueForParked(record, stanza)) return true;
        // Resumed meanwhile (maybe here): look again, local sessions first, with fresh state.
        if (++unparked > PARKED_RETRIES) return false;
        continue;
      }
      if (!record || record.node === this.host.nodeId || !this.host.bus) return false;
      // Still named after a refusal: marked moved there before its record was parked or claimed
      // (a sweep between its two takes). Sent unrefusable: the sweep's second take or a
      // resumption's moves it, maybe behind newer ones, but it is delivered.
      const unmoved = refused !== undefined && record.node === refused.node && record.session_id === refused.session;
      this.host.telemetry.routed('remote');
      this.host.telemetry.busEnvelope('out');
      const sid = identityOf(stanza);
      const envelope: BusEnvelope = { kind: 'stanza', id: newEnvelopeId(), to: fullJid, xml: stanza.toString(), hops: 0, at: Date.now(), ...(unmoved ? {} : { sessionId: record.session_id }), ...(push ? { push } : {}), ...(sid === undefined ? {} : { sid }) };
      if ((await this.host.bus.send(record.node, envelope)) === 'sent') return true;
      this.host.state.registry.invalidate?.(bareOf(fullJid));
      refused = { node: record.node, session: record.session_id };
    }
  }

  /**
   * Writes one stanza to many resources (a PEP event, a group chat stanza): one envelope per
   * other node that holds recipients (plain `stanza` for a single one), this node's own at once,
   * each parked one to its queue. The envelopes leave first, before this node writes to its own
   * clients, so that the other nodes deliver meanwhile. `stanza` has no `to`; each copy gets its
   * recipient's. An address of another server or a component (REMOTE_NODE, or not our domain)
   * goes through the router from here: each node keeps its own s2s streams, so no node of ours
   * holds it.
   */
  async toResources(records: readonly Pick<SessionRecord, 'full_jid' | 'node'>[], stanza: Element): Promise<void> {
    const byNode = new Map<string, string[]>();
    const here: Array<[C2SSession, string]> = [];
    const elsewhere: Array<Pick<SessionRecord, 'full_jid' | 'node'>> = [];
    for (const record of records) {
      const remote = record.node === REMOTE_NODE || domainOf(record.full_jid) !== this.host.domain;
      const local = remote ? undefined : this.local.get(record.full_jid);
      if (local) {
        here.push([local, record.full_jid]);
      } else if (remote || record.node === PARKED_NODE || record.node === this.host.nodeId || !this.host.bus) {
        elsewhere.push(record);
      } else {
        const list = byNode.get(record.node) ?? [];
        list.push(record.full_jid);
        byNode.set(record.node, list);
      }
    }
    // Every copy carries the stanza's identity, so that a recipient given it twice (a bus
    // envelope handled again after a node died) drops the second.
    const sid = identityOf(stanza);
    const copies = new AddressedCopies(stanza);
    const envelopes = this.sendFanout(byNode, stanza, copies, sid);
    // Awaited at the end; until then a failure must not count as unhandled.
    envelopes.catch(() => undefined);
    for (const [session, jid] of here) {
      this.host.telemetry.routed('local');
      session.send(copies.to(jid), sid);
    }
    for (const record of elsewhere) {
      const copy = identify(addressed(stanza, record.full_jid), sid);
      if (record.node === REMOTE_NODE || domainOf(record.full_jid) !== this.host.domain) await this.route(copy);
      else await this.toResource(record.full_jid, copy);
    }
    await envelopes;
  }

  /** One envelope per node, handed to the bus and sent at once (NodeBus.flush). */
  private sendFanout(byNode: ReadonlyMap<string, string[]>, stanza: Element, copies: AddressedCopies, sid: string | undefined): Promise<unknown> {
    const bus = this.host.bus;
    if (!bus || byNode.size === 0) return Promise.resolve();
    const at = Date.now();
    const identity = sid === undefined ? {} : { sid };
    const sent = [...byNode].map(([node, to]) => {
      this.host.telemetry.routed('remote');
      this.host.telemetry.busEnvelope('out');
      const id = newEnvelopeId();
      if (to.length === 1) return bus.send(node, { kind: 'stanza', id, to: to[0] as string, xml: addressed(stanza, to[0] as string).toString(), hops: 0, at, ...identity });
      return bus.send(node, { kind: 'fanout', id, to, xml: copies.xml, at, ...identity });
    });
    bus.flush?.();
    return Promise.all(sent);
  }

  /**
   * toResources for resources whose node the caller keeps itself (group chat occupants, by real
   * JID): where the caller last knew each to be. One parked or moved meanwhile is followed.
   */
  toMany(targets: readonly { jid: string; node: string }[], stanza: Element): Promise<void> {
    return this.toResources(targets.map(({ jid, node }) => ({ full_jid: jid, node })), stanza);
  }

  /** A fan-out envelope from another node: each recipient still here gets it; one gone is routed afresh. */
  async fanoutArrived(recipients: readonly string[], xml: string, sid?: string): Promise<void> {
    const stanza = parse(xml);
    const copies = new AddressedCopies(stanza);
    for (const to of recipients) {
      const local = this.local.get(to);
      if (local) {
        local.send(copies.to(to), sid);
      } else {
        this.host.state.registry.invalidate?.(bareOf(to));
        await this.toResource(to, identify(addressed(stanza, to), sid));
      }
    }
  }

  /** Writes to a session of this node; a state push goes through the session's gate. `identity`: of a string stanza (stanza-identity.ts). */
  async writeLocal(session: C2SSession, stanza: Element | string, push?: StatePush, identity?: string): Promise<void> {
    if (!push) {
      if (typeof stanza === 'string') session.send(stanza, identity);
      else session.send(stanza);
      return;
    }
    const element = typeof stanza === 'string' ? parse(stanza) : stanza;
    const outcome = await deliverPush(session, element, push, this.host.pushSources.get(push.state));
    if (outcome !== 'delivered') this.host.log.debug({ event: 'state_push_reordered', session: session.id, state: push.state, outcome });
  }

  /** A stanza for a resumable stream that no node serves now: it waits in the stream's queue (XEP-0198). */
  private async queueForParked(record: SessionRecord, stanza: Element): Promise<boolean> {
    if (record.sm_token === undefined) return false;
    const queued = await this.host.state.resumption.append(bareOf(record.full_jid), record.sm_token, '', { seq: 0, xml: stanza.toString(), stamp: Date.now(), ...withIdentity(stanza) });
    if (queued) {
      this.host.telemetry.routed('remote');
      if (stanza.name === 'message') await this.host.hooks.fire('message-held', { user: bareOf(record.full_jid), stanza, place: 'parked' });
    }
    return queued;
  }
}

function addressed(stanza: Element, to: string): Element {
  const copy = clone(stanza);
  copy.attrs.to = to;
  return copy;
}

/** One stanza serialized once, written to many recipients: only the `to` differs. */
class AddressedCopies {
  /** The stanza without `to`. */
  readonly xml: string;
  private readonly head: string;
  private readonly rest: string;

  constructor(stanza: Element) {
    const bare = clone(stanza);
    delete bare.attrs.to;
    this.xml = bare.toString();
    this.head = `<${bare.name}`;
    this.rest = this.xml.slice(this.head.length);
  }

  to(jid: string): string {
    return `${this.head} to='${escapeXML(jid)}'${this.rest}`;
  }
}

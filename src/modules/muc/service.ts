// The group chat service (XEP-0045) on its own domains: what reaches a MUC domain is claimed
// here (core/router.ts fires 'service-stanza') and dispatched by its address: the service, a
// room, or an occupant. No room lives in this process: each decision reads and writes the
// shared MucStore (state/muc.ts); what a node keeps (salts for occupant ids) it can lose.
import { Element } from 'ltx';
import type { RoutedStanza } from '../../core/events.js';
import type { Host } from '../../core/host.js';
import type { MucStore, RoomConfig, RoomRecord } from '../../state/muc.js';
import { REMOTE_NODE } from '../../state/sessions.js';
import { StanzaError } from '../../xmpp/errors.js';
import type { Jid } from '../../xmpp/jid.js';
import { errorReply, iqPayload, iqResult, stanzaType } from '../../xmpp/stanza.js';
import { archives } from './room.js';

/** An iq handler of the service: an element for the result, nothing for an empty one, or a StanzaError thrown. */
export type MucIqHandler = (service: MucService, routed: RoutedStanza, payload: Element) => Promise<Element | void>;

export interface MucHandlers {
  presence(service: MucService, routed: RoutedStanza): Promise<void>;
  message(service: MucService, routed: RoutedStanza): Promise<void>;
  /** By `<scope> <type> <xmlns> <name>`, scope 'service' or 'room'. */
  iq: Map<string, MucIqHandler>;
  /** Every iq to an occupant JID (requests and replies between occupants, self-ping). */
  occupantIq(service: MucService, routed: RoutedStanza): Promise<void>;
}

const FACTS_KEPT = 10_000;

export interface RoomFacts {
  salt: string;
  historyLength: number;
  whois: RoomConfig['whois'];
  archiving: boolean;
  /** The token of the record these facts were read from (MessageOutcome.recordVersion); undefined: unknown. */
  recordVersion?: string;
}

export class MucService {
  private readonly facts = new Map<string, RoomFacts>();

  constructor(
    readonly host: Host,
    readonly domains: ReadonlySet<string>,
    private readonly handlers: MucHandlers,
  ) {}

  get store(): MucStore {
    return this.host.state.muc;
  }

  /** Claims every stanza to one of the service's domains. */
  async handle(routed: RoutedStanza): Promise<boolean> {
    if (!this.domains.has(routed.to.domain)) return false;
    const type = stanzaType(routed.stanza);
    try {
      if (routed.kind === 'presence') {
        if (routed.to.local === '' || (routed.to.resource === '' && type !== 'error')) {
          if (type !== 'unavailable' && type !== 'error') throw new StanzaError('jid-malformed', 'A nick is needed to enter a room');
          return true;
        }
        await this.handlers.presence(this, routed);
      } else if (routed.kind === 'message') {
        if (routed.to.local === '') throw new StanzaError('service-unavailable');
        await this.handlers.message(this, routed);
      } else {
        await this.iq(routed, type);
      }
    } catch (error) {
      if (error instanceof StanzaError) {
        await this.refuse(routed, error);
      } else {
        // The stanza was accepted: its sender hears of the failure rather than nothing.
        this.host.log.error({ event: 'muc_failed', kind: routed.kind, id: routed.stanza.attrs.id, err: error });
        await this.refuse(routed, new StanzaError('internal-server-error'));
      }
    }
    return true;
  }

  /** Answers a stanza with an error from the address it was sent to. */
  async refuse(routed: RoutedStanza, error: StanzaError): Promise<void> {
    const type = stanzaType(routed.stanza);
    if (type === 'error' || (routed.kind === 'iq' && type === 'result')) return;
    await this.reply(routed, errorReply(routed.stanza, error));
  }

  /** Sends to the real JID a stanza came from: its own session when it is here. */
  async reply(routed: RoutedStanza, stanza: Element): Promise<void> {
    if (routed.origin && !routed.origin.destroyed && routed.origin.full_jid === routed.from.full) {
      routed.origin.send(stanza);
      return;
    }
    stanza.attrs.to = routed.from.full;
    await this.host.router.send(stanza);
  }

  /**
   * The node that holds the sender's session (the stanza is routed where the client is
   * connected); REMOTE_NODE for an address of another server or a component, which every node
   * reaches through its router.
   */
  async nodeOf(routed: RoutedStanza): Promise<string> {
    if (routed.origin) return this.host.nodeId;
    if (routed.from.domain !== this.host.domain) return REMOTE_NODE;
    return (await this.host.state.registry.get(routed.from.full))?.node ?? this.host.nodeId;
  }

  /**
   * What a groupchat message needs of the room's record, read once per node: the salt of occupant
   * ids, the history length, whois and archiving. Each message reports the token of the record
   * as it is (MessageOutcome.recordVersion): facts read under another token are read again
   * (`current`), so a change made on another node counts from the first message that sees it.
   */
  async factsOf(room: string): Promise<RoomFacts | undefined> {
    const known = this.facts.get(room);
    if (known !== undefined) return known;
    const snapshot = await this.store.get(room);
    if (snapshot) this.remember(room, snapshot.record);
    return snapshot ? this.facts.get(room) : undefined;
  }

  /** The facts of the record a message was checked against (read again when `facts` were of another record). */
  async current(room: string, facts: RoomFacts, recordVersion: string): Promise<RoomFacts> {
    if (facts.recordVersion === recordVersion) return facts;
    const snapshot = await this.store.get(room);
    if (!snapshot) return facts;
    // Read after the message: this record is at least as new as the token's.
    this.remember(room, snapshot.record, recordVersion);
    return this.facts.get(room) ?? facts;
  }

  /** Without a token, facts a message already confirmed are kept (a message re-reads them if they are stale). */
  remember(room: string, record: RoomRecord, recordVersion?: string): void {
    if (recordVersion === undefined && this.facts.get(room)?.recordVersion !== undefined) return;
    if (this.facts.size >= FACTS_KEPT) this.facts.delete(this.facts.keys().next().value as string);
    const { config } = record;
    this.facts.set(room, {
      salt: record.salt,
      historyLength: config.historyLength,
      whois: config.whois,
      archiving: archives(config),
      ...(recordVersion === undefined ? {} : { recordVersion }),
    });
  }

  forget(room: string): void {
    this.facts.delete(room);
  }

  private async iq(routed: RoutedStanza, type: string | undefined): Promise<void> {
    if (scopeOf(routed.to) === 'occupant') {
      await this.handlers.occupantIq(this, routed);
      return;
    }
    if (type !== 'get' && type !== 'set') return;
    const payload = iqPayload(routed.stanza);
    if (!payload) throw new StanzaError('bad-request');
    const scope = scopeOf(routed.to);
    const handler = this.handlers.iq.get(`${scope} ${type} ${String(payload.attrs.xmlns ?? '')} ${payload.name}`);
    if (!handler) throw new StanzaError('service-unavailable');
    const result = await handler(this, routed, payload);
    await this.reply(routed, iqResult(routed.stanza, result ?? undefined));
  }
}

export function scopeOf(to: Jid): 'service' | 'room' | 'occupant' {
  return to.local === '' ? 'service' : to.resource === '' ? 'room' : 'occupant';
}

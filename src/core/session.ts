// The session record of doc/session-model.md: one per client connection, owned by this process.
// Its shared half (full_jid, node, priority, presence, interested) is mirrored into the
// SessionRegistry so every node can route to it.
import type { Element } from 'ltx';
import type { StreamError } from '../xmpp/errors.js';
import type { RosterSnapshot } from '../state/roster.js';
import { kindOfName, kindOfXml, noTelemetry, type Telemetry } from '../telemetry.js';
import type { SessionType } from '../xmpp/kinds.js';
import { PushGate } from './push-gate.js';
import { identityOf } from './stanza-identity.js';

/** The socket side of a session: what send() and close() act on. */
export interface Conn {
  readonly remoteAddress: string;
  readonly secure: boolean;
  write(data: string): void;
  /** Writes an optional stream error and the closing tag, then ends the socket. */
  close(error?: StreamError): void;
  /**
   * Resolves once what was written has gone to the socket (at once unless the client reads
   * slower than it is sent to; also when the connection closes): bulk senders pace themselves
   * on it, so a burst does not count as a slow reader.
   */
  writable?(): Promise<void>;
}

/** XEP-0198 on a session: counts what the client sent and sees every outbound stanza. */
export interface ManagedStream {
  /** false: queued, not written now (the session is hibernating). */
  outbound(xml: string, identity?: string): boolean;
  /** One more stanza from the client was handled. */
  inboundHandled(): void;
  /** Stanzas held back (client state indication) were written: they want acknowledging. */
  flushed(): void;
}

/**
 * Holds outbound stanzas back from the socket (XEP-0352 client state indication). It sees a
 * stanza after stream management counted and queued it, as Prosody's mod_csi_simple pauses
 * writes below mod_smacks: what is held is unacknowledged, so a resumption resends it.
 */
export interface OutputHold {
  /** true: held (written later, in order); false: write it now (what was held went first). */
  hold(stanza: Element | string, xml: string): boolean;
  /** Stanzas held now: always the last ones stream management numbered (a write flushes them first). */
  readonly held: number;
}

/** What stream-level modules (stream management) may do with a client connection. */
export interface StreamConnection {
  readonly session: C2SSession;
  write(data: string): void;
  close(error?: StreamError): void;
  /** Ends the socket without a stream error, leaving the session to the caller. */
  closeQuietly(): void;
  /** Carries `session` from now on (a resumed stream); the unbound session it had is dropped. */
  attachSession(session: C2SSession): void;
}

export class C2SSession {
  /** Unique per connection; becomes the registry's session_id at bind. */
  readonly id: string;
  /** Replaced when a stream-managed session resumes over a new connection. */
  conn: Conn;
  /** Set while XEP-0198 stream management is enabled. */
  sm: ManagedStream | undefined;
  /** true until the stream header is received; set again on every stream restart. */
  notopen = true;
  type: SessionType = 'c2s_unauthed';
  /** The node part of the client's JID (not defined before auth). */
  username: string | undefined;
  /** The host part of the client's JID (not defined before stream initiation). */
  host: string | undefined;
  /** Not defined before resource binding. */
  resource: string | undefined;
  /** username@host/resource; set: a connected resource. */
  full_jid: string | undefined;
  /** The resource priority, default 0. */
  priority = 0;
  /** The last broadcast presence without a type; set: an available resource. */
  presence: Element | undefined;
  /** Requested the roster: an interested resource, receives roster pushes. */
  interested = false;
  /** The user's roster as last read for this resource (its roster get, its broadcast presence). */
  roster: RosterSnapshot | undefined;
  /** Full or bare JIDs this resource sent directed available presence to (RFC 6121 §4.6). */
  readonly directed = new Set<string>();
  /** XEP-0280. */
  carbons = false;
  /** XEP-0352: set by the csi module once the client said it is inactive. */
  outputHold: OutputHold | undefined;
  /** XEP-0191: fetched the blocklist, so receives blocklist pushes. */
  blocklist_interested = false;
  /** The state versions this resource was shown (roster, blocklist): older pushes are not shown. */
  readonly pushGate = new PushGate();
  /** Set once destroy has started, so it runs once. */
  destroyed = false;

  constructor(
    id: string,
    conn: Conn,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {
    this.id = id;
    this.conn = conn;
  }

  /** The account's bare JID (after authentication). */
  get bare_jid(): string | undefined {
    return this.username !== undefined && this.host !== undefined ? `${this.username}@${this.host}` : undefined;
  }

  /** Converts x to a string and writes it to the connection; `identity`: see stanza-identity.ts. */
  send(x: Element | string, identity: string | undefined = typeof x === 'string' ? undefined : identityOf(x)): void {
    if (this.destroyed) return;
    const xml = typeof x === 'string' ? x : x.toString();
    const kind = typeof x === 'string' ? kindOfXml(x) : kindOfName(x.name);
    this.telemetry.stanzaOut(kind);
    if (this.sm && kind !== 'other' && !this.sm.outbound(xml, identity)) return;
    if (kind !== 'other' && this.outputHold?.hold(x, xml)) return;
    this.conn.write(xml);
  }

  /** Disconnects the client; host.local.destroy does the clean-up. */
  close(error?: StreamError): void {
    this.conn.close(error);
  }
}

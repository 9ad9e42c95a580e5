// XEP-0352 Client State Indication: a client that says it is <inactive/> (a phone in a pocket)
// is not woken for what can wait. As Prosody's mod_csi_simple: presence updates, headlines and
// messages without a body (chat states, receipts, PEP events) are held; what the user must see
// now (a message with a body, encrypted, a call, a subscription request, any iq) goes out at
// once, after what was held, so the order is kept. <active/> writes what was held, and so does
// the bound: past `maxHeld` stanzas everything held goes out. A client may say <inactive/> inside
// its Bind2 request (XEP-0386 §2.3), so that a phone reconnecting in a pocket is quiet at once.
//
// Where it holds: below stream management (session.ts OutputHold), so a held stanza is already
// numbered and in the XEP-0198 queue (mirrored into the ResumptionStore): a resumption, on this
// node or another after a drain or a death, resends it like any unacknowledged stanza. The
// state is the connection's own, as its socket buffer is: nothing of it is shared.
import { Element, parse } from 'ltx';
import type { Conn, C2SSession, OutputHold, StreamConnection } from '../core/session.js';
import type { Module } from '../core/module.js';
import { importantMessage } from '../xmpp/important.js';
import { NS_CARBONS, NS_CSI, NS_FORWARD } from '../xmpp/ns.js';

/** Prosody's csi_queue_size. */
export const DEFAULT_CSI_MAX_HELD = 256;

/** Payloads that make a message urgent besides what a push is sent for (xmpp/important.ts): calls, invitations. */
const URGENT_PAYLOADS = new Set(['urn:xmpp:jingle-message:0', 'urn:xmpp:jingle-message:1', 'jabber:x:conference', 'http://jabber.org/protocol/muc#user']);

/** Whether the client must get it now even while inactive (mod_csi_simple's is_important, widened to all that is pushed). */
export function urgent(stanza: Element): boolean {
  switch (stanza.name) {
    case 'presence': {
      const type = stanza.attrs.type;
      return type !== undefined && type !== 'unavailable';
    }
    case 'message': {
      // What would wake the phone with a push is never held: it must not wait on a live connection either.
      if (importantMessage(stanza) !== undefined) return true;
      if (stanza.attrs.type === 'headline') return false;
      if (stanza.getChild('sent', NS_CARBONS)) return true;
      const carried = stanza.getChild('received', NS_CARBONS)?.getChild('forwarded', NS_FORWARD)?.getChild('message');
      const message = carried ?? stanza;
      if (message.getChild('body')) return true;
      return message.children.some((child) => child instanceof Element && URGENT_PAYLOADS.has(child.attrs.xmlns ?? '') && (child.attrs.xmlns !== 'http://jabber.org/protocol/muc#user' || child.getChild('invite') !== undefined));
    }
    default:
      return true;
  }
}

/** The held stanzas of one connection, written to it in order. */
class Held implements OutputHold {
  private readonly stanzas: string[] = [];

  constructor(
    private readonly session: C2SSession,
    private readonly conn: Conn,
    private readonly maxHeld: number,
    /** What the session writes to until `conn` takes over (Bind2: the capture before <success/>). */
    private readonly before?: Conn,
  ) {}

  hold(stanza: Element | string, xml: string): boolean {
    if (this.before !== undefined && this.session.conn === this.before) return false;
    if (this.session.conn !== this.conn) {
      // Resumed over another connection: stream management resends what was held here.
      this.stanzas.length = 0;
      this.session.outputHold = undefined;
      return false;
    }
    const element = typeof stanza === 'string' ? parseStanza(xml) : stanza;
    if (element === undefined || urgent(element)) {
      this.flush();
      return false;
    }
    this.stanzas.push(xml);
    if (this.stanzas.length >= this.maxHeld) this.flush();
    return true;
  }

  get held(): number {
    return this.session.conn === this.conn ? this.stanzas.length : 0;
  }

  /** Holding for the connection the session has now (not one it had before a resumption). */
  get current(): boolean {
    return this.session.conn === this.conn;
  }

  flush(): void {
    const stanzas = this.stanzas.splice(0);
    if (this.session.conn !== this.conn || stanzas.length === 0) return;
    for (const xml of stanzas) this.conn.write(xml);
    this.session.sm?.flushed();
  }
}

function parseStanza(xml: string): Element | undefined {
  try {
    const element = parse(xml);
    return element instanceof Element ? element : undefined;
  } catch {
    return undefined;
  }
}

/** Writes what was held and stops holding. */
function activate(session: C2SSession): void {
  const held = session.outputHold;
  session.outputHold = undefined;
  if (held instanceof Held) held.flush();
}

function onNonza(connection: StreamConnection, element: Element, maxHeld: number): boolean {
  if (element.attrs.xmlns !== NS_CSI) return false;
  const session = connection.session;
  // XEP-0352 §5: after authentication; unknown children are left to the connection to refuse.
  if (session.type !== 'c2s') return element.name === 'active' || element.name === 'inactive';
  if (element.name === 'active') {
    activate(session);
    return true;
  }
  if (element.name === 'inactive') {
    if (!(session.outputHold instanceof Held && session.outputHold.current)) session.outputHold = new Held(session, session.conn, maxHeld);
    return true;
  }
  return false;
}

export function csiModule(options: { maxHeld: number } = { maxHeld: DEFAULT_CSI_MAX_HELD }): Module {
  return {
    name: 'csi',
    load(api) {
      api.hook('stream-features', ({ session, features }) => {
        if (session.type !== 'c2s_unauthed') features.c('csi', { xmlns: NS_CSI });
      });
      api.hook('stream-nonza', ({ connection, element }) => onNonza(connection, element, options.maxHeld));
      api.hook('bind2-inline-features', ({ inline }) => void inline.c('feature', { var: NS_CSI }));
      // Held for the connection the session writes to after the <success/>, not the capture.
      api.hook('bind2-enable', ({ connection, element, output }) => {
        if (!element.is('inactive', NS_CSI) && !element.is('active', NS_CSI)) return false;
        const { session } = connection;
        if (element.name === 'inactive') session.outputHold = new Held(session, output, options.maxHeld, session.conn);
        return true;
      });
      // A client that leaves, or whose node drains, gets what was held before its stream closes
      // (ahead of hibernation and parking, which wait for its last ack).
      api.hook('pre-resource-unbind', ({ session }) => {
        activate(session);
        return false;
      }, 20);
      api.hook('session-handover', ({ session }) => {
        activate(session);
        return false;
      }, 20);
    },
  };
}

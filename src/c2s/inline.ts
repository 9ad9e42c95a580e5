// SASL2 (XEP-0388) and Bind2 (XEP-0386) nest the answers of inline requests inside their own
// elements: <resumed/> inside <success/>, <enabled/> inside <bound/>. The modules that answer
// (stream management, carbons) write on a connection as they do outside SASL2; this one
// captures what they write, for the caller to nest the first answer and send the rest after it.
import { type Element, parse } from 'ltx';
import type { C2SSession, Conn, StreamConnection } from '../core/session.js';
import type { StreamError } from '../xmpp/errors.js';
import type { NegotiatingConnection } from './negotiating-connection.js';

/** XEP-0388 §2.2: the client's device, whose id keeps its Bind2 resource (and FAST token) stable. */
export interface UserAgent {
  id: string | undefined;
  software: string | undefined;
  device: string | undefined;
}

const STANZAS = new Set(['message', 'presence', 'iq']);

export class CapturingConnection implements StreamConnection, Conn {
  private readonly written: string[] = [];

  constructor(private readonly real: NegotiatingConnection) {}

  get session(): C2SSession {
    return this.real.session;
  }

  get remoteAddress(): string {
    return this.real.remoteAddress;
  }

  get secure(): boolean {
    return this.real.secure;
  }

  write(data: string): void {
    this.written.push(data);
  }

  close(error?: StreamError): void {
    this.real.close(error);
  }

  closeQuietly(): void {
    this.real.closeQuietly();
  }

  attachSession(session: C2SSession): void {
    this.real.attachSession(session);
    // Until the caller has written its <success/>, what the session sends waits here.
    session.conn = this;
  }

  /**
   * From now until release(), what is sent to the connection's session is captured too: a
   * stanza routed to a resumed session must not overtake the <success/>.
   */
  hold(): void {
    this.real.session.conn = this;
  }

  /** Where the next write will go: a handler's answer is looked for from there (takeAnswer). */
  mark(): number {
    return this.written.length;
  }

  /**
   * The first element written since `since` that is not a stanza, parsed (the answer to nest),
   * and removes it; undefined when there is none. A stanza routed to the freshly bound session
   * meanwhile is no answer: it stays, and goes out after the <success/>.
   */
  takeAnswer(since = 0): Element | undefined {
    for (let i = since; i < this.written.length; i++) {
      let element: Element;
      try {
        element = parse(this.written[i] as string);
      } catch {
        continue;
      }
      if (STANZAS.has(element.name)) continue;
      this.written.splice(i, 1);
      return element;
    }
    return undefined;
  }

  /** Everything else, in order, to the real connection, which the session writes to again. */
  release(): void {
    const session = this.real.session;
    if (session.conn === this) session.conn = this.real;
    for (const data of this.written.splice(0)) this.real.write(data);
  }
}

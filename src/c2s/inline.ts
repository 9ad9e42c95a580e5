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

  /** The first element written, parsed (the answer to nest), and removes it; undefined when nothing parseable was written. */
  takeAnswer(): Element | undefined {
    const first = this.written.shift();
    if (first === undefined) return undefined;
    try {
      return parse(first);
    } catch {
      this.written.unshift(first);
      return undefined;
    }
  }

  /** Everything else, in order, to the real connection, which the session writes to again. */
  release(): void {
    const session = this.real.session;
    if (session.conn === this) session.conn = this.real;
    for (const data of this.written.splice(0)) this.real.write(data);
  }
}

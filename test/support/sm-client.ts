// A stream-management client (XEP-0198) over RawClient, for the stream-management tests and the
// rolling-restart load: it logs in (PLAIN, over plain TCP or after STARTTLS), binds, enables
// resumption, counts every stanza it receives (its h) and answers <r/> with it, keeps what it
// sent until the server acknowledges it, and — when the connection is lost — reconnects through
// a port of its choosing (the load balancer's) and resumes with previd and h, sending again
// whatever the server had not handled.
import type { Element } from 'ltx';
import { escapeXML } from 'ltx';
import type { StateBackend } from '../../src/state/backend.js';
import type { RosterItem } from '../../src/state/roster.js';
import { type Match, RawClient } from './client.js';

export const NS_SM = 'urn:xmpp:sm:3';

export interface SmClientOptions {
  port: number;
  host?: string;
  domain?: string;
  username: string;
  password: string;
  resource: string;
  /** PLAIN right over the plain TCP connection (the server must allow it); otherwise STARTTLS first. */
  plaintext?: boolean;
  /** Told about every stanza received on the managed stream, once it is counted. */
  onStanza?(stanza: Element, client: SmClient): void;
  /** Keep received stanzas in the RawClient's inbox (for tests that expect() them); default true. */
  keep?: boolean;
  /** Reconnect and resume by itself when the connection is lost; default false. */
  autoResume?: boolean;
  /** Where to reconnect to (default: `port`). */
  resumePort?: number;
  /** Give up resuming after this long without success (ms); default 30 s. */
  resumeDeadlineMs?: number;
  /** Ask for an ack after every this many stanzas sent; default 5. */
  ackEvery?: number;
  /** Timeout of each step of a login or resumption (ms). */
  stepTimeoutMs?: number;
  /** Told of every resumption, with the time from the connection's loss until <resumed/> (ms). */
  onResumed?(offlineMs: number): void;
}

export type SmState = 'offline' | 'online' | 'resuming' | 'failed' | 'closed';

function isStanza(element: Element): boolean {
  const name = element.name;
  return (name === 'message' || name === 'presence' || name === 'iq') && (element.attrs.xmlns === undefined || element.attrs.xmlns === 'jabber:client');
}

let idCounter = 0;

export class SmClient {
  raw: RawClient | undefined;
  /** The bound full JID. */
  jid: string | undefined;
  /** The resumption id (previd). */
  smId: string | undefined;
  /** Stanzas received on the managed stream: the client's h. */
  inbound = 0;
  /** Stanzas sent on the managed stream (queued while offline included). */
  outbound = 0;
  /** How many of them the server acknowledged. */
  acked = 0;
  /** Successful resumptions. */
  resumes = 0;
  /** The server's ack requests (<r/>) answered. */
  requestsAnswered = 0;
  /** The server's ack requests left unanswered (while `answerRequests` is false). */
  requestsIgnored = 0;
  /** false: <r/> goes unanswered, as from an app its phone froze while its socket still reads. */
  answerRequests = true;
  /** Connections lost while online. */
  disconnects = 0;
  /** The <failed/> elements received for resumptions. */
  readonly failures: Element[] = [];
  /** Protocol errors seen (an ack beyond what was sent, a stream error). */
  readonly errors: string[] = [];
  state: SmState = 'offline';
  /** Told about every <a/> from the server, with its h, as it arrives. */
  onAck: ((h: number) => void) | undefined;
  /** When the last connection loss and the last successful resumption happened (ms). */
  lostAt = 0;
  resumedAt = 0;
  private unacked: string[] = [];
  private counting = false;
  private requestedAt = 0;
  private resuming: Promise<boolean> | undefined;
  private readonly stateWaiters = new Set<() => void>();
  private readonly ackWaiters: Array<(h: number) => void> = [];

  private constructor(readonly options: SmClientOptions) {}

  get bare(): string {
    return (this.jid ?? '').split('/')[0] as string;
  }

  /** Waits for (and removes from the current connection's inbox) the first element that matches (see RawClient.expect). */
  expect(match: Match, timeoutMs = 5000): Promise<Element> {
    if (!this.raw) throw new Error('not connected');
    return this.raw.expect(match, timeoutMs);
  }

  /**
   * A ping round trip on the managed stream (counted like any stanza): once it returns,
   * everything the server sent before answering has been received.
   */
  async barrier(timeoutMs = 5000): Promise<void> {
    if (!this.raw) throw new Error('not connected');
    const id = `barrier${++idCounter}`;
    const reply = this.raw.expect((element) => element.name === 'iq' && element.attrs.id === id && (element.attrs.type === 'result' || element.attrs.type === 'error'), timeoutMs);
    this.send(`<iq type='get' id='${id}' to='${escapeXML(this.options.domain ?? 'localhost')}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await reply;
  }

  /** Sent and not yet acknowledged by the server. */
  get pending(): number {
    return this.unacked.length;
  }

  /** Whether a stanza containing `text` is sent and not yet acknowledged by the server. */
  unacknowledged(text: string): boolean {
    return this.unacked.some((xml) => xml.includes(text));
  }

  /** Logs in, binds the resource and enables stream management with resumption. */
  static async login(options: SmClientOptions): Promise<SmClient> {
    const client = new SmClient(options);
    const raw = await client.authenticate(options.port);
    const bound = await raw.bind(options.resource);
    const jid = bound.getChild('bind')?.getChildText('jid');
    if (bound.attrs.type !== 'result' || !jid) throw new Error(`bind failed: ${bound.toString()}`);
    raw.jid = jid;
    client.jid = jid;
    raw.send(`<enable xmlns='${NS_SM}' resume='true'/>`);
    const enabled = await raw.expect((element) => (element.name === 'enabled' || element.name === 'failed') && element.attrs.xmlns === NS_SM, client.stepTimeout);
    if (enabled.name !== 'enabled' || enabled.attrs.resume !== 'true') throw new Error(`enable failed: ${enabled.toString()}`);
    client.smId = String(enabled.attrs.id);
    client.setState('online');
    return client;
  }

  private get stepTimeout(): number {
    return this.options.stepTimeoutMs ?? 10_000;
  }

  /** Connects and authenticates; the RawClient is ready for bind or resume. */
  private async authenticate(port: number): Promise<RawClient> {
    const { options } = this;
    const raw = await RawClient.connect({ port, host: options.host ?? '127.0.0.1', domain: options.domain ?? 'localhost' });
    this.attach(raw);
    // A node going away closes the connection at any step: that fails the step at once.
    const closed = new Promise<never>((_, reject) => {
      const previous = raw.onClose;
      raw.onClose = () => {
        previous?.();
        reject(new Error('connection closed'));
      };
    });
    closed.catch(() => undefined);
    const step = <T>(promise: Promise<T>, what: string): Promise<T> => Promise.race([withTimeout(promise, this.stepTimeout, what), closed]);
    try {
      await step(raw.openStream(), 'stream header');
      if (!options.plaintext) {
        await step(raw.startTls(), 'STARTTLS');
        await step(raw.openStream(), 'stream header after TLS');
      }
      const outcome = await step(raw.authPlain(options.username, options.password), 'SASL');
      if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
      const features = await step(raw.openStream(), 'stream header after SASL');
      if (features.name !== 'stream:features') throw new Error(`no features after SASL: ${features.toString()}`);
      return raw;
    } catch (error) {
      raw.destroy();
      throw error;
    }
  }

  /** Wires a connection's elements to the stream-management layer. */
  private attach(raw: RawClient): void {
    this.raw = raw;
    this.counting = false;
    raw.onElement = (element) => this.onElement(raw, element);
    raw.onClose = () => this.onClose(raw);
  }

  private onElement(raw: RawClient, element: Element): boolean {
    if (raw !== this.raw) return true;
    if (element.attrs.xmlns === NS_SM) {
      switch (element.name) {
        case 'r':
          if (!this.answerRequests) {
            this.requestsIgnored += 1;
            return true;
          }
          this.requestsAnswered += 1;
          raw.send(`<a xmlns='${NS_SM}' h='${this.inbound}'/>`);
          return true;
        case 'a':
          this.onAck?.(Number(element.attrs.h));
          this.acknowledge(Number(element.attrs.h));
          return true;
        case 'enabled':
          // XEP-0198 §4: h counts from <enabled/> on.
          this.inbound = 0;
          this.counting = true;
          return false;
        case 'resumed':
          this.onResumed(raw, element);
          return false;
        default:
          return false;
      }
    }
    if (element.name === 'stream:error') this.errors.push(`stream error: ${element.toString()}`);
    if (!isStanza(element) || !this.counting) return false;
    this.inbound += 1;
    this.options.onStanza?.(element, this);
    // The answer to barrier() is waited for even when nothing else is kept.
    if (element.name === 'iq' && String(element.attrs.id ?? '').startsWith('barrier')) return false;
    return this.options.keep === false;
  }

  /** <resumed/>: drop what the server handled, send again what it did not, in order. */
  private onResumed(raw: RawClient, element: Element): void {
    this.acknowledge(Number(element.attrs.h));
    this.counting = true;
    this.resumes += 1;
    this.resumedAt = Date.now();
    this.options.onResumed?.(this.resumedAt - this.lostAt);
    // Online in the same step: whatever is sent from now on is written, after what is sent again here.
    this.setState('online');
    for (const xml of this.unacked) raw.send(xml);
    if (this.unacked.length > 0) this.requestAck();
  }

  private acknowledge(h: number): void {
    for (const waiter of this.ackWaiters.splice(0)) waiter(h);
    if (!Number.isInteger(h)) {
      this.errors.push(`bad h ${h}`);
      return;
    }
    if (h > this.outbound) {
      this.errors.push(`server acknowledged ${h} of ${this.outbound} stanzas`);
      return;
    }
    if (h <= this.acked) return;
    this.unacked.splice(0, h - this.acked);
    this.acked = h;
  }

  private onClose(raw: RawClient): void {
    if (raw !== this.raw) return;
    this.counting = false;
    if (this.state !== 'online') return;
    this.disconnects += 1;
    this.lostAt = Date.now();
    this.setState('offline');
    if (this.options.autoResume) void this.resume().catch(() => undefined);
  }

  /**
   * Sends a stanza on the managed stream: counted, kept until acknowledged, and written now if
   * the client is online (otherwise after the next resumption).
   */
  send(xml: string): void {
    if (this.state === 'closed' || this.state === 'failed') throw new Error(`cannot send: the client is ${this.state}`);
    this.unacked.push(xml);
    this.outbound += 1;
    if (this.state !== 'online' || !this.raw) return;
    this.raw.send(xml);
    if (this.outbound - this.requestedAt >= (this.options.ackEvery ?? 5)) this.requestAck();
  }

  /** A chat message with an id of its own; returns the id. */
  message(to: string, body: string, id = `sm${++idCounter}`): string {
    this.send(`<message to='${escapeXML(to)}' type='chat' id='${escapeXML(id)}'><body>${escapeXML(body)}</body></message>`);
    return id;
  }

  /** Asks the server for an ack (<r/>). */
  requestAck(): void {
    this.requestedAt = this.outbound;
    if (this.state === 'online') this.raw?.send(`<r xmlns='${NS_SM}'/>`);
  }

  /** Sends <r/> and resolves with the h of the server's next <a/>. */
  async ack(timeoutMs = 5000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<number>((resolve, reject) => {
      const waiter = (h: number): void => {
        clearTimeout(timer);
        resolve(h);
      };
      this.ackWaiters.push(waiter);
      timer = setTimeout(() => {
        this.ackWaiters.splice(this.ackWaiters.indexOf(waiter), 1);
        reject(new Error(`${this.jid}: no <a/> within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    this.requestAck();
    return answer;
  }

  /**
   * Reconnects (to `port`, by default the resume port) and resumes. Resolves true once resumed;
   * false when the server answered <failed/> (see `failures`). With `retry`, connection
   * problems are retried until the resume deadline.
   */
  resume(port?: number, retry = true): Promise<boolean> {
    this.resuming ??= this.resumeLoop(port ?? this.options.resumePort ?? this.options.port, retry).finally(() => {
      this.resuming = undefined;
    });
    return this.resuming;
  }

  private async resumeLoop(port: number, retry: boolean): Promise<boolean> {
    if (this.smId === undefined) throw new Error('stream management is not enabled');
    this.setState('resuming');
    this.raw?.destroy();
    const deadline = Date.now() + (this.options.resumeDeadlineMs ?? 30_000);
    let attempt = 0;
    for (;;) {
      attempt += 1;
      try {
        return await this.resumeOnce(port);
      } catch (error) {
        if (!retry || Date.now() > deadline || this.state !== 'resuming') {
          this.errors.push(`resumption abandoned after ${attempt} attempts: ${(error as Error).message}`);
          this.setState('failed');
          throw error;
        }
        // Connection refused or closed by a node going away: try again through the balancer.
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, 25 * attempt)));
      }
    }
  }

  private async resumeOnce(port: number): Promise<boolean> {
    const raw = await this.authenticate(port);
    const closed = new Promise<never>((_, reject) => {
      const previous = raw.onClose;
      raw.onClose = () => {
        previous?.();
        reject(new Error('connection closed during resumption'));
      };
    });
    closed.catch(() => undefined);
    if (raw.socketClosed) throw new Error('connection closed during resumption');
    raw.send(`<resume xmlns='${NS_SM}' previd='${escapeXML(this.smId as string)}' h='${this.inbound}'/>`);
    const answer = await Promise.race([
      raw.expect((element) => (element.name === 'resumed' || element.name === 'failed') && element.attrs.xmlns === NS_SM, this.stepTimeout),
      closed,
    ]);
    if (answer.name === 'failed') {
      this.failures.push(answer);
      this.setState('failed');
      return false;
    }
    return true;
  }

  /** Resolves once the client is in one of `states`. */
  async reached(states: SmState[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!states.includes(this.state)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.jid}: still ${this.state} after ${timeoutMs} ms, waiting for ${states.join('|')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.stateWaiters.delete(wake);
          resolve();
        }, left);
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        this.stateWaiters.add(wake);
      });
    }
  }

  /** Drops the TCP connection without a closing tag (the server keeps the session resumable). */
  drop(): void {
    const raw = this.raw;
    if (!raw) return;
    if (this.state === 'online') {
      this.disconnects += 1;
      this.lostAt = Date.now();
      this.setState('offline');
    }
    this.raw = undefined;
    this.counting = false;
    raw.destroy();
  }

  /**
   * Stops using the connection without closing it, as a client does that gave up on a
   * connection the server still thinks is fine (a half-open socket). Whatever arrives on it
   * from now on is ignored (not counted). Returns it.
   */
  abandon(): RawClient {
    const raw = this.raw;
    if (!raw) throw new Error('not connected');
    raw.onElement = () => true;
    raw.onClose = undefined;
    this.raw = undefined;
    this.counting = false;
    if (this.state === 'online') {
      this.disconnects += 1;
      this.lostAt = Date.now();
      this.setState('offline');
    }
    return raw;
  }

  /** Acknowledges what it received and closes the stream cleanly (the session ends). */
  async close(): Promise<void> {
    const raw = this.raw;
    this.setState('closed');
    if (!raw || raw.socketClosed) return;
    raw.send(`<a xmlns='${NS_SM}' h='${this.inbound}'/>`);
    await raw.close().catch(() => raw.destroy());
  }

  /** Stops for good without telling the server. */
  destroy(): void {
    this.setState('closed');
    this.raw?.destroy();
  }

  private setState(state: SmState): void {
    this.state = state;
    for (const wake of [...this.stateWaiters]) wake();
    this.stateWaiters.clear();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/**
 * Mutual presence subscription ('both' on each side) written straight into the roster store, for
 * set-ups that must not put roster traffic on the clients' streams.
 */
export async function befriendInStore(state: StateBackend, a: string, b: string): Promise<void> {
  for (const [user, contact] of [
    [a, b],
    [b, a],
  ] as const) {
    const item: RosterItem = { jid: contact, groups: [], subscription: 'both', ask: false, approved: false };
    const current = await state.rosters.entry(user, contact);
    const version = await state.rosters.compareAndSet(user, contact, current, { item });
    if (version === undefined) throw new Error(`roster of ${user} changed while ${contact} was added`);
  }
}

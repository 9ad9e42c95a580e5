// A lean XMPP client for load generation: raw sockets, the framer of framer.ts, SASL of sasl.ts.
// It logs in (optionally over STARTTLS), binds, sends initial presence and waits for the server
// to reflect it (RFC 6121 §4.2.2: the sender's own resource gets its initial presence back), then
// hands every further top-level element to `onStanza` as a string.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import { attr, childText, elementName, escapeXml, type FrameSink, Framer } from './framer.js';
import { type Mechanism, plainInitial, ScramClient } from './sasl.js';
import { WebSocketWire, type Wire } from './websocket-wire.js';

export interface Target {
  host: string;
  port: number;
  /** The XMPP domain (stream 'to'). */
  domain: string;
  /** The node's XMPP-over-WebSocket URL (RFC 7395), for the workloads over WebSocket. */
  webSocketUrl?: string;
  /** The node's HTTP port as `http://host:port` (HTTP upload). */
  httpUrl?: string;
}

export interface LoginOptions {
  target: Target;
  /** Localpart. */
  user: string;
  password: string;
  mechanism: Mechanism;
  starttls: boolean;
  resource: string;
  /** Send initial presence and wait for its reflection; false: the session stays unavailable. */
  presence: boolean;
  timeoutMs: number;
  /** STARTTLS with the TLS session ticket this account got last time (a reconnecting client), if any. */
  resumeTls?: boolean;
  /** Over the target's WebSocket URL instead of TCP (no STARTTLS there). */
  webSocket?: boolean;
}

/** The last TLS session ticket each account got, as a client keeps it between connections. */
const tickets = new Map<string, Buffer>();
/** Handshakes that resumed a session, for the report. */
export const tlsCounts = { handshakes: 0, resumed: 0 };

const NS_TLS = 'urn:ietf:params:xml:ns:xmpp-tls';
const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_BIND = 'urn:ietf:params:xml:ns:xmpp-bind';
const NS_SESSION = 'urn:ietf:params:xml:ns:xmpp-session';

/**
 * One TLS context for every client of the generator, as a real client keeps one: without it,
 * tls.connect builds a context per connection, which cost the generator about 0.4 ms of the
 * 2.5 ms its side of each handshake takes here. It verifies nothing (rejectUnauthorized: false).
 */
let clientContext: ReturnType<typeof createSecureContext> | undefined;

type Phase = 'features' | 'starttls' | 'auth' | 'restart' | 'bind' | 'session' | 'presence' | 'ready' | 'closed';

export class XmppClient implements FrameSink {
  jid = '';
  bare = '';
  private handler: ((xml: string) => void) | undefined;
  onClose: ((reason: string) => void) | undefined;
  private socket: Wire;
  /** The TCP socket, until STARTTLS wraps it (none over WebSocket). */
  private tcp: Socket | undefined;
  private readonly framer = new Framer(this);
  private phase: Phase = 'features';
  private secure = false;
  private scram: ScramClient | undefined;
  private sessionNeeded = false;
  private resolve!: () => void;
  private reject!: (error: Error) => void;
  private readonly timer: NodeJS.Timeout;
  private closeWaiters: Array<() => void> = [];
  /** Elements that arrived during login after the bind (presences of contacts, pushes). */
  private early: string[] = [];
  readonly done: Promise<void>;

  private constructor(private readonly options: LoginOptions) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.timer = setTimeout(() => this.fail(new Error(`login timed out in phase ${this.phase}`)), options.timeoutMs);
    if (options.webSocket && (options.starttls || options.target.webSocketUrl === undefined)) throw new Error('WebSocket: no URL for this target, or STARTTLS asked for');
    if (!options.webSocket) this.tcp = netConnect({ host: options.target.host, port: options.target.port, noDelay: true });
    this.socket = this.tcp ?? new WebSocketWire(options.target.webSocketUrl as string);
    this.attach(this.socket);
    this.socket.once('connect', () => this.openStream());
  }

  /** Connects and logs in; resolves once bound (and available, with `presence`). */
  static async login(options: LoginOptions): Promise<XmppClient> {
    const client = new XmppClient(options);
    await client.done;
    return client;
  }

  /** Starts a login without waiting (the caller awaits `done`). */
  static start(options: LoginOptions): XmppClient {
    const client = new XmppClient(options);
    client.done.catch(() => undefined);
    return client;
  }

  /** Receives every element after login (those that arrived during it first). */
  set onStanza(handler: (xml: string) => void) {
    this.handler = handler;
    const early = this.early;
    this.early = [];
    for (const xml of early) handler(xml);
  }

  get closed(): boolean {
    return this.phase === 'closed';
  }

  send(data: string): void {
    this.socket.write(data);
  }

  /** Ends the stream and waits for the socket to close (destroyed after `timeoutMs`). */
  close(timeoutMs = 5000): Promise<void> {
    if (this.phase === 'closed') return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.closeWaiters.push(resolve);
      if (this.closeWaiters.length > 1) return;
      try {
        this.socket.end('</stream:stream>');
      } catch {
        this.socket.destroy();
      }
      setTimeout(() => this.socket.destroy(), timeoutMs).unref();
    });
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private attach(socket: Wire): void {
    socket.setEncoding('latin1');
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
  }

  private readonly onData = (chunk: string): void => {
    this.framer.feed(chunk);
  };

  private readonly onError = (error: Error): void => {
    this.fail(error);
  };

  private readonly onSocketClose = (): void => {
    const wasReady = this.phase === 'ready';
    this.phase = 'closed';
    clearTimeout(this.timer);
    if (!wasReady) this.reject(new Error('connection closed during login'));
    this.onClose?.('closed');
    for (const waiter of this.closeWaiters.splice(0)) waiter();
  };

  private fail(error: Error): void {
    if (this.phase === 'ready' || this.phase === 'closed') return;
    clearTimeout(this.timer);
    this.reject(error);
    this.socket.destroy();
  }

  private openStream(): void {
    this.framer.reset();
    this.socket.write(
      `<?xml version='1.0'?><stream:stream to='${escapeXml(this.options.target.domain)}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`,
    );
  }

  header(): void {
    // Nothing to check: the features follow.
  }

  end(): void {
    this.fail(new Error('server closed the stream'));
    this.socket.end();
  }

  element(xml: string): void {
    if (this.phase === 'ready') {
      if (this.handler) this.handler(xml);
      else this.early.push(xml);
      return;
    }
    const name = elementName(xml);
    if (name === 'stream:error' || (name.endsWith('error') && name !== 'iq' && xml.includes('urn:ietf:params:xml:ns:xmpp-streams'))) {
      this.fail(new Error(`stream error: ${xml.slice(0, 300)}`));
      return;
    }
    switch (this.phase) {
      case 'features':
      case 'restart':
        if (name !== 'stream:features' && name !== 'features') return;
        return this.onFeatures(xml);
      case 'starttls':
        if (name === 'proceed') return this.upgrade();
        return this.fail(new Error(`STARTTLS refused: ${xml}`));
      case 'auth':
        return this.onSasl(name, xml);
      case 'bind':
      case 'session':
        if (name === 'iq' && attr(xml, 'id') === (this.phase === 'bind' ? 'bind1' : 'sess1')) return this.onIqResult(xml);
        this.early.push(xml);
        return;
      case 'presence':
        if (name === 'presence' && attr(xml, 'from') === this.jid && attr(xml, 'type') === undefined) {
          this.ready();
          return;
        }
        this.early.push(xml);
        return;
      default:
        return;
    }
  }

  private onFeatures(xml: string): void {
    if (this.phase === 'features') {
      if (this.options.starttls && !this.secure) {
        if (!xml.includes(NS_TLS)) return this.fail(new Error('server offers no STARTTLS'));
        this.phase = 'starttls';
        this.socket.write(`<starttls xmlns='${NS_TLS}'/>`);
        return;
      }
      const mechanism = this.options.mechanism;
      if (!xml.includes(`>${mechanism}<`)) return this.fail(new Error(`server offers no ${mechanism}: ${xml.slice(0, 400)}`));
      this.phase = 'auth';
      if (mechanism === 'PLAIN') {
        this.socket.write(`<auth xmlns='${NS_SASL}' mechanism='PLAIN'>${plainInitial(this.options.user, this.options.password)}</auth>`);
      } else {
        this.scram = new ScramClient(this.options.user, this.options.password);
        this.socket.write(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${this.scram.initial()}</auth>`);
      }
      return;
    }
    // After SASL: bind (RFC 6120 §7), and the legacy session request unless it is optional (RFC 3921).
    if (!xml.includes(NS_BIND)) return this.fail(new Error('server offers no bind'));
    const session = xml.indexOf(NS_SESSION);
    this.sessionNeeded = session >= 0 && !xml.slice(session, xml.indexOf('</session>', session) >>> 0).includes('optional');
    this.phase = 'bind';
    this.socket.write(`<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'><resource>${escapeXml(this.options.resource)}</resource></bind></iq>`);
  }

  private upgrade(): void {
    const raw = this.tcp;
    if (!raw) return this.fail(new Error('STARTTLS on a WebSocket'));
    raw.off('data', this.onData);
    raw.off('error', this.onError);
    raw.off('close', this.onSocketClose);
    clientContext ??= createSecureContext();
    const ticket = this.options.resumeTls ? tickets.get(this.options.user) : undefined;
    const secure = tlsConnect({ socket: raw, servername: this.options.target.domain, rejectUnauthorized: false, secureContext: clientContext, ...(ticket ? { session: ticket } : {}) });
    secure.on('session', (session: Buffer) => tickets.set(this.options.user, session));
    this.socket = secure;
    this.attach(secure);
    secure.once('secureConnect', () => {
      tlsCounts.handshakes++;
      if (secure.isSessionReused()) tlsCounts.resumed++;
      this.secure = true;
      this.phase = 'features';
      this.openStream();
    });
  }

  private onSasl(name: string, xml: string): void {
    const text = innerText(xml);
    if (name === 'challenge') {
      if (!this.scram) return this.fail(new Error('unexpected challenge'));
      if (text.length > 0 && Buffer.from(text, 'base64').toString().startsWith('v=')) {
        // Server-final in a challenge (RFC 6120 §6.3.10 allows it): verify, answer empty.
        if (!this.scram.verify(text)) return this.fail(new Error('bad server signature'));
        this.socket.write(`<response xmlns='${NS_SASL}'/>`);
        return;
      }
      this.socket.write(`<response xmlns='${NS_SASL}'>${this.scram.response(text)}</response>`);
      return;
    }
    if (name === 'success') {
      const body = innerText(xml);
      if (this.scram && body !== '' && !this.scram.verify(body)) return this.fail(new Error('bad server signature'));
      this.phase = 'restart';
      this.openStream();
      return;
    }
    this.fail(new Error(`authentication failed: ${xml.slice(0, 300)}`));
  }

  private onIqResult(xml: string): void {
    if (attr(xml, 'type') !== 'result') return this.fail(new Error(`${this.phase} failed: ${xml.slice(0, 300)}`));
    if (this.phase === 'bind') {
      const jid = childText(xml, 'jid');
      if (!jid) return this.fail(new Error(`no jid in bind result: ${xml}`));
      this.jid = jid;
      this.bare = jid.slice(0, jid.indexOf('/'));
      if (this.sessionNeeded) {
        this.phase = 'session';
        this.socket.write(`<iq type='set' id='sess1'><session xmlns='${NS_SESSION}'/></iq>`);
        return;
      }
    }
    if (!this.options.presence) return this.ready();
    this.phase = 'presence';
    this.socket.write('<presence/>');
  }

  private ready(): void {
    this.phase = 'ready';
    clearTimeout(this.timer);
    this.resolve();
  }
}

function innerText(xml: string): string {
  if (xml.endsWith('/>')) return '';
  return xml.slice(xml.indexOf('>') + 1, xml.lastIndexOf('</')).trim();
}

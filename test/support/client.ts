// A raw XMPP test client over real TCP/TLS sockets. It parses with ltx's own SAX parser
// (independent of the server's), keeps every received top-level element in an inbox, and lets
// tests wait for the element they expect.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureVersion, type TLSSocket } from 'node:tls';
import { Element, escapeXML, parse } from 'ltx';
import * as ltxSax from 'ltx/src/parsers/ltx.js';

/** ltx's own SAX parser (its typings describe the module as CommonJS, so it is typed here). */
interface SaxParser {
  on(event: string, listener: (...args: never[]) => void): void;
  write(data: string): void;
}
const LtxSaxParser = (ltxSax as unknown as { default: new () => SaxParser }).default;

export type Match = string | ((element: Element) => boolean);

/** TLS settings a test may force on the client side (e.g. an old protocol version). */
export interface ClientTlsOptions {
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  /** A TLS session (ticket) to resume, as `tlsSession` gave it. */
  session?: Buffer;
}

interface Waiter {
  match: (element: Element) => boolean;
  resolve: (element: Element) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ConnectOptions {
  port: number;
  host?: string;
  /** Direct TLS (XEP-0368). */
  directTls?: boolean;
  domain?: string;
  /** Source address to connect from (another loopback address looks like another client). */
  localAddress?: string;
  /** Client TLS settings for direct TLS. */
  tls?: ClientTlsOptions;
  /**
   * Keep our side open after the server closes its side (a client that never answers the
   * server's closing tag or FIN), instead of closing at once like a well-behaved client.
   */
  holdOpen?: boolean;
  /** Bytes sent first, before the stream or the TLS handshake, as a proxy sends its PROXY protocol header. */
  proxyHeader?: Buffer | string;
}

let idCounter = 0;

export class RawClient {
  readonly inbox: Element[] = [];
  /** After startTls(): the session ticket the server sent (TLS 1.3 sends it after the handshake), and whether this handshake resumed one. */
  tlsSession: Buffer | undefined;
  tlsResumed = false;
  /** Every top-level element received, in arrival order (for ordering assertions). */
  readonly log: Element[] = [];
  /** Attributes of the last stream header received. */
  streamHeader: Record<string, string> | undefined;
  streamClosed = false;
  socketClosed = false;
  private socket: Socket;
  private parser!: SaxParser;
  private depth = 0;
  private current: Element | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly closeWaiters: Array<() => void> = [];
  /**
   * Sees every top-level element first (a stream-management layer counts and answers them);
   * returning true consumes it: it is neither logged, nor in the inbox, nor given to a waiter.
   */
  onElement: ((element: Element) => boolean) | undefined;
  /** Told once when the socket closes. */
  onClose: (() => void) | undefined;
  private headerWaiter: (() => void) | undefined;
  jid: string | undefined;

  private constructor(socket: Socket, readonly domain: string) {
    this.socket = socket;
    this.resetParser();
    this.attach(socket);
  }

  static async connect(options: ConnectOptions): Promise<RawClient> {
    const host = options.host ?? '127.0.0.1';
    const local = options.localAddress !== undefined ? { localAddress: options.localAddress } : {};
    // tls.connect honours allowHalfOpen like net.connect does, though its typings leave it out.
    const halfOpen: { allowHalfOpen: boolean } = { allowHalfOpen: options.holdOpen === true };
    let socket: Socket;
    if (options.proxyHeader !== undefined) {
      const raw = netConnect({ port: options.port, host, ...local, ...halfOpen });
      await new Promise<void>((resolve, reject) => raw.once('connect', resolve).once('error', reject));
      raw.write(options.proxyHeader);
      socket = options.directTls ? tlsConnect({ socket: raw, ...halfOpen, rejectUnauthorized: false, ALPNProtocols: ['xmpp-client'], ...options.tls }) : raw;
      if (!options.directTls) return new RawClient(socket, options.domain ?? 'localhost');
    } else {
      socket = options.directTls
        ? tlsConnect({ port: options.port, host, ...local, ...halfOpen, rejectUnauthorized: false, ALPNProtocols: ['xmpp-client'], ...options.tls })
        : netConnect({ port: options.port, host, ...local, ...halfOpen });
    }
    await new Promise<void>((resolve, reject) => {
      socket.once(options.directTls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket, options.domain ?? 'localhost');
  }

  /** The bound bare JID (after login). */
  get bare(): string {
    if (this.jid === undefined) throw new Error('not bound');
    return this.jid.split('/')[0] as string;
  }

  /** The TLS socket once encrypted (channel-binding tests read its keying material). */
  get tlsSocket(): TLSSocket | undefined {
    return this.encrypted ? (this.socket as TLSSocket) : undefined;
  }

  get encrypted(): boolean {
    return (this.socket as TLSSocket).encrypted === true;
  }

  send(data: string | Element): void {
    this.socket.write(typeof data === 'string' ? data : data.toString());
  }

  /** Writes bytes as they are, invalid UTF-8 included (for tests of malformed input). */
  sendBytes(data: Uint8Array): void {
    this.socket.write(data);
  }

  /** Sends a stream header and waits for the server's header (features arrive in the inbox). */
  async openStream(to = this.domain, extra = ''): Promise<Element> {
    this.streamHeader = undefined;
    const header = new Promise<void>((resolve) => (this.headerWaiter = resolve));
    this.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0'${extra}>`);
    await header;
    return this.expect((element) => element.name === 'stream:features' || element.name === 'stream:error');
  }

  /** XEP-0114: opens a component stream and returns the server's header (no features follow). */
  async openComponentStream(domain: string): Promise<Record<string, string>> {
    this.streamHeader = undefined;
    const header = new Promise<void>((resolve) => (this.headerWaiter = resolve));
    this.send(`<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`);
    await header;
    return this.streamHeader ?? {};
  }

  /** Waits for (and removes from the inbox) the first element that matches. */
  expect(match: Match, timeoutMs = 5000): Promise<Element> {
    const predicate = typeof match === 'string' ? (element: Element) => element.name === match : match;
    const index = this.inbox.findIndex(predicate);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as Element);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match: predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`timed out waiting for ${describe(match)}; inbox: ${this.inbox.map(String).join(' ')}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Sends an iq and waits for its result or error. */
  async iq(type: 'get' | 'set', payload: string, to?: string): Promise<Element> {
    const id = `iq${++idCounter}`;
    this.send(`<iq type='${type}' id='${id}'${to ? ` to='${to}'` : ''}>${payload}</iq>`);
    return this.expect((element) => element.name === 'iq' && element.attrs.id === id && (element.attrs.type === 'result' || element.attrs.type === 'error'));
  }

  /**
   * Round trip to the server (XEP-0199 ping): once it returns, everything the server sent
   * before answering is in the inbox. Used to show that something did not arrive. The answer
   * only has to come back: a server without XEP-0199 answers with service-unavailable, which
   * proves the same ordering.
   */
  async barrier(): Promise<void> {
    const reply = await this.iq('get', "<ping xmlns='urn:xmpp:ping'/>", this.domain);
    const condition = reply.getChild('error')?.getChild('service-unavailable');
    if (reply.attrs.type !== 'result' && !condition) throw new Error(`ping failed: ${reply.toString()}`);
  }

  /** After a SASL success obtained by hand: the server's next header opens a new document. */
  restartParser(): void {
    this.resetParser();
  }

  /** Forgets everything received so far (after a test's setup steps). */
  clear(): void {
    this.inbox.length = 0;
    this.log.length = 0;
  }

  /** Removes and returns every inbox element that matches. */
  take(match: Match): Element[] {
    const predicate = typeof match === 'string' ? (element: Element) => element.name === match : match;
    const taken = this.inbox.filter(predicate);
    for (const element of taken) this.inbox.splice(this.inbox.indexOf(element), 1);
    return taken;
  }

  async startTls(options: ClientTlsOptions = {}): Promise<void> {
    this.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await this.expect('proceed');
    const raw = this.socket;
    this.detach(raw);
    const halfOpen: { allowHalfOpen: boolean } = { allowHalfOpen: raw.allowHalfOpen };
    const secure = tlsConnect({ socket: raw, ...halfOpen, rejectUnauthorized: false, servername: this.domain, ...options });
    secure.on('session', (session: Buffer) => { this.tlsSession = session; });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.tlsResumed = secure.isSessionReused();
    this.socket = secure;
    this.attach(secure);
    this.resetParser();
  }

  /** SASL PLAIN; resolves with the <success/> or <failure/> element (after success, ready for the restart). */
  async authPlain(username: string, password: string): Promise<Element> {
    const payload = Buffer.from(`\0${username}\0${password}`).toString('base64');
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${payload}</auth>`);
    const outcome = await this.expect((element) => element.name === 'success' || element.name === 'failure');
    // The stream restarts after success (RFC 6120 §6.4.6): the next header opens a new document.
    if (outcome.name === 'success') this.resetParser();
    return outcome;
  }

  async bind(resource?: string): Promise<Element> {
    return this.iq('set', `<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>${resource === undefined ? '' : `<resource>${resource}</resource>`}</bind>`);
  }

  /** STARTTLS (unless direct TLS), PLAIN, stream restart, bind. Returns the bound full JID. */
  async login(username: string, password: string, resource?: string): Promise<string> {
    await this.openStream();
    if (!this.encrypted) {
      await this.startTls();
      await this.openStream();
    }
    const outcome = await this.authPlain(username, password);
    if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
    this.resetParser();
    await this.openStream();
    const bound = await this.bind(resource);
    const jid = bound.getChild('bind')?.getChildText('jid');
    if (bound.attrs.type !== 'result' || !jid) throw new Error(`bind failed: ${bound.toString()}`);
    this.jid = jid;
    return jid;
  }

  /** Sends </stream:stream> and waits for the socket to close. */
  async close(): Promise<void> {
    if (this.socketClosed) return;
    if (!this.streamClosed) this.send('</stream:stream>');
    await this.closed();
  }

  /** Stops reading from the socket, as a client that hangs: the server's writes back up. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Kills the TCP connection without a closing tag. */
  destroy(): void {
    this.socket.destroy();
  }

  closed(timeoutMs = 5000): Promise<void> {
    if (this.socketClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for the connection to close')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The condition of the stream error received, if any. */
  streamError(): string | undefined {
    const error = this.inbox.find((element) => element.name === 'stream:error');
    return error?.children.find((child): child is Element => typeof child !== 'string' && child.name !== 'text')?.name;
  }

  private resetParser(): void {
    this.depth = 0;
    this.current = undefined;
    const parser = new LtxSaxParser();
    parser.on('startElement', (name: string, attrs: Record<string, string>) => {
      this.depth += 1;
      if (this.depth === 1) {
        this.streamHeader = attrs;
        this.headerWaiter?.();
        this.headerWaiter = undefined;
        return;
      }
      const element = new Element(name, attrs);
      this.current = this.current ? this.current.cnode(element) : element;
    });
    parser.on('endElement', () => {
      this.depth -= 1;
      if (this.depth === 0) {
        this.streamClosed = true;
        return;
      }
      const element = this.current as Element;
      if (this.depth === 1) {
        this.current = undefined;
        this.deliver(element);
      } else {
        this.current = element.parent as Element;
      }
    });
    parser.on('text', (text: string) => {
      if (this.current) this.current.t(text);
    });
    this.parser = parser;
  }

  private deliver(element: Element): void {
    if (this.onElement?.(element)) return;
    this.log.push(element);
    for (const waiter of this.waiters) {
      if (waiter.match(element)) {
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(element);
        return;
      }
    }
    this.inbox.push(element);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.parser.write(chunk.toString('utf8'));
  };

  private readonly onSocketClose = (): void => {
    this.socketClosed = true;
    for (const waiter of this.closeWaiters.splice(0)) waiter();
    this.onClose?.();
  };

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onSocketClose);
    socket.on('error', () => {});
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('close', this.onSocketClose);
  }
}

/** What a Match looks for, for timeout messages. */
function describe(match: Match): string {
  if (typeof match === 'string') return match;
  return (match as { description?: string }).description ?? 'a matching element';
}

/**
 * A Match written as the XML the test expects, like the examples in the RFCs:
 *   await bob.expect(xml`<presence from='${alice}' type='subscribe'/>`)
 * An element matches when it has the same name, every attribute the template has (with the
 * same value), a distinct matching child for every child element of the template, and the
 * template's text if it has any. Whatever the template does not mention is ignored. Values
 * are XML-escaped.
 */
export function xml(strings: TemplateStringsArray, ...values: unknown[]): (element: Element) => boolean {
  let source = strings[0] ?? '';
  values.forEach((value, i) => {
    source += escapeXML(String(value)) + (strings[i + 1] ?? '');
  });
  const template = parse(source);
  const predicate = (element: Element): boolean => matches(template, element);
  return Object.assign(predicate, { description: source });
}

function matches(template: Element, element: Element): boolean {
  if (template.name !== element.name) return false;
  for (const [name, value] of Object.entries(template.attrs)) {
    if (element.attrs[name] !== value) return false;
  }
  const text = template.getText().trim();
  if (text !== '' && element.getText() !== template.getText()) return false;
  const candidates = element.children.filter((child): child is Element => typeof child !== 'string');
  for (const wanted of template.children) {
    if (typeof wanted === 'string') continue;
    const index = candidates.findIndex((child) => matches(wanted, child));
    if (index < 0) return false;
    candidates.splice(index, 1);
  }
  return true;
}

/**
 * Test set-up through the protocol (RFC 6121 §3.1): `watcher` subscribes to `target`'s presence
 * and `target` approves, so watcher has 'to' and target 'from'. Waits until both servers'
 * sides are done, then clears both inboxes.
 */
export async function subscribe(watcher: RawClient, target: RawClient): Promise<void> {
  watcher.send(`<presence to='${target.bare}' type='subscribe'/>`);
  await watcher.barrier();
  target.send(`<presence to='${watcher.bare}' type='subscribed'/>`);
  await target.barrier();
  await watcher.barrier();
  watcher.clear();
  target.clear();
}

/** Mutual subscription ('both' on each side), inboxes cleared afterwards. */
export async function befriend(a: RawClient, b: RawClient): Promise<void> {
  await subscribe(a, b);
  await subscribe(b, a);
}

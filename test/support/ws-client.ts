// A raw XMPP-over-WebSocket test client (RFC 7395) on the `ws` package: each message sent is
// what the test writes, each message received is parsed on its own (ltx) into the inbox.
import { type Element, parse } from 'ltx';
import WebSocket from 'ws';
import type { Match } from './client.js';

export const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';

interface Waiter {
  match: (element: Element) => boolean;
  resolve(element: Element): void;
}

export class WsClient {
  readonly inbox: Element[] = [];
  /** Messages that were not one parseable element. */
  readonly unparsed: string[] = [];
  private readonly waiters = new Set<Waiter>();
  readonly closing: Promise<{ code: number }>;

  private constructor(
    readonly socket: WebSocket,
    readonly domain: string,
  ) {
    socket.on('message', (data: Buffer) => this.receive(data.toString('utf8')));
    this.closing = new Promise((resolve) => socket.once('close', (code) => resolve({ code })));
  }

  /** Opens the WebSocket (subprotocol `xmpp` unless told otherwise); rejects with the HTTP status of a refused upgrade. */
  static connect(url: string, domain: string, options: { protocols?: string[]; origin?: string; headers?: Record<string, string> } = {}): Promise<WsClient> {
    const socket = new WebSocket(url, options.protocols ?? ['xmpp'], { ...(options.origin ? { origin: options.origin } : {}), ...(options.headers ? { headers: options.headers } : {}) });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new WsClient(socket, domain)));
      socket.once('unexpected-response', (_request, response) => {
        reject(new Error(`upgrade refused: ${response.statusCode}`));
        socket.terminate();
      });
      socket.once('error', reject);
    });
  }

  send(data: string): void {
    this.socket.send(data);
  }

  /** Sends <open/> and waits for the server's <open/> and its features. */
  async open(): Promise<Element> {
    this.send(`<open xmlns='${NS_FRAMING}' to='${this.domain}' version='1.0'/>`);
    await this.expect((element) => element.name === 'open');
    return this.expect((element) => element.name === 'stream:features' || element.name === 'stream:error');
  }

  /** Open, SASL PLAIN, restart: the features of the authenticated stream. */
  async authenticate(username: string, password: string): Promise<Element> {
    await this.open();
    this.send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from(`\0${username}\0${password}`).toString('base64')}</auth>`);
    const outcome = await this.expect((element) => element.name === 'success' || element.name === 'failure');
    if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
    return this.open();
  }

  /** Open, SASL PLAIN, restart, bind; the bound JID. */
  async login(username: string, password: string, resource?: string): Promise<string> {
    await this.authenticate(username, password);
    this.send(`<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>${resource ? `<resource>${resource}</resource>` : ''}</bind></iq>`);
    const bound = await this.expect((element) => element.name === 'iq' && element.attrs.id === 'bind1');
    const jid = bound.getChild('bind')?.getChildText('jid');
    if (!jid) throw new Error(`bind failed: ${bound.toString()}`);
    return jid;
  }

  expect(match: Match, timeoutMs = 5000): Promise<Element> {
    const predicate = typeof match === 'string' ? (element: Element) => element.name === match : match;
    const index = this.inbox.findIndex(predicate);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as Element);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out; inbox: ${this.inbox.map(String).join(' ')}`));
      }, timeoutMs);
      const waiter: Waiter = {
        match: predicate,
        resolve: (element) => {
          clearTimeout(timer);
          resolve(element);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves with the close code once the WebSocket is closed. */
  closed(timeoutMs = 5000): Promise<{ code: number }> {
    return Promise.race([
      this.closing,
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('the WebSocket did not close')), timeoutMs).unref()),
    ]);
  }

  terminate(): void {
    this.socket.terminate();
  }

  private receive(text: string): void {
    let element: Element;
    try {
      element = parse(text);
    } catch {
      this.unparsed.push(text);
      return;
    }
    for (const waiter of this.waiters) {
      if (waiter.match(element)) {
        this.waiters.delete(waiter);
        waiter.resolve(element);
        return;
      }
    }
    this.inbox.push(element);
  }
}

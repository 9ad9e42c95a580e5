// A client that logs in over plain TCP (the chaos cluster allows it), then stops reading its
// socket: what the server writes piles up in the kernel's buffers and then in the server's own.
// It can start reading again later, to see what was left in the TCP buffers.
import { connect, type Socket } from 'node:net';
import { Element } from 'ltx';
import * as ltxSax from 'ltx/src/parsers/ltx.js';

interface SaxParser {
  on(event: string, listener: (...args: never[]) => void): void;
  write(data: string): void;
}
const LtxSaxParser = (ltxSax as unknown as { default: new () => SaxParser }).default;

const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';

export class SlowReader {
  /** Top-level elements received since the last resume(). */
  readonly received: Element[] = [];
  /** Bytes received since the last resume(). */
  bytesAfterResume = 0;
  socketClosed = false;
  private resumed = false;
  private parser!: SaxParser;
  private depth = 0;
  private current: Element | undefined;
  private readonly inbox: Element[] = [];
  private waiter: { match: (element: Element) => boolean; resolve: (element: Element) => void } | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: Socket, private readonly domain: string) {
    this.resetParser();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (this.resumed) this.bytesAfterResume += Buffer.byteLength(chunk);
      this.parser.write(chunk);
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.socketClosed = true;
      resolve();
    }));
  }

  /** Plain connection, PLAIN authentication, bind, initial presence (reflected back). */
  static async login(port: number, domain: string, local: string, password: string, resource: string): Promise<SlowReader> {
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const reader = new SlowReader(socket, domain);
    await reader.openStream();
    const payload = Buffer.from(`\0${local}\0${password}`).toString('base64');
    socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${payload}</auth>`);
    const outcome = await reader.next((element) => element.name === 'success' || element.name === 'failure');
    if (outcome.name !== 'success') throw new Error(`authentication failed: ${outcome.toString()}`);
    reader.resetParser();
    await reader.openStream();
    socket.write(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>${resource}</resource></bind></iq>`);
    const bound = await reader.next((element) => element.name === 'iq' && element.attrs.id === 'bind1');
    if (bound.attrs.type !== 'result') throw new Error(`bind failed: ${bound.toString()}`);
    socket.write('<presence/>');
    await reader.next((element) => element.name === 'presence');
    return reader;
  }

  /** Stops reading: the kernel's receive buffer fills, then the server's send buffers. */
  pause(): void {
    this.socket.pause();
  }

  /** Reads again; what arrives from now on is counted in `received` and `bytesAfterResume`. */
  resume(): void {
    this.received.length = 0;
    this.bytesAfterResume = 0;
    this.resumed = true;
    this.socket.resume();
  }

  /** Resolves once the socket closed, or after `timeoutMs` (then false). */
  async closed(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.closedPromise.then(() => true), timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** The condition of a stream error received after resume(), if any. */
  streamError(): string | undefined {
    const error = this.received.find((element) => element.name === 'stream:error');
    return error?.children.find((child): child is Element => typeof child !== 'string' && child.attrs.xmlns === NS_STREAMS && child.name !== 'text')?.name;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async openStream(): Promise<void> {
    this.socket.write(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='${this.domain}' version='1.0'>`);
    await this.next((element) => element.name === 'stream:features');
  }

  private next(match: (element: Element) => boolean, timeoutMs = 10_000): Promise<Element> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as Element);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`slow reader: nothing matching arrived in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        match,
        resolve: (element) => {
          clearTimeout(timer);
          resolve(element);
        },
      };
    });
  }

  private deliver(element: Element): void {
    if (this.resumed) {
      this.received.push(element);
      return;
    }
    if (this.waiter?.match(element)) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve(element);
      return;
    }
    this.inbox.push(element);
  }

  private resetParser(): void {
    this.depth = 0;
    this.current = undefined;
    const parser = new LtxSaxParser();
    parser.on('startElement', (name: string, attrs: Record<string, string>) => {
      this.depth += 1;
      if (this.depth === 1) return;
      const element = new Element(name, attrs);
      this.current = this.current ? this.current.cnode(element) : element;
    });
    parser.on('endElement', () => {
      this.depth -= 1;
      if (this.depth <= 0) return;
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
}

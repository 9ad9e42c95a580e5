// XMPP over WebSocket (RFC 7395) for the load generator's client (client.ts): a WebSocket made to
// look like the TCP socket of an XML stream, so that the client and its framer stay the same.
// Outbound, the stream header becomes <open/>, the closing tag <close/> and every other write one
// message (the client writes one element per call while it logs in, and one stanza per send in
// the workloads that run over WebSocket); inbound, <open/> becomes a stream header and <close/>
// the closing tag, and every other message is passed on as it is. The ws package, without
// permessage-deflate (the node does not offer it, as ws servers by default).
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';

const NS_FRAMING = 'urn:ietf:params:xml:ns:xmpp-framing';
const STREAM_HEADER = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

/** What client.ts uses of a socket: a net.Socket is one, and so is this wire. */
export interface Wire {
  setEncoding(encoding: 'latin1'): unknown;
  write(data: string): unknown;
  end(): unknown;
  end(data: string): unknown;
  destroy(): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: string) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  once(event: 'connect', listener: () => void): unknown;
}

export class WebSocketWire extends EventEmitter implements Wire {
  private readonly ws: WebSocket;

  constructor(url: string) {
    super();
    this.ws = new WebSocket(url, ['xmpp'], { perMessageDeflate: false });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('open', () => this.emit('connect'));
    this.ws.on('message', (data: Buffer) => this.receive(data.toString('latin1')));
    this.ws.on('error', (error) => this.emit('error', error));
    this.ws.on('close', () => this.emit('close'));
  }

  setEncoding(): this {
    return this;
  }

  write(data: string): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    if (data.startsWith('<?xml') || data.startsWith('<stream:stream')) {
      const to = /\sto='([^']*)'/.exec(data)?.[1] ?? '';
      this.ws.send(`<open xmlns='${NS_FRAMING}' to='${to}' version='1.0'/>`);
    } else if (data === '</stream:stream>') {
      this.ws.send(`<close xmlns='${NS_FRAMING}'/>`);
    } else {
      this.ws.send(data);
    }
    return true;
  }

  end(data?: string): this {
    if (data !== undefined) this.write(data);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
    return this;
  }

  destroy(): this {
    this.ws.terminate();
    return this;
  }

  private receive(text: string): void {
    if (text.startsWith('<open')) this.emit('data', STREAM_HEADER);
    else if (text.startsWith('<close')) this.emit('data', '</stream:stream>');
    else this.emit('data', text);
  }
}

// What carries a client connection: a TCP socket (RFC 6120 §4, one XML stream) or a WebSocket
// (RFC 7395 §3, framed elements). The connection (connection.ts), its output (output.ts) and its
// read gate (read-gate.ts) see only a Link; net.Socket is one as it is, websocket.ts adapts a
// WebSocket to it. The other half of the difference is the Framing: how the stream opens and
// closes on the wire and how inbound bytes reach the stream parser.
import { Element, escapeXML, parse } from 'ltx';
import { StreamError } from '../xmpp/errors.js';
import type { Transport } from '../xmpp/kinds.js';
import { NS_CLIENT, NS_FRAMING, NS_STREAMS } from '../xmpp/ns.js';

export interface Link {
  readonly remoteAddress?: string | undefined;
  readonly destroyed: boolean;
  readonly writableNeedDrain: boolean;
  readonly writableLength: number;
  readonly writableHighWaterMark: number;
  /** Writes serialized XML: any amount on a socket, exactly one element on a framed link. */
  write(data: string): unknown;
  end(): unknown;
  end(data: string): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  once(event: 'drain', listener: () => void): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** The stream parser as a framing feeds it (xml/stream-parser.ts). */
export interface FramedParser {
  write(chunk: Buffer | string): void;
  bufferedBytes(): number;
}

export interface Framing {
  /** One write per element (WebSocket messages), rather than one per event-loop turn. */
  readonly framed: boolean;
  /** Our stream header (RFC 6120 §4.7) or <open/> (RFC 7395 §3.4). */
  header(id: string, from: string): string;
  /** Our closing tag, or <close/>. */
  readonly footer: string;
  /**
   * While the node drains, the closing element that sends the client to another endpoint
   * (RFC 7395 §3.6.1 see-other-uri); otherwise undefined. TCP has none: a client reconnects to
   * the name it used, which the balancer answers.
   */
  readonly handOff: string | undefined;
  /** Inbound bytes: a chunk of the TCP stream, or one whole WebSocket message. */
  input(data: Buffer, parser: FramedParser): StreamError | undefined;
  /** A stream restart: a new header (or <open/>) is expected. */
  reset(): void;
}

/** How a connection is carried: its link, the framing on it, its metrics label. */
export interface Carrier {
  link: Link;
  framing: Framing;
  transport: Transport;
  /** Counts as encrypted (websocket.ts decides for a WebSocket); undefined: TLS on the socket decides. */
  secure: boolean | undefined;
}

/** A socket of the c2s ports: plain (STARTTLS may follow) or TLS from the first byte. */
export function socketCarrier(socket: Link, directTls: boolean): Carrier {
  return { link: socket, framing: STREAM_FRAMING, transport: directTls ? 'directtls' : 'plain', secure: undefined };
}

/** RFC 6120: the bytes are the stream. */
export const STREAM_FRAMING: Framing = {
  framed: false,
  header: (id, from) =>
    `<?xml version='1.0'?><stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAMS}' id='${id}' from='${escapeXML(from)}' version='1.0' xml:lang='en'>`,
  footer: '</stream:stream>',
  handOff: undefined,
  input(data, parser) {
    parser.write(data);
    return undefined;
  },
  reset() {},
};

/** <open/> is at most as large as a stream header may be (xml/stream-parser.ts MAX_HEADER_BYTES). */
const MAX_OPEN_BYTES = 10_000;
const OPEN_OR_CLOSE = /^\s*<(?:[A-Za-z_][\w.-]*:)?(?:open|close)[\s/>]/;

/**
 * RFC 7395 §3.3: each message is one complete element. The framing is translated into the
 * stream the parser knows: <open/> becomes a stream header carrying its attributes, <close/> the
 * closing tag, and every other message goes to the parser as it is, which must then be between
 * elements again (no element may span messages). The parser keeps every limit it has on TCP.
 */
export class WebSocketFraming implements Framing {
  readonly framed = true;
  readonly footer = `<close xmlns='${NS_FRAMING}'/>`;
  private readonly redirect: string | undefined;
  private opened = false;

  /** `seeOtherUri`: the public WebSocket URL (the load balancer's), where a drained client goes. */
  constructor(seeOtherUri?: string, private readonly draining: () => boolean = () => false) {
    this.redirect = seeOtherUri === undefined ? undefined : `<close xmlns='${NS_FRAMING}' see-other-uri='${escapeXML(seeOtherUri)}'/>`;
  }

  get handOff(): string | undefined {
    return this.draining() ? this.redirect : undefined;
  }

  header(id: string, from: string): string {
    return `<open xmlns='${NS_FRAMING}' id='${id}' from='${escapeXML(from)}' version='1.0' xml:lang='en'/>`;
  }

  reset(): void {
    this.opened = false;
  }

  input(data: Buffer, parser: FramedParser): StreamError | undefined {
    const text = data.toString('utf8');
    if (!this.opened || OPEN_OR_CLOSE.test(text)) {
      const element = data.length <= MAX_OPEN_BYTES ? parseFrame(text) : undefined;
      if (element?.attrs.xmlns === NS_FRAMING && element.name === 'open' && !this.opened) {
        this.opened = true;
        parser.write(streamHeader(element));
        return undefined;
      }
      if (element?.attrs.xmlns === NS_FRAMING && element.name === 'close' && this.opened) {
        parser.write('</stream:stream>');
        return undefined;
      }
      if (!this.opened) return new StreamError('not-well-formed', 'the first message must be <open/> (RFC 7395 §3.4)');
    }
    parser.write(data);
    if (parser.bufferedBytes() > 0) return new StreamError('not-well-formed', 'a WebSocket message must hold one complete element (RFC 7395 §3.3.3)');
    return undefined;
  }
}

function parseFrame(text: string): Element | undefined {
  try {
    const element = parse(text);
    return element instanceof Element ? element : undefined;
  } catch {
    return undefined;
  }
}

/** The stream header the parser checks (RFC 6120 §4.7), with <open/>'s attributes. */
function streamHeader(open: Element): string {
  let attrs = '';
  for (const name of ['to', 'from', 'version', 'xml:lang', 'id'] as const) {
    const value = open.attrs[name];
    if (typeof value === 'string') attrs += ` ${name}='${escapeXML(value)}'`;
  }
  return `<stream:stream xmlns='${NS_CLIENT}' xmlns:stream='${NS_STREAMS}'${attrs}>`;
}

/**
 * RFC 7395 §3.3.3: every message stands alone, so each element declares its namespaces: stanzas
 * `jabber:client`, and `stream:` elements (features, errors) the stream prefix.
 */
export function standalone(xml: string): string {
  const end = xml.indexOf('>');
  if (end < 0) return xml;
  const close = xml[end - 1] === '/' ? end - 1 : end;
  const tag = xml.slice(0, close);
  if (xml.startsWith('<stream:')) return tag.includes(' xmlns:stream=') ? xml : `${tag} xmlns:stream='${NS_STREAMS}'${xml.slice(close)}`;
  if (/^<(?:message|presence|iq)[\s/>]/.test(xml) && !/\sxmlns=/.test(tag)) return `${tag} xmlns='${NS_CLIENT}'${xml.slice(close)}`;
  return xml;
}

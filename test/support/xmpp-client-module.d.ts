// Minimal types for the parts of @xmpp/client 0.14 (which ships none) that the end-to-end tests use.
// Named apart from xmpp-client.ts on purpose: tsc ignores a foo.d.ts that sits next to a foo.ts.
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';
  import type { Element } from 'ltx';

  export type ConnectionStatus =
    | 'offline'
    | 'connecting'
    | 'connect'
    | 'opening'
    | 'open'
    | 'online'
    | 'closing'
    | 'close'
    | 'disconnecting'
    | 'disconnect';

  /** XMPPError, StreamError, SASLError and StanzaError all have this shape. */
  export interface XmppError extends Error {
    /** 'XMPPError' | 'StreamError' | 'SASLError' | 'StanzaError' | … */
    name: string;
    condition: string;
    text?: string;
    element?: Element;
  }

  export interface Jid {
    local: string;
    domain: string;
    resource: string;
    bare(): Jid;
    toString(): string;
  }

  /** @xmpp/tcp or @xmpp/tls socket wrapper; `socket` is the Node socket underneath. */
  export interface TransportSocket {
    secure?: boolean;
    socket: Socket | null;
  }

  export interface IqCaller {
    /** Resolves with the result iq; rejects with a StanzaError on an error reply. */
    request(stanza: Element, timeout?: number): Promise<Element>;
    /** Sends <iq type='get'> around `element`; resolves with the child of the result of the same name. */
    get(element: Element, to?: string, timeout?: number): Promise<Element | undefined>;
    set(element: Element, to?: string, timeout?: number): Promise<Element | undefined>;
  }

  export interface IqCalleeContext {
    stanza: Element;
    element: Element;
  }

  /** Return an Element for a result payload, `true` for an empty result, undefined for service-unavailable. */
  export type IqCalleeHandler = (context: IqCalleeContext) => Element | true | undefined | Promise<Element | true | undefined>;

  export interface IqCallee {
    get(xmlns: string, name: string, handler: IqCalleeHandler): void;
    set(xmlns: string, name: string, handler: IqCalleeHandler): void;
  }

  export interface Reconnect {
    /** Wait before reconnecting after a loss (ms); 1000 by default. */
    delay: number;
    start(): void;
    stop(): void;
  }

  export interface StreamManagement extends EventEmitter {
    enabled: boolean;
    enableSent: boolean;
    id: string;
    inbound: number;
    outbound: number;
  }

  export interface Client extends EventEmitter {
    jid: Jid | null;
    status: ConnectionStatus;
    socket: TransportSocket | null;
    options: { service?: string; domain?: string };
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    reconnect: Reconnect;
    streamManagement: StreamManagement;
    /** XEP-0484 FAST (client-core/src/fast): where the library keeps its token. */
    fast: Fast;
    isSecure(): boolean;
    /** Connects and opens the stream; resolves once bound ('online'), rejects on the first 'error'. */
    start(): Promise<Jid>;
    /** Closes the stream and the socket. */
    stop(): Promise<Element | undefined>;
    send(element: Element): Promise<void>;
  }

  export interface FastToken {
    mechanism: string;
    token: string;
    expiry: string;
  }

  export interface Fast {
    mechanism: string | null;
    fetch(): Promise<FastToken | null | undefined>;
    /** Replaceable: how the library keeps its token (in memory by default). */
    fetchToken(): Promise<FastToken | null | undefined>;
    saveToken(token: FastToken): Promise<void>;
  }

  export interface ClientOptions {
    service: string;
    domain?: string;
    username?: string;
    password?: string;
    resource?: string;
    lang?: string;
    timeout?: number;
    /** XEP-0388 <user-agent/> sent with SASL2 (the library makes one with a random id when absent). */
    userAgent?: Element;
  }

  export function client(options: ClientOptions): Client;

  export type XmlChild = Element | string | number | null | undefined | false;
  export function xml(name: string, attrs?: Record<string, string | number | undefined> | null, ...children: XmlChild[]): Element;
}

// End-to-end test client: the independent third-party @xmpp/client library, wrapped so tests can
// log in over STARTTLS or direct TLS, collect what arrives in an inbox, wait for the element they
// expect, and prove with a ping round trip that nothing else is on its way.
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { client, type Client, type ConnectionStatus, xml, type XmlChild, type XmppError } from '@xmpp/client';
import type { Element } from 'ltx';
import type { RookeryServer } from '../../src/server.js';
import { sendInboxMarker } from './cross-node.js';
import type { TestServer } from './server.js';

// The test server's certificate is self-signed; this module is only ever loaded by tests.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

export { xml };
export type { Element, XmppError };

export const NS_ROSTER = 'jabber:iq:roster';
export const NS_PING = 'urn:xmpp:ping';
export const NS_DELAY = 'urn:xmpp:delay';
export const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
export const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';

const DEFAULT_TIMEOUT_MS = 5000;

export type Predicate = (element: Element) => boolean;

export interface XmppClientOptions {
  /** The local part of the account. */
  username: string;
  password: string;
  resource?: string;
  /** Direct TLS (XEP-0368) on the server's TLS port instead of STARTTLS on the plain one. */
  directTls?: boolean;
  /**
   * XMPP over WebSocket (RFC 7395) on the node's HTTP port ('cluster' test servers serve HTTP).
   * Node 20 has no WebSocket of its own: the test gives @xmpp/websocket one (globalThis.WebSocket).
   */
  webSocket?: boolean;
}

interface Waiter {
  match: Predicate;
  resolve: (element: Element) => void;
}

let idCounter = 0;

/** A UUID-shaped id per account and resource (XEP-0388 user-agent ids are UUIDs). */
function deviceId(username: string, resource: string): string {
  const hex = createHash('sha256').update(`${username}\0${resource}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The resource Bind2 gives a device that asked for `tag` (c2s/bind2.ts: the tag, a dot, a hash). */
export function bind2Resource(tag: string): RegExp {
  return new RegExp(`/${tag}\\.[A-Za-z0-9_-]{8}$`);
}

export class XmppTestClient {
  /** The underlying @xmpp/client entity, for what the wrapper does not cover. */
  readonly xmpp: Client;
  /** Stanzas received and not yet claimed by expect() or take(). */
  readonly inbox: Element[] = [];
  /** Every non-stanza element received (stream features, SASL, stream errors). */
  readonly nonzas: Element[] = [];
  /** Every element the client sent, stanza or not (the <auth/> names the SASL mechanism). */
  readonly sent: Element[] = [];
  /** Every error the client emitted (stream errors, SASL failures, socket errors). */
  readonly errors: XmppError[] = [];
  /** Every status the connection went through, in order. */
  readonly statuses: ConnectionStatus[] = [];
  private readonly waiters = new Set<Waiter>();
  private readonly statusWaiters = new Set<{ statuses: ConnectionStatus[]; resolve: () => void }>();
  private readonly errorWaiters = new Set<(error: XmppError) => void>();

  /** The node this client connects to (the test server spreads accounts over its nodes). */
  readonly node: RookeryServer;

  constructor(
    readonly server: TestServer,
    readonly options: XmppClientOptions,
  ) {
    this.node = server.placeLogin(options.username);
    const { c2s, c2sTls } = this.node.ports();
    const httpPort = server.httpPorts[server.nodes.indexOf(this.node)];
    if (options.webSocket && httpPort === undefined) throw new Error('this test server serves no HTTP (use the cluster backend)');
    const service = options.webSocket
      ? `ws://127.0.0.1:${httpPort}/xmpp-websocket`
      : options.directTls
        ? `xmpps://127.0.0.1:${c2sTls}`
        : `xmpp://127.0.0.1:${c2s}`;
    this.xmpp = client({
      service,
      domain: server.config.domain,
      username: options.username,
      password: options.password,
      ...(options.resource !== undefined ? { resource: options.resource } : {}),
      // One device per account and resource: its Bind2 resource (tag + hash of this id) is stable across its logins.
      userAgent: xml('user-agent', { id: deviceId(options.username, options.resource ?? '') }, xml('software', {}, 'rookery-test')),
    });
    // A test decides itself when to connect again: no automatic reconnection after a kick.
    this.xmpp.reconnect.stop();
    // RFC 6121 §2.1.6: acknowledge roster pushes (the library would answer service-unavailable).
    this.xmpp.iqCallee.set(NS_ROSTER, 'query', () => true);
    this.xmpp.on('stanza', (stanza: Element) => this.deliver(stanza));
    this.xmpp.on('nonza', (nonza: Element) => this.nonzas.push(nonza));
    this.xmpp.on('send', (element: Element) => this.sent.push(element));
    this.xmpp.on('error', (error: XmppError) => {
      this.errors.push(error);
      for (const waiter of this.errorWaiters) waiter(error);
      this.errorWaiters.clear();
    });
    this.xmpp.on('status', (status: ConnectionStatus) => {
      this.statuses.push(status);
      for (const waiter of this.statusWaiters) {
        if (waiter.statuses.includes(status)) {
          this.statusWaiters.delete(waiter);
          waiter.resolve();
        }
      }
    });
  }

  /** Creates the client and logs in; resolves once it is online (resource bound). */
  static async connect(server: TestServer, options: XmppClientOptions): Promise<XmppTestClient> {
    const created = new XmppTestClient(server, options);
    await created.start();
    return created;
  }

  /** Connects, negotiates and binds; resolves with the bound full JID. */
  async start(): Promise<string> {
    const jid = await this.xmpp.start();
    return jid.toString();
  }

  /** The bound full JID. */
  get jid(): string {
    const jid = this.xmpp.jid;
    if (!jid || jid.resource === '') throw new Error('the client is not bound');
    return jid.toString();
  }

  get bareJid(): string {
    return this.jid.split('/')[0] as string;
  }

  get domain(): string {
    return this.server.config.domain;
  }

  get status(): ConnectionStatus {
    return this.xmpp.status;
  }

  /** The Node TLS socket under the connection, if the connection is encrypted. */
  get tlsSocket(): TLSSocket | undefined {
    const socket = this.xmpp.socket?.socket;
    return socket && 'encrypted' in socket && socket.encrypted === true ? (socket as TLSSocket) : undefined;
  }

  /** The mechanism named in the <auth/> (or SASL2 <authenticate/>) the client sent, if any. */
  get saslMechanism(): string | undefined {
    const auth = this.sent.find((element) => (element.name === 'auth' && element.attrs.xmlns === NS_SASL) || (element.name === 'authenticate' && element.attrs.xmlns === 'urn:xmpp:sasl:2'));
    return auth === undefined ? undefined : String(auth.attrs.mechanism);
  }

  async send(stanza: Element): Promise<void> {
    await this.xmpp.send(stanza);
  }

  /** Sends available presence, with a <priority/> when given. */
  async available(priority?: number, ...children: XmlChild[]): Promise<void> {
    await this.send(xml('presence', {}, priority === undefined ? undefined : xml('priority', {}, String(priority)), ...children));
  }

  /** Sends a message and returns its id. */
  async message(to: string, body: string, type = 'chat'): Promise<string> {
    const id = `m${++idCounter}`;
    await this.send(xml('message', { to, type, id }, xml('body', {}, body)));
    return id;
  }

  /** Sends an iq and waits for its result or error (both resolve). */
  async iq(type: 'get' | 'set', payload: Element, to?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Element> {
    const id = `iq${++idCounter}`;
    const reply = this.expect(
      (element) => element.name === 'iq' && element.attrs.id === id && (element.attrs.type === 'result' || element.attrs.type === 'error'),
      timeoutMs,
    );
    await this.send(xml('iq', { type, id, to }, payload));
    return reply;
  }

  /**
   * XEP-0199 ping to the domain: once the reply is here, everything the server sent this client
   * before answering is in the inbox. Any reply will do for that (result or error). In a
   * cluster, a marker through the node's inbox then covers what other nodes sent.
   */
  async barrier(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Element> {
    const reply = await this.iq('get', xml('ping', { xmlns: NS_PING }), this.domain, timeoutMs);
    const bound = this.xmpp.jid?.resource ? this.xmpp.jid.toString() : undefined;
    const marker = await sendInboxMarker(this.node, bound);
    if (marker !== undefined) await this.expect((element) => element.attrs.id === marker, timeoutMs, 'the inbox marker');
    return reply;
  }

  /** Waits for (and removes from the inbox) the first stanza that matches. */
  expect(match: Predicate, timeoutMs = DEFAULT_TIMEOUT_MS, what = 'a matching stanza'): Promise<Element> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as Element);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve: (element) => {
          clearTimeout(timer);
          resolve(element);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.describe()} timed out waiting for ${what}; inbox: ${this.inbox.map(String).join(' ') || '(empty)'}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Removes and returns every inbox stanza that matches. */
  take(match: Predicate): Element[] {
    const taken = this.inbox.filter(match);
    for (const element of taken) this.inbox.splice(this.inbox.indexOf(element), 1);
    return taken;
  }

  /** Resolves with the next error the client emits (or the first one already emitted). */
  nextError(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<XmppError> {
    const first = this.errors[0];
    if (first) return Promise.resolve(first);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.errorWaiters.delete(onError);
        reject(new Error(`${this.describe()} timed out waiting for an error`));
      }, timeoutMs);
      const onError = (error: XmppError): void => {
        clearTimeout(timer);
        resolve(error);
      };
      this.errorWaiters.add(onError);
    });
  }

  /** Resolves once the connection reaches one of `statuses` (at once if it already has). */
  reached(statuses: ConnectionStatus[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    if (statuses.includes(this.xmpp.status)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        statuses,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.statusWaiters.delete(waiter);
        reject(new Error(`${this.describe()} timed out waiting for status ${statuses.join('|')}; now ${this.xmpp.status}`));
      }, timeoutMs);
      this.statusWaiters.add(waiter);
    });
  }

  /** Resolves once the socket is closed. */
  disconnected(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    return this.reached(['disconnect', 'offline'], timeoutMs);
  }

  /**
   * Loses the connection without closing the stream, as a phone leaving coverage: the server sees
   * the socket close, and a stream-managed session hibernates (XEP-0198).
   */
  drop(): void {
    this.xmpp.reconnect.stop();
    this.xmpp.socket?.socket?.destroy();
  }

  /** The XEP-0198 resumption id of this client's stream, once enabled. */
  get smId(): string | undefined {
    return this.xmpp.streamManagement.id === '' ? undefined : this.xmpp.streamManagement.id;
  }

  /** Closes the stream and the socket (the server then broadcasts unavailable presence). */
  async stop(): Promise<void> {
    this.xmpp.reconnect.stop();
    if (this.xmpp.status === 'offline') return;
    try {
      await this.xmpp.stop();
    } catch {
      // Already gone (kicked, refused): nothing left to close.
    }
  }

  private describe(): string {
    return `${this.options.username}/${this.options.resource ?? '?'}`;
  }

  private deliver(stanza: Element): void {
    for (const waiter of this.waiters) {
      if (waiter.match(stanza)) {
        this.waiters.delete(waiter);
        waiter.resolve(stanza);
        return;
      }
    }
    this.inbox.push(stanza);
  }
}

/** Matchers for expect() and take(). */
export const is = {
  message(from?: string, predicate?: Predicate): Predicate {
    return (element) => element.name === 'message' && (from === undefined || element.attrs.from === from) && (predicate?.(element) ?? true);
  },
  chat(from: string, body: string): Predicate {
    return (element) => element.name === 'message' && element.attrs.from === from && element.getChildText('body') === body;
  },
  presence(from: string, type?: string): Predicate {
    return (element) => element.name === 'presence' && element.attrs.from === from && element.attrs.type === type;
  },
  rosterPush(contact: string, predicate?: (item: Element) => boolean): Predicate {
    return (element) => {
      if (element.name !== 'iq' || element.attrs.type !== 'set') return false;
      const item = element.getChild('query', NS_ROSTER)?.getChild('item');
      return item !== undefined && item.attrs.jid === contact && (predicate?.(item) ?? true);
    };
  },
};

/** The items of a roster result, by JID. */
export function rosterItems(result: Element): Map<string, Element> {
  const items = new Map<string, Element>();
  for (const item of result.getChild('query', NS_ROSTER)?.getChildren('item') ?? []) items.set(String(item.attrs.jid), item);
  return items;
}

/** The defined condition of a stanza error reply, if any. */
export function errorCondition(stanza: Element): string | undefined {
  const error = stanza.getChild('error');
  return error?.getChildElements().find((child) => child.attrs.xmlns === NS_STANZAS && child.name !== 'text')?.name;
}

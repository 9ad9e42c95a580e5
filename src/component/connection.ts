// One external component's connection (XEP-0114 §3): the stream header in `jabber:component:accept`,
// the handshake (hex SHA-1 of the stream id and the shared secret), then the component's stanzas
// into the cluster, each from an address at its own domain. Behaviour as Prosody's mod_component:
// an unknown domain is `host-unknown`, a wrong handshake `not-authorized`, a stanza from another
// domain `invalid-from`, a second connection for a domain already served `conflict`.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Element } from 'ltx';
import type { Limits } from '../config/schema.js';
import { randomId } from '../random-id.js';
import { StreamParser } from '../xml/stream-parser.js';
import { StanzaError, StreamError } from '../xmpp/errors.js';
import type { StanzaKind } from '../xmpp/kinds.js';
import { NS_COMPONENT, NS_STREAMS } from '../xmpp/ns.js';
import { errorReply, stanzaType } from '../xmpp/stanza.js';
import { tryParseJid, type Jid } from '../xmpp/jid.js';

/** What a connection needs of the service running it (service.ts). */
export interface ComponentContext {
  /** The shared secret of a configured component domain. */
  secretOf(domain: string): string | undefined;
  /** Takes the domain for this connection; false: another connection serves it (conflict). */
  authenticated(connection: ComponentConnection): Promise<boolean>;
  /** A stanza from the component, into the cluster (as from a server). */
  route(stanza: Element, kind: StanzaKind, from: Jid, to: Jid): Promise<void>;
  closed(connection: ComponentConnection): void;
  refused(): void;
  error(err: unknown): void;
}

/** XEP-0114 §3: the handshake is the lowercase hex SHA-1 of the stream id followed by the secret. */
export function handshakeDigest(streamId: string, secret: string): string {
  return createHash('sha1').update(streamId + secret).digest('hex');
}

export class ComponentConnection {
  readonly id = randomId(12);
  private readonly streamId = randomId(16);
  /** The component domain, once the stream header named a configured one. */
  domain: string | undefined;
  ready = false;
  private ended = false;
  private headerWritten = false;
  private readonly parser: StreamParser;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: ComponentContext,
    private readonly socket: Socket,
    limits: Limits,
  ) {
    this.parser = new StreamParser(
      {
        streamStart: (header) => this.onHeader(header.attrs.to),
        // One at a time, in the order received: the component's stanzas keep their order.
        stanza: (element) => {
          this.pending = this.pending.then(() => this.onElement(element)).catch((err: unknown) => this.ctx.error(err));
        },
        streamEnd: () => this.close(),
        error: (error) => this.close(error),
      },
      { maxStanzaBytes: limits.maxStanzaBytes, maxDepth: limits.maxDepth },
      NS_COMPONENT,
    );
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => this.parser.write(chunk));
    socket.on('error', () => this.finish());
    socket.on('close', () => this.finish());
  }

  /** Writes a stanza to the component. */
  write(stanza: Element): void {
    if (this.ended) return;
    this.socket.write(stanza.toString());
  }

  private writeHeader(from: string | undefined): void {
    if (this.headerWritten) return;
    this.headerWritten = true;
    const fromAttr = from === undefined ? '' : ` from='${escapeAttr(from)}'`;
    this.socket.write(`<?xml version='1.0'?><stream:stream xmlns='${NS_COMPONENT}' xmlns:stream='${NS_STREAMS}'${fromAttr} id='${this.streamId}'>`);
  }

  private onHeader(to: string | undefined): void {
    this.writeHeader(to);
    if (to === undefined) return this.close(new StreamError('improper-addressing', "A 'to' attribute is required on stream headers"));
    if (this.ctx.secretOf(to) === undefined) return this.close(new StreamError('host-unknown', `${to} does not match any configured external component`));
    this.domain = to;
  }

  private async onElement(element: Element): Promise<void> {
    if (this.ended) return;
    if (!this.ready) {
      if (element.name === 'handshake' && element.attrs.xmlns === undefined) return this.handshake(element);
      return this.close(new StreamError('not-authorized'));
    }
    const kind = element.name;
    if ((kind === 'message' || kind === 'presence' || kind === 'iq') && element.attrs.xmlns === undefined) return this.onStanza(element, kind);
    // A handshake again changes nothing; anything else has no meaning on this stream.
    if (element.name === 'handshake') return;
    this.close(new StreamError('unsupported-stanza-type'));
  }

  private async handshake(element: Element): Promise<void> {
    const secret = this.domain === undefined ? undefined : this.ctx.secretOf(this.domain);
    if (secret === undefined || element.children.some((child) => typeof child !== 'string')) {
      this.ctx.refused();
      return this.close(new StreamError('not-authorized'));
    }
    const given = Buffer.from(element.getText().trim().toLowerCase());
    const expected = Buffer.from(handshakeDigest(this.streamId, secret));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.ctx.refused();
      return this.close(new StreamError('not-authorized', 'Given token does not match calculated token'));
    }
    if (!(await this.ctx.authenticated(this))) {
      this.ctx.refused();
      return this.close(new StreamError('conflict', 'Component already connected'));
    }
    if (this.ended) return;
    this.ready = true;
    this.socket.write('<handshake/>');
  }

  private async onStanza(stanza: Element, kind: StanzaKind): Promise<void> {
    const from = tryParseJid(String(stanza.attrs.from ?? ''));
    if (!from || from.domain !== this.domain) return this.close(new StreamError('invalid-from', `A component may send only from addresses at ${this.domain ?? ''}`));
    const type = stanzaType(stanza);
    const answerable = type !== 'error' && type !== 'result';
    if (stanza.attrs.to === undefined) {
      if (answerable) this.write(errorReply(stanza, new StanzaError('bad-request', "Components MUST specify a 'to' address on stanzas")));
      return;
    }
    const to = tryParseJid(String(stanza.attrs.to));
    if (!to) {
      if (answerable) this.write(errorReply(stanza, new StanzaError('jid-malformed')));
      return;
    }
    stanza.attrs.from = from.full;
    stanza.attrs.to = to.full;
    await this.ctx.route(stanza, kind, from, to);
  }

  /** Ends the stream (with an error, if given) and the socket. */
  close(error?: StreamError): void {
    if (this.ended) return;
    this.writeHeader(this.domain);
    if (error) this.socket.write(error.toElement().toString());
    this.socket.end('</stream:stream>');
    this.finish();
    // A component that never closes its side is not waited for.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.ctx.closed(this);
  }
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

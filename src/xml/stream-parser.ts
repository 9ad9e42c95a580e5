// The client-to-server XML stream parser (RFC 6120 §4, §11).
//
// saxes does the tokenising; this module adds what XMPP needs on top of it:
//   - incremental UTF-8 decoding that rejects invalid input (a fatal streaming TextDecoder),
//   - the restricted XML profile of §11.1 (no DTD, comments, PIs or custom entities),
//   - the stream header check and namespace-normalised ltx stanzas,
//   - memory bounds that never need more than one stanza limit plus one slice of input.
//
// Memory bounding: saxes keeps whatever token it is in the middle of (text, an attribute
// value, a comment, ...) in its own buffers. We therefore feed it at most SLICE_UNITS UTF-16
// units at a time, and between slices we check how many bytes the current top-level
// construct (pre-header bytes, the current stanza, or whatever started after the last
// stanza) spans, using saxes' `position` and the byte length of each slice. Nothing longer
// than the limit plus one slice is ever held. Between stanzas saxes' text handler is
// detached, so keepalive whitespace is never accumulated; we check that gap ourselves.
//
// Errors: saxes reports well-formedness errors through its `error` handler; every handler
// here that detects a problem throws the ABORT sentinel to unwind saxes at once. Such a
// saxes instance is never written to again (reset() creates a new one).
import { SaxesParser } from 'saxes';
import type { SaxesAttributeNS, SaxesStartTagNS, SaxesTagNS, XMLDecl } from 'saxes';
import { Element } from 'ltx';
import './attribute-escape.js';
import { StreamError, type StreamErrorCondition } from '../xmpp/errors.js';
import { NS_CLIENT, NS_STREAMS } from '../xmpp/ns.js';
import { incompleteUtf8Tail, invalidUtf8Offset } from './utf8.js';

export interface StreamParserLimits {
  /** UTF-8 bytes of one top-level stanza's source text, start tag to end tag. */
  maxStanzaBytes: number;
  /** Nesting depth inside a stanza (the stanza element itself is depth 1). */
  maxDepth: number;
}

export interface StreamHeader {
  /** Attributes of <stream:stream> without namespace declarations (xml:lang keeps its prefix). */
  attrs: Record<string, string>;
  /** The default namespace declared on <stream:stream> (always jabber:client once accepted). */
  defaultNs: string | undefined;
}

export interface StreamParserEvents {
  streamStart(header: StreamHeader): void;
  /** Each top-level child of <stream:stream>. */
  stanza(element: Element): void;
  /** </stream:stream> */
  streamEnd(): void;
  /** Called at most once per stream; afterwards input is ignored until reset(). */
  error(error: StreamError): void;
  /** A configured limit was exceeded (told just before the error it causes). */
  limit?(name: ParserLimit): void;
}

export type ParserLimit = 'stanza_size' | 'stanza_depth';

/** Input handed to saxes at once; bounds what can be buffered past a limit. */
const SLICE_BYTES = 16 * 1024;
/** The same for input written as strings (UTF-16 code units). */
const SLICE_UNITS = 16 * 1024;
/** Bytes allowed before the stream header's opening tag is complete (XML declaration included). */
export const MAX_HEADER_BYTES = 10_000;
export const MAX_HEADER_ATTRIBUTES = 64;
export const MAX_ELEMENT_ATTRIBUTES = 256;

const enum State {
  /** Waiting for (or inside) the stream header. */
  Header,
  /** Header accepted; reading stanzas. */
  Open,
  /** </stream:stream> seen; input is ignored. */
  Ended,
  /** An error was reported; input is ignored. */
  Failed,
}

/** Thrown from inside saxes handlers (and our own checks) to unwind the current write. */
const ABORT: unique symbol = Symbol('StreamParser.abort');

const DECODE_STREAM: TextDecodeOptions = { stream: true };
const NO_BYTES = Buffer.alloc(0);

type Sax = SaxesParser<{ xmlns: true }>;

/** saxes' (private) handler fields, which SaxesParser.on() assigns by computed name. */
interface HandlerSlots {
  errorHandler?: (err: Error) => void;
  xmldeclHandler?: (decl: XMLDecl) => void;
  doctypeHandler?: (doctype: string) => void;
  piHandler?: (pi: unknown) => void;
  commentHandler?: (comment: string) => void;
  openTagStartHandler?: (tag: SaxesStartTagNS) => void;
  attributeHandler?: (attr: SaxesAttributeNS) => void;
  openTagHandler?: (tag: SaxesTagNS) => void;
  closeTagHandler?: (tag: SaxesTagNS) => void;
  cdataHandler?: (cdata: string) => void;
  textHandler?: (text: string) => void;
}

/** Whether this saxes version stores handlers where HandlerSlots says (checked once). */
const HANDLER_SLOTS_OK: boolean = (() => {
  const probe = new SaxesParser({ xmlns: true });
  const slots = probe as unknown as Record<string, unknown>;
  const pairs: Array<[Parameters<typeof probe.on>[0], keyof HandlerSlots]> = [
    ['error', 'errorHandler'], ['xmldecl', 'xmldeclHandler'], ['doctype', 'doctypeHandler'],
    ['processinginstruction', 'piHandler'], ['comment', 'commentHandler'],
    ['opentagstart', 'openTagStartHandler'], ['attribute', 'attributeHandler'], ['opentag', 'openTagHandler'],
    ['closetag', 'closeTagHandler'], ['cdata', 'cdataHandler'], ['text', 'textHandler'],
  ];
  for (const [event, slot] of pairs) {
    const handler = (): void => {};
    probe.on(event, handler);
    if (slots[slot] !== handler) return false;
  }
  return true;
})();

/**
 * saxes reads everything after '&' as the reference's name until a ';', and judges it only
 * then: a stray '&' would swallow the stream up to the size limit. Its (private) partial
 * name is checked at the end of every slice instead; whether this saxes version keeps it
 * where we look is checked once.
 */
const ENTITY_FIELD_OK: boolean = (() => {
  const probe = new SaxesParser({ xmlns: true });
  probe.write('<a>&x');
  return (probe as unknown as { entity?: unknown }).entity === 'x';
})();

/**
 * What may still become a well-formed reference (XML 1.0 §4.1, names without colons as in
 * XML namespaces): a character reference, or a name (non-ASCII characters are left to saxes).
 * Anything else is refused at the ';' by saxes as not well-formed, so it can be refused now.
 */
const REFERENCE_PREFIX = /^(?:#(?:x[0-9a-fA-F]*|[0-9]*)|(?:[A-Za-z_]|[^\x00-\x7f])(?:[A-Za-z0-9._-]|[^\x00-\x7f])*)$/;

/**
 * A copy of a string that shares no storage with the input. Substrings from saxes may be V8
 * sliced strings that keep their whole input slice alive; the header lives as long as the
 * session, so its values are copied.
 */
function detach(s: string): string {
  return s.length === 0 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

/** Below this length V8 copies substrings anyway; from it on they are views of their parent. */
const SLICED_MIN_LENGTH = 13;

/**
 * Gives an element's names, attribute values and text their own storage. saxes hands out
 * substrings of the slice it is parsing, and a stanza that something keeps (an offline
 * message, a presence, a subscription request) would keep that whole slice (up to 32 KiB)
 * alive, whatever its own size. Concatenating and slicing flattens into a copy, without the
 * UTF-8 round trip of detach().
 */
function ownStrings(element: Element): void {
  if (element.name.length >= SLICED_MIN_LENGTH) element.name = (' ' + element.name).slice(1);
  const attrs = element.attrs;
  for (const key in attrs) {
    const value: unknown = attrs[key];
    if (typeof value === 'string' && value.length >= SLICED_MIN_LENGTH) attrs[key] = (' ' + value).slice(1);
  }
  const children = element.children;
  for (let i = 0; i < children.length; i++) {
    const child = children[i]!;
    if (typeof child !== 'string') ownStrings(child);
    else if (child.length >= SLICED_MIN_LENGTH) children[i] = (' ' + child).slice(1);
  }
}

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Maps a saxes error message to a stream error condition. */
function conditionForSaxesError(message: string): StreamErrorCondition {
  if (message.includes('undefined entity')) return 'restricted-xml';
  if (message.includes('doctype')) return 'restricted-xml';
  if (message.includes('processing instruction')) return 'restricted-xml';
  // '<!' followed by anything but '--', '[CDATA[' or 'DOCTYPE': a markup declaration (<!ENTITY ...).
  if (message.includes('incorrect syntax')) return 'restricted-xml';
  if (message.includes('unbound namespace prefix')) return 'bad-namespace-prefix';
  return 'not-well-formed';
}

export class StreamParser {
  private limits: StreamParserLimits;
  private state: State = State.Header;
  /** Incremented by reset(); lets a write notice that a callback restarted the stream. */
  private generation = 0;
  private sax: Sax | undefined;
  private decoder: TextDecoder | undefined;
  /** Leading bytes already examined for UTF-16/UTF-32 signatures (up to 2). */
  private sniffed = 0;
  /** Bytes the decoder has accepted, and the start of a character it holds back (0-3 bytes). */
  private decodedBytes = 0;
  private utf8Tail: Buffer = NO_BYTES;

  // Position accounting. saxes positions are UTF-16 indexes into everything written since
  // the last reset; `unitBase`/`byteBase` give that index and its UTF-8 byte offset at the
  // start of the slice being fed, so byteAt() can convert positions inside it.
  private slice = '';
  private sliceAscii = true;
  private unitBase = 0;
  private byteBase = 0;
  private cacheUnit = 0;
  private cacheByte = 0;

  // Stanza under construction.
  private stack: Element[] = [];
  /** Attributes of the start tag being parsed, in document order. */
  private attributes: Array<SaxesAttributeNS | undefined> = [];
  private attributeCount = 0;
  private nsStack: string[] = [];
  /** Byte offset of the current stanza's '<', or -1 when between stanzas. */
  private stanzaStart = -1;
  /** A stanza (or the stream end) whose closing tag saxes has not finished validating. */
  private pendingStanza: Element | undefined;
  private pendingEnd = false;

  // The gap between stanzas: from `gapStartUnit` (just after the previous '>'), only
  // whitespace is allowed up to the next '<', whose byte offset is `gapLt` once seen.
  private gapStartUnit = 0;
  private gapLt = -1;
  /** Position of that '<' and up to two characters after it, until they are known to open a tag. */
  private gapLtUnit = 0;
  private gapHead: string | undefined;

  constructor(
    private readonly events: StreamParserEvents,
    limits: StreamParserLimits,
    /** The stream's content namespace: `jabber:client`, or `jabber:server` on a server-to-server stream. */
    private readonly contentNs: string = NS_CLIENT,
  ) {
    this.limits = { maxStanzaBytes: limits.maxStanzaBytes, maxDepth: limits.maxDepth };
    this.start();
  }

  setLimits(limits: Partial<StreamParserLimits>): void {
    if (limits.maxStanzaBytes !== undefined) this.limits.maxStanzaBytes = limits.maxStanzaBytes;
    if (limits.maxDepth !== undefined) this.limits.maxDepth = limits.maxDepth;
  }

  /**
   * Stream restart (after STARTTLS or SASL success, RFC 6120 §4.3.3): discard state, expect a
   * new header. When called from inside a callback, the rest of the chunk being written is
   * discarded, never fed to the new stream (bytes sent before a restart must not be
   * interpreted after it, cf. STARTTLS command injection).
   */
  reset(): void {
    this.generation++;
    this.start();
  }

  /**
   * UTF-8 bytes of the incomplete top-level construct currently retained (pre-header bytes,
   * the open stanza, or whatever began after the last stanza). For tests and metrics.
   */
  bufferedBytes(): number {
    switch (this.state) {
      case State.Header:
        return this.byteBase;
      case State.Open:
        if (this.stanzaStart >= 0) return this.byteBase - this.stanzaStart;
        return this.gapLt >= 0 ? this.byteBase - this.gapLt : 0;
      default:
        return 0;
    }
  }

  /** Never throws. */
  write(chunk: Buffer | string): void {
    if (this.state >= State.Ended) return;
    const generation = this.generation;
    try {
      if (typeof chunk === 'string') {
        const length = chunk.length;
        let offset = 0;
        while (offset < length) {
          let end = length - offset > SLICE_UNITS ? offset + SLICE_UNITS : length;
          if (end < length) {
            // Keep surrogate pairs together so every slice has an exact UTF-8 length.
            const last = chunk.charCodeAt(end - 1);
            if (last >= 0xd800 && last <= 0xdbff) end--;
          }
          this.feed(offset === 0 && end === length ? chunk : chunk.slice(offset, end));
          if (generation !== this.generation || this.state >= State.Ended) return;
          offset = end;
        }
        return;
      }
      if (this.sniffed < 2) this.sniff(chunk);
      // Decode slice by slice: nothing past a limit is decoded, and each slice is its own
      // string, so substrings that saxes hands out (and stanzas keep) never pin a whole
      // large chunk in memory, only their slice.
      const length = chunk.length;
      for (let offset = 0; offset < length; offset += SLICE_BYTES) {
        const piece = length <= SLICE_BYTES ? chunk : chunk.subarray(offset, Math.min(offset + SLICE_BYTES, length));
        let text: string;
        try {
          text = this.decoder!.decode(piece, DECODE_STREAM);
        } catch {
          return this.failInvalidUtf8(piece, generation);
        }
        this.noteDecoded(piece);
        if (text.length === 0) continue;
        this.feed(text);
        if (generation !== this.generation || this.state >= State.Ended) return;
      }
    } catch (err) {
      if (err === ABORT || generation !== this.generation || this.state === State.Failed) return;
      // A callback threw (or saxes broke an invariant): end this stream instead of throwing.
      const error = new StreamError('internal-server-error');
      error.cause = err;
      this.report(error);
    }
  }

  // --- setup -------------------------------------------------------------------------------

  private start(): void {
    this.state = State.Header;
    this.decoder = new TextDecoder('utf-8', { fatal: true });
    this.sniffed = 0;
    this.decodedBytes = 0;
    this.utf8Tail = NO_BYTES;
    this.slice = '';
    this.sliceAscii = true;
    this.unitBase = this.byteBase = this.cacheUnit = this.cacheByte = 0;
    this.stack = [];
    this.nsStack = [];
    this.attributes = [];
    this.attributeCount = 0;
    this.stanzaStart = -1;
    this.pendingStanza = undefined;
    this.pendingEnd = false;
    this.gapStartUnit = 0;
    this.gapLt = -1;

    const sax: Sax = new SaxesParser({ xmlns: true, fragment: false, position: true });
    if (HANDLER_SLOTS_OK) {
      // Named stores: registering ten handlers with sax.on() (keyed stores) pushes the saxes
      // object into dictionary mode, which makes all of saxes about 4x slower.
      const slots = sax as unknown as HandlerSlots;
      slots.errorHandler = this.onError;
      slots.xmldeclHandler = this.onXmlDecl;
      slots.doctypeHandler = this.onDoctype;
      slots.piHandler = this.onProcessingInstruction;
      slots.commentHandler = this.onComment;
      slots.openTagStartHandler = this.onOpenTagStart;
      slots.attributeHandler = this.onAttribute;
      slots.openTagHandler = this.onOpenTag;
      slots.closeTagHandler = this.onCloseTag;
      slots.cdataHandler = this.onCData;
      slots.textHandler = undefined;
    } else {
      sax.on('error', this.onError);
      sax.on('xmldecl', this.onXmlDecl);
      sax.on('doctype', this.onDoctype);
      sax.on('processinginstruction', this.onProcessingInstruction);
      sax.on('comment', this.onComment);
      sax.on('opentagstart', this.onOpenTagStart);
      sax.on('attribute', this.onAttribute);
      sax.on('opentag', this.onOpenTag);
      sax.on('closetag', this.onCloseTag);
      sax.on('cdata', this.onCData);
    }
    // 'text' is attached only while inside a stanza (see setTextHandler).
    this.sax = sax;
  }

  /** Recognises UTF-16/UTF-32 input by its first bytes (RFC 6120 §11.6: UTF-8 only). */
  private sniff(chunk: Buffer): void {
    for (let i = 0; i < chunk.length && this.sniffed < 2; i++, this.sniffed++) {
      const b = chunk[i]!;
      if (this.sniffed === 0) {
        // FE FF / FF FE are UTF-16 byte order marks; 00 3C is UTF-16BE (or UTF-32) '<'.
        if (b === 0xfe || b === 0xff || b === 0x00) this.fail('unsupported-encoding', 'UTF-8 required');
        if (b !== 0x3c) this.sniffed = 1; // only "<\0" (UTF-16LE '<') needs the second byte
      } else if (b === 0x00) {
        this.fail('unsupported-encoding', 'UTF-8 required');
      }
    }
  }

  /** Remembers an incomplete character at the end of what the decoder accepted (see failInvalidUtf8). */
  private noteDecoded(piece: Buffer): void {
    this.decodedBytes += piece.length;
    const seen = piece.length >= 3 || this.utf8Tail.length === 0 ? piece : Buffer.concat([this.utf8Tail, piece]);
    const tail = incompleteUtf8Tail(seen);
    this.utf8Tail = tail === 0 ? NO_BYTES : Buffer.from(seen.subarray(seen.length - tail));
  }

  /**
   * The decoder refused `piece`. The text before the first bad sequence is parsed first, as it
   * would have been had the bad bytes arrived in a later chunk, so the outcome (stanzas, and
   * which error) does not depend on how the input was split.
   */
  private failInvalidUtf8(piece: Buffer, generation: number): never {
    const bytes = this.utf8Tail.length === 0 ? piece : Buffer.concat([this.utf8Tail, piece]);
    let valid = bytes.subarray(0, invalidUtf8Offset(bytes));
    // The decoder drops a byte order mark at the very start of the stream; so do we.
    const atStart = this.decodedBytes === this.utf8Tail.length;
    if (atStart && valid.length >= 3 && valid[0] === 0xef && valid[1] === 0xbb && valid[2] === 0xbf) valid = valid.subarray(3);
    if (valid.length > 0) {
      this.utf8Tail = NO_BYTES;
      this.feed(valid.toString('utf8'));
      if (generation !== this.generation || this.state >= State.Ended) throw ABORT;
    }
    this.fail('not-well-formed', 'invalid UTF-8');
  }

  // --- feeding and accounting --------------------------------------------------------------

  private feed(slice: string): void {
    const bytes = Buffer.byteLength(slice);
    this.slice = slice;
    this.sliceAscii = bytes === slice.length;
    this.cacheUnit = this.unitBase;
    this.cacheByte = this.byteBase;
    this.sax!.write(slice);
    if (this.pendingStanza !== undefined || this.pendingEnd) this.flushPending();
    if (ENTITY_FIELD_OK) {
      const partial = (this.sax as unknown as { entity: string }).entity;
      if (partial.length !== 0 && !REFERENCE_PREFIX.test(partial)) this.fail('not-well-formed', 'malformed reference');
    }
    const endByte = this.byteBase + bytes;
    switch (this.state) {
      case State.Header:
        if (endByte > MAX_HEADER_BYTES) this.fail('policy-violation', 'stream header too large');
        break;
      case State.Open:
        if (this.stanzaStart >= 0) {
          if (endByte - this.stanzaStart > this.limits.maxStanzaBytes) this.overLimit('stanza_size', 'stanza too large');
        } else {
          this.scanGapTail();
          if (this.gapLt >= 0 && endByte - this.gapLt > this.limits.maxStanzaBytes) {
            this.overLimit('stanza_size', 'stanza too large');
          }
        }
        break;
      default:
    }
    this.unitBase += slice.length;
    this.byteBase = endByte;
    this.slice = '';
  }

  /** UTF-8 byte offset of a saxes position, which must lie in (or just before) the current slice. */
  private byteAt(position: number): number {
    const rel = position - this.unitBase;
    // rel < 0 only for a character saxes carried over from the previous slice (a CR).
    if (rel <= 0 || this.sliceAscii) return this.byteBase + rel;
    if (position < this.cacheUnit) {
      this.cacheUnit = this.unitBase;
      this.cacheByte = this.byteBase;
    }
    if (position > this.cacheUnit) {
      this.cacheByte += Buffer.byteLength(this.slice.slice(this.cacheUnit - this.unitBase, rel));
      this.cacheUnit = position;
    }
    return this.cacheByte;
  }

  /**
   * End of a slice while between stanzas: everything from the gap start must be whitespace
   * up to a '<'. Records that '<' (so the limit applies to whatever follows) and rejects
   * obviously restricted constructs early rather than waiting for them to complete.
   */
  private scanGapTail(): void {
    this.scanGap(this.slice.length);
  }

  /**
   * Checks the gap from its start up to slice index `end`: whitespace, then a '<' whose first
   * characters are remembered until they tell whether it opens markup that is never allowed
   * here. The outcome depends only on the characters, not on where slices ended.
   */
  private scanGap(end: number): void {
    const s = this.slice;
    let i = this.gapStartUnit - this.unitBase;
    if (i < 0) i = 0;
    if (this.gapLt < 0) {
      while (i < end && isXmlSpace(s.charCodeAt(i))) i++;
      if (i === end) return;
      if (s.charCodeAt(i) !== 0x3c) this.fail('not-well-formed', 'character data between stanzas');
      this.gapLt = this.byteAt(this.unitBase + i);
      this.gapHead = '';
      this.gapLtUnit = this.unitBase + i;
    }
    if (this.gapHead === undefined) return; // already known to be a tag
    const from = Math.max(this.gapLtUnit + 1 + this.gapHead.length - this.unitBase, 0);
    if (from < end) this.gapHead += s.slice(from, Math.min(end, from + 2 - this.gapHead.length));
    const head = this.gapHead;
    if (head.length === 0) return;
    if (head.charCodeAt(0) !== 0x21) {
      this.gapHead = undefined; // a tag, the stream's end tag, or a processing instruction (saxes decides)
      return;
    }
    if (head.length < 2) return;
    const third = head.charCodeAt(1);
    if (third === 0x5b) this.fail('not-well-formed', 'character data between stanzas'); // <![CDATA[
    if (third === 0x2d) this.fail('restricted-xml', 'comments are not allowed');
    this.fail('restricted-xml', 'DTDs are not allowed'); // <!DOCTYPE, <!ENTITY, ...
  }

  /**
   * A top-level '<' (stanza start or stream end) was reached: the gap before it must be
   * whitespace. Returns the byte offset of that '<'.
   */
  private closeGap(): number {
    let lt = this.gapLt;
    if (lt < 0) {
      // The '<' is in the current slice (the end-of-slice scan would have found it otherwise).
      const s = this.slice;
      let i = this.gapStartUnit - this.unitBase;
      if (i < 0) i = 0;
      while (i < s.length && isXmlSpace(s.charCodeAt(i))) i++;
      if (s.charCodeAt(i) !== 0x3c) this.fail('not-well-formed', 'character data between stanzas');
      lt = this.byteAt(this.unitBase + i);
    }
    this.gapLt = -1;
    return lt;
  }

  /**
   * Before reporting an error found between stanzas: character data ahead of it in the gap is
   * the first problem, and is reported as such (the end-of-slice scan would have found it had
   * the input been split there).
   */
  private checkGapBefore(): void {
    if (this.state !== State.Open || this.stanzaStart >= 0 || this.sax === undefined) return;
    this.scanGap(Math.min(Math.max(this.sax.position - this.unitBase, 0), this.slice.length));
  }

  private setTextHandler(handler: ((text: string) => void) | undefined): void {
    if (HANDLER_SLOTS_OK) (this.sax as unknown as HandlerSlots).textHandler = handler;
    else if (handler) this.sax!.on('text', handler);
    else this.sax!.off('text');
  }

  // --- outcome -------------------------------------------------------------------------------

  private fail(condition: StreamErrorCondition, text?: string): never {
    this.report(new StreamError(condition, text));
    throw ABORT;
  }

  private overLimit(limit: ParserLimit, text: string): never {
    if (this.state !== State.Failed) this.events.limit?.(limit);
    this.fail('policy-violation', text);
  }

  private report(error: StreamError): void {
    if (this.state === State.Failed) return;
    this.state = State.Failed;
    // Release everything the broken stream held.
    this.sax = undefined;
    this.decoder = undefined;
    this.stack = [];
    this.nsStack = [];
    this.attributes = [];
    this.pendingStanza = undefined;
    this.pendingEnd = false;
    this.slice = '';
    try {
      this.events.error(error);
    } catch {
      // write() never throws; there is nobody left to tell.
    }
  }

  /** Delivers a stanza or stream end once saxes has accepted its closing tag. */
  private flushPending(): void {
    const generation = this.generation;
    const element = this.pendingStanza;
    if (element !== undefined) {
      this.pendingStanza = undefined;
      ownStrings(element);
      this.events.stanza(element);
      if (generation !== this.generation || this.state !== State.Open) throw ABORT;
    }
    if (this.pendingEnd) {
      this.pendingEnd = false;
      this.state = State.Ended;
      this.sax = undefined;
      this.events.streamEnd();
      throw ABORT;
    }
  }

  // --- saxes handlers (arrow functions: bound once, registered on every new saxes) --------

  private readonly onError = (err: Error): void => {
    if (this.state >= State.Ended) throw ABORT;
    const message = err.message;
    if (this.pendingStanza !== undefined || this.pendingEnd) {
      // saxes calls closetag before checking the closing tag's name; a mismatch retracts it.
      // ('unmatched closing tag' is about a later tag, when no element was left to close.)
      if (message.includes('unexpected close tag')) {
        this.pendingStanza = undefined;
        this.pendingEnd = false;
      } else {
        this.flushPending();
      }
    }
    this.checkGapBefore();
    this.fail(conditionForSaxesError(message), message);
  };

  private readonly onXmlDecl = (decl: XMLDecl): void => {
    const encoding = decl.encoding?.toLowerCase();
    if (encoding !== undefined && encoding !== 'utf-8' && encoding !== 'utf8') {
      this.fail('unsupported-encoding', 'UTF-8 required');
    }
    if (decl.version !== '1.0') this.fail('not-well-formed', 'XML 1.0 required');
  };

  private readonly onDoctype = (): void => {
    if (this.pendingStanza !== undefined || this.pendingEnd) this.flushPending();
    this.checkGapBefore();
    this.fail('restricted-xml', 'DTDs are not allowed');
  };

  private readonly onProcessingInstruction = (): void => {
    if (this.pendingStanza !== undefined || this.pendingEnd) this.flushPending();
    this.checkGapBefore();
    this.fail('restricted-xml', 'processing instructions are not allowed');
  };

  private readonly onComment = (): void => {
    if (this.pendingStanza !== undefined || this.pendingEnd) this.flushPending();
    this.checkGapBefore();
    this.fail('restricted-xml', 'comments are not allowed');
  };

  private readonly onCData = (data: string): void => {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      if (this.pendingStanza !== undefined || this.pendingEnd) this.flushPending();
      this.fail('not-well-formed', 'character data between stanzas');
    }
    this.appendText(top, data);
  };

  private readonly onText = (text: string): void => {
    const top = this.stack[this.stack.length - 1];
    if (top !== undefined) this.appendText(top, text);
  };

  private appendText(element: Element, text: string): void {
    const children = element.children;
    const last = children.length - 1;
    if (last >= 0 && typeof children[last] === 'string') children[last] += text;
    else children.push(text);
  }

  private readonly onOpenTagStart = (_tag: SaxesStartTagNS): void => {
    this.attributeCount = 0;
    if (this.state !== State.Open) return; // the stream header itself
    if (this.pendingStanza !== undefined || this.pendingEnd) this.flushPending();
    const depth = this.stack.length + 1;
    if (depth > this.limits.maxDepth) this.overLimit('stanza_depth', 'stanza nested too deeply');
    if (depth === 1) {
      this.stanzaStart = this.closeGap();
      this.setTextHandler(this.onText);
    }
  };

  private readonly onAttribute = (attr: SaxesAttributeNS): void => {
    const count = ++this.attributeCount;
    this.attributes[count - 1] = attr;
    if (count > (this.state === State.Header ? MAX_HEADER_ATTRIBUTES : MAX_ELEMENT_ATTRIBUTES)) {
      this.fail('policy-violation', this.state === State.Header ? 'too many attributes in stream header' : 'too many attributes');
    }
  };

  private readonly onOpenTag = (tag: SaxesTagNS): void => {
    if (this.state === State.Header) return this.openStream(tag);
    const stack = this.stack;
    const depth = stack.length;
    const uri = tag.uri;
    const attrs: Record<string, string> = {};
    if (uri !== (depth === 0 ? this.contentNs : this.nsStack[depth - 1])) attrs.xmlns = uri;
    // saxes has resolved the namespace (attr.uri) of the objects it passed to onAttribute.
    const attributes = this.attributes;
    const count = this.attributeCount;
    for (let i = 0; i < count; i++) {
      const attr = attributes[i]!;
      attributes[i] = undefined; // don't retain values past the tag
      const prefix = attr.prefix;
      if (prefix === '') {
        if (attr.name !== 'xmlns') attrs[attr.name] = attr.value;
      } else if (prefix !== 'xmlns') {
        attrs[attr.name] = attr.value;
        // Keep a prefixed attribute's prefix bound so the element still serialises correctly.
        if (prefix !== 'xml') attrs[`xmlns:${prefix}`] = attr.uri;
      }
    }
    this.attributeCount = 0;
    const element = new Element(tag.local);
    element.attrs = attrs;
    if (depth > 0) {
      const parent = stack[depth - 1]!;
      element.parent = parent;
      parent.children.push(element);
    }
    stack.push(element);
    this.nsStack.push(uri);
  };

  private openStream(tag: SaxesTagNS): void {
    if (this.byteAt(this.sax!.position) > MAX_HEADER_BYTES) this.fail('policy-violation', 'stream header too large');
    const attrs: Record<string, string> = {};
    for (let i = 0; i < this.attributeCount; i++) {
      const attr = this.attributes[i]!;
      if (attr.prefix !== 'xmlns' && attr.name !== 'xmlns') attrs[detach(attr.name)] = detach(attr.value);
    }
    this.attributes = [];
    this.attributeCount = 0;
    if (tag.local !== 'stream') this.fail('not-well-formed', 'the root element must be <stream:stream/>');
    if (tag.uri !== NS_STREAMS) this.fail('invalid-namespace', `the stream namespace must be ${NS_STREAMS}`);
    if (tag.prefix !== 'stream') this.fail('bad-namespace-prefix', 'the stream namespace prefix must be "stream"');
    if (tag.ns[''] !== this.contentNs) this.fail('invalid-namespace', `the default namespace must be ${this.contentNs}`);
    this.state = State.Open;
    this.gapStartUnit = this.sax!.position;
    this.gapLt = -1;
    const generation = this.generation;
    this.events.streamStart({ attrs, defaultNs: this.contentNs });
    if (generation !== this.generation || this.state !== State.Open) throw ABORT;
  }

  private readonly onCloseTag = (tag: SaxesTagNS): void => {
    if (this.state !== State.Open) return;
    if (this.pendingStanza !== undefined || this.pendingEnd) this.flushPending();
    const stack = this.stack;
    if (stack.length === 0) {
      // </stream:stream> (saxes checks that it matches the root after this returns).
      if (!tag.isSelfClosing) this.closeGap();
      this.pendingEnd = true;
      return;
    }
    const element = stack.pop()!;
    this.nsStack.pop();
    if (stack.length > 0) return;
    const sax = this.sax!;
    if (this.byteAt(sax.position) - this.stanzaStart > this.limits.maxStanzaBytes) {
      this.overLimit('stanza_size', 'stanza too large');
    }
    this.stanzaStart = -1;
    this.gapStartUnit = sax.position;
    this.gapLt = -1;
    this.setTextHandler(undefined);
    this.pendingStanza = element;
  };
}

// A minimal XML framer for a benchmark client: finds the stream header and the complete top-level
// elements (stanzas and nonzas) of an XMPP stream, without building a tree. Input is decoded as
// latin1, so offsets are byte offsets and a multi-byte character can never be split; the markers
// searched for are ASCII. Attribute values are skipped with their quotes honoured ('>' may appear
// unescaped in them); comments, CDATA and processing instructions are skipped.

export interface FrameSink {
  /** The opening `<stream:stream …>` tag. */
  header(tag: string): void;
  /** One complete top-level element, as received. */
  element(xml: string): void;
  /** `</stream:stream>`. */
  end(): void;
}

const GT = 62; // >
const SLASH = 47; // /
const QMARK = 63; // ?
const BANG = 33; // !
const DQUOTE = 34;
const SQUOTE = 39;

export class Framer {
  private buf = '';
  /** Where scanning resumes. */
  private pos = 0;
  /** 0: before the stream header; 1: inside the stream; >1: inside a top-level element. */
  private depth = 0;
  /** Offset of the top-level element being read (depth > 1), else -1. */
  private start = -1;
  private ended = false;
  /** Bumped by reset(), which a sink callback may call in the middle of feed(). */
  private generation = 0;

  constructor(private readonly sink: FrameSink) {}

  /** Forgets everything (a stream restart after STARTTLS or SASL success). */
  reset(): void {
    this.buf = '';
    this.pos = 0;
    this.depth = 0;
    this.start = -1;
    this.ended = false;
    this.generation++;
  }

  feed(chunk: string): void {
    if (this.ended) return;
    const buf = this.buf.length > 0 ? this.buf + chunk : chunk;
    let i = this.pos;
    const generation = this.generation;
    const length = buf.length;
    for (;;) {
      const lt = buf.indexOf('<', i);
      if (lt < 0) {
        i = length;
        break;
      }
      if (lt + 1 >= length) {
        i = lt;
        break;
      }
      const next = buf.charCodeAt(lt + 1);
      let gt: number;
      if (next === QMARK) {
        gt = buf.indexOf('?>', lt + 2);
        if (gt < 0) {
          i = lt;
          break;
        }
        i = gt + 2;
        continue;
      }
      if (next === BANG) {
        if (length - lt < 9) {
          i = lt;
          break;
        }
        const cdata = buf.startsWith('<![CDATA[', lt);
        const close = cdata ? ']]>' : buf.startsWith('<!--', lt) ? '-->' : '>';
        gt = buf.indexOf(close, lt + 2);
        if (gt < 0) {
          i = lt;
          break;
        }
        i = gt + close.length;
        continue;
      }
      if (next === SLASH) {
        gt = buf.indexOf('>', lt + 2);
        if (gt < 0) {
          i = lt;
          break;
        }
        i = gt + 1;
        this.depth--;
        if (this.depth === 1 && this.start >= 0) {
          const element = buf.slice(this.start, i);
          this.start = -1;
          this.sink.element(element);
          if (this.generation !== generation) return;
        } else if (this.depth <= 0) {
          this.ended = true;
          this.buf = '';
          this.pos = 0;
          this.sink.end();
          return;
        }
        continue;
      }
      // A start tag: find its '>' outside quoted attribute values.
      gt = -1;
      let j = lt + 1;
      while (j < length) {
        const c = buf.charCodeAt(j);
        if (c === GT) {
          gt = j;
          break;
        }
        if (c === DQUOTE || c === SQUOTE) {
          const q = buf.indexOf(c === DQUOTE ? '"' : "'", j + 1);
          if (q < 0) break;
          j = q + 1;
          continue;
        }
        j++;
      }
      if (gt < 0) {
        i = lt;
        break;
      }
      i = gt + 1;
      const selfClosing = buf.charCodeAt(gt - 1) === SLASH;
      if (this.depth === 0) {
        this.depth = 1;
        this.sink.header(buf.slice(lt, i));
        if (this.generation !== generation) return;
        continue;
      }
      if (this.depth === 1) {
        if (selfClosing) {
          this.sink.element(buf.slice(lt, i));
          if (this.generation !== generation) return;
          continue;
        }
        this.start = lt;
      }
      if (!selfClosing) this.depth++;
    }
    // Keep only what is still needed: the element under way, or the unfinished tag.
    const keep = this.start >= 0 ? this.start : i;
    this.buf = keep === 0 ? buf : buf.slice(keep);
    this.pos = i - keep;
    if (this.start >= 0) this.start = 0;
  }
}

/** The value of attribute `name` in the start tag at the beginning of `xml` (no entity decoding). */
export function attr(xml: string, name: string): string | undefined {
  const end = startTagEnd(xml);
  let from = 0;
  for (;;) {
    const at = xml.indexOf(name + '=', from);
    if (at < 0 || at > end) return undefined;
    const before = xml.charCodeAt(at - 1);
    from = at + name.length + 1;
    if (before !== 32 && before !== 9 && before !== 10 && before !== 13) continue;
    const quote = xml[from];
    if (quote !== '"' && quote !== "'") continue;
    const close = xml.indexOf(quote, from + 1);
    if (close < 0) return undefined;
    return xml.slice(from + 1, close);
  }
}

/** Offset of the '>' closing the first start tag. */
export function startTagEnd(xml: string): number {
  let j = 1;
  while (j < xml.length) {
    const c = xml.charCodeAt(j);
    if (c === GT) return j;
    if (c === DQUOTE || c === SQUOTE) {
      const q = xml.indexOf(c === DQUOTE ? '"' : "'", j + 1);
      if (q < 0) return xml.length;
      j = q + 1;
      continue;
    }
    j++;
  }
  return xml.length;
}

/** The text between `<name>` (or `<name …>`) and `</name>` at the first occurrence, or undefined. */
export function childText(xml: string, name: string): string | undefined {
  let at = xml.indexOf('<' + name, 1);
  while (at >= 0) {
    const after = xml.charCodeAt(at + name.length + 1);
    if (after === GT || after === 32 || after === SLASH) break;
    at = xml.indexOf('<' + name, at + 1);
  }
  if (at < 0) return undefined;
  const open = xml.indexOf('>', at);
  if (open < 0 || xml.charCodeAt(open - 1) === SLASH) return '';
  const close = xml.indexOf('</' + name + '>', open);
  if (close < 0) return undefined;
  return xml.slice(open + 1, close);
}

/** The element's name (with prefix), e.g. 'message' or 'stream:features'. */
export function elementName(xml: string): string {
  let j = 1;
  while (j < xml.length) {
    const c = xml.charCodeAt(j);
    if (c === 32 || c === GT || c === SLASH || c === 9 || c === 10 || c === 13) break;
    j++;
  }
  return xml.slice(1, j);
}

export function unescapeXml(text: string): string {
  if (text.indexOf('&') < 0) return text;
  return text.replace(/&(lt|gt|amp|quot|apos|#x?[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
      default: return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10));
    }
  });
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}


import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Element } from 'ltx';
import { StreamParser, type StreamHeader, type StreamParserLimits } from '../../src/xml/stream-parser.js';
import type { StreamError } from '../../src/xmpp/errors.js';

const HEADER =
  "<?xml version='1.0'?><stream:stream to='example.com' version='1.0' xml:lang='en' " +
  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

const LIMITS: StreamParserLimits = { maxStanzaBytes: 64 * 1024, maxDepth: 64 };

interface Recorder {
  parser: StreamParser;
  headers: StreamHeader[];
  stanzas: Element[];
  errors: StreamError[];
  ends: number;
  /** Every event in order, as short strings. */
  log: string[];
}

function record(limits: StreamParserLimits = LIMITS, hooks: Partial<{ stanza(el: Element, r: Recorder): void }> = {}): Recorder {
  const r: Recorder = { parser: undefined as unknown as StreamParser, headers: [], stanzas: [], errors: [], ends: 0, log: [] };
  r.parser = new StreamParser(
    {
      streamStart(header) {
        r.headers.push(header);
        r.log.push('start');
      },
      stanza(el) {
        r.stanzas.push(el);
        r.log.push(`stanza ${el.toString()}`);
        hooks.stanza?.(el, r);
      },
      streamEnd() {
        r.ends++;
        r.log.push('end');
      },
      error(err) {
        r.errors.push(err);
        r.log.push(`error ${err.condition}`);
      },
    },
    { ...limits },
  );
  return r;
}

/** Parses a whole stream (header included) written as one chunk. */
function parse(xml: string | Buffer, limits?: StreamParserLimits): Recorder {
  const r = record(limits);
  r.parser.write(xml);
  return r;
}

/** The condition of the single error the input produces. */
function conditionOf(xml: string | Buffer, limits?: StreamParserLimits): string | undefined {
  const r = parse(xml, limits);
  expect(r.errors.length).toBeLessThanOrEqual(1);
  return r.errors[0]?.condition;
}

describe('stream header', () => {
  it('reports the header attributes without namespace declarations', () => {
    const r = parse(HEADER);
    expect(r.errors).toEqual([]);
    expect(r.headers).toEqual([
      { attrs: { to: 'example.com', version: '1.0', 'xml:lang': 'en' }, defaultNs: 'jabber:client' },
    ]);
  });

  it('reports the header as soon as its opening tag is complete', () => {
    const r = record();
    r.parser.write(HEADER.slice(0, -1));
    expect(r.headers).toHaveLength(0);
    r.parser.write('>');
    expect(r.headers).toHaveLength(1);
  });

  it('accepts a header without an XML declaration and with double quotes', () => {
    const r = parse('<stream:stream to="example.com" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">');
    expect(r.errors).toEqual([]);
    expect(r.headers[0]?.attrs).toEqual({ to: 'example.com' });
  });

  it('accepts a UTF-8 byte order mark and an explicit UTF-8 encoding declaration', () => {
    const xml = HEADER.replace("version='1.0'?>", "version='1.0' encoding='UTF-8'?>");
    const r = parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(xml)]));
    expect(r.errors).toEqual([]);
    expect(r.headers).toHaveLength(1);
  });

  it('rejects a stream namespace other than the streams namespace with invalid-namespace', () => {
    expect(conditionOf("<stream:stream xmlns='jabber:client' xmlns:stream='http://wrong.example/'>")).toBe('invalid-namespace');
  });

  it('rejects a default namespace other than jabber:client with invalid-namespace', () => {
    expect(conditionOf("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>")).toBe('invalid-namespace');
  });

  it('rejects a header without a default namespace with invalid-namespace', () => {
    expect(conditionOf("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>")).toBe('invalid-namespace');
  });

  it('rejects a stream element under another prefix with bad-namespace-prefix', () => {
    expect(conditionOf("<foo:stream xmlns='jabber:client' xmlns:foo='http://etherx.jabber.org/streams'>")).toBe('bad-namespace-prefix');
  });

  it('rejects an undeclared stream prefix with bad-namespace-prefix', () => {
    expect(conditionOf("<stream:stream xmlns='jabber:client'>")).toBe('bad-namespace-prefix');
  });

  it('rejects a root element other than stream with not-well-formed', () => {
    expect(conditionOf("<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")).toBe('not-well-formed');
  });

  it('rejects a non-XML first line such as an HTTP request with not-well-formed', () => {
    expect(conditionOf('GET / HTTP/1.1\r\n\r\n')).toBe('not-well-formed');
  });

  it('rejects a header longer than 10 000 bytes with policy-violation even without its closing bracket', () => {
    const r = record();
    r.parser.write("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='");
    for (let i = 0; i < 20 && r.errors.length === 0; i++) r.parser.write('a'.repeat(1000));
    expect(r.errors.map((e) => [e.condition, e.text])).toEqual([['policy-violation', 'stream header too large']]);
  });

  it('rejects a header with more than 64 attributes with policy-violation', () => {
    const attrs = Array.from({ length: 70 }, (_, i) => `a${i}='x'`).join(' ');
    expect(conditionOf(`<stream:stream ${attrs} xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`)).toBe('policy-violation');
  });

  it('rejects a UTF-16 byte order mark with unsupported-encoding', () => {
    expect(conditionOf(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(HEADER, 'utf16le')]))).toBe('unsupported-encoding');
  });

  it('rejects UTF-16 without a byte order mark with unsupported-encoding', () => {
    expect(conditionOf(Buffer.from(HEADER, 'utf16le'))).toBe('unsupported-encoding');
  });

  it('rejects a non-UTF-8 encoding declaration with unsupported-encoding', () => {
    expect(conditionOf(HEADER.replace("version='1.0'?>", "version='1.0' encoding='ISO-8859-1'?>"))).toBe('unsupported-encoding');
  });

  it('rejects an XML declaration after leading whitespace with not-well-formed', () => {
    expect(conditionOf(`  ${HEADER}`)).toBe('not-well-formed');
  });
});

describe('stanzas', () => {
  it('emits each top-level child of the stream as an ltx element', () => {
    const r = parse(`${HEADER}<message to='a@b' type='chat'><body>hi &amp; &lt;bye&gt; &#x263A;</body></message><presence/>`);
    expect(r.errors).toEqual([]);
    expect(r.stanzas.map((s) => s.toString())).toEqual([
      '<message to="a@b" type="chat"><body>hi &amp; &lt;bye&gt; ☺</body></message>',
      '<presence/>',
    ]);
    expect(r.stanzas[0]?.getChildText('body')).toBe('hi & <bye> ☺');
  });

  it('includes CDATA sections as text', () => {
    const r = parse(`${HEADER}<message><body>a<![CDATA[<b>&amp;]]>c</body></message>`);
    expect(r.errors).toEqual([]);
    expect(r.stanzas[0]?.getChildText('body')).toBe('a<b>&amp;c');
  });

  it('yields the same element however the bytes are split, including inside multibyte characters', () => {
    const stanza = "<message to='juliet@example.com' xml:lang='fr'><body>Ça va? € 😀 ü</body><x xmlns='urn:x' a='&quot;'/></message>";
    const bytes = Buffer.from(HEADER + stanza);
    const expected = parse(bytes).stanzas.map((s) => s.toString());
    expect(expected).toEqual([
      '<message to="juliet@example.com" xml:lang="fr"><body>Ça va? € 😀 ü</body><x xmlns="urn:x" a="&quot;"/></message>',
    ]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = record();
      r.parser.write(bytes.subarray(0, cut));
      r.parser.write(bytes.subarray(cut));
      expect(r.errors).toEqual([]);
      expect(r.stanzas.map((s) => s.toString())).toEqual(expected);
    }
    const oneByOne = record();
    for (let i = 0; i < bytes.length; i++) oneByOne.parser.write(bytes.subarray(i, i + 1));
    expect(oneByOne.stanzas.map((s) => s.toString())).toEqual(expected);
  });

  it('yields the same element when a string is split between the halves of a surrogate pair', () => {
    const xml = `${HEADER}<message><body>😀😀</body></message>`;
    const cut = xml.indexOf('😀') + 1;
    const r = record();
    r.parser.write(xml.slice(0, cut));
    r.parser.write(xml.slice(cut));
    expect(r.errors).toEqual([]);
    expect(r.stanzas[0]?.getChildText('body')).toBe('😀😀');
  });

  it('ignores whitespace keepalives between stanzas without buffering them', () => {
    const r = record();
    r.parser.write(HEADER);
    r.parser.write('<presence/>');
    for (let i = 0; i < 200; i++) {
      r.parser.write(' \n\t\r\n'.repeat(1000));
      expect(r.parser.bufferedBytes()).toBe(0);
    }
    r.parser.write(' <presence/> ');
    expect(r.errors).toEqual([]);
    expect(r.stanzas.map((s) => s.toString())).toEqual(['<presence/>', '<presence/>']);
  });

  it('fires streamEnd on </stream:stream> and ignores later input', () => {
    const r = parse(`${HEADER}<presence/> </stream:stream> trailing junk <message/>`);
    expect(r.log).toEqual(['start', 'stanza <presence/>', 'end']);
    r.parser.write('<message/>');
    expect(r.log).toEqual(['start', 'stanza <presence/>', 'end']);
  });

  it('fires streamEnd for a self-closing stream element', () => {
    const r = parse("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'/>");
    expect(r.log).toEqual(['start', 'end']);
  });
});

describe('namespace normalisation', () => {
  it('gives a jabber:client stanza no xmlns attribute', () => {
    const r = parse(`${HEADER}<message xmlns='jabber:client'/><iq/>`);
    expect(r.stanzas.map((s) => s.attrs)).toEqual([{}, {}]);
  });

  it('keeps xmlns on a stanza in another namespace', () => {
    const r = parse(`${HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>`);
    expect(r.stanzas[0]?.toString()).toBe('<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
    expect(r.stanzas[0]?.getNS()).toBe('urn:ietf:params:xml:ns:xmpp-tls');
  });

  it('puts xmlns exactly on the elements whose namespace differs from their parent', () => {
    const r = parse(
      `${HEADER}<iq type='get' id='1'><query xmlns='jabber:iq:roster'><item xmlns='jabber:iq:roster' jid='a@b'/></query>` +
        `<x xmlns='urn:x'><y xmlns=''/></x></iq>`,
    );
    expect(r.stanzas[0]?.toString()).toBe(
      '<iq type="get" id="1"><query xmlns="jabber:iq:roster"><item jid="a@b"/></query><x xmlns="urn:x"><y xmlns=""/></x></iq>',
    );
  });

  it('uses local names and drops prefix declarations', () => {
    const r = parse(
      `${HEADER}<c:message xmlns:c='jabber:client' xmlns:r='jabber:iq:roster'><r:query><r:item jid='a@b'/></r:query>` +
        `<stream:features/></c:message>`,
    );
    expect(r.stanzas[0]?.toString()).toBe(
      '<message><query xmlns="jabber:iq:roster"><item jid="a@b"/></query><features xmlns="http://etherx.jabber.org/streams"/></message>',
    );
  });

  it('keeps qualified names of prefixed attributes such as xml:lang', () => {
    const r = parse(`${HEADER}<message xml:lang='de'><body xml:lang='en'>hi</body></message>`);
    expect(r.stanzas[0]?.toString()).toBe('<message xml:lang="de"><body xml:lang="en">hi</body></message>');
  });

  it('keeps the binding of a custom attribute prefix on the element that uses it', () => {
    const r = parse(`${HEADER}<message xmlns:f='urn:f'><x xmlns='urn:x' f:a='1'/></message>`);
    expect(r.stanzas[0]?.toString()).toBe('<message><x xmlns="urn:x" f:a="1" xmlns:f="urn:f"/></message>');
  });
});

describe('restricted XML (RFC 6120 §11.1)', () => {
  const billionLaughs =
    "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>" +
    Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} '${`&lol${i === 0 ? '' : i};`.repeat(10)}'>`).join('') +
    "]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><body>&lol9;</body></message>";

  it('rejects the billion-laughs document with restricted-xml without expanding anything', () => {
    const r = parse(billionLaughs);
    expect(r.log).toEqual(['error restricted-xml']);
  });

  it('rejects a DOCTYPE before the stream header with restricted-xml', () => {
    expect(conditionOf(`<!DOCTYPE stream>${HEADER.replace("<?xml version='1.0'?>", '')}`)).toBe('restricted-xml');
  });

  it('rejects a DOCTYPE with an external subset with restricted-xml', () => {
    expect(conditionOf(`<?xml version='1.0'?><!DOCTYPE stream SYSTEM 'http://example.com/x.dtd'>`)).toBe('restricted-xml');
  });

  it('rejects a DOCTYPE inside the stream with restricted-xml', () => {
    expect(conditionOf(`${HEADER}<!DOCTYPE x [<!ENTITY a 'b'>]>`)).toBe('restricted-xml');
  });

  it('rejects an entity declaration inside the stream with restricted-xml', () => {
    expect(conditionOf(`${HEADER}<!ENTITY a 'b'>`)).toBe('restricted-xml');
    expect(conditionOf(`${HEADER}<message><!ENTITY a 'b'></message>`)).toBe('restricted-xml');
  });

  it('rejects a reference to an undeclared entity with restricted-xml', () => {
    expect(conditionOf(`${HEADER}<message><body>&foo;</body></message>`)).toBe('restricted-xml');
    expect(conditionOf(`${HEADER}<message to='&foo;'/>`)).toBe('restricted-xml');
  });

  it('rejects processing instructions before the header, between stanzas and inside stanzas with restricted-xml', () => {
    expect(conditionOf(`<?xml version='1.0'?><?foo bar?>${HEADER.replace("<?xml version='1.0'?>", '')}`)).toBe('restricted-xml');
    expect(conditionOf(`${HEADER}<?xml-stylesheet href='a'?>`)).toBe('restricted-xml');
    expect(conditionOf(`${HEADER}<message><?foo?></message>`)).toBe('restricted-xml');
  });

  it('rejects comments before the header, between stanzas and inside stanzas with restricted-xml', () => {
    expect(conditionOf(`<!-- hi -->${HEADER.replace("<?xml version='1.0'?>", '')}`)).toBe('restricted-xml');
    expect(conditionOf(`${HEADER}<presence/><!-- hi -->`)).toBe('restricted-xml');
    expect(conditionOf(`${HEADER}<message><!-- hi --></message>`)).toBe('restricted-xml');
  });

  it('rejects an unterminated comment between stanzas as soon as it starts', () => {
    const r = record();
    r.parser.write(HEADER);
    r.parser.write('  <!-');
    expect(r.errors.map((e) => e.condition)).toEqual(['restricted-xml']);
  });

  it('emits the stanzas before a restricted construct and then the error', () => {
    const r = parse(`${HEADER}<presence/><!-- hi --><message/>`);
    expect(r.log).toEqual(['start', 'stanza <presence/>', 'error restricted-xml']);
  });
});

describe('not-well-formed input', () => {
  const cases: Array<[string, ...string[]]> = [
    ['mismatched tags', `${HEADER}<message><body></message>`],
    ['a stanza closed by the stream end tag', `${HEADER}<message></stream:stream>`],
    ['an unmatched close tag at stream level', `${HEADER}</foo>`],
    ['an unquoted attribute value', `${HEADER}<message to=a@b/>`],
    ['an attribute without a value', `${HEADER}<message to/>`],
    ['a duplicate attribute', `${HEADER}<message to='a' to='b'/>`],
    ['a duplicate attribute under two prefixes for one namespace', `${HEADER}<message xmlns:a='urn:a' xmlns:b='urn:a' a:x='1' b:x='2'/>`],
    ['a bad character in a name', `${HEADER}<mess@ge/>`],
    ['a raw less-than in an attribute value', `${HEADER}<message to='<'/>`],
    ['a malformed character reference', `${HEADER}<message><body>&#xD800;</body></message>`],
    ['a control character', `${HEADER}<message><body>\u0001</body></message>`],
    ['text between stanzas', `${HEADER} hello <presence/>`],
    ['text after a stanza split from it', `${HEADER}\n<presence`, '/>\n  hi'],
    ['an entity reference between stanzas', `${HEADER}&amp;<presence/>`],
    ['CDATA between stanzas', `${HEADER}<![CDATA[x]]><presence/>`],
    ['text before the header', `hello${HEADER}`],
    ['an XML declaration inside the stream', `${HEADER}<?xml version='1.0'?>`],
    ['an XML 1.1 declaration', HEADER.replace("version='1.0'?>", "version='1.1'?>")],
  ];
  for (const [what, ...chunks] of cases) {
    it(`rejects ${what} with not-well-formed`, () => {
      const r = record();
      for (const chunk of chunks) r.parser.write(chunk);
      expect(r.errors.map((e) => e.condition)).toEqual(['not-well-formed']);
      expect(r.stanzas.map((s) => s.toString())).toEqual(chunks.length > 1 ? ['<presence/>'] : []);
      expect(r.ends).toBe(0);
    });
  }

  it('rejects an undeclared element prefix with bad-namespace-prefix', () => {
    expect(conditionOf(`${HEADER}<foo:message/>`)).toBe('bad-namespace-prefix');
  });

  it('rejects an undeclared attribute prefix with bad-namespace-prefix', () => {
    expect(conditionOf(`${HEADER}<message foo:to='a'/>`)).toBe('bad-namespace-prefix');
  });

  it('rejects invalid UTF-8 with not-well-formed', () => {
    const r = record();
    r.parser.write(HEADER);
    r.parser.write(Buffer.from([0x3c, 0x6d, 0x3e, 0xc3, 0x28, 0x3c, 0x2f, 0x6d, 0x3e]));
    expect(r.errors.map((e) => e.condition)).toEqual(['not-well-formed']);
  });

  it('rejects an overlong UTF-8 encoding with not-well-formed', () => {
    const r = record();
    r.parser.write(HEADER);
    r.parser.write(Buffer.from([0x3c, 0x6d, 0x3e, 0xc0, 0xbc, 0x3c, 0x2f, 0x6d, 0x3e]));
    expect(r.errors.map((e) => e.condition)).toEqual(['not-well-formed']);
  });

  it('reports only the first error and ignores all later input', () => {
    const r = parse(`${HEADER}<presence/>x`);
    r.parser.write('<message/>');
    r.parser.write('</stream:stream>');
    expect(r.log).toEqual(['start', 'stanza <presence/>', 'error not-well-formed']);
  });
});

describe('limits', () => {
  const small: StreamParserLimits = { maxStanzaBytes: 1000, maxDepth: 4 };

  /** A message whose source is exactly `bytes` UTF-8 bytes long, using 3-byte characters. */
  function messageOfBytes(bytes: number): string {
    const shell = '<message><body></body></message>';
    const room = bytes - shell.length;
    return `<message><body>${'€'.repeat(Math.floor(room / 3))}${'a'.repeat(room % 3)}</body></message>`;
  }

  it('accepts a stanza of exactly maxStanzaBytes UTF-8 bytes and rejects one byte more', () => {
    const exact = messageOfBytes(1000);
    expect(Buffer.byteLength(exact)).toBe(1000);
    const ok = parse(`${HEADER}  ${exact}  `, small);
    expect(ok.errors).toEqual([]);
    expect(ok.stanzas).toHaveLength(1);
    const tooBig = parse(`${HEADER}${messageOfBytes(1001)}`, small);
    expect(tooBig.errors.map((e) => [e.condition, e.text])).toEqual([['policy-violation', 'stanza too large']]);
    expect(tooBig.stanzas).toEqual([]);
  });

  it('rejects an oversized stanza that arrives in one 1 MiB chunk with policy-violation', () => {
    const r = parse(`${HEADER}<message><body>${'x'.repeat(1024 * 1024)}</body></message>`);
    expect(r.errors.map((e) => [e.condition, e.text])).toEqual([['policy-violation', 'stanza too large']]);
    expect(r.stanzas).toEqual([]);
    expect(r.parser.bufferedBytes()).toBe(0);
  });

  it('rejects an oversized stanza trickled in without a closing tag before buffering more than the limit plus one slice', () => {
    const r = record();
    r.parser.write(HEADER);
    r.parser.write('<message><body>');
    let written = 15;
    let maxBuffered = 0;
    while (r.errors.length === 0 && written < 10 * LIMITS.maxStanzaBytes) {
      r.parser.write('y'.repeat(1000));
      written += 1000;
      maxBuffered = Math.max(maxBuffered, r.parser.bufferedBytes());
    }
    expect(r.errors.map((e) => e.condition)).toEqual(['policy-violation']);
    expect(written).toBeLessThanOrEqual(LIMITS.maxStanzaBytes + 1000);
    expect(maxBuffered).toBeLessThanOrEqual(LIMITS.maxStanzaBytes);
    expect(r.parser.bufferedBytes()).toBe(0);
  });

  it('applies the stanza limit to an unterminated start tag, attribute value or comment', () => {
    for (const opening of ['<message to=\'', '<', '<mess', '<message><body>&ent', '<message><!--']) {
      const r = record(small);
      r.parser.write(HEADER);
      r.parser.write(opening);
      for (let i = 0; i < 100 && r.errors.length === 0; i++) r.parser.write('z'.repeat(100));
      expect(r.errors).toHaveLength(1);
      expect(['policy-violation', 'restricted-xml', 'not-well-formed']).toContain(r.errors[0]?.condition);
      expect(r.parser.bufferedBytes()).toBe(0);
    }
  });

  /** Heap plus external memory (large decoded strings live outside the V8 heap) after a full GC. */
  function memoryInUse(): number {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  }

  /** Memory still reachable from the results of `attempt` run 20 times (after a warm-up run). */
  function retainedBy(attempt: () => Recorder[]): { grown: number; kept: Recorder[] } {
    attempt(); // warm-up: compiled code is not what we are measuring
    const before = memoryInUse();
    const kept: Recorder[] = [];
    for (let i = 0; i < 20; i++) kept.push(...attempt());
    return { grown: memoryInUse() - before, kept };
  }

  it('releases what an oversized stanza buffered, in one chunk or trickled, once it is rejected', () => {
    const limits = { maxStanzaBytes: 512 * 1024, maxDepth: 64 };
    const huge = Buffer.from(`${HEADER}<message><body>${'x'.repeat(1024 * 1024)}`);
    const trickle = Buffer.from('w'.repeat(16 * 1024));
    const { grown, kept } = retainedBy(() => {
      const r = record(limits);
      r.parser.write(huge);
      const t = record(limits);
      t.parser.write(HEADER);
      t.parser.write('<message><body>');
      for (let j = 0; j < 40 && t.errors.length === 0; j++) t.parser.write(trickle);
      return [r, t];
    });
    expect(kept.map((r) => r.errors.map((e) => e.condition).join())).toEqual(Array(40).fill('policy-violation'));
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  });

  it('does not let a long-lived stream header keep a large input chunk alive', () => {
    // A header followed by 1 MiB of (legitimate) whitespace in a single chunk, 20 times.
    const chunk = Buffer.from(`${HEADER}${' '.repeat(1024 * 1024)}`);
    const { grown, kept } = retainedBy(() => {
      const r = record();
      r.parser.write(chunk);
      return [r];
    });
    expect(kept.map((r) => [r.headers.length, r.errors.length])).toEqual(Array(20).fill([1, 0]));
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  });

  it('rejects a stanza nested deeper than maxDepth with policy-violation', () => {
    const ok = parse(`${HEADER}<a><b><c><d/></c></b></a>`, small);
    expect(ok.errors).toEqual([]);
    const tooDeep = parse(`${HEADER}<a><b><c><d><e/></d></c></b></a>`, small);
    expect(tooDeep.errors.map((e) => [e.condition, e.text])).toEqual([['policy-violation', 'stanza nested too deeply']]);
    expect(tooDeep.stanzas).toEqual([]);
  });

  it('rejects an element with more than 256 attributes with policy-violation', () => {
    const attrs = Array.from({ length: 300 }, (_, i) => `a${i}='x'`).join(' ');
    expect(conditionOf(`${HEADER}<message ${attrs}/>`)).toBe('policy-violation');
  });

  it('applies new limits set with setLimits to the following stanzas', () => {
    const r = record(small);
    r.parser.write(HEADER);
    r.parser.setLimits({ maxStanzaBytes: 5000 });
    r.parser.write(messageOfBytes(3000));
    r.parser.setLimits({ maxDepth: 1 });
    r.parser.write('<a><b/></a>');
    expect(r.stanzas).toHaveLength(1);
    expect(r.errors.map((e) => e.text)).toEqual(['stanza nested too deeply']);
  });
});

describe('stream restart', () => {
  it('accepts a new XML declaration and header after reset', () => {
    const r = record();
    r.parser.write(HEADER);
    r.parser.write("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>");
    r.parser.reset();
    r.parser.write(HEADER);
    r.parser.write('<iq type="set" id="b"/>');
    expect(r.errors).toEqual([]);
    expect(r.log.filter((l) => l === 'start')).toHaveLength(2);
    expect(r.stanzas.map((s) => s.name)).toEqual(['auth', 'iq']);
  });

  it('discards the rest of a chunk when reset is called from the stanza callback', () => {
    const r = record(LIMITS, {
      stanza(el, rec) {
        if (el.name === 'starttls') rec.parser.reset();
      },
    });
    r.parser.write(`${HEADER}<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message to='injected@example.com'/>`);
    expect(r.stanzas.map((s) => s.name)).toEqual(['starttls']);
    r.parser.write(HEADER);
    r.parser.write('<presence/>');
    expect(r.errors).toEqual([]);
    expect(r.stanzas.map((s) => s.name)).toEqual(['starttls', 'presence']);
  });

  it('clears a previous error on reset', () => {
    const r = parse(`${HEADER}junk`);
    r.parser.reset();
    r.parser.write(`${HEADER}<presence/>`);
    expect(r.log).toEqual(['start', 'error not-well-formed', 'start', 'stanza <presence/>']);
  });
});

describe('robustness', () => {
  it('turns an exception thrown by a callback into internal-server-error instead of throwing', () => {
    const r = record(LIMITS, {
      stanza() {
        throw new Error('boom');
      },
    });
    expect(() => r.parser.write(`${HEADER}<presence/><presence/>`)).not.toThrow();
    expect(r.errors.map((e) => e.condition)).toEqual(['internal-server-error']);
    expect(r.stanzas).toHaveLength(1);
  });

  const xmlish = fc.constantFrom(
    HEADER, '<message>', '</message>', '<body>', '</body>', '<presence/>', "<iq type='get'>", '</iq>', 'text', ' ', '\n',
    '&amp;', '&lt;', '&foo;', '&#65;', '<![CDATA[x]]>', '<!-- c -->', '<?pi x?>', '<!DOCTYPE x>', '</stream:stream>',
    "<x xmlns='urn:x'>", '</x>', '<a:b>', "xmlns:a='urn:a'", "to='a@b'", '>', '<', '/>', '"', "'", '=', '€', '😀', '\r',
    '\u0000', '\uFFFE', '\uD800',
  );
  const input = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    fc.array(xmlish, { maxLength: 30 }).map((parts) => Buffer.from(parts.join(''))),
    fc.tuple(fc.array(xmlish, { maxLength: 20 }), fc.uint8Array({ maxLength: 20 })).map(([parts, junk]) =>
      Buffer.concat([Buffer.from(HEADER + parts.join('')), Buffer.from(junk)]),
    ),
  );

  it('never throws and reports at most one error for arbitrary input in arbitrary chunks', () => {
    fc.assert(
      fc.property(input, fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), (bytes, cuts, asStrings) => {
        const r = record({ maxStanzaBytes: 100, maxDepth: 3 });
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let start = 0;
        for (const end of [...points, bytes.length]) {
          const piece = bytes.subarray(start, end);
          r.parser.write(asStrings ? piece.toString('latin1') : piece);
          start = end;
        }
        expect(r.errors.length).toBeLessThanOrEqual(1);
        expect(r.headers.length).toBeLessThanOrEqual(1);
        expect(r.ends).toBeLessThanOrEqual(1);
        expect(r.errors.length + r.ends).toBeLessThanOrEqual(1);
      }),
      { numRuns: 20000 },
    );
  });
});

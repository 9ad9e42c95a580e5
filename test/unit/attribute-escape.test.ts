// Attribute values survive serialise → parse, whitespace characters included (XML 1.0 §3.3.3
// would otherwise turn tab, LF and CR into spaces).
import fc from 'fast-check';
import { Element } from 'ltx';
import { describe, expect, it } from 'vitest';
import { escapeAttribute } from '../../src/xml/attribute-escape.js';
import { StreamParser } from '../../src/xml/stream-parser.js';

const HEADER =
  "<?xml version='1.0'?><stream:stream to='example.com' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";

function reparse(element: Element): Element {
  const stanzas: Element[] = [];
  const parser = new StreamParser(
    { streamStart() {}, stanza: (parsed) => stanzas.push(parsed), streamEnd() {}, error: (error) => { throw error; } },
    { maxStanzaBytes: 1 << 20, maxDepth: 16 },
  );
  parser.write(HEADER + element.toString());
  const [parsed] = stanzas;
  if (!parsed) throw new Error('nothing parsed');
  return parsed;
}

// Characters XML 1.0 allows (§2.2), surrogate pairs included.
const xmlChar = fc.oneof(
  fc.constantFrom('\t', '\n', '\r', ' ', '&', '<', '>', '"', "'", ';', '#'),
  fc.integer({ min: 0x20, max: 0xd7ff }).map((code) => String.fromCodePoint(code)),
  fc.integer({ min: 0xe000, max: 0xfffd }).map((code) => String.fromCodePoint(code)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
);

describe('attribute values', () => {
  it('escape tab, LF and CR as character references', () => {
    expect(escapeAttribute('a\tb\nc\rd&"')).toBe('a&#9;b&#10;c&#13;d&amp;&quot;');
    expect(new Element('message', { id: 'x\ty' }).toString()).toBe('<message id="x&#9;y"/>');
  });

  it('come back from serialise → parse as they were, for every value', () => {
    fc.assert(
      fc.property(fc.array(xmlChar, { maxLength: 40 }).map((chars) => chars.join('')), (value) => {
        const parsed = reparse(new Element('message', { id: value }).c('body').t('x').root());
        expect(parsed.attrs.id).toBe(value);
      }),
      { seed: 9, numRuns: 3000 },
    );
  });
});

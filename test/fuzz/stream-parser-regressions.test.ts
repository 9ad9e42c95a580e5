// Inputs the stream parser fuzz found whose outcome depended on how they were chunked, kept as
// plain examples: each is parsed in one chunk and byte by byte, and both must agree.
import { describe, expect, it } from 'vitest';
import { StreamParser } from '../../src/xml/stream-parser.js';
import { heapAfterGc } from './heap.js';
import { HEADERS } from './xml-inputs.js';

const HEADER = HEADERS[0]!;

/** The events for `input` written whole, and written one byte at a time. */
function outcomes(input: Buffer): { whole: string[]; bytewise: string[] } {
  const parse = (pieces: Buffer[]): string[] => {
    const log: string[] = [];
    const parser = new StreamParser(
      {
        streamStart: () => log.push('start'),
        stanza: (element) => log.push(element.toString()),
        streamEnd: () => log.push('end'),
        error: (error) => log.push(`error ${error.condition}`),
      },
      { maxStanzaBytes: 65_536, maxDepth: 64 },
    );
    for (const piece of pieces) parser.write(piece);
    return log;
  };
  return { whole: parse([input]), bytewise: parse([...input].map((b) => Buffer.from([b]))) };
}

function expectEither(input: Buffer | string, expected: string[]): void {
  const { whole, bytewise } = outcomes(Buffer.isBuffer(input) ? input : Buffer.from(input));
  expect(whole).toEqual(expected);
  expect(bytewise).toEqual(expected);
}

describe('stream parser: outcomes found by fuzzing', () => {
  it('emits a stanza that precedes invalid UTF-8 in the same chunk, then fails with not-well-formed', () => {
    expectEither(Buffer.concat([Buffer.from(`${HEADER}<presence/>`), Buffer.from([0x80])]), ['start', '<presence/>', 'error not-well-formed']);
  });

  it('reports the header before invalid UTF-8 that follows it in the same chunk', () => {
    expectEither(Buffer.concat([Buffer.from(HEADER), Buffer.from([0xc3, 0x28])]), ['start', 'error not-well-formed']);
  });

  it('keeps a character split across chunks before invalid UTF-8', () => {
    const input = Buffer.concat([Buffer.from(`${HEADER}<message><body>€`), Buffer.from([0xff])]);
    expectEither(input, ['start', 'error not-well-formed']);
  });

  it('reports text between stanzas before an undeclared entity that follows it', () => {
    expectEither(`${HEADER}x&foo;`, ['start', 'error not-well-formed']);
  });

  it('reports text between stanzas before a DOCTYPE that follows it', () => {
    expectEither(`${HEADER} xml <!DOCTYPE x>`, ['start', 'error not-well-formed']);
  });

  it('emits a stanza that precedes a processing instruction in the same chunk, then fails with restricted-xml', () => {
    expectEither(`${HEADER}<presence/><?xml-stylesheet href='x'?>`, ['start', '<presence/>', 'error restricted-xml']);
  });

  it('emits a stanza that precedes a DOCTYPE in the same chunk, then fails with restricted-xml', () => {
    expectEither(`${HEADER}<presence/><!DOCTYPE x>`, ['start', '<presence/>', 'error restricted-xml']);
  });

  it('ends the stream at its closing tag even when a second closing tag follows in the same chunk', () => {
    expectEither(`${HEADER}<presence/></stream:stream></stream:stream>`, ['start', '<presence/>', 'end']);
  });

  it('refuses a stray & in text with not-well-formed without waiting for a ;', () => {
    expectEither(`${HEADER}<message><body>fish & chips</body></message>`, ['start', 'error not-well-formed']);
  });

  it('refuses a reference cut short in an attribute value with not-well-formed', () => {
    expectEither(`${HEADER}<message b="&quot:'"/>`, ['start', 'error not-well-formed']);
  });

  it('still waits for the ; of a reference that may be well-formed', () => {
    expectEither(`${HEADER}<message><body>&#x26`, ['start']);
    expectEither(`${HEADER}<message><body>&am`, ['start']);
  });

  it('refuses a comment between stanzas as soon as it starts, even when <! and - arrive apart', () => {
    for (const split of [1, 2]) {
      const log: string[] = [];
      const parser = new StreamParser(
        { streamStart: () => log.push('start'), stanza: () => log.push('stanza'), streamEnd: () => log.push('end'), error: (e) => log.push(`error ${e.condition}`) },
        { maxStanzaBytes: 65_536, maxDepth: 64 },
      );
      parser.write(HEADER);
      parser.write('<!-'.slice(0, split));
      parser.write('<!-'.slice(split));
      expect(log).toEqual(['start', 'error restricted-xml']);
    }
  });

  it('emits stanzas that do not keep the chunk they were parsed from alive', () => {
    // Each stanza arrives in its own chunk padded to 16 KiB (two-byte text once decoded); an
    // offline store keeping 1000 of them must hold their size, not 1000 chunks.
    const kept: string[] = [];
    const parser = new StreamParser(
      { streamStart: () => {}, stanza: (element) => kept.push(element.getChildText('body') ?? ''), streamEnd: () => {}, error: () => {} },
      { maxStanzaBytes: 65_536, maxDepth: 64 },
    );
    parser.write(HEADER);
    const chunk = (i: number): Buffer => Buffer.from(`<message><body>€ message number ${i}</body></message>${' '.repeat(16_000)}`);
    parser.write(chunk(0));
    const before = heapAfterGc();
    for (let i = 1; i <= 200; i++) parser.write(chunk(i));
    const grown = heapAfterGc() - before;
    expect(kept).toHaveLength(201);
    expect(grown).toBeLessThan(1024 * 1024); // 200 chunks would be over 6 MiB
  });
});

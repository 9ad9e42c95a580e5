import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Jid, JidError, jid, parseJid, prepDomain, prepLocalpart, prepResource, tryParseJid } from '../../src/xmpp/jid.js';

function parts(j: Jid): [string, string, string] {
  return [j.local, j.domain, j.resource];
}

describe('RFC 7622 §3.5 valid JIDs', () => {
  const valid: Array<[string, string, string, string]> = [
    ['juliet@example.com', 'juliet', 'example.com', ''],
    ['juliet@example.com/foo', 'juliet', 'example.com', 'foo'],
    ['juliet@example.com/foo bar', 'juliet', 'example.com', 'foo bar'],
    ['juliet@example.com/foo@bar', 'juliet', 'example.com', 'foo@bar'],
    ['foo\\20bar@example.com', 'foo\\20bar', 'example.com', ''],
    ['fussball@example.com', 'fussball', 'example.com', ''],
    ['fußball@example.com', 'fußball', 'example.com', ''],
    ['π@example.com', 'π', 'example.com', ''],
    ['Σ@example.com/foo', 'σ', 'example.com', 'foo'],
    ['σ@example.com/foo', 'σ', 'example.com', 'foo'],
    ['ς@example.com/foo', 'ς', 'example.com', 'foo'],
    ['king@example.com/♚', 'king', 'example.com', '♚'],
    ['example.com', '', 'example.com', ''],
    ['example.com/foobar', '', 'example.com', 'foobar'],
    ['a.example.com/b@example.net', '', 'a.example.com', 'b@example.net'],
    // Errata 4560: OpaqueString does not forbid a leading space, so this one is valid after all.
    ['juliet@example.com/ foo', 'juliet', 'example.com', ' foo'],
  ];
  for (const [input, local, domain, resource] of valid) {
    it(`parses ${JSON.stringify(input)} into its parts`, () => {
      expect(parts(parseJid(input))).toEqual([local, domain, resource]);
    });
  }
});

describe('RFC 7622 §3.5 invalid JIDs', () => {
  const invalid = [
    '"juliet"@example.com',
    'foo bar@example.com',
    '@example.com/',
    '@example.com',
    'henryⅣ@example.com',
    '♚@example.com',
    'juliet@',
    '/foobar',
    'juliet@example.com/',
    'example.com/',
    '<>',
    '',
    '@',
    '/',
    'node@/server',
    'user@@host',
    'user@@host/resource',
    'juliet@exa mple.com',
    'juliet@example..com',
    'juliet@.example.com',
    'juliet@-example.com',
    'juliet@exa_mple.com',
  ];
  for (const input of invalid) {
    it(`rejects ${JSON.stringify(input)} with a JidError`, () => {
      expect(() => parseJid(input)).toThrow(JidError);
      expect(tryParseJid(input)).toBeUndefined();
    });
  }

  it('rejects a localpart of 1024 octets but accepts one of 1023', () => {
    expect(() => parseJid(`${'a'.repeat(1024)}@example.com`)).toThrow(JidError);
    expect(parseJid(`${'a'.repeat(1023)}@example.com`).local).toHaveLength(1023);
  });

  it('counts the length limit in UTF-8 octets rather than characters', () => {
    expect(() => prepLocalpart('é'.repeat(512))).toThrow(JidError);
    expect(prepLocalpart('é'.repeat(511))).toBe('é'.repeat(511));
  });

  it('rejects a resourcepart of 1024 octets but accepts one of 1023', () => {
    expect(() => parseJid(`a@example.com/${'r'.repeat(1024)}`)).toThrow(JidError);
    expect(parseJid(`a@example.com/${'r'.repeat(1023)}`).resource).toHaveLength(1023);
  });

  it('rejects a domain label longer than 63 octets', () => {
    expect(prepDomain(`${'a'.repeat(63)}.com`)).toBe(`${'a'.repeat(63)}.com`);
    expect(() => prepDomain(`${'a'.repeat(64)}.com`)).toThrow(JidError);
  });

  it('rejects a domainpart longer than 1023 octets', () => {
    const label = 'a'.repeat(63);
    const long = Array.from({ length: 17 }, () => label).join('.'); // 1087 octets
    expect(() => prepDomain(long)).toThrow(JidError);
  });

  it('gives the jid-malformed condition on its errors', () => {
    const err = (() => {
      try {
        parseJid('@example.com');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(JidError);
    expect((err as JidError).condition).toBe('jid-malformed');
  });
});

describe('localpart preparation', () => {
  it('lowercases the localpart', () => {
    expect(parseJid('JuLiEt@example.com').local).toBe('juliet');
    expect(prepLocalpart('ÉLODIE')).toBe('élodie');
  });

  it('maps fullwidth characters to their ordinary forms', () => {
    expect(prepLocalpart('ＪＵＬＩＥＴ')).toBe('juliet');
  });

  it('composes decomposed characters with NFC', () => {
    expect(prepLocalpart('e\u0301')).toBe('é');
  });

  it('accepts ordinary names in several scripts and common punctuation', () => {
    for (const name of ['jean-luc.picard', 'a_b+c', 'иван', '张伟', '123', 'ελένη']) {
      expect(prepLocalpart(name)).toBe(name);
    }
  });

  it('rejects the characters RFC 7622 §3.3.1 forbids', () => {
    for (const c of ['"', '&', "'", '/', ':', '<', '>', '@']) {
      expect(() => prepLocalpart(`a${c}b`)).toThrow(JidError);
    }
  });

  it('rejects a fullwidth at sign once it is width-mapped', () => {
    expect(() => prepLocalpart('a＠b')).toThrow(JidError);
  });

  it('rejects spaces, controls, symbols, compatibility characters and private use', () => {
    for (const s of ['a b', 'a\u00a0b', 'a\u3000b', 'a\tb', 'a\u0000b', 'a\u007fb', '♚', 'a€', 'a\u00a7b', 'ﬁ', 'henryⅣ', 'a\ue000', 'a\u200bb', 'a\u00adb', 'a\ufdd0', 'a\ud800']) {
      expect(() => prepLocalpart(s)).toThrow(JidError);
    }
  });

  it('rejects an empty localpart', () => {
    expect(() => prepLocalpart('')).toThrow(JidError);
  });

  it('allows a middle dot only between two l characters', () => {
    expect(prepLocalpart('col·legi')).toBe('col·legi');
    expect(() => prepLocalpart('a·b')).toThrow(JidError);
  });
});

describe('resourcepart preparation', () => {
  it('preserves case in the resourcepart', () => {
    expect(parseJid('juliet@example.com/Balcony').resource).toBe('Balcony');
  });

  it('keeps slashes and at signs after the first slash', () => {
    expect(parseJid('juliet@example.com/a/b@c').resource).toBe('a/b@c');
  });

  it('maps non-ASCII spaces to an ordinary space', () => {
    expect(prepResource('foo\u00a0bar\u2003baz')).toBe('foo bar baz');
  });

  it('accepts symbols, punctuation and compatibility characters', () => {
    for (const s of ['♚', '€5 «quoted»', 'ﬁ', 'Ⅳ', 'Phone (Work)']) {
      expect(prepResource(s)).toBe(s);
    }
  });

  it('rejects controls, private use, unassigned and line separators', () => {
    for (const s of ['a\nb', 'a\u0000', 'a\ue000', 'a\u2028', 'a\u{e0001}', 'a\u0378', 'a\udc00']) {
      expect(() => prepResource(s)).toThrow(JidError);
    }
  });

  it('rejects an empty resourcepart', () => {
    expect(() => prepResource('')).toThrow(JidError);
  });
});

describe('domainpart preparation', () => {
  it('lowercases the domainpart', () => {
    expect(parseJid('juliet@EXAMPLE.Com/Res').domain).toBe('example.com');
  });

  it('strips one trailing dot', () => {
    expect(parseJid('juliet@example.com./x').domain).toBe('example.com');
    expect(() => prepDomain('example.com..')).toThrow(JidError);
    expect(() => prepDomain('.')).toThrow(JidError);
  });

  it('stores internationalised domains in Unicode form whichever form they arrive in', () => {
    expect(prepDomain('xn--fuball-cta.de')).toBe('fußball.de');
    expect(prepDomain('FUßBALL.de')).toBe('fußball.de');
    expect(prepDomain('ＥＸＡＭＰＬＥ.com')).toBe('example.com');
  });

  it('rejects broken punycode', () => {
    expect(() => prepDomain('xn--a.com')).toThrow(JidError);
  });

  it('accepts IPv4 and IPv6 literals', () => {
    expect(prepDomain('192.0.2.1')).toBe('192.0.2.1');
    expect(prepDomain('[2001:DB8::1]')).toBe('[2001:db8::1]');
  });

  it('rejects malformed IP literals and numeric names', () => {
    for (const d of ['[::g]', '[::1', '::1', '[fe80::1%eth0]', '0x7f.1', '123', '1.2.3', '256.0.0.1']) {
      expect(() => prepDomain(d)).toThrow(JidError);
    }
  });

  it('rejects characters that cannot appear in a host name', () => {
    for (const d of ['exa mple.com', 'a@b.com', 'a/b', 'a<b>.com', 'a!b.com', 'a"b.com', 'a\u0000.com', '']) {
      expect(() => prepDomain(d)).toThrow(JidError);
    }
  });
});

describe('the Jid class', () => {
  it('forms bare and full strings', () => {
    const j = parseJid('juliet@example.com/balcony');
    expect(j.bare).toBe('juliet@example.com');
    expect(j.full).toBe('juliet@example.com/balcony');
    expect(j.toString()).toBe('juliet@example.com/balcony');
    expect(parseJid('example.com').bare).toBe('example.com');
  });

  it('tells bare from full JIDs', () => {
    expect(parseJid('juliet@example.com').isBare()).toBe(true);
    expect(parseJid('juliet@example.com/r').isBare()).toBe(false);
  });

  it('drops the resource with bareJid', () => {
    const bare = parseJid('juliet@example.com/r').bareJid();
    expect(bare.full).toBe('juliet@example.com');
    expect(bare.isBare()).toBe(true);
  });

  it('prepares the resource given to withResource', () => {
    const j = parseJid('juliet@example.com').withResource('a\u00a0b');
    expect(j.full).toBe('juliet@example.com/a b');
    expect(() => parseJid('juliet@example.com').withResource('')).toThrow(JidError);
  });

  it('compares prepared forms for equality', () => {
    expect(parseJid('Juliet@Example.com/r').equals(parseJid('juliet@example.com./r'))).toBe(true);
    expect(parseJid('juliet@example.com/R').equals(parseJid('juliet@example.com/r'))).toBe(false);
    expect(parseJid('juliet@example.com').equals(parseJid('juliet@example.com/r'))).toBe(false);
  });

  it('builds JIDs from parts with jid, preparing each part', () => {
    expect(jid('Juliet', 'Example.com', 'Balcony').full).toBe('juliet@example.com/Balcony');
    expect(jid('', 'example.com').full).toBe('example.com');
    expect(() => jid('a b', 'example.com')).toThrow(JidError);
  });
});

describe('JID properties', () => {
  const localChar = fc.constantFrom('a', 'z', 'Q', '0', '9', '.', '_', '-', '+', '\\', 'é', 'É', 'ß', 'π', 'Σ', 'ж', 'Ж', '中', 'ｊ');
  const label = fc
    .array(fc.constantFrom('a', 'k', 'z', '0', '7', '-', 'ü', 'ж'), { minLength: 1, maxLength: 10 })
    .map((cs) => `x${cs.join('')}x`);
  const domain = fc
    .tuple(fc.array(label, { maxLength: 3 }), fc.constantFrom('com', 'ORG', 'de', 'рф', 'xn--p1ai'))
    .map(([labels, tld]) => [...labels, tld].join('.'));
  const resourceChar = fc.constantFrom('a', 'B', ' ', '/', '@', '♚', 'ﬁ', 'é', '\u00a0', '\u2003', '中', '.', '"', '<');
  const validJid = fc.record({
    local: fc.option(fc.array(localChar, { minLength: 1, maxLength: 12 }).map((cs) => cs.join('')), { nil: undefined }),
    domain,
    resource: fc.option(fc.array(resourceChar, { minLength: 1, maxLength: 12 }).map((cs) => cs.join('')), { nil: undefined }),
  });

  it('round-trips generated valid JIDs through their full form', () => {
    fc.assert(
      fc.property(validJid, ({ local, domain: d, resource }) => {
        const raw = `${local !== undefined ? `${local}@` : ''}${d}${resource !== undefined ? `/${resource}` : ''}`;
        const parsed = parseJid(raw);
        expect(parsed.equals(jid(local ?? '', d, resource))).toBe(true);
        expect(parseJid(parsed.full).equals(parsed)).toBe(true);
        expect(parseJid(parsed.full).full).toBe(parsed.full);
      }),
      { numRuns: 2000 },
    );
  });

  const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
  const anyUnit = fc.oneof(
    fc.constantFrom('@', '/', '.', '[', ']', ':', 'a', 'A', ' ', 'x', 'n', '-', '0'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
    loneSurrogate,
  );
  const arbitrary = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: anyUnit, maxLength: 30 }),
  );

  it('throws nothing but JidError on arbitrary strings', () => {
    fc.assert(
      fc.property(arbitrary, (s) => {
        try {
          parseJid(s);
        } catch (err) {
          expect(err).toBeInstanceOf(JidError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('prepares idempotently whenever an arbitrary string parses', () => {
    fc.assert(
      fc.property(arbitrary, (s) => {
        const j = tryParseJid(s);
        if (j) expect(parseJid(j.full).full).toBe(j.full);
      }),
      { numRuns: 2000 },
    );
  });
});

// RFC 7622 §3.1–3.4 JIDs, with PRECIS (RFC 8264 §8–9, RFC 8265 §3.3 and §4.2) for local and resource parts.
import { Buffer } from 'node:buffer';
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';

export class JidError extends Error {
  readonly condition = 'jid-malformed' as const;
  constructor(message: string) {
    super(message);
    this.name = 'JidError';
  }
}

/** An address whose parts are already prepared; build one with parseJid or jid, not new. */
export class Jid {
  #bare: string | undefined;
  #full: string | undefined;

  constructor(
    readonly local: string,
    readonly domain: string,
    readonly resource: string = '',
  ) {}

  get bare(): string {
    return (this.#bare ??= this.local ? `${this.local}@${this.domain}` : this.domain);
  }

  get full(): string {
    return (this.#full ??= this.resource ? `${this.bare}/${this.resource}` : this.bare);
  }

  isBare(): boolean {
    return this.resource === '';
  }

  bareJid(): Jid {
    return this.isBare() ? this : new Jid(this.local, this.domain);
  }

  withResource(resource: string): Jid {
    return new Jid(this.local, this.domain, prepResource(resource));
  }

  equals(other: Jid): boolean {
    return this.local === other.local && this.domain === other.domain && this.resource === other.resource;
  }

  toString(): string {
    return this.full;
  }
}

// RFC 7622 §3.1: each part is at most 1023 octets once prepared.
const MAX_OCTETS = 1023;
// Preparation shrinks text at most ~3x (NFC of conjoining jamo), so longer input cannot be valid;
// refusing it early bounds the work done on hostile input.
const MAX_INPUT_UNITS = 4 * MAX_OCTETS;

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const PRINTABLE_ASCII_OR_SPACE = /^[\x20-\x7e]+$/;
// RFC 7622 §3.3.1: characters a localpart may not contain even though IdentifierClass allows them.
const LOCAL_FORBIDDEN = /["&'/:<>@]/;
// RFC 8265 §3.3.2 width mapping: fullwidth and halfwidth forms (and the ideographic space).
const WIDE_OR_NARROW = /[\u3000\uff01-\uffee]/g;
const NON_ASCII_SPACE = /(?!\x20)\p{Zs}/gu;

function fail(message: string): never {
  throw new JidError(message);
}

function checkLength(part: string, what: string): void {
  if (part === '') fail(`empty ${what}`);
  if (Buffer.byteLength(part, 'utf8') > MAX_OCTETS) fail(`${what} longer than ${MAX_OCTETS} octets`);
}

// RFC 8264 §8 derived-property inputs, as Unicode property regexes (one code point at a time).
const UNASSIGNED = /^\p{Cn}$/u;
const IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\p{Cc}]$/u;
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
// OtherLetterDigits, Spaces, Symbols and Punctuation: allowed by FreeformClass only.
const FREEFORM_ONLY = /^[\p{Lt}\p{Nl}\p{No}\p{Me}\p{Zs}\p{S}\p{P}]$/u;
const GREEK = /^\p{Script=Greek}$/u;
const HEBREW = /^\p{Script=Hebrew}$/u;
const KANA_OR_HAN = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;

// RFC 5892 §2.6 exceptions, reused by RFC 8264 §9.6.
const EXCEPTION_PVALID = new Set([0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007]);
const EXCEPTION_DISALLOWED = new Set([0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]);

function isOldHangulJamo(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xa960 && cp <= 0xa97f) || (cp >= 0xd7b0 && cp <= 0xd7ff);
}

/** RFC 5892 Appendix A CONTEXTO rules; undefined when cp has none. */
function contextO(cps: readonly number[], i: number): boolean | undefined {
  const cp = cps[i]!;
  const at = (j: number): string => (j >= 0 && j < cps.length ? String.fromCodePoint(cps[j]!) : '');
  switch (cp) {
    case 0x00b7: return cps[i - 1] === 0x6c && cps[i + 1] === 0x6c; // Catalan l·l
    case 0x0375: return GREEK.test(at(i + 1));
    case 0x05f3: case 0x05f4: return HEBREW.test(at(i - 1));
    case 0x30fb: return KANA_OR_HAN.test(String.fromCodePoint(...cps.filter((c) => c !== 0x30fb)));
  }
  if (cp >= 0x0660 && cp <= 0x0669) return !cps.some((c) => c >= 0x06f0 && c <= 0x06f9);
  if (cp >= 0x06f0 && cp <= 0x06f9) return !cps.some((c) => c >= 0x0660 && c <= 0x0669);
  return undefined;
}

/** RFC 8264 §8: is every code point valid in IdentifierClass (or FreeformClass)? */
function checkClass(s: string, freeform: boolean, what: string): void {
  const cps = Array.from(s, (ch) => ch.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    if (cp >= 0x21 && cp <= 0x7e) continue; // ASCII7
    if (cp === 0x20 && freeform) continue;
    const ch = String.fromCodePoint(cp);
    const bad = (): never => fail(`${what} contains disallowed character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
    if (EXCEPTION_PVALID.has(cp)) continue;
    if (EXCEPTION_DISALLOWED.has(cp)) bad();
    const context = contextO(cps, i);
    if (context !== undefined) {
      if (context) continue;
      bad();
    }
    // CONTEXTJ (ZWJ/ZWNJ) needs combining-class and joining-type tables we lack: refused outright.
    if (cp === 0x200c || cp === 0x200d) bad();
    if (UNASSIGNED.test(ch) || isOldHangulJamo(cp) || IGNORABLE.test(ch)) bad();
    if (ch.normalize('NFKC') !== ch) {
      if (freeform) continue; // HasCompat
      bad();
    }
    if (LETTER_DIGITS.test(ch)) continue;
    if (freeform && FREEFORM_ONLY.test(ch)) continue;
    bad(); // surrogates, private use, format characters, line/paragraph separators, and the rest
  }
}

/** RFC 7622 §3.3 localpart preparation (UsernameCaseMapped profile); throws JidError. Used by SASL for the authcid and by account management. */
export function prepLocalpart(local: string): string {
  if (local.length > MAX_INPUT_UNITS) fail('localpart too long');
  let out: string;
  if (PRINTABLE_ASCII.test(local)) {
    out = local.toLowerCase(); // all of ASCII7 is PVALID and NFC-stable
  } else {
    // RFC 8265 §3.3.3: width mapping, case mapping (toLowerCase), NFC; the Bidi Rule is not checked.
    out = local.replace(WIDE_OR_NARROW, (c) => c.normalize('NFKC')).toLowerCase().normalize('NFC');
    checkClass(out, false, 'localpart');
  }
  if (LOCAL_FORBIDDEN.test(out)) fail('localpart contains a character RFC 7622 §3.3.1 forbids');
  checkLength(out, 'localpart');
  return out;
}

/** RFC 7622 §3.4 resourcepart preparation (OpaqueString profile); throws JidError. */
export function prepResource(resource: string): string {
  if (resource.length > MAX_INPUT_UNITS) fail('resourcepart too long');
  if (PRINTABLE_ASCII_OR_SPACE.test(resource)) {
    checkLength(resource, 'resourcepart');
    return resource;
  }
  // RFC 8265 §4.2.3: non-ASCII spaces become U+0020, then NFC; case is preserved.
  const out = resource.replace(NON_ASCII_SPACE, ' ').normalize('NFC');
  checkClass(out, true, 'resourcepart');
  checkLength(out, 'resourcepart');
  return out;
}

// LDH labels (RFC 5890 §2.3.1), case already folded.
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const ALL_DIGITS = /^[0-9]+$/;
const IPV6_CHARS = /^[0-9a-f:.]+$/;

function checkAsciiDomain(ascii: string): void {
  if (ascii.length > MAX_OCTETS) fail('domainpart too long');
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) fail('domainpart label must be 1 to 63 octets');
    if (!LDH_LABEL.test(label)) fail('domainpart contains a disallowed character');
  }
  // A numeric last label would make it an IPv4 address, which is checked before we get here.
  if (ALL_DIGITS.test(labels[labels.length - 1]!)) fail('domainpart is neither a hostname nor an IP address');
}

/** RFC 7622 §3.2 domainpart: IDNA to Unicode-lowercase form, trailing dot stripped, IPv4/IPv6 literals allowed; throws JidError. */
export function prepDomain(domain: string): string {
  if (domain.length > MAX_INPUT_UNITS) fail('domainpart too long');
  const d = domain.endsWith('.') ? domain.slice(0, -1) : domain; // §3.2: before anything else
  if (d === '') fail('empty domainpart');
  if (d.startsWith('[')) {
    const inner = d.endsWith(']') ? d.slice(1, -1).toLowerCase() : '';
    if (!IPV6_CHARS.test(inner) || !isIPv6(inner)) fail('malformed IPv6 literal');
    return `[${inner}]`;
  }
  if (isIPv4(d)) return d;
  if (PRINTABLE_ASCII.test(d)) {
    const lower = d.toLowerCase();
    // Plain LDH needs no IDNA; going through it anyway would let the URL parser rewrite '0x7f.1' as IPv4.
    if (!lower.includes('xn--')) {
      checkAsciiDomain(lower);
      return lower;
    }
  }
  const ascii = domainToASCII(d.toLowerCase().normalize('NFC'));
  if (ascii === '') fail('domainpart is not a valid internationalised domain name');
  checkAsciiDomain(ascii);
  const unicode = domainToUnicode(ascii);
  if (unicode === '') fail('domainpart is not a valid internationalised domain name');
  // RFC 5891 §4.2.3.1: no U-label starts or ends with a hyphen. An A-label left as it was did not
  // decode (broken punycode): Node 20's URL parser returns '' for it, Node 24's the label itself.
  for (const label of unicode.split('.')) {
    if (label.startsWith('-') || label.endsWith('-')) fail('domainpart label starts or ends with a hyphen');
    if (label.startsWith('xn--')) fail('domainpart is not a valid internationalised domain name');
  }
  checkLength(unicode, 'domainpart');
  return unicode;
}

/** Parse and normalise (PRECIS / RFC 7622 §3); throws JidError on anything invalid. */
export function parseJid(input: string): Jid {
  if (typeof input !== 'string') fail('not a string');
  if (input.length > 3 * MAX_INPUT_UNITS + 2) fail('JID too long');
  // §3.1: the resource starts after the first '/', the localpart ends at the first '@' before it.
  const slash = input.indexOf('/');
  const head = slash === -1 ? input : input.slice(0, slash);
  const at = head.indexOf('@');
  return new Jid(
    at === -1 ? '' : prepLocalpart(head.slice(0, at)),
    prepDomain(at === -1 ? head : head.slice(at + 1)),
    slash === -1 ? '' : prepResource(input.slice(slash + 1)),
  );
}

/** Same, returning undefined instead of throwing. */
export function tryParseJid(input: string): Jid | undefined {
  try {
    return parseJid(input);
  } catch (err) {
    if (err instanceof JidError) return undefined;
    throw err;
  }
}

/** Builds a JID from parts, preparing each; '' for local or resource means that part is absent. */
export function jid(local: string, domain: string, resource?: string): Jid {
  return new Jid(local === '' ? '' : prepLocalpart(local), prepDomain(domain), resource ? prepResource(resource) : '');
}

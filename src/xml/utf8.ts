// UTF-8 validation (RFC 3629 §4, with the byte ranges of the WHATWG Encoding Standard's decoder),
// for the rare path where the stream parser's fatal decoder has refused a chunk: the valid text
// before the bad bytes is still parsed, so the outcome does not depend on where chunks end.

/**
 * The offset of the first byte sequence in `bytes` that cannot be (the start of) valid UTF-8,
 * or bytes.length if there is none. `bytes` must begin at a character boundary. A sequence cut
 * short by the end of `bytes` counts as valid: more may follow.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  const length = bytes.length;
  let i = 0;
  while (i < length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    let needed: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) needed = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      needed = 2;
      if (lead === 0xe0) low = 0xa0; // overlong
      if (lead === 0xed) high = 0x9f; // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      needed = 3;
      if (lead === 0xf0) low = 0x90; // overlong
      if (lead === 0xf4) high = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= needed; k++) {
      if (i + k >= length) return length;
      const b = bytes[i + k]!;
      if (b < (k === 1 ? low : 0x80) || b > (k === 1 ? high : 0xbf)) return i;
    }
    i += needed + 1;
  }
  return length;
}

/** How many bytes at the end of `bytes` (valid UTF-8 so far) start a character not yet complete. */
export function incompleteUtf8Tail(bytes: Uint8Array): number {
  const length = bytes.length;
  for (let back = 1; back <= 3 && back <= length; back++) {
    const b = bytes[length - back]!;
    if (b < 0x80) return 0;
    if (b >= 0xc0) {
      const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return size > back ? back : 0;
    }
  }
  return 0;
}

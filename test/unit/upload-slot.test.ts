// Upload slot tokens (src/upload/slot.ts): what any node accepts, and the file names put in URLs.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { newSlotId, safeFileName, signSlot, type Slot, verifySlot } from '../../src/upload/slot.js';

const secret = randomBytes(32);
const slot = (expires = Date.now() + 60_000): Slot => ({ id: newSlotId(), name: 'a.png', size: 10, type: 'image/png', owner: 'alice@localhost', expires });

describe('upload slot tokens', () => {
  it('verify with the secret that signed them, until they expire', () => {
    const issued = slot();
    expect(verifySlot(secret, signSlot(secret, issued))).toStrictEqual(issued);
    expect(verifySlot(randomBytes(32), signSlot(secret, issued))).toBeUndefined();
    expect(verifySlot(secret, signSlot(secret, issued), issued.expires + 1)).toBeUndefined();
  });

  it('refuse a token whose payload was changed, or that is not a token at all', () => {
    const token = signSlot(secret, slot());
    const [payload, signature] = token.split('.') as [string, string];
    const bigger = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), size: 10_000_000 })).toString('base64url');
    expect(verifySlot(secret, `${bigger}.${signature}`)).toBeUndefined();
    for (const junk of ['', '.', 'a.b.c', `${payload}.`, `${payload}.${signature}.x`, 'not base64!.sig']) expect(verifySlot(secret, junk)).toBeUndefined();
  });

  it('make file names safe for a URL segment and a header, at most 255 bytes', () => {
    expect(safeFileName('holiday photo.jpg')).toBe('holiday photo.jpg');
    expect(safeFileName('../../etc/passwd')).toBe('.._.._etc_passwd');
    expect(safeFileName('a\r\nb\u0000c\\d')).toBe('a__b_c_d');
    expect(safeFileName('  ')).toBeUndefined();
    expect(safeFileName('..')).toBeUndefined();
    expect(Buffer.byteLength(safeFileName('é'.repeat(300)) ?? '', 'utf8')).toBeLessThanOrEqual(255);
  });
});

import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveCredentials, deriveScramKeys, saslprep, verifyPassword, type ScramKeys,
} from '../../src/sasl/credentials.js';
import { SaslError } from '../../src/sasl/errors.js';

describe('deriveCredentials', () => {
  it('stores salted SCRAM keys for both hashes and never the password', async () => {
    const password = 'correct horse battery staple';
    const creds = await deriveCredentials(password);
    const json = JSON.stringify(creds);
    expect(json).not.toContain(password);
    expect(json).not.toContain(Buffer.from(password).toString('base64'));
    expect(json).not.toContain(Buffer.from(password).toString('hex'));
    expect(Object.keys(creds).sort()).toEqual(['SHA-1', 'SHA-256']);
    for (const [hash, len] of [['SHA-1', 20], ['SHA-256', 32]] as const) {
      const keys = creds[hash];
      expect(Object.keys(keys).sort()).toEqual(['iterations', 'salt', 'serverKey', 'storedKey']);
      expect(keys.iterations).toBe(4096);
      expect(Buffer.from(keys.salt, 'base64')).toHaveLength(16);
      expect(Buffer.from(keys.storedKey, 'base64')).toHaveLength(len);
      expect(Buffer.from(keys.serverKey, 'base64')).toHaveLength(len);
    }
  });

  it('uses a fresh random salt per hash and per derivation', async () => {
    const [a, b] = await Promise.all([deriveCredentials('pencil'), deriveCredentials('pencil')]);
    const salts = new Set([a['SHA-1'].salt, a['SHA-256'].salt, b['SHA-1'].salt, b['SHA-256'].salt]);
    expect(salts.size).toBe(4);
    expect(a['SHA-256'].storedKey).not.toBe(b['SHA-256'].storedKey);
  });

  it('honours the iteration count', async () => {
    const creds = await deriveCredentials('pencil', 10000);
    expect([creds['SHA-1'].iterations, creds['SHA-256'].iterations]).toEqual([10000, 10000]);
  });

  it('rejects a nonsensical iteration count', async () => {
    await expect(deriveCredentials('pencil', 0)).rejects.toThrow(RangeError);
    await expect(deriveCredentials('pencil', 1.5)).rejects.toThrow(RangeError);
  });

  it('derives asynchronously, leaving the event loop free', async () => {
    let ticked = false;
    const pending = deriveCredentials('pencil', 200_000);
    setImmediate(() => { ticked = true; });
    await pending;
    expect(ticked).toBe(true);
  });

  it('computes StoredKey = H(HMAC(Hi(password), "Client Key")) and ServerKey = HMAC(Hi(password), "Server Key")', async () => {
    const salt = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
    const keys = await deriveScramKeys('pencil', 'SHA-256', salt, 4096);
    const salted = pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    expect(keys).toEqual({
      salt: 'QSXCR+Q6sek8bf92',
      iterations: 4096,
      storedKey: createHash('sha256').update(clientKey).digest('base64'),
      serverKey: createHmac('sha256', salted).update('Server Key').digest('base64'),
    });
  });

  for (const [what, password] of [
    ['a control character', 'pass\u0007word'],
    ['a private-use character', 'pass\uE000word'],
    ['mixed right-to-left and left-to-right text', '\u0627\u0031'],
    ['only characters mapped to nothing', '\u00AD\u00AD'],
    ['the empty string', ''],
  ] as const) {
    it(`rejects a password with ${what} as malformed-request`, async () => {
      const rejection = deriveCredentials(password);
      await expect(rejection).rejects.toBeInstanceOf(SaslError);
      await expect(rejection).rejects.toMatchObject({ condition: 'malformed-request' });
    });
  }
});

describe('saslprep', () => {
  it('follows the RFC 4013 §3 examples', () => {
    expect(saslprep('I\u00ADX')).toBe('IX');
    expect(saslprep('user')).toBe('user');
    expect(saslprep('USER')).toBe('USER');
    expect(saslprep('\u00AA')).toBe('a');
    expect(saslprep('\u2168')).toBe('IX');
    expect(() => saslprep('\u0007')).toThrow(SaslError);
    expect(() => saslprep('\u0627\u0031')).toThrow(SaslError);
  });

  it('maps non-ASCII spaces to SPACE and normalises with NFKC', () => {
    expect(saslprep('a\u00A0b')).toBe('a b');
    expect(saslprep('e\u0301')).toBe('\u00E9');
  });
});

describe('verifyPassword', async () => {
  const creds = await deriveCredentials('I\u00ADX pencil');

  it('accepts the password for either hash', async () => {
    await expect(verifyPassword('IX pencil', creds['SHA-256'], 'SHA-256')).resolves.toBe(true);
    await expect(verifyPassword('I\u00ADX pencil', creds['SHA-1'], 'SHA-1')).resolves.toBe(true);
  });

  it('rejects a wrong password', async () => {
    await expect(verifyPassword('IX pencils', creds['SHA-256'], 'SHA-256')).resolves.toBe(false);
    await expect(verifyPassword('ix pencil', creds['SHA-1'], 'SHA-1')).resolves.toBe(false);
  });

  it('rejects keys checked with the wrong hash', async () => {
    await expect(verifyPassword('IX pencil', creds['SHA-1'], 'SHA-256')).resolves.toBe(false);
  });

  it('returns false instead of throwing for prohibited passwords and corrupt keys', async () => {
    await expect(verifyPassword('\u0007', creds['SHA-256'], 'SHA-256')).resolves.toBe(false);
    const corrupt: ScramKeys[] = [
      { ...creds['SHA-256'], salt: 'not base64!' },
      { ...creds['SHA-256'], storedKey: '' },
      { ...creds['SHA-256'], iterations: -1 },
      { ...creds['SHA-256'], iterations: Number.NaN },
    ];
    for (const keys of corrupt) await expect(verifyPassword('IX pencil', keys, 'SHA-256')).resolves.toBe(false);
  });
});

describe('SaslError', () => {
  it('renders as an RFC 6120 <failure/> element', () => {
    expect(new SaslError('not-authorized').toElement().toString())
      .toBe('<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized/></failure>');
    expect(new SaslError('malformed-request', 'Nonce mismatch').toElement().toString())
      .toBe('<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><malformed-request/><text>Nonce mismatch</text></failure>');
  });

  it('carries the condition in its message', () => {
    expect(new SaslError('invalid-authzid', 'x').message).toBe('invalid-authzid: x');
    expect(new SaslError('aborted').message).toBe('aborted');
  });
});

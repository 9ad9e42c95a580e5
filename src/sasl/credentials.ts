// SCRAM credentials (RFC 5802 §3): the only thing ever stored for an account is
// salt, iteration count, StoredKey and ServerKey per hash. The password itself, and
// SaltedPassword/ClientKey (either of which is enough to authenticate), are never kept.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import saslprepLib from '@mongodb-js/saslprep';
import type { ScramHash, ScramKeys, StoredCredentials } from '../state/accounts.js';
import { SaslError } from './errors.js';

// The stored shape belongs to the accounts port; the mechanisms and their callers name it here too.
export type { ScramHash, ScramKeys, StoredCredentials };

export const SCRAM_HASHES: readonly ScramHash[] = ['SHA-1', 'SHA-256'];
export const DEFAULT_ITERATIONS = 4096;
export const SALT_BYTES = 16;
/** Refuse absurd stored/requested counts (a corrupted record must not pin a CPU for minutes). */
export const MAX_ITERATIONS = 10_000_000;

const pbkdf2Async = promisify(pbkdf2);

/** node:crypto digest name and output length of each SCRAM hash. */
export const HASH_INFO: Record<ScramHash, { digest: 'sha1' | 'sha256'; length: number }> = {
  'SHA-1': { digest: 'sha1', length: 20 },
  'SHA-256': { digest: 'sha256', length: 32 },
};

/**
 * RFC 4013 SASLprep, treating the string as a query (unassigned code points allowed,
 * as the bundled tables are Unicode 3.2). Throws SaslError('malformed-request') on
 * prohibited output, bidi violations or an empty result.
 */
export function saslprep(input: string): string {
  let out: string;
  try {
    out = saslprepLib(input, { allowUnassigned: true });
  } catch {
    throw new SaslError('malformed-request', 'String rejected by SASLprep');
  }
  if (out.length === 0) throw new SaslError('malformed-request', 'Empty string after SASLprep');
  return out;
}

export function hmac(hash: ScramHash, key: Buffer, data: string | Buffer): Buffer {
  return createHmac(HASH_INFO[hash].digest, key).update(data).digest();
}

export function digest(hash: ScramHash, data: Buffer): Buffer {
  return createHash(HASH_INFO[hash].digest).update(data).digest();
}

/** Hi() of RFC 5802 §2.2, off the event loop thread. */
export function saltedPassword(preparedPassword: string, salt: Buffer, iterations: number, hash: ScramHash): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(preparedPassword, 'utf8'), salt, iterations, HASH_INFO[hash].length, HASH_INFO[hash].digest);
}

function keysFromSalted(salted: Buffer, salt: Buffer, iterations: number, hash: ScramHash): ScramKeys {
  const clientKey = hmac(hash, salted, 'Client Key');
  return {
    salt: salt.toString('base64'),
    iterations,
    storedKey: digest(hash, clientKey).toString('base64'),
    serverKey: hmac(hash, salted, 'Server Key').toString('base64'),
  };
}

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be an integer in 1..${MAX_ITERATIONS}`);
  }
}

/**
 * Keys for one hash with a given salt (for tests reproducing RFC vectors, and for
 * importing accounts). The password is SASLprepped here.
 */
export async function deriveScramKeys(password: string, hash: ScramHash, salt: Buffer, iterations: number = DEFAULT_ITERATIONS): Promise<ScramKeys> {
  checkIterations(iterations);
  const prepared = saslprep(password);
  return keysFromSalted(await saltedPassword(prepared, salt, iterations, hash), salt, iterations, hash);
}

/** SASLprep the password (throws SaslError('malformed-request') if prohibited), random 16-byte salt per hash. */
export async function deriveCredentials(password: string, iterations: number = DEFAULT_ITERATIONS): Promise<StoredCredentials> {
  checkIterations(iterations);
  const prepared = saslprep(password);
  const [sha1, sha256] = await Promise.all(SCRAM_HASHES.map(async (hash) => {
    const salt = randomBytes(SALT_BYTES);
    return keysFromSalted(await saltedPassword(prepared, salt, iterations, hash), salt, iterations, hash);
  }));
  return { 'SHA-1': sha1!, 'SHA-256': sha256! };
}

/** Strict RFC 4648 base64 (Buffer.from(…, 'base64') silently skips garbage). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export function decodeBase64Strict(s: string): Buffer | undefined {
  return BASE64.test(s) ? Buffer.from(s, 'base64') : undefined;
}

/** Equal-length constant-time comparison; different lengths compare a dummy so timing stays flat. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/**
 * Constant-time check of a plaintext password against stored keys (used by PLAIN).
 * Returns false (never throws) for passwords SASLprep rejects or unusable stored keys.
 */
export async function verifyPassword(password: string, keys: ScramKeys, hash: ScramHash): Promise<boolean> {
  let prepared: string;
  try {
    prepared = saslprep(password);
  } catch {
    return false;
  }
  const salt = decodeBase64Strict(keys.salt);
  const stored = decodeBase64Strict(keys.storedKey);
  if (!salt || !stored || !Number.isSafeInteger(keys.iterations) || keys.iterations < 1 || keys.iterations > MAX_ITERATIONS) {
    return false;
  }
  const salted = await saltedPassword(prepared, salt, keys.iterations, hash);
  const candidate = digest(hash, hmac(hash, salted, 'Client Key'));
  return constantTimeEqual(candidate, stored);
}

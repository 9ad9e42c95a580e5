// Random identifiers (session and stream ids) from a pooled buffer: one randomFillSync per few
// hundred ids instead of a randomBytes call (about 5 µs) for each. The bytes are the same CSPRNG's.
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let offset = pool.length;

/** `bytes` random bytes as base64url (or base64). */
export function randomId(bytes: number, encoding: 'base64url' | 'base64' = 'base64url'): string {
  if (offset + bytes > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString(encoding, offset, offset + bytes);
  offset += bytes;
  return id;
}

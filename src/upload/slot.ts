// An upload slot (XEP-0363 §4): what a client may PUT, signed so that any node of the cluster can
// check it without shared state. The token travels in the PUT's Authorization header; the GET URL
// is a capability (its random slot id) and needs none.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Slot {
  /** 128 random bits, base64url: the file's name in the store and the unguessable part of its URL. */
  id: string;
  /** The file name as the client gave it (sanitised). */
  name: string;
  size: number;
  /** The content type the client announced ('' when none). */
  type: string;
  /** The uploader's bare JID (for logs). */
  owner: string;
  /** Milliseconds since the epoch after which the PUT is refused. */
  expires: number;
}

/** How long a slot may wait for its PUT (Prosody: 5 minutes too). */
export const SLOT_LIFETIME_MS = 5 * 60 * 1000;

export function newSlotId(): string {
  return randomBytes(16).toString('base64url');
}

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload).digest();
}

export function signSlot(secret: Buffer, slot: Slot): string {
  const payload = Buffer.from(JSON.stringify(slot)).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** The slot a token names, if its signature holds and it has not expired. */
export function verifySlot(secret: Buffer, token: string, now = Date.now()): Slot | undefined {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return undefined;
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let slot: Slot;
  try {
    slot = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Slot;
  } catch {
    return undefined;
  }
  if (typeof slot.id !== 'string' || typeof slot.name !== 'string' || typeof slot.size !== 'number' || typeof slot.expires !== 'number') return undefined;
  return slot.expires >= now ? slot : undefined;
}

const UNSAFE = /[\u0000-\u001f\u007f/\\]/g;

/**
 * A file name fit for a URL path segment and a Content-Disposition header: no path separators or
 * control characters, at most 255 UTF-8 bytes; undefined when nothing is left of it.
 */
export function safeFileName(name: string): string | undefined {
  let cleaned = name.replace(UNSAFE, '_').trim();
  if (cleaned === '' || cleaned === '.' || cleaned === '..') return undefined;
  while (Buffer.byteLength(cleaned, 'utf8') > 255) cleaned = cleaned.slice(0, -1);
  return cleaned;
}

// XEP-0185 dialback keys: HMAC-SHA256 keyed by the hex SHA-256 of a secret every node shares, over
// "receiving originating stream-id". Any node can therefore answer a <db:verify/> for a key
// another node sent (XEP-0220 §2.1.2).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function dialbackKey(secret: Buffer, receiving: string, originating: string, streamId: string): string {
  const key = createHash('sha256').update(secret).digest('hex');
  return createHmac('sha256', key).update(`${receiving} ${originating} ${streamId}`).digest('hex');
}

export function keyMatches(secret: Buffer, receiving: string, originating: string, streamId: string, key: string): boolean {
  const expected = Buffer.from(dialbackKey(secret, receiving, originating, streamId));
  const given = Buffer.from(key.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// MULTI/EXEC replies as plain values.
import type { ChainableCommander } from 'ioredis';
import { RedisStateError } from './errors.js';

/** Runs the transaction; returns each command's reply, or throws the first command error. */
export async function execMulti(multi: ChainableCommander): Promise<unknown[]> {
  const replies = await multi.exec();
  if (!replies) throw new RedisStateError('ROOKERY_REDIS_SCRIPT', 'A MULTI transaction was aborted');
  return replies.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** An HGETALL reply: ioredis turns the RESP2 array into an object. */
export function asHash(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [field, item] of Object.entries(value)) if (typeof item === 'string') out[field] = item;
  return out;
}

/** A counter or version stored as a string; absent = 0. */
export function asCount(value: unknown): number {
  const n = typeof value === 'string' ? Number.parseInt(value, 10) : typeof value === 'number' ? value : 0;
  return Number.isSafeInteger(n) ? n : 0;
}

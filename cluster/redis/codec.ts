// The JSON forms of stored values (schema v1), and their checked decoding.
import type { ScramKeys, StoredCredentials } from '../../src/state/accounts.js';
import type { StoredMessage } from '../../src/state/offline.js';
import type { SessionRecord } from '../../src/state/sessions.js';
import { RedisStateError } from './errors.js';

export const RECORD_VERSION = 1;

// ── credentials: account hash fields "SHA-1" / "SHA-256", each a JSON ScramKeys ──

export function encodeScramKeys(keys: ScramKeys): string {
  return JSON.stringify({ salt: keys.salt, iterations: keys.iterations, storedKey: keys.storedKey, serverKey: keys.serverKey });
}

/** The credentials of an account hash (HGETALL), or undefined when the hash is empty. */
export function decodeAccount(fields: Record<string, string>, where: string): StoredCredentials | undefined {
  if (Object.keys(fields).length === 0) return undefined;
  if (fields.v !== String(RECORD_VERSION)) throw corrupt(where, `unknown account record version ${JSON.stringify(fields.v)}`);
  return { 'SHA-1': decodeScramKeys(fields['SHA-1'], where), 'SHA-256': decodeScramKeys(fields['SHA-256'], where) };
}

function decodeScramKeys(text: string | undefined, where: string): ScramKeys {
  const value = parse(text, where);
  if (
    !isObject(value) ||
    typeof value.salt !== 'string' ||
    typeof value.iterations !== 'number' ||
    typeof value.storedKey !== 'string' ||
    typeof value.serverKey !== 'string'
  ) {
    throw corrupt(where, 'malformed SCRAM keys');
  }
  return { salt: value.salt, iterations: value.iterations, storedKey: value.storedKey, serverKey: value.serverKey };
}

// ── session records: JSON SessionRecord plus "v" ──

export function encodeSession(record: SessionRecord): string {
  return JSON.stringify({
    v: RECORD_VERSION,
    full_jid: record.full_jid,
    node: record.node,
    session_id: record.session_id,
    priority: record.priority,
    ...(record.presence !== undefined ? { presence: record.presence } : {}),
    interested: record.interested,
    carbons: record.carbons,
    blocklist_interested: record.blocklist_interested,
    ...(record.sm_token !== undefined ? { sm_token: record.sm_token } : {}),
  });
}

export function decodeSession(text: string, where: string): SessionRecord {
  const value = parse(text, where);
  if (
    !isObject(value) ||
    value.v !== RECORD_VERSION ||
    typeof value.full_jid !== 'string' ||
    typeof value.node !== 'string' ||
    typeof value.session_id !== 'string' ||
    typeof value.priority !== 'number' ||
    (value.presence !== undefined && typeof value.presence !== 'string') ||
    typeof value.interested !== 'boolean' ||
    typeof value.carbons !== 'boolean' ||
    typeof value.blocklist_interested !== 'boolean' ||
    (value.sm_token !== undefined && typeof value.sm_token !== 'string')
  ) {
    throw corrupt(where, 'malformed session record');
  }
  return {
    full_jid: value.full_jid,
    node: value.node,
    session_id: value.session_id,
    priority: value.priority,
    ...(typeof value.presence === 'string' ? { presence: value.presence } : {}),
    interested: value.interested,
    carbons: value.carbons,
    blocklist_interested: value.blocklist_interested,
    ...(typeof value.sm_token === 'string' ? { sm_token: value.sm_token } : {}),
  };
}

/** A member of a node's session index: one bind of one full JID. */
export function encodeIndexMember(fullJid: string, sessionId: string): string {
  return JSON.stringify([fullJid, sessionId]);
}

export function decodeIndexMember(text: string): { fullJid: string; sessionId: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string') return undefined;
  return { fullJid: value[0], sessionId: value[1] };
}

// ── offline messages: JSON {"v":1,"xml":…,"stamp":…} ──

export function encodeMessage(message: StoredMessage): string {
  return JSON.stringify({ v: RECORD_VERSION, xml: message.xml, stamp: message.stamp, ...(message.id === undefined ? {} : { id: message.id }) });
}

export function decodeMessage(text: string, where: string): StoredMessage {
  const value = parse(text, where);
  if (!isObject(value) || value.v !== RECORD_VERSION || typeof value.xml !== 'string' || typeof value.stamp !== 'number') {
    throw corrupt(where, 'malformed offline message');
  }
  return { xml: value.xml, stamp: value.stamp, ...(typeof value.id === 'string' ? { id: value.id } : {}) };
}

// ── helpers ──

function parse(text: string | undefined, where: string): unknown {
  if (text === undefined) throw corrupt(where, 'missing field');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw corrupt(where, 'invalid JSON', error);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function corrupt(where: string, what: string, cause?: unknown): RedisStateError {
  return new RedisStateError('ROOKERY_REDIS_CORRUPT', `Cannot decode ${where}: ${what}`, cause === undefined ? undefined : { cause });
}

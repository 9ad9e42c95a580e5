// Shared fixtures of the contract suites.
import { afterAll, beforeAll } from 'vitest';
import type { StoredCredentials } from '../../src/state/accounts.js';
import type { StateBackend } from '../../src/state/backend.js';
import type { RosterItem } from '../../src/state/roster.js';
import type { SessionRecord } from '../../src/state/sessions.js';

export type BackendFactory = () => Promise<StateBackend>;

/**
 * One backend for the enclosing describe block, opened in beforeAll and closed in afterAll.
 * Returns a getter (the backend does not exist while tests are being collected).
 */
export function useBackend(makeBackend: BackendFactory): () => StateBackend {
  let backend: StateBackend | undefined;
  beforeAll(async () => {
    backend = await makeBackend();
  });
  afterAll(async () => {
    await backend?.close();
  });
  return () => {
    if (!backend) throw new Error('the backend is opened in beforeAll');
    return backend;
  };
}

let sequence = 0;
const run = Math.random().toString(36).slice(2, 8);

/** A name no other test uses: `<label>-<run>-<n>`. */
export function unique(label: string): string {
  sequence += 1;
  return `${label}-${run}-${sequence}`;
}

/** A fresh bare JID. */
export function freshUser(label = 'user'): string {
  return `${unique(label)}@example.com`;
}

export function credentialsFor(seed: string): StoredCredentials {
  return {
    'SHA-1': { salt: `salt1-${seed}`, iterations: 4096, storedKey: `stored1-${seed}`, serverKey: `server1-${seed}` },
    'SHA-256': { salt: `salt256-${seed}`, iterations: 8192, storedKey: `stored256-${seed}`, serverKey: `server256-${seed}` },
  };
}

export function rosterItem(jid: string, overrides: Partial<RosterItem> = {}): RosterItem {
  return { jid, groups: [], subscription: 'none', ask: false, approved: false, ...overrides };
}

export function sessionRecord(fullJid: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    full_jid: fullJid,
    node: 'node-a',
    session_id: unique('session'),
    priority: 0,
    interested: false,
    carbons: false,
    blocklist_interested: false,
    ...overrides,
  };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

export function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}

/** Bare JIDs whose localparts hold characters that matter to key layouts. */
export function awkwardUsers(): string[] {
  const tag = unique('awkward');
  return [
    `a:b-${tag}@example.com`,
    `a%3Ab-${tag}@example.com`,
    `{a}-${tag}@example.com`,
    `%7Ba%7D-${tag}@example.com`,
    `a}-${tag}@example.com`,
    `{-${tag}@example.com`,
    `}{-${tag}@example.com`,
    `%-${tag}@example.com`,
    `%25-${tag}@example.com`,
    `a*b?[c]\\-${tag}@example.com`,
    `jürgen-${tag}@bücher.example`,
    `日本語-${tag}@例え.jp`,
    `emoji-🐦-${tag}@example.com`,
    `${tag}@example.com:5222`,
  ];
}

// instrumentBackend: every store call timed and its failures counted, without the store
// knowing — and without changing what the store does.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { instrumentBackend } from '../../metrics/store.js';
import { deriveCredentials } from '../../src/sasl/credentials.js';
import type { StateBackend } from '../../src/state/backend.js';
import { withNodeCaches } from '../../src/state/cached/index.js';
import type { ChangeFeed } from '../../src/state/changes.js';
import { createMemoryBackend } from '../../src/state/memory/index.js';
import type { SessionRecord } from '../../src/state/sessions.js';
import { parseExposition, type Scrape, valueOf } from './support.js';

async function read(registry: Registry): Promise<Scrape> {
  return { status: 200, contentType: registry.contentType, ...parseExposition(await registry.metrics()) };
}

const calls = (scrape: Scrape, port: string, method: string): number =>
  valueOf(scrape, 'rookery_store_call_duration_seconds_count', { port, method });
const errors = (scrape: Scrape, port: string, method: string): number => valueOf(scrape, 'rookery_store_errors_total', { port, method });

const record = (fullJid: string, node = 'n1'): SessionRecord => ({
  full_jid: fullJid,
  node,
  session_id: `s-${fullJid}`,
  priority: 0,
  interested: false,
  carbons: false,
  blocklist_interested: false,
});

/** A backend whose ports are given by the test (the others are the memory store's). */
function backendWith(ports: Partial<Record<keyof StateBackend, unknown>>): StateBackend {
  return { ...createMemoryBackend(), ...ports } as StateBackend;
}

const silentFeed: ChangeFeed = { async publish() {}, subscribe() {}, async close() {} };

describe('instrumentBackend', () => {
  it('times each call of the memory store, labelled by port and method, and answers as the store does', async () => {
    const registry = new Registry();
    const state = instrumentBackend(createMemoryBackend(), registry);
    expect(await state.accounts.create('alice@localhost', await deriveCredentials('pw', 4096))).toBe(true);
    expect(await state.accounts.exists('alice@localhost')).toBe(true);
    expect(await state.accounts.exists('bob@localhost')).toBe(false);
    expect((await state.rosters.load('alice@localhost')).version).toBe(0);
    const scrape = await read(registry);
    expect(calls(scrape, 'accounts', 'create')).toBe(1);
    expect(calls(scrape, 'accounts', 'exists')).toBe(2);
    expect(calls(scrape, 'rosters', 'load')).toBe(1);
    expect(valueOf(scrape, 'rookery_store_call_duration_seconds_bucket', { port: 'accounts', method: 'exists', le: '+Inf' })).toBe(2);
    expect(errors(scrape, 'accounts', 'create')).toBe(0);
  });

  it('instruments every object-valued property as a port, one added after this wrapper was written included', async () => {
    const registry = new Registry();
    const extended = { ...createMemoryBackend(), journal: { async append(): Promise<number> { return 7; } } };
    const state = instrumentBackend(extended, registry) as typeof extended;
    expect(await state.journal.append()).toBe(7);
    expect(calls(await read(registry), 'journal', 'append')).toBe(1);
  });

  it('runs methods on the port itself, so private fields and `this` keep working', async () => {
    class Accounts {
      #secret = 'kept';
      async credentials(): Promise<string> {
        return this.#secret;
      }
      get self(): Accounts {
        return this;
      }
    }
    const accounts = new Accounts();
    const state = instrumentBackend(backendWith({ accounts }), new Registry());
    const wrapped = state.accounts as unknown as Accounts;
    expect(await wrapped.credentials()).toBe('kept');
    const detached = wrapped.credentials;
    expect(await detached()).toBe('kept');
    expect(wrapped.self).toBe(accounts);
  });

  it('counts a rejected call as an error of its port and method, and still times it', async () => {
    const registry = new Registry();
    const offline = { async count(): Promise<number> { throw new Error('Redis is gone'); } };
    const state = instrumentBackend(backendWith({ offline }), registry);
    await expect(state.offline.count('alice@localhost')).rejects.toThrow('Redis is gone');
    const scrape = await read(registry);
    expect(errors(scrape, 'offline', 'count')).toBe(1);
    expect(calls(scrape, 'offline', 'count')).toBe(1);
  });

  it('counts a call that throws synchronously as an error', async () => {
    const registry = new Registry();
    const blocklists = { get(): Promise<string[]> { throw new TypeError('bad argument'); } };
    const state = instrumentBackend(backendWith({ blocklists }), registry);
    expect(() => state.blocklists.get('alice@localhost')).toThrow('bad argument');
    expect(errors(await read(registry), 'blocklists', 'get')).toBe(1);
  });

  it('leaves async iterables untimed, iterable again when they were, and counts an iteration that fails', async () => {
    const registry = new Registry();
    const memory = createMemoryBackend();
    await memory.registry.claim(record('alice@localhost/a'));
    await memory.registry.claim(record('bob@localhost/b', 'n2'));
    const state = instrumentBackend(memory, registry);
    const all: string[] = [];
    for await (const entry of state.registry.all()) all.push(entry.full_jid);
    expect(all.sort()).toEqual(['alice@localhost/a', 'bob@localhost/b']);
    const onN2: string[] = [];
    for await (const entry of state.registry.byNode('n2')) onN2.push(entry.full_jid);
    expect(onN2).toEqual(['bob@localhost/b']);

    const reiterable = {
      list(): AsyncIterable<string> {
        return {
          async *[Symbol.asyncIterator]() {
            yield 'alice@localhost';
            yield 'bob@localhost';
          },
        };
      },
    };
    const listed = instrumentBackend(backendWith({ accounts: reiterable }), registry).accounts.list();
    const rounds: string[][] = [];
    for (let round = 0; round < 2; round++) {
      const users: string[] = [];
      for await (const user of listed) users.push(user);
      rounds.push(users);
    }
    expect(rounds).toEqual([['alice@localhost', 'bob@localhost'], ['alice@localhost', 'bob@localhost']]);

    const failing = {
      async *list(): AsyncIterable<string> {
        yield 'alice@localhost';
        throw new Error('SCAN failed');
      },
    };
    const broken = instrumentBackend(backendWith({ accounts: failing }), registry);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const user of broken.accounts.list()) seen.push(user);
      })(),
    ).rejects.toThrow('SCAN failed');
    expect(seen).toEqual(['alice@localhost']);
    const scrape = await read(registry);
    expect(calls(scrape, 'sessions', 'all')).toBe(0);
    expect(errors(scrape, 'sessions', 'all')).toBe(0);
    expect(errors(scrape, 'accounts', 'list')).toBe(1);
  });

  it('keeps optional methods optional: invalidate is there only where the port has it', async () => {
    const bare = instrumentBackend(createMemoryBackend(), new Registry());
    expect('invalidate' in bare.registry).toBe(false);
    expect(bare.registry.invalidate).toBeUndefined();
    expect(() => bare.registry.invalidate?.('alice@localhost')).not.toThrow();

    const memory = createMemoryBackend();
    const cached = withNodeCaches(memory, silentFeed);
    const state = instrumentBackend(cached, new Registry());
    await state.registry.claim(record('alice@localhost/a'));
    expect(await state.registry.resources('alice@localhost')).toHaveLength(1);
    await memory.registry.release('alice@localhost/a', 's-alice@localhost/a');
    expect(typeof state.registry.invalidate).toBe('function');
    state.registry.invalidate?.('alice@localhost');
    expect(await state.registry.resources('alice@localhost')).toEqual([]);
  });

  it('passes the backend kind and close through, and survives being spread by the node caches', async () => {
    const registry = new Registry();
    const memory = createMemoryBackend();
    let closed = 0;
    const state = instrumentBackend({ ...memory, close: async () => void (closed += 1) }, registry);
    expect(state.kind).toBe('memory');
    const cached = withNodeCaches(state, silentFeed);
    expect(await cached.accounts.count()).toBe(0);
    expect(await cached.offline.count('alice@localhost')).toBe(0);
    await cached.close();
    expect(closed).toBe(1);
    const scrape = await read(registry);
    expect(calls(scrape, 'accounts', 'count')).toBe(1);
    expect(calls(scrape, 'offline', 'count')).toBe(1);
  });

  it('shares one definition of the store metrics between two backends on one registry', async () => {
    const registry = new Registry();
    const one = instrumentBackend(createMemoryBackend(), registry);
    const two = instrumentBackend(createMemoryBackend(), registry);
    await one.accounts.count();
    await two.accounts.count();
    expect(calls(await read(registry), 'accounts', 'count')).toBe(2);
  });
});

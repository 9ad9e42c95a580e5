// The cached session registry (src/state/cached/sessions.ts): how stale a read may be, and what
// { fresh: true } changes.
import { describe, expect, it } from 'vitest';
import type { ChangeFeed, ChangeListener } from '../../src/state/changes.js';
import { CachedSessionRegistry } from '../../src/state/cached/sessions.js';
import { MemorySessionRegistry } from '../../src/state/memory/sessions.js';
import type { SessionRecord } from '../../src/state/sessions.js';

/** A feed whose notices reach no one: another node's writes stay unseen, as when a notice is lost. */
const silentFeed: ChangeFeed = {
  async publish() {},
  subscribe(_listener: ChangeListener) {},
  async close() {},
};

const record = (fullJid: string, sessionId: string, node = 'n1'): SessionRecord => ({
  full_jid: fullJid,
  node,
  session_id: sessionId,
  priority: 0,
  interested: false,
  carbons: false,
  blocklist_interested: false,
});

describe('the cached session registry', () => {
  it('sees its own writes at once', async () => {
    const cached = new CachedSessionRegistry(new MemorySessionRegistry(), silentFeed);
    await expect(cached.get('alice@localhost/desk')).resolves.toBeUndefined();
    await cached.claim(record('alice@localhost/desk', 's1'));
    await expect(cached.get('alice@localhost/desk')).resolves.toMatchObject({ session_id: 's1' });
  });

  it('may miss another node’s write until a notice arrives, but a fresh read sees it', async () => {
    const shared = new MemorySessionRegistry();
    const cached = new CachedSessionRegistry(shared, silentFeed);
    await cached.claim(record('alice@localhost/desk', 's1'));
    await expect(cached.get('alice@localhost/desk')).resolves.toMatchObject({ node: 'n1' }); // now cached
    // Another node parks the record; its notice never reaches this node.
    await shared.claim(record('alice@localhost/desk', 's1', '~parked'));
    await expect(cached.get('alice@localhost/desk')).resolves.toMatchObject({ node: 'n1' });
    await expect(cached.get('alice@localhost/desk', { fresh: true })).resolves.toMatchObject({ node: '~parked' });
    // The fresh read refreshed the cache for the plain reads that follow.
    await expect(cached.resources('alice@localhost')).resolves.toMatchObject([{ node: '~parked' }]);
  });

  it('reads every resource of an account fresh on request', async () => {
    const shared = new MemorySessionRegistry();
    const cached = new CachedSessionRegistry(shared, silentFeed);
    await expect(cached.resources('bob@localhost')).resolves.toStrictEqual([]);
    await shared.claim(record('bob@localhost/phone', 's2', 'n2'));
    await expect(cached.resources('bob@localhost')).resolves.toStrictEqual([]);
    await expect(cached.resources('bob@localhost', { fresh: true })).resolves.toMatchObject([{ full_jid: 'bob@localhost/phone' }]);
  });

  it('peeks at what it holds without reading: nothing before the first read, the records after, nothing once a notice drops them', async () => {
    const shared = new MemorySessionRegistry();
    const cached = new CachedSessionRegistry(shared, silentFeed);
    await shared.claim(record('carol@localhost/pc', 's3', 'n2'));
    expect(cached.peek('carol@localhost')).toBeUndefined();
    await cached.resources('carol@localhost');
    expect(cached.peek('carol@localhost')).toMatchObject([{ full_jid: 'carol@localhost/pc', node: 'n2' }]);
    cached.invalidate('carol@localhost');
    expect(cached.peek('carol@localhost')).toBeUndefined();
  });
});

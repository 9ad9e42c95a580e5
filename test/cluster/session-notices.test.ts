// The session registry on one Redis publishes each change notice from the script that writes the
// record (cluster/redis/sessions.ts): once per write, never before it, in the write's round trip.
// The node cache in front of it then publishes none of its own.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisChangeFeed } from '../../cluster/redis/changes.js';
import { createRedisClient, type RedisClient } from '../../cluster/redis/connection.js';
import { KeyBuilder } from '../../cluster/redis/keys.js';
import { loadScripts } from '../../cluster/redis/scripts.js';
import { RedisSessionRegistry } from '../../cluster/redis/sessions.js';
import { CachedSessionRegistry } from '../../src/state/cached/sessions.js';
import type { ChangeFeed, ChangeKind } from '../../src/state/changes.js';
import type { SessionRecord } from '../../src/state/sessions.js';
import { redisServerAvailable, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

const record = (fullJid: string, sessionId: string): SessionRecord => ({
  full_jid: fullJid, node: 'n1', session_id: sessionId, priority: 0, interested: false, carbons: false, blocklist_interested: false,
});

describe.skipIf(!redisServerAvailable())('session change notices on one Redis', () => {
  let server: RedisServerHandle | undefined;
  const clients: RedisClient[] = [];
  const feeds: RedisChangeFeed[] = [];
  const keys = new KeyBuilder(`rknotice${randomBytes(3).toString('hex')}`);

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const feed of feeds) await feed.close();
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  async function client(): Promise<RedisClient> {
    if (!server) throw new Error('the server is started in beforeAll');
    const made = createRedisClient(server.url);
    clients.push(made);
    if (made.status !== 'ready') await new Promise<void>((resolve) => made.once('ready', () => resolve()));
    return made;
  }

  async function feed(on: RedisClient): Promise<RedisChangeFeed> {
    const made = new RedisChangeFeed(on, keys);
    feeds.push(made);
    await made.start();
    return made;
  }

  it('publishes one notice per record write, from the script, and the cache adds none', async () => {
    const writer = await client();
    const registry = new RedisSessionRegistry(writer, keys, await loadScripts(writer));
    expect(registry.publishesChanges).toBe(true);
    const own = await feed(writer);
    const published: ChangeKind[] = [];
    const counting: ChangeFeed = {
      async publish(bare, kind) {
        published.push(kind);
        await own.publish(bare, kind);
      },
      subscribe: (listener) => own.subscribe(listener),
      close: () => own.close(),
    };
    const cached = new CachedSessionRegistry(registry, counting);
    const seen: string[] = [];
    const listener = await feed(await client());
    let marker: () => void = () => {};
    const markerSeen = new Promise<void>((resolve) => (marker = resolve));
    listener.subscribe({
      changed(bare) {
        if (bare === 'marker@localhost') marker();
        else seen.push(bare);
      },
      reset() {},
    });

    const bare = `u${randomBytes(3).toString('hex')}@localhost`;
    await cached.claim(record(`${bare}/a`, 's1'));
    await expect(cached.claimWithin(record(`${bare}/b`, 's2'), 1)).resolves.toStrictEqual({ claimed: false });
    await expect(cached.update(`${bare}/a`, 's1', { interested: true })).resolves.toBe(true);
    await expect(cached.update(`${bare}/a`, 'not-this-bind', { interested: false })).resolves.toBe(false);
    await expect(cached.release(`${bare}/a`, 's1')).resolves.toBe(true);
    // Published after the writes were answered, so it arrives after their notices.
    await own.publish('marker@localhost', 'sessions');
    await markerSeen;

    // Claim, update, release: a refused claim and a stale update write nothing and tell no one.
    expect(seen).toStrictEqual([bare, bare, bare]);
    expect(published).toStrictEqual([]);
  });

  it('publishes the notice after the write, so a node that reads on the notice sees it', async () => {
    const writer = await client();
    const registry = new RedisSessionRegistry(writer, keys, await loadScripts(writer));
    const reader = new RedisSessionRegistry(await client(), keys, await loadScripts(writer));
    const listener = await feed(await client());
    const bare = `u${randomBytes(3).toString('hex')}@localhost`;
    const read = new Promise<SessionRecord[]>((resolve) => {
      listener.subscribe({ changed: (changed) => void (changed === bare && reader.resources(bare).then(resolve)), reset() {} });
    });
    await registry.claim(record(`${bare}/a`, 's1'));
    await expect(read).resolves.toMatchObject([{ full_jid: `${bare}/a`, session_id: 's1' }]);
  });
});

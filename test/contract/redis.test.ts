// The Redis backend against every contract, on a real redis-server started for this file.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisVersion } from '../../cluster/redis/connection.js';
import { createRedisBackend, KeyBuilder, RedisStateError } from '../../cluster/redis/index.js';
import { decodeKeyPart, encodeKeyPart } from '../../cluster/redis/keys.js';
import { redisServerAvailable, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { allContracts } from './all.js';
import { awkwardUsers, credentialsFor } from './helpers.js';

/** Unique per test file run, so parallel files and earlier runs never share keys. */
const prefix = `rktest-${randomBytes(4).toString('hex')}`;

describe.skipIf(!redisServerAvailable())('redis backend', () => {
  let server: RedisServerHandle | undefined;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    if (!server) return;
    const admin = new Redis(server.url);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await admin.del(...keys);
      } while (cursor !== '0');
    } finally {
      await admin.quit();
      await server.stop();
    }
  });

  function url(): string {
    if (!server) throw new Error('the server is started in beforeAll');
    return server.url;
  }

  allContracts(() => createRedisBackend({ url: url(), prefix }));

  describe('Redis key layout', () => {
    it('puts every key of one account under the hash tag of its bare JID', () => {
      const keys = new KeyBuilder();
      const bare = 'alice@example.com';
      expect([keys.account(bare), keys.roster(bare), keys.pending(bare), keys.rosterVersion(bare), keys.sessions(bare), keys.offline(bare), keys.blocklist(bare)]).toStrictEqual([
        'rk:v1:{alice@example.com}:account',
        'rk:v1:{alice@example.com}:roster',
        'rk:v1:{alice@example.com}:pending',
        'rk:v1:{alice@example.com}:rosterver',
        'rk:v1:{alice@example.com}:sessions',
        'rk:v1:{alice@example.com}:offline',
        'rk:v1:{alice@example.com}:blocklist',
      ]);
      expect(keys.nodeSessions('node-1')).toBe('rk:v1:node:{node-1}:sessions');
      expect([keys.accountCount(), keys.sessionCount()]).toStrictEqual(['rk:v1:count:accounts', 'rk:v1:count:sessions']);
    });

    it('encodes braces, colons and percent signs so no JID can leave its hash tag or collide', () => {
      const keys = new KeyBuilder('p');
      const users = awkwardUsers();
      const built = users.map((user) => keys.account(user));
      expect(new Set(built).size).toBe(users.length);
      for (const [i, key] of built.entries()) {
        const tag = key.slice(key.indexOf('{') + 1, key.indexOf('}'));
        expect(tag).not.toMatch(/[{}:]/);
        expect(`p:v1:{${tag}}:account`).toBe(key);
        expect(keys.bareOf(key, 'account')).toBe(users[i]);
      }
      expect(encodeKeyPart('a{b}:c%d')).toBe('a%7Bb%7D%3Ac%25d');
      expect(decodeKeyPart('a%7Bb%7D%3Ac%25d')).toBe('a{b}:c%d');
    });

    it('refuses key prefixes that could open a hash tag or act as a glob', () => {
      for (const bad of ['', 'a{b', 'a}b', 'a*', 'a?', 'a[b]', 'with space']) {
        expect(() => new KeyBuilder(bad)).toThrow(RedisStateError);
      }
    });

    it('refuses an empty bare JID, whose empty hash tag would split the account across slots', () => {
      expect(() => new KeyBuilder().account('')).toThrow(RedisStateError);
    });

    it('stores an account under the documented key, with a schema version field', async () => {
      const backend = await createRedisBackend({ url: url(), prefix });
      const admin = new Redis(url());
      try {
        await backend.accounts.create('layout:{x}@example.com', credentialsFor('layout'));
        const fields = await admin.hgetall(`${prefix}:v1:{layout%3A%7Bx%7D@example.com}:account`);
        expect(fields.v).toBe('1');
        expect(JSON.parse(fields['SHA-256'] ?? 'null')).toStrictEqual(credentialsFor('layout')['SHA-256']);
      } finally {
        await admin.quit();
        await backend.close();
      }
    });
  });

  describe('Redis group chat directory', () => {
    it("lists a room as its last committed record says after two nodes changed it at once, round after round", async () => {
      const [one, two] = [await createRedisBackend({ url: url(), prefix }), await createRedisBackend({ url: url(), prefix })];
      const domain = `race-${randomBytes(3).toString('hex')}.localhost`;
      const room = `cauldron@${domain}`;
      const config = { name: '', description: '', persistent: true, public: true, membersOnly: false, password: '', moderated: false, maxOccupants: 10, whois: 'moderators' as const, historyLength: 5, allowPrivateMessages: 'anyone' as const, changeSubject: false, allowInvites: false };
      const change = (backend: typeof one, i: number) => backend.muc.transact(room, (snapshot) => ({
        change: { record: { config: { ...config, name: `n${i}`, public: i % 2 === 0 }, affiliations: snapshot?.record.affiliations ?? {}, locked: false, salt: 's', created: 1 } },
        value: undefined,
      }));
      try {
        const wrong: string[] = [];
        for (let round = 0; round < 30; round += 1) {
          await Promise.all([change(one, 4 * round), change(two, 4 * round + 1), change(one, 4 * round + 2), change(two, 4 * round + 3)]);
          const final = (await one.muc.get(room))?.record.config;
          const listedNow = (await two.muc.directory(domain, { max: 10 })).rooms;
          const expected = final?.public ? [{ jid: room, name: final.name }] : [];
          if (JSON.stringify(listedNow) !== JSON.stringify(expected)) wrong.push(`round ${round}: ${JSON.stringify(listedNow)} for ${final?.name} ${final?.public}`);
        }
        expect(wrong).toStrictEqual([]);
      } finally {
        await one.close();
        await two.close();
      }
    });
  });

  describe('Redis FAST tokens', () => {
    const token = (secret: string, issuedAt: number, ttl: number) => ({ mechanism: 'HT-SHA-256-NONE', secret, issuedAt, expiresAt: issuedAt + ttl, count: 0 });

    it('keeps a token no longer than it can be used: expired devices go at the next issue, the key expires with the last token, and deleteAll removes it', async () => {
      const backend = await createRedisBackend({ url: url(), prefix });
      const admin = new Redis(url());
      const user = 'fast-ttl@example.com';
      const key = `${prefix}:v1:{${user}}:fast`;
      try {
        const now = Date.now();
        await backend.fastTokens.issue(user, 'laptop', token('old', now - 60_000, 30_000), 5);
        await backend.fastTokens.issue(user, 'tablet', token('long', now - 1000, 3_600_000), 5);
        await backend.fastTokens.issue(user, 'phone', token('new', now, 600_000), 5);
        // The laptop's token expired 30 s ago: its secret is gone; the tablet's is the last to expire.
        await expect(admin.hkeys(key).then((keys) => keys.sort())).resolves.toStrictEqual(['phone', 'tablet']);
        const ttl = await admin.pttl(key);
        expect(ttl).toBeGreaterThan(3_500_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
        // With the tablet revoked, the next issue brings the expiry down to the phone's.
        await backend.fastTokens.revoke(user, 'tablet');
        await backend.fastTokens.issue(user, 'phone', token('newer', Date.now(), 600_000), 5);
        expect(await admin.pttl(key)).toBeLessThanOrEqual(600_000);
        await backend.fastTokens.deleteAll(user);
        await expect(admin.exists(key)).resolves.toBe(0);
      } finally {
        await admin.quit();
        await backend.close();
      }
    });
  });

  describe('Redis offline store', () => {
    it('sets an undecodable entry aside when taking the messages, and returns the valid ones', async () => {
      const backend = await createRedisBackend({ url: url(), prefix });
      const admin = new Redis(url());
      try {
        const user = 'unreadable@example.com';
        await backend.offline.store(user, { xml: '<message/>', stamp: 1 }, 10);
        await admin.rpush(`${prefix}:v1:{${user}}:offline`, '{not json');
        await backend.offline.store(user, { xml: '<message id="2"/>', stamp: 2 }, 10);
        await expect(backend.offline.takeAll(user)).resolves.toStrictEqual([
          { xml: '<message/>', stamp: 1 },
          { xml: '<message id="2"/>', stamp: 2 },
        ]);
        await expect(admin.lrange(`${prefix}:v1:{${user}}:offline-unreadable`, 0, -1)).resolves.toStrictEqual(['{not json']);
      } finally {
        await admin.quit();
        await backend.close();
      }
    });
  });

  describe('Redis connection', () => {
    it('accepts Redis 6.2 and newer', () => {
      expect(() => checkRedisVersion('# Server\r\nredis_version:6.2.0\r\n')).not.toThrow();
      expect(() => checkRedisVersion('# Server\r\nredis_version:7.4.1\r\n')).not.toThrow();
      expect(() => checkRedisVersion('redis_version:10.0.0')).not.toThrow();
    });

    it('refuses Redis older than 6.2 with a clear, coded error', () => {
      for (const old of ['redis_version:6.0.16', 'redis_version:5.0.14', 'redis_version:6.1.9']) {
        expect(() => checkRedisVersion(old)).toThrow(expect.objectContaining({ code: 'ROOKERY_REDIS_VERSION', message: expect.stringMatching(/6\.2 or newer/) }));
      }
      expect(() => checkRedisVersion('# Server\r\n')).toThrow(expect.objectContaining({ code: 'ROOKERY_REDIS_VERSION' }));
    });

    it('refuses a URL that is not redis:// or rediss://', async () => {
      await expect(createRedisBackend({ url: 'http://127.0.0.1:6379' })).rejects.toMatchObject({ code: 'ROOKERY_REDIS_URL' });
      await expect(createRedisBackend({ url: 'not a url' })).rejects.toMatchObject({ code: 'ROOKERY_REDIS_URL' });
    });

    it('reports a server that cannot be reached with a coded error', async () => {
      const closedPort = server ? server.port : 1;
      const unreachable = `redis://127.0.0.1:${closedPort === 1 ? 2 : 1}`;
      await expect(createRedisBackend({ url: unreachable })).rejects.toMatchObject({ code: 'ROOKERY_REDIS_CONNECT' });
    });
  });
});

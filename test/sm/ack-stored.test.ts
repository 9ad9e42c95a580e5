// XEP-0198 acks of a resumable stream: the server's <a h/> is written only once its count is
// stored. A client drops what an h covers; a resumption elsewhere that read a lower count (the
// node that answered did not hand over in time) would give the client's next stanza the identity
// of one already delivered, and the recipient would drop it as a copy. Redis is made to hold its
// writes (CLIENT PAUSE … WRITE) while the client asks for an ack.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { createAccount } from '../../src/core/accounts.js';
import { defaultConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningNode, startNode } from '../../src/main.js';
import type { StateBackend } from '../../src/state/backend.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { SmClient } from '../support/sm-client.js';

const PAUSE_MS = 600;

describe('the server\'s ack of a resumable stream', () => {
  let redis: RedisServerHandle;
  let node: RunningNode;
  let state: StateBackend;
  let admin: Redis;

  beforeAll(async () => {
    redis = await startRedisServer();
    node = await startNode({ ...defaultConfig(), bindAddress: '127.0.0.1', c2sPort: 0, c2sTlsPort: 0, s2sPort: 0, httpPort: 0, nodeId: 'acks', redisUrl: redis.url, redisPrefix: 'acks', allowPlaintextAuth: true }, silentLogger());
    state = await createRedisBackend({ url: redis.url, prefix: 'acks' });
    await createAccount(state, 'ada@localhost', 'pw');
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await state?.close();
    await node?.stop();
    await redis?.stop();
  });

  it('is written only once the count it reveals is stored', async () => {
    const client = await SmClient.login({ port: node.server.ports().c2s, username: 'ada', password: 'pw', resource: 'desk', plaintext: true });
    const ping = (id: string): void => client.send(`<iq type='get' id='${id}' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`);
    ping('p1');
    const before = await client.ack();
    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    const paused = Date.now();
    ping('p2');
    let storedAtAck = -1;
    const answered = new Promise<number>((resolve) => {
      client.onAck = (h) => {
        void state.resumption.get(client.bare, client.smId as string).then((record) => {
          storedAtAck = record?.inbound ?? -1;
          resolve(h);
        });
      };
    });
    client.requestAck();
    const h = await answered;
    expect(h).toBe(before + 1);
    expect(storedAtAck).toBeGreaterThanOrEqual(h);
    // It waited for Redis to take writes again.
    expect(Date.now() - paused).toBeGreaterThanOrEqual(PAUSE_MS - 50);
    await client.close();
  });
});

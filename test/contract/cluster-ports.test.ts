// The ports only a cluster has, the node bus and the change feed, against their contracts on a
// real redis-server. The in-process deployment has one node, so it has neither.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import { RedisNodeBus } from '../../cluster/redis/bus.js';
import { RedisChangeFeed } from '../../cluster/redis/changes.js';
import { createRedisClient, type RedisClient } from '../../cluster/redis/connection.js';
import { KeyBuilder } from '../../cluster/redis/keys.js';
import { redisServerAvailable, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { busContract } from './bus.contract.js';
import { changesContract } from './changes.contract.js';

describe.skipIf(!redisServerAvailable())('Redis node bus and change feed', () => {
  let server: RedisServerHandle | undefined;
  const clients: RedisClient[] = [];
  const keys = new KeyBuilder(`rkports${randomBytes(3).toString('hex')}`);

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  function client(): RedisClient {
    if (!server) throw new Error('the server is started in beforeAll');
    const made = createRedisClient(server.url);
    clients.push(made);
    return made;
  }

  async function ready(made: RedisClient): Promise<RedisClient> {
    if (made.status !== 'ready') await new Promise<void>((resolve) => made.once('ready', () => resolve()));
    return made;
  }

  busContract(async (nodeId) => new RedisNodeBus(await ready(client()), keys, nodeId));
  changesContract(async () => {
    const feed = new RedisChangeFeed(await ready(client()), keys);
    await feed.start();
    return feed;
  });
});

// A Redis Cluster master dies and its replica takes over: two Rookery nodes keep routing between
// them (stanzas for the node whose inbox lived on the dead master wait and then arrive), and
// change notices and the registry work on the promoted replica.
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeyBuilder } from '../../cluster/redis/keys.js';
import { type RawClient, xml } from '../support/client.js';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { type RedisClusterHandle, startRedisCluster } from '../support/redis-cluster.js';
import { redisServerAvailable } from '../support/redis-server.js';

describe.skipIf(!redisServerAvailable())('a Redis Cluster failover under two Rookery nodes', () => {
  let redis: RedisClusterHandle | undefined;
  let cluster: TestCluster;

  beforeAll(async () => {
    redis = await startRedisCluster({ replicas: true, nodeTimeoutMs: 1000 });
    // Every server as a seed, as a deployment names the cluster's service: whichever master dies,
    // clients that reconnect find the others.
    const seeds = redis.ports.map((port) => `127.0.0.1:${port}`).join(',');
    // The production dead-after bound (10 s) is longer than the failover (node timeout 1 s): a node
    // must not be declared dead for heartbeats the failover kept from Redis.
    cluster = await startCluster({ nodes: 2, redisUrl: `redis://${seeds}`, redisCluster: true, env: { ROOKERY_NODE_DEAD_AFTER_MS: '10000' } });
  }, 60_000);
  afterAll(async () => {
    try {
      await cluster?.stopAll();
    } finally {
      await redis?.stop();
    }
  });
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output()));
  });

  /** The port of the master serving `key`'s slot. */
  async function masterOf(key: string): Promise<number> {
    const admin = new Cluster([{ host: '127.0.0.1', port: Number(new URL(redis?.url ?? '').port) }]);
    try {
      const slot = (await admin.cluster('KEYSLOT', key)) as number;
      const ranges = await admin.cluster('SLOTS');
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      const master = range?.[2];
      if (!master) throw new Error(`no master serves slot ${slot}`);
      return master[1];
    } finally {
      admin.disconnect();
    }
  }

  it('delivers across nodes through the failover of the master holding the receiving node’s inbox', { timeout: 60_000 }, async () => {
    await cluster.createUser('alice');
    await cluster.createUser('bob');
    await cluster.createUser('carol');
    const alice = await cluster.login(0, 'alice', 'desk');
    const bob = await cluster.login(1, 'bob', 'desk');
    alice.send(`<message to='${bob.jid}' id='before'><body>before</body></message>`);
    await bob.expect(xml`<message from='${alice.jid}' id='before'/>`);

    const victim = await masterOf(new KeyBuilder(cluster.prefix).nodeInbox(cluster.node(1).id));
    await redis?.kill(victim);
    alice.send(`<message to='${bob.jid}' type='chat' id='during'><body>during the failover</body></message>`);
    await bob.expect(xml`<message from='${alice.jid}' id='during'><body>during the failover</body></message>`, 20_000);
    expect((await redis?.masters())?.length).toBe(3);

    // A login after the failover is registered and announced on the promoted replica, and routable.
    let carol: RawClient | undefined;
    await eventually('a login succeeds again', async () => {
      carol = await cluster.login(1, 'carol', 'phone').catch(() => undefined);
      return carol !== undefined;
    }, 20_000);
    const reached = carol as RawClient;
    alice.send(`<message to='${reached.jid}' type='chat' id='after'><body>after</body></message>`);
    await reached.expect(xml`<message from='${alice.jid}' id='after'/>`, 10_000);
    bob.send(`<message to='${alice.jid}' type='chat' id='back'><body>back</body></message>`);
    await alice.expect(xml`<message from='${bob.jid}' id='back'/>`, 10_000);
  });
});

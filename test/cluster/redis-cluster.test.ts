// Rookery on a real Redis Cluster (three masters): the state contracts through the Cluster
// client, then two node processes with ROOKERY_REDIS_CLUSTER=true talking to each other.
import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisBackend } from '../../cluster/redis/index.js';
import { allContracts } from '../contract/all.js';
import { type RawClient, xml } from '../support/client.js';
import { DEAD_AFTER_MS, eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { type RedisClusterHandle, startRedisCluster } from '../support/redis-cluster.js';
import { redisServerAvailable } from '../support/redis-server.js';

const NS_ROSTER = 'jabber:iq:roster';

describe.skipIf(!redisServerAvailable())('a Redis Cluster of three masters', () => {
  let redis: RedisClusterHandle | undefined;
  const prefix = `rkrc${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    redis = await startRedisCluster();
  });
  afterAll(() => redis?.stop());

  const url = (): string => {
    if (!redis) throw new Error('the Redis Cluster is started in beforeAll');
    return redis.url;
  };

  it('spreads the slots over the three masters', async () => {
    const admin = new Cluster([{ host: '127.0.0.1', port: Number(new URL(url()).port) }]);
    try {
      const slots = (await admin.cluster('SLOTS')) as Array<[number, number, ...unknown[]]>;
      const covered = slots.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
      expect(covered).toBe(16384);
      expect(admin.nodes('master')).toHaveLength(3);
    } finally {
      admin.disconnect();
    }
  });

  describe('state contracts through the Cluster client', () => {
    allContracts(() => createRedisBackend({ url: url(), prefix, cluster: true }));
  });

  describe('two Rookery nodes with ROOKERY_REDIS_CLUSTER=true', () => {
    let cluster: TestCluster;
    let n = 0;
    const user = async (name: string): Promise<string> => {
      const local = `${name}${++n}`;
      await cluster.createUser(local);
      return local;
    };
    const online = async (node: number, local: string, resource = 'desk'): Promise<RawClient> => {
      const client = await cluster.login(node, local, resource);
      await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      client.send('<presence/>');
      await client.expect(xml`<presence from='${client.jid}'/>`);
      client.clear();
      return client;
    };

    beforeAll(async () => {
      cluster = await startCluster({ nodes: 2, redisUrl: url(), redisCluster: true });
    });
    afterAll(() => cluster?.stopAll());
    beforeEach(({ onTestFailed }) => {
      onTestFailed(() => console.log(cluster.output()));
    });

    it('keeps live nodes live past the dead-after bound: their heartbeats reach the cluster', async () => {
      const alice = await online(0, await user('alice'));
      const bob = await online(1, await user('bob'));
      const since = Date.now();
      const live = new Cluster([{ host: '127.0.0.1', port: Number(new URL(url()).port) }]);
      try {
        await eventually('both nodes beat after a whole dead-after period', async () => {
          const beats = await live.zrange(`${cluster.prefix}:v1:nodes`, '0', '-1', 'WITHSCORES');
          const scores = new Map<string, number>();
          for (let i = 0; i + 1 < beats.length; i += 2) scores.set(beats[i] as string, Number(beats[i + 1]));
          return [0, 1].every((i) => (scores.get(cluster.node(i).id) ?? 0) > since + DEAD_AFTER_MS);
        }, DEAD_AFTER_MS * 4);
      } finally {
        live.disconnect();
      }
      await expect(cluster.state.registry.get(alice.jid as string)).resolves.toMatchObject({ node: cluster.node(0).id });
      await expect(cluster.state.registry.get(bob.jid as string)).resolves.toMatchObject({ node: cluster.node(1).id });
      await alice.barrier();
      await bob.barrier();
      expect([alice.streamError(), bob.streamError()]).toStrictEqual([undefined, undefined]);
    });

    it('delivers messages to full and bare JIDs across the two nodes', async () => {
      const alice = await online(0, await user('alice'));
      const bob = await online(1, await user('bob'));
      alice.send(`<message to='${bob.jid}' type='chat' id='f1'><body>full</body></message>`);
      await bob.expect(xml`<message from='${alice.jid}' to='${bob.jid}' id='f1'><body>full</body></message>`);
      bob.send(`<message to='${alice.bare}' type='chat' id='b1'><body>bare</body></message>`);
      await alice.expect(xml`<message from='${bob.jid}' to='${alice.bare}' id='b1'><body>bare</body></message>`);
    });

    it('carries the subscription handshake and presence across the two nodes', async () => {
      const alice = await online(0, await user('alice'));
      const bob = await online(1, await user('bob'));
      alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
      await bob.expect(xml`<presence from='${alice.bare}' type='subscribe'/>`);
      bob.send(`<presence to='${alice.bare}' type='subscribed'/>`);
      await alice.expect(xml`<presence from='${bob.bare}' type='subscribed'/>`);
      await alice.expect(xml`<presence from='${bob.jid}'/>`);

      bob.send('<presence><show>chat</show></presence>');
      await alice.expect(xml`<presence from='${bob.jid}'><show>chat</show></presence>`);
      await bob.close();
      await alice.expect(xml`<presence from='${bob.jid}' type='unavailable'/>`);
      await expect(cluster.state.registry.get(bob.jid as string)).resolves.toBeUndefined();
    });

    it('replaces a session bound again on the other node through the cluster’s node inboxes', async () => {
      const local = await user('carol');
      const old = await online(0, local, 'phone');
      const replacement = await cluster.login(1, local, 'phone');
      const error = await old.expect('stream:error');
      expect(error.getChild('conflict')).toBeDefined();
      const records = await cluster.state.registry.resources(`${local}@localhost`);
      expect(records.map((record) => [record.full_jid, record.node])).toStrictEqual([[replacement.jid, cluster.node(1).id]]);
    });

    it('cleans up after a node killed with -9: its contacts on the other node see its resource go unavailable', async () => {
      const alice = await online(0, await user('alice'));
      const bob = await online(1, await user('bob'));
      alice.send(`<presence to='${bob.bare}' type='subscribe'/>`);
      await bob.expect(xml`<presence from='${alice.bare}' type='subscribe'/>`);
      bob.send(`<presence to='${alice.bare}' type='subscribed'/>`);
      await alice.expect(xml`<presence from='${bob.jid}'/>`);
      const dead = bob.jid as string;
      await cluster.kill(1, 'SIGKILL');
      await alice.expect(xml`<presence from='${dead}' type='unavailable'/>`, 15_000);
      await expect(cluster.state.registry.get(dead)).resolves.toBeUndefined();
    });

    it('logged no Redis error on the surviving node', () => {
      expect(cluster.node(0).output()).not.toMatch(/"event":"redis_error"/);
    });
  });
});

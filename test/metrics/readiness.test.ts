// /readyz follows Redis: a node whose Redis stops answering is taken out of the load balancer
// (503) while /healthz and /metrics keep answering, and is ready again once Redis is back. The
// node reaches a private redis-server through a TCP forwarder, so that a fresh redis-server can
// be put behind the same address after this one is stopped.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KeyBuilder } from '../../cluster/redis/keys.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { type MetricsNode, startMetricsNode, startTcpProxy, type TcpProxy, valueOf } from './support.js';

describe('readiness of a node whose Redis stops', () => {
  let redis: RedisServerHandle;
  let replacement: RedisServerHandle | undefined;
  let proxy: TcpProxy;
  let node: MetricsNode;

  beforeAll(async () => {
    redis = await startRedisServer();
    proxy = await startTcpProxy(redis.port);
    node = await startMetricsNode({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
  });
  afterAll(async () => {
    await node?.stop();
    await proxy?.close();
    await replacement?.stop();
    await redis?.stop();
  });

  it('is ready while Redis answers and the node is registered', async () => {
    expect(await node.get('/readyz')).toMatchObject({ status: 200, text: 'ready\n' });
  });

  it('answers /readyz with 503 naming Redis once Redis is stopped, and /healthz with 200', async () => {
    await redis.stop();
    const ready = await node.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.text).toMatch(/^not ready: .*redis/);
    expect(await node.get('/healthz')).toMatchObject({ status: 200 });
  });

  it('still serves /metrics without Redis, leaving out the cluster-wide figures it cannot read', async () => {
    const scrape = await node.scrape();
    expect(scrape.status).toBe(200);
    expect(scrape.families.has('rookery_cluster_sessions')).toBe(true);
    expect(scrape.samples.filter((sample) => sample.name.startsWith('rookery_cluster_'))).toEqual([]);
    expect(valueOf(scrape, 'rookery_stanzas_routed_total', { outcome: 'dropped' })).toBe(0);
  });

  it('is ready again once a Redis answers and the heartbeat has registered the node there', async () => {
    replacement = await startRedisServer();
    proxy.retarget(replacement.port);
    await expect.poll(async () => (await node.get('/readyz')).status, { timeout: 15_000, interval: 100 }).toBe(200);
  });

  // Also what lets the node shut down: its bus reader is connected again (ioredis leaves a
  // command queued forever when a client is disconnected while it waits to reconnect).
  it('counts an envelope its inbox takes from the node bus again, with its delivery latency', async () => {
    const bus = node.node.server.host.bus;
    expect(bus).toBeDefined();
    const before = await node.scrape();
    const envelope = {
      kind: 'stanza' as const,
      id: `probe-${Date.now()}`,
      to: 'nobody@localhost/gone',
      xml: "<message xmlns='jabber:client' type='error' to='nobody@localhost/gone' from='localhost'/>",
      hops: 0,
      at: Date.now(),
    };
    await bus?.send(node.config.nodeId, envelope);
    await expect
      .poll(async () => valueOf(await node.scrape(), 'rookery_bus_envelopes_received_total') - valueOf(before, 'rookery_bus_envelopes_received_total'), { timeout: 15_000, interval: 100 })
      .toBe(1);
    const after = await node.scrape();
    expect(valueOf(after, 'rookery_cross_node_delivery_seconds_count') - valueOf(before, 'rookery_cross_node_delivery_seconds_count')).toBe(1);
    expect(valueOf(after, 'rookery_stanzas_routed_total', { outcome: 'dropped' })).toBe(0);
  });
});

describe('readiness of a node that is not registered', () => {
  let node: MetricsNode;
  let redis: Redis;

  beforeAll(async () => {
    // A heartbeat far away: nothing puts the node back in the live set during the test.
    node = await startMetricsNode({ redisUrl: inject('redisUrl'), heartbeatMs: 600_000, nodeDeadAfterMs: 1_200_000 });
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    await node?.stop();
    redis?.disconnect();
  });

  it('answers /readyz with 503 naming registration once it has left the live set, as an eviction does', async () => {
    expect((await node.get('/readyz')).status).toBe(200);
    expect(await redis.zrem(new KeyBuilder(node.config.redisPrefix).nodes(), node.config.nodeId)).toBe(1);
    const ready = await node.get('/readyz');
    expect(ready).toMatchObject({ status: 503, text: 'not ready: registered\n' });
  });
});

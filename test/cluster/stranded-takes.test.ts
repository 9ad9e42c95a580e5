// StrandedTakes: resumptions that take a dead node's inbox at the same time share scans, and each
// gets its own resource's stanzas, in order, once. On a real redis-server.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisNodeBus } from '../../cluster/redis/bus.js';
import { createRedisClient, type RedisClient } from '../../cluster/redis/connection.js';
import { KeyBuilder } from '../../cluster/redis/keys.js';
import { StrandedTakes } from '../../src/modules/smacks/stranded.js';
import type { BusEnvelope, TakenResource } from '../../src/state/bus.js';
import { redisServerAvailable, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

describe.skipIf(!redisServerAvailable())('StrandedTakes', () => {
  let server: RedisServerHandle | undefined;
  const clients: RedisClient[] = [];
  const keys = new KeyBuilder(`rkstranded${randomBytes(3).toString('hex')}`);

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  async function bus(nodeId: string): Promise<RedisNodeBus> {
    if (!server) throw new Error('the server is started in beforeAll');
    const client = createRedisClient(server.url);
    clients.push(client);
    if (client.status !== 'ready') await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    return new RedisNodeBus(client, keys, nodeId);
  }

  it('coalesces the takes that come while a scan runs, and gives each resumption its own stanzas in order', async () => {
    const dead = `dead-${randomBytes(3).toString('hex')}`;
    const sender = await bus('sender');
    const taker = await bus('taker');
    const resources = ['a', 'b', 'c', 'd'].map((name) => `${name}@localhost/r`);
    const sent = new Map<string, string[]>(resources.map((to) => [to, []]));
    for (let i = 0; i < 5; i++) {
      for (const to of resources) {
        const id = `${to}-${i}`;
        sent.get(to)?.push(id);
        await sender.send(dead, { kind: 'stanza', id, to, xml: `<message id='${id}'/>`, hops: 0 });
      }
    }
    const scans: string[][] = [];
    const counted = Object.assign(Object.create(taker) as RedisNodeBus, {
      takeFor: (node: string, taken: readonly TakenResource[]): Promise<BusEnvelope[]> => {
        scans.push(taken.map((resource) => resource.to));
        return taker.takeFor(node, taken);
      },
    });
    const takes = new StrandedTakes(() => counted);
    const results = await Promise.all(resources.map((to) => takes.take(dead, { to, sessionId: 's' })));
    expect(results.map((envelopes) => envelopes.map((envelope) => envelope.id))).toStrictEqual(resources.map((to) => sent.get(to)));
    // The first went alone; the three that came while it ran, in one scan.
    expect(scans).toStrictEqual([[resources[0]], resources.slice(1)]);
    await expect(takes.take(dead, { to: resources[0] as string })).resolves.toStrictEqual([]);
  });
});

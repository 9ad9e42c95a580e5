// Redis goes away and comes back empty: nodes keep same-node traffic going, refuse logins with a
// temporary error, hold stanzas for other nodes (sending them once Redis is back, or bouncing
// them), and write their live sessions back into the empty registry.
import { get } from 'node:http';
import type { Element } from 'ltx';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

const NS_SASL = 'urn:ietf:params:xml:ns:xmpp-sasl';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

function metrics(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', timeout: 3000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** The value of one sample in a Prometheus text exposition (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

function condition(element: Element): string | undefined {
  return element.getChild('error')?.children.find((child): child is Element => typeof child !== 'string' && child.attrs.xmlns === NS_STANZAS)?.name;
}

describe('a Redis that restarts empty', () => {
  let redis: RedisServerHandle;
  let cluster: TestCluster;

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startCluster({ nodes: 2, redisUrl: redis.url });
  });
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

  it('keeps same-node delivery, refuses logins, holds cross-node stanzas, then repairs the registry', async () => {
    await cluster.createUser('alice');
    await cluster.createUser('bob');
    await cluster.createUser('carol');
    await cluster.createUser('dave');
    const alice = await cluster.login(0, 'alice', 'desk');
    const carol = await cluster.login(0, 'carol', 'desk');
    const bob = await cluster.login(1, 'bob', 'desk');
    for (const client of [alice, bob, carol]) {
      client.send('<presence/>');
      await client.expect(xml`<presence from='${client.jid}'/>`);
    }
    // Each node has cached the route to the other's client.
    alice.send(`<message to='${bob.jid}' id='warm1'><body>hi</body></message>`);
    await bob.expect(xml`<message id='warm1'/>`);
    bob.send(`<message to='${alice.jid}' id='warm2'><body>hi</body></message>`);
    await alice.expect(xml`<message id='warm2'/>`);
    alice.send(`<message to='${carol.jid}' id='warm3'><body>hi</body></message>`);
    await carol.expect(xml`<message id='warm3'/>`);

    await redis.kill();

    // Same node: no Redis on the path.
    alice.send(`<message to='${carol.jid}' type='chat' id='same'><body>still here</body></message>`);
    await carol.expect(xml`<message from='${alice.jid}' id='same'><body>still here</body></message>`);

    // Another node: held by the sender's node.
    alice.send(`<message to='${bob.jid}' type='chat' id='held'><body>wait for it</body></message>`);
    await alice.barrier();

    // A login is refused at once, with a temporary error (RFC 6120 §6.5.9).
    const late = await cluster.connect(0);
    await late.openStream();
    await late.startTls();
    await late.openStream();
    const started = Date.now();
    const outcome = await late.authPlain('dave', 'cluster-secret');
    expect(outcome.name).toBe('failure');
    expect(outcome.getChild('temporary-auth-failure', NS_SASL)).toBeDefined();
    expect(Date.now() - started).toBeLessThan(2000);
    late.destroy();

    const pending = await metrics(cluster.node(0).httpPort);
    expect(sample(pending, 'rookery_bus_pending_envelopes')).toBe(1);
    expect(bob.take(xml`<message id='held'/>`)).toEqual([]);

    redis = await startRedisServer({ port: redis.port });

    await bob.expect(xml`<message from='${alice.jid}' id='held'><body>wait for it</body></message>`, 10_000);
    // Every live session is back in the empty registry, owned by its node, available.
    await eventually('the registry holds the three sessions again', async () => {
      const records = await cluster.sessions().catch(() => []);
      return records.length === 3 && records.every((record) => record.presence !== undefined);
    }, 15_000);
    const records = await cluster.sessions();
    expect(Object.fromEntries(records.map((record) => [record.full_jid, record.node]))).toEqual({
      [alice.jid as string]: cluster.node(0).id,
      [carol.jid as string]: cluster.node(0).id,
      [bob.jid as string]: cluster.node(1).id,
    });
    // Both ways across nodes, routed through the repaired registry (caches were dropped on reconnect).
    bob.send(`<message to='${alice.jid}' type='chat' id='after1'><body>back</body></message>`);
    await alice.expect(xml`<message from='${bob.jid}' id='after1'/>`);
    alice.send(`<message to='${bob.jid}' type='chat' id='after2'><body>back</body></message>`);
    await bob.expect(xml`<message from='${alice.jid}' id='after2'/>`);

    const after = await metrics(cluster.node(0).httpPort);
    expect(sample(after, 'rookery_bus_pending_total{outcome="sent"}')).toBe(1);
    expect(sample(after, 'rookery_bus_pending_envelopes')).toBe(0);
    expect(sample(after, 'rookery_state_restores_total')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'rookery_sessions_reasserted_total{outcome="written"}')).toBeGreaterThanOrEqual(2);
    // The nodes registered again: both are ready, and the dead-node sweep is scheduled again.
    await eventually('both nodes are ready again', async () => {
      const texts = await Promise.all([0, 1].map((index) => metrics(cluster.node(index).httpPort)));
      return texts.every((text) => text.includes('rookery_')) && (await readyBoth(cluster));
    }, 15_000);
  });
});

describe('a Redis that stays away', () => {
  let redis: RedisServerHandle;
  let cluster: TestCluster;

  beforeAll(async () => {
    redis = await startRedisServer();
    cluster = await startCluster({ nodes: 2, redisUrl: redis.url, env: { ROOKERY_LIMIT_BUS_PENDING_SECONDS: '1', ROOKERY_LIMIT_BUS_PENDING_ENVELOPES: '2' } });
  });
  afterAll(async () => {
    try {
      await cluster?.stopAll();
    } finally {
      await redis?.stop();
    }
  });
  afterEach(({ task }) => {
    if (task.result?.state === 'fail') console.log(cluster.output());
  });

  it('bounces held stanzas to their sender when the queue is full or they waited too long', async () => {
    await cluster.createUser('erin');
    await cluster.createUser('frank');
    const erin = await cluster.login(0, 'erin', 'desk');
    const frank = await cluster.login(1, 'frank', 'desk');
    erin.send(`<message to='${frank.jid}' id='warm'><body>hi</body></message>`);
    await frank.expect(xml`<message id='warm'/>`);

    await redis.kill();
    for (const id of ['m1', 'm2', 'm3']) erin.send(`<message to='${frank.jid}' type='chat' id='${id}'><body>${id}</body></message>`);
    const overflow = await erin.expect(xml`<message type='error' id='m3'/>`);
    expect(condition(overflow)).toBe('resource-constraint');
    const first = await erin.expect(xml`<message type='error' id='m1'/>`, 5000);
    const second = await erin.expect(xml`<message type='error' id='m2'/>`, 5000);
    expect([condition(first), condition(second)]).toEqual(['recipient-unavailable', 'recipient-unavailable']);
    expect(first.attrs.from).toBe(frank.jid);

    const text = await metrics(cluster.node(0).httpPort);
    expect(sample(text, 'rookery_bus_pending_total{outcome="overflow"}')).toBe(1);
    expect(sample(text, 'rookery_bus_pending_total{outcome="expired"}')).toBe(2);
    expect(sample(text, 'rookery_bus_pending_envelopes')).toBe(0);
    // The node stays up and keeps serving its own clients.
    expect(frank.take(xml`<message id='m1'/>`)).toEqual([]);
    redis = await startRedisServer({ port: redis.port });
  });
});

async function readyBoth(cluster: TestCluster): Promise<boolean> {
  const probe = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      get({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      }).on('error', () => resolve(false));
    });
  const results = await Promise.all([0, 1].map((index) => probe(cluster.node(index).httpPort)));
  return results.every(Boolean);
}

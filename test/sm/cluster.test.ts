// XEP-0198 across real node processes sharing Redis: a client resumes on another node, after
// its node was killed with kill -9, and after its node drained on SIGTERM; hibernation expiry is
// a BullMQ delayed job that fires on another node when the one that scheduled it is gone; the
// drain tells clients without stream management <system-shutdown/> and holds their unavailable
// presence back for the grace period; the drain keeps within its bound.
import type { Element } from 'ltx';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis } from '../../cluster/redis/connection.js';
import { type RawClient, xml } from '../support/client.js';
import { CLUSTER_PASSWORD, DEAD_AFTER_MS, eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { befriendInStore, SmClient } from '../support/sm-client.js';

const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const DRAIN_TIMEOUT_SECONDS = 4;
const GRACE_SECONDS = 5;

const isMessage = (element: Element): boolean => element.name === 'message';

function helpers(get: () => TestCluster) {
  let n = 0;
  const account = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await get().createUser(local);
    return local;
  };
  const bare = (local: string): string => `${local}@${get().domain}`;
  const smOnline = async (node: number, local: string, resource = 'phone'): Promise<SmClient> => {
    const client = await SmClient.login({ port: get().node(node).c2sPort, username: local, password: CLUSTER_PASSWORD, resource, plaintext: true });
    client.send('<presence/>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    return client;
  };
  const online = async (node: number, local: string, resource = 'desk'): Promise<RawClient> => {
    const client = await get().login(node, local, resource);
    client.send('<presence/>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    client.clear();
    return client;
  };
  const detached = (client: SmClient): Promise<number> =>
    eventually('the stream is detached', async () => ((await get().state.resumption.get(client.bare, client.smId as string))?.detached_at ?? 0) > 0, 5000);
  /** Receives `count` messages and proves with a round trip that no more is on its way. */
  const receiveExactly = async (client: SmClient, count: number, timeoutMs = 10_000): Promise<Element[]> => {
    const received: Element[] = [];
    for (let i = 0; i < count; i++) received.push(await client.expect(isMessage, timeoutMs));
    await client.barrier();
    received.push(...(client.raw?.take(isMessage) ?? []));
    return received;
  };
  return { account, bare, smOnline, online, detached, receiveExactly };
}

describe('stream management across nodes', () => {
  let cluster: TestCluster;
  const { account, bare, smOnline, online, detached, receiveExactly } = helpers(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster({
      nodes: 3,
      env: { ROOKERY_DRAIN_TIMEOUT_SECONDS: String(DRAIN_TIMEOUT_SECONDS), ROOKERY_SHUTDOWN_PRESENCE_GRACE_SECONDS: String(GRACE_SECONDS) },
    });
  });
  afterAll(() => cluster?.stopAll());
  beforeEach(async ({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output()));
    for (let i = 0; i < cluster.size; i++) if (!cluster.node(i).running) await cluster.start(i);
  });

  it('resumes on another node with the same full JID, delivering what arrived while detached once and in order, and contacts see no unavailable presence', async () => {
    const aliceLocal = await account('alice');
    const bobLocal = await account('bob');
    await befriendInStore(cluster.state, bare(aliceLocal), bare(bobLocal));
    const bob = await online(1, bobLocal);
    const alice = await smOnline(0, aliceLocal);
    const jid = alice.jid as string;
    await bob.expect(xml`<presence from='${jid}'/>`);
    bob.send(`<message to='${jid}' type='chat' id='before'><body>before</body></message>`);
    await alice.expect(xml`<message id='before'/>`);

    alice.drop();
    await detached(alice);
    const bodies = Array.from({ length: 10 }, (_, i) => `detached ${i}`);
    for (const [i, body] of bodies.entries()) bob.send(`<message to='${jid}' type='chat' id='d${i}'><body>${body}</body></message>`);
    await bob.barrier();

    await expect(alice.resume(cluster.node(2).c2sPort)).resolves.toBe(true);
    const received = await receiveExactly(alice, bodies.length);
    expect(received.map((message) => message.getChildText('body'))).toEqual(bodies);
    expect(alice.jid).toBe(jid);
    await expect(cluster.state.registry.get(jid)).resolves.toMatchObject({ node: cluster.node(2).id, sm_token: alice.smId });

    // Both ways, through the node that holds it now.
    bob.send(`<message to='${jid}' type='chat' id='after'><body>after</body></message>`);
    await alice.expect(xml`<message id='after'/>`);
    alice.message(bob.jid as string, 'from node 2', 'reply');
    expect((await bob.expect(xml`<message id='reply'/>`)).attrs.from).toBe(jid);
    await bob.barrier();
    expect(bob.take(xml`<presence from='${jid}' type='unavailable'/>`)).toEqual([]);
    expect(alice.errors).toEqual([]);
  });

  it('resumes while the old node still holds the connection open: the old node lets go and nothing is lost', async () => {
    const aliceLocal = await account('alice');
    const bobLocal = await account('bob');
    const bob = await online(1, bobLocal);
    const alice = await smOnline(0, aliceLocal);
    const jid = alice.jid as string;
    // The client gives up on a connection node 0 still thinks is fine (a half-open socket):
    // what node 0 writes to it from now on never reaches the client.
    const old = alice.abandon();
    for (let i = 0; i < 3; i++) bob.send(`<message to='${jid}' type='chat' id='h${i}'><body>h${i}</body></message>`);
    await bob.barrier();
    await expect(alice.resume(cluster.node(2).c2sPort)).resolves.toBe(true);
    for (let i = 3; i < 6; i++) bob.send(`<message to='${jid}' type='chat' id='h${i}'><body>h${i}</body></message>`);
    const received = await receiveExactly(alice, 6);
    expect(received.map((message) => message.attrs.id)).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    // Node 0 was told and closed the old connection without a word.
    await old.closed();
    expect(old.streamError()).toBeUndefined();
    await expect(cluster.state.registry.get(jid)).resolves.toMatchObject({ node: cluster.node(2).id });
  });

  it('resumes after the original node was killed with kill -9, with the messages sent to it meanwhile delivered once', async () => {
    const aliceLocal = await account('alice');
    const bobLocal = await account('bob');
    await befriendInStore(cluster.state, bare(aliceLocal), bare(bobLocal));
    const bob = await online(0, bobLocal);
    const alice = await smOnline(1, aliceLocal);
    const jid = alice.jid as string;
    await bob.expect(xml`<presence from='${jid}'/>`);
    bob.send(`<message to='${jid}' type='chat' id='k0'><body>k0</body></message>`);
    await alice.expect(xml`<message id='k0'/>`);
    await alice.ack();

    await cluster.kill(1, 'SIGKILL');
    alice.drop();
    const ids = ['k1', 'k2', 'k3', 'k4'];
    for (const id of ids) bob.send(`<message to='${jid}' type='chat' id='${id}'><body>${id}</body></message>`);
    await bob.barrier();

    await expect(alice.resume(cluster.node(2).c2sPort)).resolves.toBe(true);
    const received = await receiveExactly(alice, ids.length, DEAD_AFTER_MS * 10);
    expect(received.map((message) => message.attrs.id)).toEqual(ids);
    expect(alice.jid).toBe(jid);
    alice.message(bob.jid as string, 'survived', 'alive');
    await bob.expect(xml`<message id='alive'/>`);
    // Past the sweep of the dead node: the resumed session was not taken for one of its orphans.
    await eventually('the dead node is swept', async () => !(await cluster.sessions()).some((record) => record.node === cluster.node(1).id), DEAD_AFTER_MS * 10);
    await bob.barrier();
    expect(bob.take(xml`<presence from='${jid}' type='unavailable'/>`)).toEqual([]);
    await expect(cluster.state.registry.get(jid)).resolves.toMatchObject({ node: cluster.node(2).id });
  });

  it('answers a resumption with an id no node knows with <failed/> and item-not-found', async () => {
    const alice = await smOnline(2, await account('alice'));
    alice.smId = 'never-issued';
    alice.drop();
    await expect(alice.resume(cluster.node(0).c2sPort, false)).resolves.toBe(false);
    expect(alice.failures[0]?.getChild('item-not-found', NS_STANZAS)).toBeDefined();
  });

  it('on SIGTERM asks stream-managed clients for a last ack, lets them go without a stream error, and they resume on another node with nothing lost or doubled and no unavailable presence', async () => {
    const aliceLocal = await account('alice');
    const bobLocal = await account('bob');
    await befriendInStore(cluster.state, bare(aliceLocal), bare(bobLocal));
    const bob = await online(1, bobLocal);
    const alice = await smOnline(0, aliceLocal);
    const jid = alice.jid as string;
    await bob.expect(xml`<presence from='${jid}'/>`);
    for (let i = 0; i < 5; i++) bob.send(`<message to='${jid}' type='chat' id='s${i}'><body>s${i}</body></message>`);
    const live = await receiveExactly(alice, 5);
    expect(live.map((message) => message.attrs.id)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    const answeredBefore = alice.requestsAnswered;
    const stopping = cluster.kill(0, 'SIGTERM');
    await alice.reached(['offline'], DRAIN_TIMEOUT_SECONDS * 1000);
    await stopping;
    expect(alice.requestsAnswered).toBeGreaterThan(answeredBefore);
    expect(alice.errors).toEqual([]);
    expect(alice.raw?.streamError()).toBeUndefined();
    await expect(cluster.state.registry.get(jid)).resolves.toMatchObject({ node: '~parked', sm_token: alice.smId });
    // Parked: no node holds it, and what is sent to it waits in Redis.
    for (let i = 5; i < 8; i++) bob.send(`<message to='${jid}' type='chat' id='s${i}'><body>s${i}</body></message>`);
    await bob.barrier();
    await expect(alice.resume(cluster.node(2).c2sPort)).resolves.toBe(true);
    const parked = await receiveExactly(alice, 3);
    expect(parked.map((message) => message.attrs.id)).toEqual(['s5', 's6', 's7']);
    await bob.barrier();
    expect(bob.take(xml`<presence from='${jid}' type='unavailable'/>`)).toEqual([]);
    expect(alice.jid).toBe(jid);
  });

  it('on SIGTERM tells clients without stream management <system-shutdown/>, and their contacts see no unavailable presence when they log in again within the grace period', async () => {
    const carolLocal = await account('carol');
    const bobLocal = await account('bob');
    await befriendInStore(cluster.state, bare(carolLocal), bare(bobLocal));
    const bob = await online(1, bobLocal);
    const carol = await online(0, carolLocal, 'laptop');
    await bob.expect(xml`<presence from='${carol.jid}'/>`);
    await cluster.kill(0, 'SIGTERM');
    await expect(graceJobExists(cluster, carol.jid as string)).resolves.toBe(true);
    expect(carol.streamError()).toBe('system-shutdown');
    expect(carol.inbox.find((element) => element.name === 'stream:error')?.getChild('system-shutdown', NS_STREAMS)).toBeDefined();
    const again = await online(2, carolLocal, 'laptop');
    expect(again.jid).toBe(carol.jid);
    await bob.expect(xml`<presence from='${carol.jid}'/>`);
    // The held-back unavailable presence was never sent: its job ran and found the resource back.
    await eventually('the presence grace job has run', async () => !(await graceJobExists(cluster, carol.jid as string)), GRACE_SECONDS * 1000 + 10_000);
    await bob.barrier();
    expect(bob.take(xml`<presence from='${carol.jid}' type='unavailable'/>`)).toEqual([]);
  });

  it('on SIGTERM lets contacts see a client without stream management go unavailable once the grace period is over, if it does not come back', async () => {
    const daveLocal = await account('dave');
    const bobLocal = await account('bob');
    await befriendInStore(cluster.state, bare(daveLocal), bare(bobLocal));
    const bob = await online(1, bobLocal);
    const dave = await online(0, daveLocal, 'tablet');
    await bob.expect(xml`<presence from='${dave.jid}'/>`);
    const stoppedAt = Date.now();
    await cluster.kill(0, 'SIGTERM');
    await bob.barrier();
    expect(bob.take(xml`<presence from='${dave.jid}' type='unavailable'/>`)).toEqual([]);
    await bob.expect(xml`<presence from='${dave.jid}' type='unavailable'/>`, GRACE_SECONDS * 1000 + 10_000);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(GRACE_SECONDS * 1000);
  });

  it('on SIGTERM reports not ready, refuses new connections, and exits within the drain bound even when a client never answers the last ack request', async () => {
    const mute = await cluster.login(0, await account('mute'), 'phone');
    mute.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    await mute.expect('enabled');
    const bobLocal = await account('bob');
    const bob = await online(1, bobLocal);
    // Unacknowledged stanzas: the drain asks for an ack the client never sends.
    bob.send(`<message to='${mute.jid}' type='chat' id='u1'><body>u1</body></message>`);
    await mute.expect(xml`<message id='u1'/>`);
    const started = Date.now();
    const stopping = cluster.kill(0, 'SIGTERM');
    await eventually('the node reports not ready', async () => (await readyStatus(cluster.node(0).httpPort)) !== 200, DRAIN_TIMEOUT_SECONDS * 1000);
    await expect(cluster.connect(0)).rejects.toThrow();
    await stopping;
    const took = Date.now() - started;
    expect(took).toBeLessThan(DRAIN_TIMEOUT_SECONDS * 1000 + 5000);
    // The node's own account of the drain: within the bound, every session handed over.
    const drained = cluster
      .node(0)
      .output()
      .split('\n')
      .filter((line) => line.includes('"event":"drained"'))
      .map((line) => JSON.parse(line) as { ms: number; timedOut: boolean })
      .at(-1);
    expect(drained?.ms).toBeLessThanOrEqual(DRAIN_TIMEOUT_SECONDS * 1000 + 100);
    expect(drained?.timedOut).toBe(false);
    // What it never acknowledged waits for it, parked.
    await expect(cluster.state.registry.get(mute.jid as string)).resolves.toMatchObject({ node: '~parked' });
  });
});

describe('hibernation expiry across nodes', () => {
  let cluster: TestCluster;
  const { account, bare, smOnline, online, detached } = helpers(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 2, env: { ROOKERY_SM_HIBERNATION_SECONDS: '1' } });
  });
  afterAll(() => cluster?.stopAll());
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output()));
  });

  it('fires on another node when the node that scheduled it is gone: contacts see the session go, and its chats go to offline storage', async () => {
    const aliceLocal = await account('alice');
    const bobLocal = await account('bob');
    await befriendInStore(cluster.state, bare(aliceLocal), bare(bobLocal));
    const bob = await online(1, bobLocal);
    const alice = await smOnline(0, aliceLocal);
    const jid = alice.jid as string;
    await bob.expect(xml`<presence from='${jid}'/>`);
    alice.drop();
    await detached(alice);
    const sentBefore = (await cluster.state.resumption.get(alice.bare, alice.smId as string))?.sent ?? 0;
    bob.send(`<message to='${jid}' type='chat' id='x1'><body>one</body></message>`);
    bob.send(`<message to='${jid}' type='chat' id='x2'><body>two</body></message>`);
    // Queued for the hibernating session by node 0, which then dies with its expiry job pending.
    await eventually('node 0 queued both chats', async () => ((await cluster.state.resumption.get(alice.bare, alice.smId as string))?.sent ?? 0) - sentBefore === 2, 5000);
    await cluster.kill(0, 'SIGKILL');

    await bob.expect(xml`<presence from='${jid}' type='unavailable'/>`, 10_000);
    await eventually('the stream is gone', async () => (await cluster.state.resumption.get(alice.bare, alice.smId as string)) === undefined, 10_000);
    await eventually('both chats are stored offline', async () => (await cluster.state.offline.count(alice.bare)) === 2, 10_000);
    await expect(alice.resume(cluster.node(1).c2sPort, false)).resolves.toBe(false);
    expect(alice.failures[0]?.getChild('item-not-found', NS_STANZAS)).toBeDefined();

    const again = await cluster.login(1, aliceLocal, 'laptop');
    again.send('<presence/>');
    const first = await again.expect(isMessage);
    const second = await again.expect(isMessage);
    await again.barrier();
    expect([first.attrs.id, second.attrs.id, ...again.take(isMessage).map((message) => message.attrs.id)]).toEqual(['x1', 'x2']);
  });
});

async function readyStatus(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
  } catch {
    return 0;
  }
}

/** Whether the BullMQ job holding back a resource's unavailable presence is still there. */
async function graceJobExists(cluster: TestCluster, fullJid: string): Promise<boolean> {
  const client = await connectRedis(cluster.redisUrl);
  try {
    const id = `j-${Buffer.from(`presence-grace ${fullJid}`).toString('base64url')}`;
    return (await client.exists(`{${cluster.prefix}:v1:jobs}:jobs:${id}`)) === 1;
  } finally {
    await closeRedis(client);
  }
}

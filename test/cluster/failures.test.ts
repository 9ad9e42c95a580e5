// Node failures in a real cluster: kill -9, a frozen process (SIGSTOP past the dead-after bound),
// a late joiner, and a restart under the same node id. The liveness settings are short (see
// support/cluster.ts), so a dead node is noticed within a few seconds.
import type { Element } from 'ltx';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { startCluster, type TestCluster } from '../support/cluster.js';

const NS_ROSTER = 'jabber:iq:roster';
const NS_DELAY = 'urn:xmpp:delay';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NS_STREAMS = 'urn:ietf:params:xml:ns:xmpp-streams';
/** With the default settings (heartbeat 2 s, dead after 10 s, sweep every 2 s) a dead node is cleaned up within this. */
const CLEANUP_BOUND_MS = 15_000;

const isMessage = (element: Element): boolean => element.name === 'message';
const isRosterPush = (element: Element): boolean => element.name === 'iq' && element.attrs.type === 'set' && element.getChild('query', NS_ROSTER) !== undefined;

/** Per-file helpers over one cluster. */
function helpers(get: () => TestCluster) {
  let n = 0;
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await get().createUser(local);
    return local;
  };
  const online = async (node: number, local: string, resource = 'desk'): Promise<RawClient> => {
    const client = await get().login(node, local, resource);
    await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
    client.send('<presence/>');
    await client.expect(xml`<presence from='${client.jid}'/>`);
    client.clear();
    return client;
  };
  /** Mutual subscription, waiting on each side for what the handshake ends with. */
  const befriend = async (a: RawClient, b: RawClient): Promise<void> => {
    for (const [watcher, target] of [[a, b], [b, a]] as const) {
      watcher.send(`<presence to='${target.bare}' type='subscribe'/>`);
      await target.expect(xml`<presence from='${watcher.bare}' type='subscribe'/>`);
      target.send(`<presence to='${watcher.bare}' type='subscribed'/>`);
      await watcher.expect(xml`<presence from='${target.jid}'/>`);
    }
    await a.expect((element) => isRosterPush(element) && element.getChild('query')?.getChild('item')?.attrs.subscription === 'both');
    await b.expect((element) => isRosterPush(element) && element.getChild('query')?.getChild('item')?.attrs.subscription === 'both');
    a.clear();
    b.clear();
  };
  return { user, online, befriend };
}

describe('a three-node cluster losing nodes', () => {
  let cluster: TestCluster;
  const { user, online, befriend } = helpers(() => cluster);

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  afterAll(() => cluster?.stopAll());
  beforeEach(async ({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output()));
    // Each test starts with every node up, whatever the previous one did to them.
    for (let i = 0; i < cluster.size; i++) if (!cluster.node(i).running) await cluster.start(i);
  });

  it('after kill -9 of a node, contacts elsewhere see its resource go unavailable, the registry forgets it, and messages to it are stored offline', async () => {
    const alice = await online(0, await user('alice'));
    const bobLocal = await user('bob');
    const bob = await online(2, bobLocal);
    await befriend(alice, bob);
    const dead = bob.jid as string;
    await expect(cluster.state.registry.get(dead)).resolves.toMatchObject({ node: cluster.node(2).id });

    const killedAt = Date.now();
    await cluster.kill(2, 'SIGKILL');
    await alice.expect(xml`<presence from='${dead}' type='unavailable'/>`, CLEANUP_BOUND_MS);
    const noticedAfter = Date.now() - killedAt;
    expect(noticedAfter).toBeLessThanOrEqual(CLEANUP_BOUND_MS);
    expect((await cluster.sessions()).map((record) => record.full_jid)).not.toContain(dead);

    alice.send(`<message to='${dead}' type='chat' id='after1'><body>still there?</body></message>`);
    await alice.barrier();
    expect(alice.take(isMessage)).toEqual([]);
    const back = await cluster.login(1, bobLocal, 'phone');
    back.send('<presence/>');
    const stored = await back.expect(xml`<message from='${alice.jid}' to='${dead}' id='after1'><body>still there?</body></message>`);
    expect(stored.getChild('delay', NS_DELAY)).toBeDefined();
  });

  it('stores offline or bounces every message sent to a dead node’s session until and across its sweep, losing none', async () => {
    const alice = await online(0, await user('alice'));
    const bobLocal = await user('bob');
    const bob = await online(2, bobLocal);
    await befriend(alice, bob);
    const dead = bob.jid as string;
    const early = 10;

    await cluster.kill(2, 'SIGKILL');
    // Chat messages fall back to the account (offline storage); normal ones to a gone resource bounce.
    for (let i = 1; i <= early; i++) {
      alice.send(`<message to='${dead}' type='chat' id='c${i}'><body>chat ${i}</body></message>`);
      alice.send(`<message to='${dead}' id='n${i}'><body>normal ${i}</body></message>`);
    }
    await alice.barrier();
    // They were all routed while the registry still named the dead node as the owner.
    await expect(cluster.state.registry.get(dead)).resolves.toMatchObject({ node: cluster.node(2).id });

    // More, one round trip apart, until the sweep is seen and a little beyond: across the sweep itself.
    const sweptMatch = xml`<presence from='${dead}' type='unavailable'/>`;
    const deadline = Date.now() + CLEANUP_BOUND_MS;
    let chats = early;
    let afterSweep = 0;
    while (afterSweep < 5) {
      expect(Date.now()).toBeLessThan(deadline);
      chats += 1;
      alice.send(`<message to='${dead}' type='chat' id='c${chats}'><body>chat ${chats}</body></message>`);
      await alice.barrier();
      if (afterSweep > 0 || alice.inbox.some(sweptMatch)) afterSweep += 1;
    }
    await alice.expect(sweptMatch);

    const bounced: Element[] = [];
    for (let i = 1; i <= early; i++) {
      bounced.push(await alice.expect(xml`<message id='n${i}' type='error' from='${dead}'/>`));
    }
    for (const error of bounced) expect(error.getChild('error')?.getChild('service-unavailable', NS_STANZAS)).toBeDefined();

    const back = await cluster.login(1, bobLocal, 'phone');
    back.send('<presence/>');
    const stored: Element[] = [];
    for (let i = 1; i <= chats; i++) {
      stored.push(await back.expect(xml`<message id='c${i}' from='${alice.jid}'><body>chat ${i}</body></message>`));
    }
    // The ones queued in the dead node's inbox keep their order among themselves.
    const order = stored.slice(0, early).map((message) => back.log.indexOf(message));
    expect(order).toStrictEqual([...order].sort((a, b) => a - b));
    await back.barrier();
    expect(back.take(isMessage)).toEqual([]);
    expect(alice.take(isMessage)).toEqual([]);
  });

  it('disconnects the clients of a node frozen past the dead-after bound once it wakes, and they can log in again', async () => {
    const alice = await online(0, await user('alice'));
    const carolLocal = await user('carol');
    const carol = await online(1, carolLocal);
    await befriend(alice, carol);
    const frozenJid = carol.jid as string;

    cluster.freeze(1);
    await alice.expect(xml`<presence from='${frozenJid}' type='unavailable'/>`, CLEANUP_BOUND_MS);
    expect((await cluster.sessions()).map((record) => record.full_jid)).not.toContain(frozenJid);
    cluster.thaw(1);

    const error = await carol.expect('stream:error', CLEANUP_BOUND_MS);
    const condition = error.children.find((child): child is Element => typeof child !== 'string' && child.attrs.xmlns === NS_STREAMS && child.name !== 'text');
    expect(condition?.name).toEqual(expect.any(String));
    await carol.closed();

    // The woken node serves again, and so do the others.
    const again = await online(1, carolLocal, 'desk');
    alice.send(`<message to='${again.jid}' type='chat' id='w1'><body>welcome back</body></message>`);
    await again.expect(xml`<message from='${alice.jid}' id='w1'/>`);
    await expect(cluster.state.registry.get(again.jid as string)).resolves.toMatchObject({ node: cluster.node(1).id });
    const elsewhere = await online(2, carolLocal, 'laptop');
    await again.expect(xml`<presence from='${elsewhere.jid}'/>`);
  });

  it('serves clients on a node that joins late, talking to clients on the older nodes', async () => {
    const late = await cluster.addNode();
    const alice = await online(0, await user('alice'));
    const dave = await online(late, await user('dave'));
    await befriend(alice, dave);
    dave.send(`<message to='${alice.jid}' type='chat' id='j1'><body>just joined</body></message>`);
    await alice.expect(xml`<message from='${dave.jid}' id='j1'><body>just joined</body></message>`);
    alice.send(`<message to='${dave.bare}' type='chat' id='j2'><body>welcome</body></message>`);
    await dave.expect(xml`<message from='${alice.jid}' id='j2'><body>welcome</body></message>`);
    dave.send(`<iq type='get' id='jp' to='${alice.jid}'><ping xmlns='urn:xmpp:ping'/></iq>`);
    await alice.expect(xml`<iq type='get' id='jp' from='${dave.jid}'/>`);
    alice.send(`<iq type='result' id='jp' to='${dave.jid}'/>`);
    await expect(dave.expect(xml`<iq id='jp' from='${alice.jid}'/>`)).resolves.toMatchObject({ attrs: { type: 'result' } });
  });
});

describe('a node restarted under the same id', () => {
  let cluster: TestCluster;
  const { user, online, befriend } = helpers(() => cluster);

  beforeAll(async () => {
    // No sweep within the test's time: only the restarted process can clean up after its predecessor.
    cluster = await startCluster({ nodes: 2, env: { ROOKERY_NODE_DEAD_AFTER_MS: '600000' } });
  });
  afterAll(() => cluster?.stopAll());
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output()));
  });

  it('removes the sessions its killed predecessor left, and their contacts see them go unavailable', async () => {
    const alice = await online(0, await user('alice'));
    const erinLocal = await user('erin');
    const erin = await online(1, erinLocal);
    await befriend(alice, erin);
    const stale = erin.jid as string;

    await cluster.kill(1, 'SIGKILL');
    await expect(cluster.state.registry.get(stale)).resolves.toMatchObject({ node: cluster.node(1).id });
    alice.send(`<message to='${stale}' type='chat' id='s1'><body>hello?</body></message>`);
    await alice.barrier();

    await cluster.start(1);
    // Cleaned up before the node reported ready.
    expect((await cluster.sessions()).map((record) => record.full_jid)).not.toContain(stale);
    await alice.expect(xml`<presence from='${stale}' type='unavailable'/>`);

    const again = await cluster.login(1, erinLocal, 'desk');
    again.send('<presence/>');
    const stored = await again.expect(xml`<message from='${alice.jid}' id='s1'><body>hello?</body></message>`);
    expect(stored.getChild('delay', NS_DELAY)).toBeDefined();
    const records = await cluster.state.registry.resources(`${erinLocal}@localhost`);
    expect(records.map((record) => [record.full_jid, record.node])).toStrictEqual([[again.jid, cluster.node(1).id]]);
  });
});

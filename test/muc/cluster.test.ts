// Group chat across real node processes sharing Redis: an occupant whose node dies is removed
// with status 333 within the dead-node clean-up; an occupant whose stream-managed session is
// parked by a drain, or hibernates, keeps its place: nobody sees it leave or come back, and the
// room's messages wait for it and arrive once, in order, when it resumes on another node.
import type { Element } from 'ltx';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KeyBuilder } from '../../cluster/redis/keys.js';
import { type RawClient, xml } from '../support/client.js';
import { CLUSTER_PASSWORD, DEAD_AFTER_MS, eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { SmClient } from '../support/sm-client.js';
import { freshRoom, NS_MUC, NS_MUC_OWNER, statusCodes } from './support.js';

const DRAIN_TIMEOUT_SECONDS = 4;
const isGroupchat = (element: Element): boolean => element.name === 'message' && element.attrs.type === 'groupchat' && element.getChild('body') !== undefined;

describe('group chat across nodes', () => {
  let cluster: TestCluster;
  let n = 0;
  const account = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await cluster.createUser(local);
    return local;
  };
  const subjectFrom = (room: string) => (element: Element): boolean => element.name === 'message' && String(element.attrs.from).startsWith(room) && element.getChild('subject') !== undefined;
  const enter = async (client: RawClient | SmClient, room: string, nick: string): Promise<void> => {
    client.send(`<presence to='${room}/${nick}'><x xmlns='${NS_MUC}'/></presence>`);
    await client.expect(subjectFrom(room));
  };
  const create = async (owner: RawClient, room: string, nick: string): Promise<void> => {
    await enter(owner, room, nick);
    const reply = await owner.iq('set', `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query>`, room);
    expect(reply.attrs.type).toBe('result');
  };
  const smLogin = (node: number, local: string): Promise<SmClient> => SmClient.login({ port: cluster.node(node).c2sPort, username: local, password: CLUSTER_PASSWORD, resource: 'phone', plaintext: true });

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3, env: { ROOKERY_DRAIN_TIMEOUT_SECONDS: String(DRAIN_TIMEOUT_SECONDS) } });
  });
  afterAll(() => cluster?.stopAll());
  beforeEach(async ({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output()));
    for (let i = 0; i < cluster.size; i++) if (!cluster.node(i).running) await cluster.start(i);
  });

  it('reflects groupchat to occupants on three nodes, each once', async () => {
    const room = freshRoom('spread');
    const clients = [await cluster.login(0, await account('alice')), await cluster.login(1, await account('bob')), await cluster.login(2, await account('carol'))];
    await create(clients[0] as RawClient, room, 'Alice');
    await enter(clients[1] as RawClient, room, 'Bob');
    await enter(clients[2] as RawClient, room, 'Carol');
    (clients[2] as RawClient).send(`<message to='${room}' type='groupchat' id='c1'><body>When shall we three meet again</body></message>`);
    for (const client of clients) await client.expect(xml`<message from='${room}/Carol' id='c1'/>`);
    for (const client of clients) await client.barrier();
    expect(clients.map((client) => client.take(xml`<message id='c1'/>`).length)).toStrictEqual([0, 0, 0]);
  });

  it('removes the occupants of a node that died, with status 333, within the dead-node clean-up', async () => {
    const room = freshRoom('dead');
    const alice = await cluster.login(0, await account('alice'));
    const carol = await cluster.login(1, await account('carol'));
    await create(alice, room, 'Alice');
    await enter(carol, room, 'Carol');
    const killedAt = Date.now();
    await cluster.kill(1, 'SIGKILL');
    const removed = await alice.expect(xml`<presence from='${room}/Carol' type='unavailable'/>`, DEAD_AFTER_MS + 8000);
    expect(statusCodes(removed)).toStrictEqual(['333']);
    expect(Date.now() - killedAt).toBeLessThan(DEAD_AFTER_MS + 8000);
    await eventually('the room forgot Carol', async () => !(await cluster.state.muc.get(room))?.occupants.has('Carol'), 5000);
  });

  it('keeps a drained stream-managed occupant in the room: nobody sees it leave, and what the room sent meanwhile arrives once, in order, after it resumes elsewhere', async () => {
    const room = freshRoom('drain');
    const bob = await cluster.login(1, await account('bob'));
    await create(bob, room, 'Bob');
    const alice = await smLogin(0, await account('alice'));
    await enter(alice, room, 'Alice');
    await bob.expect(xml`<presence from='${room}/Alice'/>`);
    const stopping = cluster.kill(0, 'SIGTERM');
    await alice.reached(['offline'], DRAIN_TIMEOUT_SECONDS * 1000 + 2000);
    await stopping;
    await eventually('the occupancy follows the parked session', async () => (await cluster.state.muc.get(room))?.occupants.get('Alice')?.sessions[0]?.node === '~parked', 5000);
    for (let i = 0; i < 4; i++) bob.send(`<message to='${room}' type='groupchat' id='p${i}'><body>p${i}</body></message>`);
    for (let i = 0; i < 4; i++) await bob.expect(xml`<message id='p${i}'/>`);
    await expect(alice.resume(cluster.node(2).c2sPort)).resolves.toBe(true);
    const received: Element[] = [];
    for (let i = 0; i < 4; i++) received.push(await alice.expect(isGroupchat, 10_000));
    await alice.barrier();
    received.push(...(alice.raw?.take(isGroupchat) ?? []));
    expect(received.map((message) => message.attrs.id)).toStrictEqual(['p0', 'p1', 'p2', 'p3']);
    // Both ways from the node that holds it now, and the room knows where it is.
    await eventually('the occupancy follows the resumed session', async () => (await cluster.state.muc.get(room))?.occupants.get('Alice')?.sessions[0]?.node === cluster.node(2).id, 5000);
    alice.send(`<message to='${room}' type='groupchat' id='back'><body>back</body></message>`);
    await bob.expect(xml`<message from='${room}/Alice' id='back'/>`);
    bob.send(`<message to='${room}' type='groupchat' id='welcome'><body>welcome</body></message>`);
    await alice.expect(xml`<message id='welcome'/>`);
    await bob.barrier();
    expect(bob.log.filter((element) => element.name === 'presence' && element.attrs.from === `${room}/Alice` && element.attrs.type === 'unavailable')).toStrictEqual([]);
    expect(bob.take(xml`<presence from='${room}/Alice'/>`)).toStrictEqual([]);
  });

  it('keeps a hibernating occupant in the room and gives it the room\'s messages on resumption', async () => {
    const room = freshRoom('sleep');
    const bob = await cluster.login(2, await account('bob'));
    await create(bob, room, 'Bob');
    const alice = await smLogin(1, await account('alice'));
    await enter(alice, room, 'Alice');
    await bob.expect(xml`<presence from='${room}/Alice'/>`);
    alice.drop();
    await eventually('the stream is detached', async () => ((await cluster.state.resumption.get(alice.bare, alice.smId as string))?.detached_at ?? 0) > 0, 5000);
    for (let i = 0; i < 3; i++) bob.send(`<message to='${room}' type='groupchat' id='h${i}'><body>h${i}</body></message>`);
    for (let i = 0; i < 3; i++) await bob.expect(xml`<message id='h${i}'/>`);
    await expect(alice.resume(cluster.node(0).c2sPort)).resolves.toBe(true);
    const received: Element[] = [];
    for (let i = 0; i < 3; i++) received.push(await alice.expect(isGroupchat, 10_000));
    expect(received.map((message) => message.attrs.id)).toStrictEqual(['h0', 'h1', 'h2']);
    await bob.barrier();
    expect(bob.log.filter((element) => element.name === 'presence' && element.attrs.from === `${room}/Alice` && element.attrs.type === 'unavailable')).toStrictEqual([]);
  });

  it('drops a reflection an occupant is given twice: the copy carries the sender\'s stanza identity', async () => {
    const room = freshRoom('twice');
    const owner = await cluster.login(0, await account('alice'));
    await create(owner, room, 'Alice');
    const sender = await smLogin(0, await account('sender'));
    // Two stream-managed occupants on node 1: node 0 sends them one fan-out envelope.
    const readers = [await smLogin(1, await account('reader')), await smLogin(1, await account('reader'))];
    await enter(sender, room, 'Sender');
    for (const [i, reader] of readers.entries()) await enter(reader, room, `Reader${i}`);
    const redis = new Redis(cluster.redisUrl);
    const inbox = new KeyBuilder(cluster.prefix).nodeInbox(cluster.node(1).id);
    try {
      // Node 1 frozen, the envelope stays in its inbox long enough to be copied under a new id,
      // as a bus handling it again after a failure would (at-least-once).
      cluster.freeze(1);
      let copied = false;
      try {
        sender.send(`<message to='${room}' type='groupchat' id='twice1'><body>once only</body></message>`);
        const deadline = Date.now() + DEAD_AFTER_MS / 2;
        while (!copied && Date.now() < deadline) {
          for (const [, fields] of await redis.xrange(inbox, '-', '+')) {
            const envelope = JSON.parse(fields[fields.indexOf('e') + 1] ?? '{}') as { kind?: string; xml?: string; id?: string; sid?: string };
            if (envelope.kind !== 'fanout' || !envelope.xml?.includes('twice1')) continue;
            expect(envelope.sid).toMatch(new RegExp(`^${sender.smId}:\\d+$`));
            await redis.xadd(inbox, '*', 'v', fields[fields.indexOf('v') + 1] as string, 'e', JSON.stringify({ ...envelope, id: `${envelope.id}-again` }));
            copied = true;
          }
        }
      } finally {
        cluster.thaw(1);
      }
      expect(copied).toBe(true);
      for (const reader of readers) await reader.expect(xml`<message from='${room}/Sender' id='twice1'/>`);
      for (const reader of readers) await reader.barrier();
      await delay(500);
      expect(readers.map((reader) => reader.raw?.take(xml`<message id='twice1'/>`).length)).toStrictEqual([0, 0]);
    } finally {
      redis.disconnect();
    }
  });
});

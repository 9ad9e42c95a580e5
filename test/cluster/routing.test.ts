// The core protocol between nodes: three real node processes sharing one Redis, and in every
// scenario the clients that talk to each other are connected to different nodes.
import type { Element } from 'ltx';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RawClient, xml } from '../support/client.js';
import { CLUSTER_PASSWORD, eventually, startCluster, type TestCluster } from '../support/cluster.js';

const NS_ROSTER = 'jabber:iq:roster';
const NS_PING = 'urn:xmpp:ping';
const NS_DELAY = 'urn:xmpp:delay';

/** STARTTLS, PLAIN and the stream restart: ready to bind. */
async function authenticate(client: RawClient, local: string): Promise<void> {
  await client.openStream();
  await client.startTls();
  await client.openStream();
  const outcome = await client.authPlain(local, CLUSTER_PASSWORD);
  expect(outcome.name).toBe('success');
  await client.openStream();
}

const isMessage = (element: Element): boolean => element.name === 'message';
const isRosterPush = (element: Element): boolean => element.name === 'iq' && element.attrs.type === 'set' && element.getChild('query', NS_ROSTER) !== undefined;
/** A roster push whose single item matches. */
const push = (item: (element: Element) => boolean) => (element: Element): boolean => {
  const pushed = element.getChild('query', NS_ROSTER)?.getChild('item');
  return isRosterPush(element) && pushed !== undefined && item(pushed);
};

describe('a three-node cluster', () => {
  let cluster: TestCluster;
  let n = 0;
  /** A fresh account; returns its local part. */
  const user = async (prefix: string): Promise<string> => {
    const local = `${prefix}${++n}`;
    await cluster.createUser(local);
    return local;
  };
  /** Logged in on `node`, roster fetched (interested) and available with `priority`, inbox cleared. */
  const online = async (node: number, local: string, resource = 'desk', priority?: number): Promise<RawClient> => {
    const client = await cluster.login(node, local, resource);
    await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
    client.send(priority === undefined ? '<presence/>' : `<presence><priority>${priority}</priority></presence>`);
    await client.expect(xml`<presence from='${client.jid}'/>`);
    client.clear();
    return client;
  };
  /**
   * Proof that nothing more is on its way to `to` from `from`'s node: a marker message to `to`'s
   * full JID travels the same node inbox after everything `from` sent before it.
   */
  const settle = async (from: RawClient, to: RawClient): Promise<void> => {
    const id = `marker-${++n}`;
    from.send(`<message to='${to.jid}' type='chat' id='${id}'><body>marker</body></message>`);
    await to.expect(xml`<message id='${id}'/>`);
  };
  /** RFC 6121 §3.1 in both directions, waiting on each side for the pushes and presence it ends with. */
  const befriend = async (a: RawClient, b: RawClient): Promise<void> => {
    for (const [watcher, target] of [[a, b], [b, a]] as const) {
      watcher.send(`<presence to='${target.bare}' type='subscribe'/>`);
      await target.expect(xml`<presence from='${watcher.bare}' type='subscribe'/>`);
      target.send(`<presence to='${watcher.bare}' type='subscribed'/>`);
      await watcher.expect(xml`<presence from='${target.jid}'/>`);
    }
    await a.expect(push(xml`<item jid='${b.bare}' subscription='both'/>`));
    await b.expect(push(xml`<item jid='${a.bare}' subscription='both'/>`));
    a.clear();
    b.clear();
  };

  beforeAll(async () => {
    cluster = await startCluster({ nodes: 3 });
  });
  afterAll(() => cluster?.stopAll());
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.log(cluster.output()));
  });

  it('delivers a message to a full JID whose session is on another node, and the reply back', async () => {
    const alice = await online(0, await user('alice'));
    const bob = await online(1, await user('bob'));
    alice.send(`<message to='${bob.jid}' type='chat' id='m1'><body>Art thou not Romeo?</body></message>`);
    await bob.expect(xml`<message from='${alice.jid}' to='${bob.jid}' type='chat' id='m1'><body>Art thou not Romeo?</body></message>`);
    bob.send(`<message to='${alice.jid}' type='chat' id='m2'><body>Neither, fair saint.</body></message>`);
    await alice.expect(xml`<message from='${bob.jid}' to='${alice.jid}' type='chat' id='m2'><body>Neither, fair saint.</body></message>`);
    expect(alice.take(isMessage)).toEqual([]);
  });

  it('delivers a message to a bare JID whose only resource is on another node', async () => {
    const alice = await online(0, await user('alice'));
    const bob = await online(2, await user('bob'));
    alice.send(`<message to='${bob.bare}' type='chat' id='m1'><body>hello</body></message>`);
    const received = await bob.expect(xml`<message from='${alice.jid}' to='${bob.bare}' id='m1'><body>hello</body></message>`);
    expect(received.getChild('delay', NS_DELAY)).toBeUndefined();
  });

  it('gives a bare-JID message only to the resource of highest priority, on whichever node it is', async () => {
    const local = await user('bob');
    const high = await online(0, local, 'high', 5);
    const low = await online(1, local, 'low', 1);
    const alice = await online(2, await user('alice'));
    alice.send(`<message to='${high.bare}' type='chat' id='m1'><body>to the top one</body></message>`);
    await high.expect(xml`<message from='${alice.jid}' id='m1'/>`);
    await settle(alice, low);
    expect(low.take(xml`<message id='m1'/>`)).toEqual([]);
  });

  it('gives a bare-JID message to every resource of equal top priority, across nodes', async () => {
    const local = await user('bob');
    const first = await online(0, local, 'one', 3);
    const second = await online(1, local, 'two', 3);
    const third = await online(2, local, 'three', 1);
    const alice = await online(2, await user('alice'));
    alice.send(`<message to='${first.bare}' type='chat' id='m1'><body>to both</body></message>`);
    await first.expect(xml`<message from='${alice.jid}' id='m1'><body>to both</body></message>`);
    await second.expect(xml`<message from='${alice.jid}' id='m1'><body>to both</body></message>`);
    await alice.barrier();
    expect(third.take(xml`<message id='m1'/>`)).toEqual([]);
  });

  it('delivers an iq ping to a full JID on another node and routes its result back', async () => {
    const alice = await online(0, await user('alice'));
    const bob = await online(1, await user('bob'));
    alice.send(`<iq type='get' id='ping1' to='${bob.jid}'><ping xmlns='${NS_PING}'/></iq>`);
    await bob.expect(xml`<iq type='get' id='ping1' from='${alice.jid}' to='${bob.jid}'><ping xmlns='${NS_PING}'/></iq>`);
    bob.send(`<iq type='result' id='ping1' to='${alice.jid}'/>`);
    const result = await alice.expect(xml`<iq id='ping1'/>`);
    expect(result.attrs).toMatchObject({ type: 'result', from: bob.jid, to: alice.jid });
  });

  it('bounces an iq to a full JID that is connected nowhere with service-unavailable', async () => {
    const alice = await online(0, await user('alice'));
    const bob = await user('bob');
    alice.send(`<iq type='get' id='ping2' to='${bob}@localhost/nowhere'><ping xmlns='${NS_PING}'/></iq>`);
    const reply = await alice.expect(xml`<iq id='ping2'/>`);
    expect(reply.attrs.type).toBe('error');
    expect(reply.getChild('error')?.getChild('service-unavailable')).toBeDefined();
  });

  it('completes the subscription handshake between nodes, ending in both on each side', async () => {
    const alice = await online(0, await user('alice'));
    const bob = await online(1, await user('bob'));

    alice.send(`<presence id='sub1' to='${bob.bare}' type='subscribe'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='none' ask='subscribe'/>`));
    await bob.expect(xml`<presence id='sub1' from='${alice.bare}' to='${bob.bare}' type='subscribe'/>`);
    bob.send(`<presence id='ok1' to='${alice.bare}' type='subscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='from'/>`));
    await alice.expect(xml`<presence id='ok1' from='${bob.bare}' to='${alice.bare}' type='subscribed'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='to'/>`));
    await alice.expect(xml`<presence from='${bob.jid}' to='${alice.bare}'/>`);

    bob.send(`<presence id='sub2' to='${alice.bare}' type='subscribe'/>`);
    await alice.expect(xml`<presence id='sub2' from='${bob.bare}' to='${alice.bare}' type='subscribe'/>`);
    alice.send(`<presence id='ok2' to='${bob.bare}' type='subscribed'/>`);
    await alice.expect(push(xml`<item jid='${bob.bare}' subscription='both'/>`));
    await bob.expect(xml`<presence id='ok2' from='${alice.bare}' to='${bob.bare}' type='subscribed'/>`);
    await bob.expect(push(xml`<item jid='${alice.bare}' subscription='both'/>`));
    await bob.expect(xml`<presence from='${alice.jid}' to='${bob.bare}'/>`);

    const rosterOf = async (client: RawClient, contact: string): Promise<string | undefined> => {
      const result = await client.iq('get', `<query xmlns='${NS_ROSTER}'/>`);
      return result.getChild('query', NS_ROSTER)?.getChildren('item').find((item: Element) => item.attrs.jid === contact)?.attrs.subscription;
    };
    await expect(rosterOf(alice, bob.bare)).resolves.toBe('both');
    await expect(rosterOf(bob, alice.bare)).resolves.toBe('both');
  });

  it('broadcasts presence changes and the going offline of a resource to contacts on other nodes', async () => {
    const alice = await online(0, await user('alice'));
    const bob = await online(1, await user('bob'));
    await befriend(alice, bob);
    alice.send('<presence><show>away</show><status>at lunch</status></presence>');
    await bob.expect(xml`<presence from='${alice.jid}' to='${bob.bare}'><show>away</show><status>at lunch</status></presence>`);
    await alice.close();
    await bob.expect(xml`<presence from='${alice.jid}' type='unavailable'/>`);
  });

  it('answers the probes of a new resource on a third node with the presence of contacts on the others', async () => {
    const aliceLocal = await user('alice');
    const alice = await online(0, aliceLocal);
    const bob = await online(1, await user('bob'));
    await befriend(alice, bob);
    bob.send('<presence><show>dnd</show></presence>');
    await alice.expect(xml`<presence from='${bob.jid}'><show>dnd</show></presence>`);

    const laptop = await cluster.login(2, aliceLocal, 'laptop');
    laptop.send('<presence/>');
    // The probe answer: bob's stored presence, with the delay of when he sent it.
    const answer = await laptop.expect(xml`<presence from='${bob.jid}' to='${laptop.jid}'><show>dnd</show></presence>`);
    expect(answer.getChild('delay', NS_DELAY)).toBeDefined();
    // Its sibling on node 0 and the contact on node 1 both see the new resource arrive.
    await alice.expect(xml`<presence from='${laptop.jid}'/>`);
    await bob.expect(xml`<presence from='${laptop.jid}'/>`);
    // And the new resource is told about its sibling.
    await laptop.expect(xml`<presence from='${alice.jid}'/>`);
  });

  it('pushes a roster change to interested resources of the account on other nodes, and not to one that never asked', async () => {
    const local = await user('alice');
    const editor = await online(0, local, 'editor');
    const interested = await online(1, local, 'interested');
    const uninterested = await cluster.login(2, local, 'uninterested');
    const contact = `${await user('carol')}@localhost`;

    const result = await editor.iq('set', `<query xmlns='${NS_ROSTER}'><item jid='${contact}' name='Carol'><group>Friends</group></item></query>`);
    expect(result.attrs.type).toBe('result');
    await editor.expect(push(xml`<item jid='${contact}' name='Carol' subscription='none'/>`));
    await interested.expect(push(xml`<item jid='${contact}' name='Carol' subscription='none'><group>Friends</group></item>`));
    await settle(editor, uninterested);
    expect(uninterested.take(isRosterPush)).toEqual([]);
  });

  it('stores a message for an account with nobody online and delivers it on its next login, on another node', async () => {
    const alice = await online(0, await user('alice'));
    const bob = await user('bob');
    alice.send(`<message to='${bob}@localhost' type='chat' id='off1'><body>are you there?</body></message>`);
    await alice.barrier();
    expect(alice.take(isMessage)).toEqual([]);

    const client = await cluster.login(2, bob, 'phone');
    client.send('<presence/>');
    const stored = await client.expect(xml`<message from='${alice.jid}' to='${bob}@localhost' type='chat' id='off1'><body>are you there?</body></message>`);
    expect(stored.getChild('delay', NS_DELAY)?.attrs.from).toBe('localhost');
  });

  it('stores a chat message for a resource that just went offline and hands it to the account’s next resource on another node', async () => {
    const alice = await online(0, await user('alice'));
    const bobLocal = await user('bob');
    const bob = await online(1, bobLocal);
    const gone = bob.jid as string;
    await bob.close();
    await eventually('the registry forgets the closed session', async () => (await cluster.state.registry.get(gone)) === undefined);
    alice.send(`<message to='${gone}' type='chat' id='off2'><body>left already?</body></message>`);
    await alice.barrier();
    expect(alice.take(isMessage)).toEqual([]);
    const again = await cluster.login(2, bobLocal, 'tablet');
    again.send('<presence/>');
    await again.expect(xml`<message from='${alice.jid}' id='off2'><body>left already?</body></message>`);
  });

  it('follows an account whose only resource moved from one node to another', async () => {
    const alice = await online(0, await user('alice'));
    const bobLocal = await user('bob');
    const first = await online(1, bobLocal, 'phone');
    alice.send(`<message to='${first.bare}' type='chat' id='mv1'><body>one</body></message>`);
    await first.expect(xml`<message id='mv1'/>`);
    await first.close();
    const moved = await online(2, bobLocal, 'phone');
    alice.send(`<message to='${moved.bare}' type='chat' id='mv2'><body>two</body></message>`);
    const received = await moved.expect(xml`<message id='mv2'><body>two</body></message>`);
    expect(received.getChild('delay', NS_DELAY)).toBeUndefined();
  });

  it('replaces a session when its full JID binds on another node: the old one gets a conflict stream error', async () => {
    const local = await user('alice');
    const old = await online(0, local, 'phone');
    const replacement = await cluster.login(1, local, 'phone');
    expect(replacement.jid).toBe(old.jid);
    const error = await old.expect('stream:error');
    expect(error.getChild('conflict')).toBeDefined();
    await old.closed();
    const records = await cluster.state.registry.resources(`${local}@localhost`);
    expect(records.map((record) => [record.full_jid, record.node])).toStrictEqual([[old.jid, cluster.node(1).id]]);
    // The new session is the one stanzas reach.
    const bob = await online(2, await user('bob'));
    bob.send(`<message to='${replacement.jid}' type='chat' id='r1'><body>which one?</body></message>`);
    await replacement.expect(xml`<message id='r1'/>`);
  });

  it('keeps exactly one of two concurrent binds of one full JID on two nodes, and the other gets conflict', async () => {
    const bob = await online(2, await user('bob'));
    for (let round = 1; round <= 5; round++) {
      const local = await user('alice');
      const clients = await Promise.all([cluster.connect(0), cluster.connect(1)]);
      // Everything up to the bind, then both binds at once.
      await Promise.all(clients.map((client) => authenticate(client, local)));
      // The loser may be kicked before its bind result is written: then only its stream ends.
      await Promise.allSettled(clients.map((client) => Promise.race([client.bind('race'), client.closed()])));
      const bare = `${local}@localhost`;
      // The loser is told once the winner's claim reaches it.
      await eventually('one client got a stream error', () => clients.some((client) => client.streamError() !== undefined));
      const losers = clients.filter((client) => client.streamError() !== undefined);
      const winners = clients.filter((client) => client.streamError() === undefined);
      expect(losers.map((client) => client.streamError())).toStrictEqual(['conflict']);
      expect(winners).toHaveLength(1);
      const winner = winners[0] as RawClient;
      await winner.barrier();
      expect(winner.streamError()).toBeUndefined();
      const records = await cluster.state.registry.resources(bare);
      expect(records.map((record) => record.node)).toStrictEqual([cluster.node(clients.indexOf(winner)).id]);
      bob.send(`<message to='${bare}/race' type='chat' id='race${round}'><body>who won?</body></message>`);
      await winner.expect(xml`<message id='race${round}'/>`);
    }
  });

  it('logged no Redis error and no failed stanza on any node', () => {
    for (let i = 0; i < cluster.size; i++) {
      expect(cluster.node(i).output()).not.toMatch(/"event":"(redis_error|stanza_failed|session_destroy_failed|session_release_failed)"/);
    }
  });
});

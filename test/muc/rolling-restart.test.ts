// A rolling restart with a room chatting: nine stream-managed occupants spread over three node
// processes send groupchat messages without pause while every node in turn drains (SIGTERM) and
// starts again; their clients resume on another node. Every message reaches every occupant
// exactly once, and nobody sees anyone leave or enter the room.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_PASSWORD, eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { SmClient } from '../support/sm-client.js';
import { freshRoom, NS_MUC, NS_MUC_OWNER } from './support.js';

const NODES = 3;
const OCCUPANTS = 9;
const DRAIN_TIMEOUT_SECONDS = 3;

describe('a rolling restart with a room chatting', () => {
  let cluster: TestCluster;
  const room = freshRoom('rolling');
  const clients: SmClient[] = [];
  /** What each occupant received from the room: message ids once everyone was in, and every presence. */
  const messages = new Map<SmClient, string[]>();
  const presences = new Map<SmClient, string[]>();
  let counting = false;
  const sent: string[] = [];
  const nodeOf = new Map<SmClient, number>();
  /** Every reception and every move, for the failure message. */
  const trace: string[] = [];

  const record = (stanza: Element, client: SmClient): void => {
    if (!String(stanza.attrs.from ?? '').startsWith(`${room}/`)) return;
    if (counting && stanza.name === 'message' && stanza.attrs.type === 'groupchat') {
      messages.get(client)?.push(String(stanza.attrs.id));
      const stamp = stanza.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp;
      trace.push(`${new Date().toISOString().slice(11, 23)} ${client.jid} ${String(stanza.attrs.id)}${stamp === undefined ? '' : ` (delayed, ${String(stamp)})`}`);
    }
    if (stanza.name === 'presence') presences.get(client)?.push(`${String(stanza.attrs.from)} ${String(stanza.attrs.type ?? 'available')}`);
  };

  beforeAll(async () => {
    cluster = await startCluster({ nodes: NODES, env: { ROOKERY_DRAIN_TIMEOUT_SECONDS: String(DRAIN_TIMEOUT_SECONDS) } });
    for (let i = 0; i < OCCUPANTS; i++) {
      const local = `witch${i}`;
      await cluster.createUser(local);
      const client = await SmClient.login({ port: cluster.node(i % NODES).c2sPort, username: local, password: CLUSTER_PASSWORD, resource: 'cauldron', plaintext: true, keep: false, onStanza: record });
      clients.push(client);
      nodeOf.set(client, i % NODES);
      messages.set(client, []);
      presences.set(client, []);
    }
    const owner = clients[0] as SmClient;
    owner.send(`<presence to='${room}/w0'><x xmlns='${NS_MUC}'/></presence>`);
    owner.send(`<iq type='set' id='config' to='${room}'><query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>`);
    await eventually('the room is configured', async () => (await cluster.state.muc.get(room))?.record.locked === false, 5000);
    for (const [i, client] of clients.entries()) if (i > 0) client.send(`<presence to='${room}/w${i}'><x xmlns='${NS_MUC}'/></presence>`);
    await eventually('everyone is in', async () => (await cluster.state.muc.get(room))?.occupants.size === OCCUPANTS, 10_000);
    counting = true;

    let k = 0;
    const chatter = setInterval(() => {
      const client = clients[k % OCCUPANTS] as SmClient;
      const id = `m${k}`;
      k += 1;
      client.send(`<message to='${room}' type='groupchat' id='${id}'><body>${id}</body></message>`);
      sent.push(id);
    }, 40);
    try {
      for (let node = 0; node < NODES; node++) {
        const stopping = cluster.kill(node, 'SIGTERM');
        const leaving = clients.filter((client) => nodeOf.get(client) === node);
        await Promise.all(leaving.map(async (client) => {
          await client.reached(['offline'], (DRAIN_TIMEOUT_SECONDS + 3) * 1000);
          const next = (node + 1) % NODES;
          if (!(await client.resume(cluster.node(next).c2sPort))) throw new Error(`${client.jid} could not resume`);
          trace.push(`${new Date().toISOString().slice(11, 23)} ${client.jid} resumed on node ${next}`);
          nodeOf.set(client, next);
        }));
        await stopping;
        await cluster.start(node);
      }
      // Quick restarts leave few messages in flight: the chatter goes on until enough were sent.
      await eventually('enough messages sent', () => sent.length > 50, 10_000);
    } finally {
      clearInterval(chatter);
    }
    await eventually('every occupant has every message', () => clients.every((client) => new Set(messages.get(client)).size >= sent.length), 20_000);
    for (const client of clients) await client.barrier();
  }, 60_000);
  afterAll(() => cluster?.stopAll());

  it('sent messages the whole time', () => {
    expect(sent.length).toBeGreaterThan(50);
  });

  it('delivers every message to every occupant exactly once', () => {
    for (const client of clients) {
      const received = messages.get(client) ?? [];
      const twice = received.filter((id, i) => received.indexOf(id) !== i);
      const about = (line: string): boolean => line.includes(String(client.jid)) && (line.includes('resumed') || twice.some((id) => line.endsWith(` ${id}`) || line.includes(` ${id} (`)));
      expect([...received].sort(), `${String(client.jid)} got ${twice.join(' ')} twice:\n${trace.filter(about).join('\n')}`).toStrictEqual([...sent].sort());
    }
  });

  it('shows nobody a leave or a join: each occupant saw each other one arrive once, and none go', () => {
    const everyone = Array.from({ length: OCCUPANTS }, (_, i) => `${room}/w${i} available`).sort();
    for (const client of clients) expect([client.jid, [...(presences.get(client) ?? [])].sort()]).toStrictEqual([client.jid, everyone]);
  });

  it('leaves every occupant in the room, on a live node', async () => {
    const snapshot = await cluster.state.muc.get(room);
    expect(snapshot?.occupants.size).toBe(OCCUPANTS);
    const live = new Set(Array.from({ length: NODES }, (_, i) => cluster.node(i).id));
    for (const occupant of snapshot?.occupants.values() ?? []) expect(live.has(occupant.sessions[0]?.node ?? '')).toBe(true);
  });
});

// A rolling restart with a room chatting (the group chat issue's proof): fifty stream-managed
// occupants spread over three node processes send groupchat messages without pause while every
// node in turn drains (SIGTERM) and starts again; their clients resume on another node. Every
// message reaches every occupant exactly once, nobody sees anyone leave or enter the room, and
// the room ends with each occupant on the node that holds its session. Timings and the trace of
// receptions go to .tmp/reports/muc-rolling-restart.txt, printed only when a test fails.
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_PASSWORD, eventually, startCluster, type TestCluster } from '../support/cluster.js';
import { printReportOnFailure, testReport } from '../support/report.js';
import { SmClient } from '../support/sm-client.js';
import { freshRoom, NS_MUC, NS_MUC_OWNER } from './support.js';

const NODES = 3;
const OCCUPANTS = 50;
const DRAIN_TIMEOUT_SECONDS = 3;
/** One groupchat message every this often, from each occupant in turn. */
const CHATTER_EVERY_MS = 40;
/** Messages sent at least: every occupant speaks at least twice. */
const MESSAGES = 2 * OCCUPANTS;
/** Logins at once (a loaded 2-core machine answers a few hundred a second at best). */
const LOGIN_BATCH = 10;

describe('a rolling restart with fifty occupants chatting', () => {
  let cluster: TestCluster;
  const room = freshRoom('rolling');
  const clients: SmClient[] = [];
  /** What each occupant received from the room: message ids once everyone was in, and every presence. */
  const messages = new Map<SmClient, string[]>();
  const presences = new Map<SmClient, string[]>();
  let counting = false;
  const sent: string[] = [];
  const nodeOf = new Map<SmClient, number>();
  const report = testReport('muc-rolling-restart');
  printReportOnFailure(report, () => cluster?.output() ?? '');
  const started = Date.now();
  const at = (): string => `${String(Date.now() - started).padStart(6)} ms`;

  const record = (stanza: Element, client: SmClient): void => {
    if (!String(stanza.attrs.from ?? '').startsWith(`${room}/`)) return;
    if (counting && stanza.name === 'message' && stanza.attrs.type === 'groupchat') {
      messages.get(client)?.push(String(stanza.attrs.id));
      const stamp = stanza.getChild('delay', 'urn:xmpp:delay')?.attrs.stamp;
      report.log(`${at()} ${String(client.jid)} ${String(stanza.attrs.id)}${stamp === undefined ? '' : ` (delayed, ${String(stamp)})`}`);
    }
    if (stanza.name === 'presence') presences.get(client)?.push(`${String(stanza.attrs.from)} ${String(stanza.attrs.type ?? 'available')}`);
  };

  beforeAll(async () => {
    cluster = await startCluster({ nodes: NODES, env: { ROOKERY_DRAIN_TIMEOUT_SECONDS: String(DRAIN_TIMEOUT_SECONDS) } });
    for (let first = 0; first < OCCUPANTS; first += LOGIN_BATCH) {
      const batch = Array.from({ length: Math.min(LOGIN_BATCH, OCCUPANTS - first) }, (_, k) => first + k);
      clients.push(...(await Promise.all(batch.map(async (i) => {
        const local = `witch${i}`;
        await cluster.createUser(local);
        const client = await SmClient.login({ port: cluster.node(i % NODES).c2sPort, username: local, password: CLUSTER_PASSWORD, resource: 'cauldron', plaintext: true, keep: false, onStanza: record });
        nodeOf.set(client, i % NODES);
        messages.set(client, []);
        presences.set(client, []);
        return client;
      }))));
    }
    report.log(`${at()} ${OCCUPANTS} occupants logged in`);
    const owner = clients[0] as SmClient;
    owner.send(`<presence to='${room}/w0'><x xmlns='${NS_MUC}'/></presence>`);
    owner.send(`<iq type='set' id='config' to='${room}'><query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>`);
    await eventually('the room is configured', async () => (await cluster.state.muc.get(room))?.record.locked === false, 5000);
    for (const [i, client] of clients.entries()) if (i > 0) client.send(`<presence to='${room}/w${i}'><x xmlns='${NS_MUC}'/></presence>`);
    await eventually('everyone is in', async () => (await cluster.state.muc.get(room))?.occupants.size === OCCUPANTS, 20_000);
    // Everyone has seen everyone enter before the count starts.
    await eventually('every occupant saw every other enter', () => clients.every((client) => (presences.get(client)?.length ?? 0) >= OCCUPANTS), 20_000);
    report.log(`${at()} ${OCCUPANTS} occupants in the room`);
    counting = true;

    let k = 0;
    const chatter = setInterval(() => {
      const client = clients[k % OCCUPANTS] as SmClient;
      const id = `m${k}`;
      k += 1;
      client.send(`<message to='${room}' type='groupchat' id='${id}'><body>${id}</body></message>`);
      sent.push(id);
    }, CHATTER_EVERY_MS);
    try {
      for (let node = 0; node < NODES; node++) {
        report.log(`${at()} node ${node} drains (${sent.length} sent)`);
        const stopping = cluster.kill(node, 'SIGTERM');
        const leaving = clients.filter((client) => nodeOf.get(client) === node);
        await Promise.all(leaving.map(async (client, i) => {
          await client.reached(['offline'], (DRAIN_TIMEOUT_SECONDS + 3) * 1000);
          // Over both other nodes, so that the room stays spread over the cluster.
          const next = (node + 1 + (i % (NODES - 1))) % NODES;
          if (!(await client.resume(cluster.node(next).c2sPort))) throw new Error(`${client.jid} could not resume`);
          report.log(`${at()} ${client.jid} resumed on node ${next}`);
          nodeOf.set(client, next);
        }));
        await stopping;
        report.log(`${at()} node ${node} stopped; ${leaving.length} occupants resumed elsewhere`);
        await cluster.start(node);
        report.log(`${at()} node ${node} started again`);
      }
      // Quick restarts leave few messages in flight: the chatter goes on until enough were sent.
      await eventually('enough messages sent', () => sent.length >= MESSAGES, 20_000);
    } finally {
      clearInterval(chatter);
    }
    report.log(`${at()} chatter stopped after ${sent.length} messages`);
    await eventually('every occupant has every message', () => clients.every((client) => new Set(messages.get(client)).size >= sent.length), 30_000);
    for (const client of clients) await client.barrier();
    report.log(`${at()} every occupant has every message`);
  }, 90_000);
  afterAll(() => cluster?.stopAll());

  it('sent messages the whole time, from every occupant', () => {
    expect(sent.length).toBeGreaterThanOrEqual(MESSAGES);
  });

  it('delivers every message to every occupant exactly once', () => {
    const expected = [...sent].sort();
    const wrong = clients.filter((client) => {
      const received = [...(messages.get(client) ?? [])].sort();
      return received.length !== expected.length || received.some((id, i) => id !== expected[i]);
    }).map((client) => {
      const received = messages.get(client) ?? [];
      const twice = received.filter((id, i) => received.indexOf(id) !== i);
      const missing = sent.filter((id) => !received.includes(id));
      return `${String(client.jid)}: twice ${twice.join(' ') || 'none'}; missing ${missing.join(' ') || 'none'}`;
    });
    expect(wrong).toStrictEqual([]);
  });

  it('shows nobody a leave or a join: each occupant saw each other one arrive once, and none go', () => {
    const everyone = Array.from({ length: OCCUPANTS }, (_, i) => `${room}/w${i} available`).sort();
    const wrong = clients.filter((client) => {
      const seen = [...(presences.get(client) ?? [])].sort();
      return seen.length !== everyone.length || seen.some((line, i) => line !== everyone[i]);
    }).map((client) => `${String(client.jid)}: ${(presences.get(client) ?? []).filter((line) => !line.endsWith(' available')).join(', ') || `${presences.get(client)?.length ?? 0} presences`}`);
    expect(wrong).toStrictEqual([]);
  });

  it('leaves every occupant in the room, on the node that holds its session', async () => {
    const snapshot = await cluster.state.muc.get(room);
    expect(snapshot?.occupants.size).toBe(OCCUPANTS);
    const misplaced: string[] = [];
    for (const occupant of snapshot?.occupants.values() ?? []) {
      for (const session of occupant.sessions) {
        const record = await cluster.state.registry.get(session.jid, { fresh: true });
        if (record?.node !== session.node) misplaced.push(`${occupant.nick} on ${session.node}, its session on ${record?.node ?? 'none'}`);
      }
    }
    expect(misplaced).toStrictEqual([]);
    const live = new Set(Array.from({ length: NODES }, (_, i) => cluster.node(i).id));
    expect([...(snapshot?.occupants.values() ?? [])].filter((occupant) => !live.has(occupant.sessions[0]?.node ?? ''))).toStrictEqual([]);
  });
});

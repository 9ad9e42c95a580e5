// A node of a 3-node cluster drains (SIGTERM, as in a rolling restart) while messages flow both
// ways with a real Prosody (doc/federation.md, "Drain"). Prosody reaches our domain through a
// balancer in front of the nodes' s2s ports that, as a Kubernetes Service, sends new connections
// only to ready nodes, and prefers node 0: both the outgoing stream (its senders are on node 0)
// and the incoming one start there. Our clients use stream management and resume through a
// balancer of the client ports. Per message: delivered or bounced to its sender, none lost; node
// 0 closes its streams with closing tags both ways, and Prosody's next stream lands on another
// node. Figures go to .tmp/reports/s2s-drain.txt, printed on failure.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Element } from 'ltx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Balancer, startBalancer } from '../support/balancer.js';
import { RawClient } from '../support/client.js';
import { CLUSTER_PASSWORD, eventually, freePorts, startCluster, type TestCluster } from '../support/cluster.js';
import { prosodyAvailable, startProsody, type Prosody } from '../support/prosody.js';
import { printReportOnFailure, testReport } from '../support/report.js';
import { SmClient } from '../support/sm-client.js';

const DOMAIN = 'rookery-drain.test';
const PEER = 'prosody-drain.test';
const DRAIN_TIMEOUT_SECONDS = 8;
const TICK_MS = 20;
/** Messages each way per tick: 200/s, about 50 kB/s from Prosody, past the rate an incoming stream is read at. */
const PER_TICK = 4;
/** With a small burst, node 0 holds unread input from Prosody when it drains. */
const S2S_RATE = { ROOKERY_LIMIT_S2S_BYTES_PER_SECOND: '30000', ROOKERY_LIMIT_S2S_BURST_BYTES: '8192' };
const WAIT = 20_000;

/** The ids of messages a client received, and of the errors bounced to it, from every connection it had. */
class Ledger {
  readonly received: string[] = [];
  readonly bounced: string[] = [];
  record = (element: Element): void => {
    if (element.name !== 'message') return;
    const id = String(element.attrs.id ?? '');
    if (element.attrs.type === 'error') this.bounced.push(id);
    else this.received.push(id);
  };
}

describe.skipIf(!prosodyAvailable())('a node draining while messages flow with Prosody', () => {
  const report = testReport('s2s-drain');
  printReportOnFailure(report, () => cluster?.output() ?? '');
  const log = (line: string): void => report.log(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
  let prosody: Prosody;
  let cluster: TestCluster;
  let s2sBalancer: Balancer;
  let c2sBalancer: Balancer;
  const sent = { toPeer: [] as string[], toCarol: [] as string[], toDave: [] as string[] };
  const ledgers = { alice: new Ledger(), carol: new Ledger(), dave: new Ledger(), pat: new Ledger() };
  let stopMs = 0;
  let drainedNode: { s2sPort: number; output: string };

  beforeAll(async () => {
    const [c2s, s2s] = (await freePorts(2)) as [number, number];
    // Ports first: Prosody's route to our domain names the balancer, the nodes' routes name Prosody.
    const s2sPorts = new Map<number, number>();
    const c2sPorts = new Map<number, number>();
    s2sBalancer = await startBalancer((http) => s2sPorts.get(http) ?? 0);
    c2sBalancer = await startBalancer((http) => c2sPorts.get(http) ?? 0);
    prosody = await startProsody(mkdtempSync(join(tmpdir(), 'rk-s2s-')), PEER, c2s, s2s, { routes: { [DOMAIN]: { host: '127.0.0.1', port: s2sBalancer.port } } });
    cluster = await startCluster({
      nodes: 3,
      domain: DOMAIN,
      s2s: true,
      env: { ROOKERY_S2S_ROUTES: `${PEER}=127.0.0.1:${s2s}`, ROOKERY_DRAIN_TIMEOUT_SECONDS: String(DRAIN_TIMEOUT_SECONDS), ...S2S_RATE },
    });
    for (let index = 0; index < 3; index++) {
      const node = cluster.node(index);
      s2sPorts.set(node.httpPort, node.s2sPort);
      c2sPorts.set(node.httpPort, node.c2sPort);
    }
    // Node 0 first: it takes the first streams while it is ready.
    s2sBalancer.backends = [0, 1, 2].map((index) => cluster.node(index).httpPort);
    c2sBalancer.backends = [1, 2, 0].map((index) => cluster.node(index).httpPort);

    for (const user of ['alice', 'carol', 'dave']) await cluster.createUser(user);
    prosody.register('pat', CLUSTER_PASSWORD);
    const smLogin = (user: 'alice' | 'carol' | 'dave', node: number): Promise<SmClient> =>
      SmClient.login({ port: cluster.node(node).c2sPort, domain: DOMAIN, username: user, password: CLUSTER_PASSWORD, resource: 'r', plaintext: true, autoResume: true, resumePort: c2sBalancer.port, keep: false, onStanza: ledgers[user].record });
    const alice = await smLogin('alice', 0); // sends to Prosody down node 0's outgoing stream
    const carol = await smLogin('carol', 0); // receives on node 0, and resumes elsewhere
    const dave = await smLogin('dave', 1); // receives on a node that stays
    const pat = await RawClient.connect({ port: prosody.c2sPort, domain: PEER });
    await pat.login('pat', CLUSTER_PASSWORD, 'p');
    pat.onElement = (element) => {
      ledgers.pat.record(element);
      return false;
    };

    let count = 0;
    const round = (): void => {
      count += 1;
      if (alice.state !== 'failed' && alice.state !== 'closed') sent.toPeer.push(alice.message(`pat@${PEER}/p`, `a${count}`, `a${count}`));
      sent.toCarol.push(`c${count}`);
      pat.send(`<message type='chat' to='carol@${DOMAIN}/r' id='c${count}'><body>c${count}</body></message>`);
      sent.toDave.push(`d${count}`);
      pat.send(`<message type='chat' to='dave@${DOMAIN}/r' id='d${count}'><body>d${count}</body></message>`);
    };
    const tick = (): void => {
      for (let index = 0; index < PER_TICK; index++) round();
    };
    round();
    // Both streams are up, on node 0, before it drains.
    await eventually('the first messages arrived both ways', () => ledgers.pat.received.includes('a1') && ledgers.carol.received.includes('c1') && ledgers.dave.received.includes('d1'), WAIT);
    expect(s2sBalancer.routed).toEqual([cluster.node(0).s2sPort]);
    const flow = setInterval(tick, TICK_MS);
    try {
      await delay(500);
      log(`draining node 0 after ${count} rounds`);
      const started = Date.now();
      await cluster.kill(0, 'SIGTERM');
      stopMs = Date.now() - started;
      log(`node 0 exited after ${stopMs} ms, at round ${count}`);
      drainedNode = { s2sPort: cluster.node(0).s2sPort, output: cluster.node(0).output() };
      log(`node 0's federation and drain events:\n${drainedNode.output.split('\n').filter((line) => /"event":"(s2s_|drain)/.test(line)).join('\n')}`);
      await delay(1500);
    } finally {
      clearInterval(flow);
    }
    log(`sent: ${sent.toPeer.length} to Prosody, ${sent.toCarol.length} to carol, ${sent.toDave.length} to dave; s2s connections to ports ${s2sBalancer.routed.join(' ')}`);
    const accounted = (ids: string[], receiver: Ledger, sender: Ledger): boolean => ids.every((id) => receiver.received.includes(id) || sender.bounced.includes(id));
    await eventually(
      'every message is delivered or bounced',
      () => accounted(sent.toPeer, ledgers.pat, ledgers.alice) && accounted(sent.toCarol, ledgers.carol, ledgers.pat) && accounted(sent.toDave, ledgers.dave, ledgers.pat),
      30_000,
      200,
    ).catch((error: unknown) => log(String(error)));
    for (const [name, ledger] of Object.entries(ledgers)) log(`${name}: ${ledger.received.length} received, ${ledger.bounced.length} bounced (${ledger.bounced.slice(0, 10).join(' ')})`);
    for (const client of [alice, carol, dave]) await client.close();
    await pat.close();
  }, 120_000);

  afterAll(async () => {
    await cluster?.stopAll();
    await s2sBalancer?.close();
    await c2sBalancer?.close();
    report.log(`Prosody's log:\n${prosody?.log() ?? ''}`);
    await prosody?.stop();
  });

  const missing = (ids: string[], receiver: Ledger, sender: Ledger): string[] => ids.filter((id) => !receiver.received.includes(id) && !sender.bounced.includes(id));
  const duplicates = (ids: string[]): string[] => ids.filter((id, index) => ids.indexOf(id) !== index);

  it('delivers or bounces every message sent to Prosody by a client of the draining node', () => {
    expect(sent.toPeer.length).toBeGreaterThan(20);
    expect(missing(sent.toPeer, ledgers.pat, ledgers.alice)).toEqual([]);
  });

  it('delivers or bounces every message Prosody sent, to a client of the draining node and of another', () => {
    expect(missing(sent.toCarol, ledgers.carol, ledgers.pat)).toEqual([]);
    expect(missing(sent.toDave, ledgers.dave, ledgers.pat)).toEqual([]);
  });

  it('bounces nothing and delivers nothing twice', () => {
    expect([...ledgers.alice.bounced, ...ledgers.pat.bounced]).toEqual([]);
    expect(duplicates(ledgers.pat.received)).toEqual([]);
    expect(duplicates(ledgers.carol.received)).toEqual([]);
    expect(duplicates(ledgers.dave.received)).toEqual([]);
  });

  it('drains within its bound, closing both streams with closing tags', () => {
    expect(stopMs).toBeLessThan((DRAIN_TIMEOUT_SECONDS + 3) * 1000);
    const events = drainedNode.output.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toContainEqual(expect.objectContaining({ event: 's2s_out_closed', remote: PEER, clean: true }));
    expect(events).toContainEqual(expect.objectContaining({ event: 's2s_in_closed', remote: PEER, clean: true }));
    expect(events.filter((event) => event.event === 's2s_out_closed' || event.event === 's2s_in_closed').map((event) => event.clean)).not.toContain(false);
  });

  it('has Prosody open its next stream to another node', () => {
    const after = s2sBalancer.routed.slice(1);
    expect(after.length).toBeGreaterThan(0);
    expect(after).not.toContain(drainedNode.s2sPort);
  });
});
